"""Publish and PublishBatch: validate as SNS does, deduplicate FIFO topics, fan out.

Everything runs inside one commit per request (the group commit shares it with concurrent ones), so
a publish that was answered is durable, together with every delivery it caused.

FIFO topics deduplicate for five minutes by MessageDeduplicationId (or the message's SHA-256 with
ContentBasedDeduplication) and number messages in publish order: both come from core/queue's
deduplicating enqueue on a per-topic marker queue, whose rows are removed again at once (the
deduplication entries stay for their window).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.core.store import NewRow
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.sns import messages as msgs
from cloudlet.services.sns import platform, sms
from cloudlet.services.sns.common import (
    TOPIC,
    invalid,
    iso_ms,
    parse_bool,
    split_arn,
    topic_not_found,
)
from cloudlet.services.sns.fanout import notification_canonical

if TYPE_CHECKING:
    from cloudlet.services.sns.provider import SnsProvider

_DEDUP_WINDOW_MS = 5 * 60 * 1000
_EXPIRE_EVERY_MS = 60 * 1000
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class Publisher:
    def __init__(self, provider: SnsProvider) -> None:
        self.provider = provider
        self.store = provider.store
        self.clock = provider.clock
        self._expired_at: dict[str, int] = {}

    # -- signing ahead ---------------------------------------------------------------------------
    async def prepare(
        self, ctx: RequestContext, entries: list[dict[str, Any]], arn: str | None
    ) -> dict[int, msgs.Message]:
        """Validate publishes to a standard topic and sign them before their commit, in the
        signing process (another core), so the commit only assembles envelopes. Returns the
        prepared messages by entry index; anything unusual is left to the commit to handle."""
        if not arn or not self.provider.signer.loaded:
            return {}
        try:
            parts = split_arn(arn, "TopicArn")
        except AwsError:
            return {}
        key = f"{parts.account}/{parts.region}/{parts.resource}"
        topic = self.store.get(TOPIC, key)
        if (
            topic is None
            or topic["fifo"]
            or (parts.region != ctx.region and not self.provider.unsigned(ctx))
        ):
            return {}
        prepared: dict[int, msgs.Message] = {}
        wanted: list[tuple[msgs.Message, str, str]] = []
        for index, entry in enumerate(entries):
            try:
                message = self._message(ctx, entry, arn)
            except AwsError:
                continue
            prepared[index] = message
            for text, version in self.provider.fanout.wanted_signatures(topic, key, message):
                wanted.append((message, text, version))
        items = [(version, notification_canonical(m, text)) for m, text, version in wanted]
        for (message, text, version), signature in zip(
            wanted, await self.provider.signer.sign_many(items), strict=True
        ):
            message.signatures[(text, version)] = signature
        return prepared

    # -- Publish ---------------------------------------------------------------------------------
    def publish(
        self, ctx: RequestContext, params: dict[str, Any], prepared: msgs.Message | None = None
    ) -> dict[str, Any]:
        phone = params.get("PhoneNumber")
        arn = params.get("TopicArn") or params.get("TargetArn")
        if phone and not arn:
            return self._to_phone(ctx, params, phone)
        if not arn:
            raise invalid("TopicArn or TargetArn Reason: no value for required parameter")
        member = "TopicArn" if params.get("TopicArn") else "TargetArn"
        parts = split_arn(arn, member)
        if parts.region != ctx.region and not self.provider.unsigned(ctx):
            raise invalid(member)
        if parts.resource.startswith("endpoint/"):
            return self._to_endpoint(ctx, params, arn)
        key = f"{parts.account}/{parts.region}/{parts.resource}"
        message = prepared or self._message(ctx, params, arn)
        topic = self.store.get(TOPIC, key)
        if topic is None:
            raise topic_not_found()
        self._fifo_ids(topic, message, params)
        return self._publish(topic, key, message)

    def _message(self, ctx: RequestContext, params: dict[str, Any], topic_arn: str) -> msgs.Message:
        text = params.get("Message")
        if not text:
            raise invalid("Empty message")
        subject = msgs.check_subject(params)
        structure = msgs.check_structure(params)
        attributes, size = msgs.check_attributes(params.get("MessageAttributes") or {})
        msgs.check_size(text, size)
        return msgs.Message(
            message_id=ids.message_id(),
            topic_arn=topic_arn,
            message=text,
            subject=subject,
            attributes=attributes,
            timestamp=iso_ms(self.clock.now_ms()),
            structure=structure,
            base_url=ctx.base_url,
            trace=ctx.trace_id,
        )

    def _fifo_ids(
        self, topic: dict[str, Any], message: msgs.Message, params: dict[str, Any]
    ) -> None:
        group = params.get("MessageGroupId")
        dedup = params.get("MessageDeduplicationId")
        if topic["fifo"]:
            if not group:
                raise invalid("The MessageGroupId parameter is required for FIFO topics")
            if not dedup:
                if not parse_bool(topic["attributes"].get("ContentBasedDeduplication")):
                    raise invalid(
                        "The topic should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                dedup = msgs.content_dedup_id(message.message)
        elif dedup:
            raise invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
                "parameter that is not valid for this topic type"
            )
        message.group_id, message.dedup_id = group, dedup

    def _publish(self, topic: dict[str, Any], key: str, message: msgs.Message) -> dict[str, Any]:
        if topic["fifo"]:
            duplicate = self._sequence(topic, key, message)
            answer = {"MessageId": message.message_id, "SequenceNumber": message.sequence}
            if duplicate:
                return answer
            self.provider.fanout.publish(topic, message, key)
            return answer
        self.provider.fanout.publish(topic, message, key)
        return {"MessageId": message.message_id}

    def _sequence(self, topic: dict[str, Any], key: str, message: msgs.Message) -> bool:
        """Number a FIFO message and tell whether it is a duplicate (then it takes the earlier
        message's id and number)."""
        queue = "sns-fifo/" + key
        now = self.clock.now_ms()
        dedup = message.dedup_id or ""
        if topic["attributes"].get("FifoThroughputScope") == "MessageGroup":
            dedup = f"{message.group_id}\x00{dedup}"
        marker = NewRow(
            message_id=message.message_id,
            body="",
            meta=b"",
            sent_at=now,
            visible_at=now + _DEDUP_WINDOW_MS,
            expires_at=now + _DEDUP_WINDOW_MS,
            dedup_id=dedup,
        )
        [(seq, message_id, duplicate)] = self.store.enqueue(
            queue, [marker], dedup_window_ms=_DEDUP_WINDOW_MS, now=now
        )
        message.message_id, message.sequence = message_id, f"1{seq:019d}"
        if not duplicate:
            self.store.purge(queue, before_seq=seq)
        if now - self._expired_at.get(queue, 0) >= _EXPIRE_EVERY_MS:
            self._expired_at[queue] = now
            self.store.expire(queue, now)
        return duplicate

    def _to_phone(self, ctx: RequestContext, params: dict[str, Any], phone: str) -> dict[str, Any]:
        number = sms.check_publish_number(phone)
        message = self._message(ctx, params, "")
        message_id = sms.record(
            self.store,
            self.clock,
            account=ctx.account,
            region=ctx.region,
            phone=number,
            message=message.text_for("sms"),
            attributes=message.attributes,
        )
        return {"MessageId": message_id}

    def _to_endpoint(self, ctx: RequestContext, params: dict[str, Any], arn: str) -> dict[str, Any]:
        try:
            _, endpoint = platform.endpoint_doc(self.store, arn, "TargetArn")
        except AwsError as error:
            if error.code != "NotFound":
                raise
            raise invalid(
                "TargetArn Reason: No endpoint found for the target arn specified"
            ) from None
        if endpoint["attributes"].get("Enabled", "true") != "true":
            raise AwsError("EndpointDisabled", "Endpoint is disabled")
        message = self._message(ctx, params, "")
        platform.record_push(self.store, self.clock, arn, message, None)
        return {"MessageId": message.message_id}

    # -- PublishBatch ----------------------------------------------------------------------------
    def publish_batch(
        self,
        ctx: RequestContext,
        params: dict[str, Any],
        signed: dict[int, msgs.Message] | None = None,
    ) -> dict[str, Any]:
        arn = params["TopicArn"]
        parts = split_arn(arn, "TopicArn")
        if parts.region != ctx.region and not self.provider.unsigned(ctx):
            raise invalid("TopicArn")
        key = f"{parts.account}/{parts.region}/{parts.resource}"
        topic = self.store.get(TOPIC, key)
        if topic is None:
            raise topic_not_found()
        entries = params["PublishBatchRequestEntries"]
        _check_batch(entries)
        prepared: list[tuple[dict[str, Any], msgs.Message | AwsError]] = []
        for entry in entries:  # AWS refuses the whole batch for these mistakes
            msgs.check_structure(entry)
            msgs.check_attributes(entry.get("MessageAttributes") or {})
        for index, entry in enumerate(entries):
            try:
                message: msgs.Message | AwsError = (signed or {}).get(index) or self._message(
                    ctx, entry, arn
                )
            except AwsError as error:
                if error.code != "InvalidParameter":
                    raise
                message = error
            if isinstance(message, msgs.Message):
                self._fifo_ids(topic, message, entry)
            prepared.append((entry, message))
        successful, failed = [], []
        for entry, message in prepared:
            if isinstance(message, AwsError):
                failed.append(_failure(entry["Id"], message))
                continue
            answer = self._publish(topic, key, message)
            successful.append({"Id": entry["Id"], **answer})
        return {"Successful": successful, "Failed": failed}


def _check_batch(entries: list[dict[str, Any]]) -> None:
    if not entries:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(entries) > 10:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            "The batch request contains more entries than permissible.",
        )
    seen: set[str] = set()
    for entry in entries:
        if not _BATCH_ID.match(entry["Id"]):
            raise AwsError(
                "InvalidBatchEntryId",
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            )
        if entry["Id"] in seen:
            raise AwsError(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
            )
        seen.add(entry["Id"])
    total = sum(
        len((e.get("Message") or "").encode()) + msgs.attributes_size(e.get("MessageAttributes"))
        for e in entries
    )
    if total > msgs.MAX_SIZE:
        raise AwsError(
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit.",
        )


def _failure(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {"Id": entry_id, "Code": error.code, "Message": error.message, "SenderFault": True}
