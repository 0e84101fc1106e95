"""Fan-out: a published message to every confirmed subscription whose filter policy accepts it.

Runs inside the Publish's commit. Deliveries that cannot fail for reasons outside cloudlet happen
right there, in the same transaction: SQS queues get their message (a publish acknowledged is a
message on the queue, with no extra hop — the SNS → SQS path is the one that must be fast), email
lands in the mailbox, SMS and mobile push are recorded. HTTP/S endpoints and Lambda functions get a
row on the durable delivery queue (`outbound`), which retries them.

A topic's subscribers, with their filter policies compiled, are cached per topic and dropped
whenever a subscription of the topic changes, so a publish never scans the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.core.patterns import FilterPolicy, PatternError, compile_filter_policy
from cloudlet.protocols.errors import AwsError
from cloudlet.services.sns import messages as msgs
from cloudlet.services.sns import sms
from cloudlet.services.sns.common import SUBSCRIPTION, iso_ms
from cloudlet.services.sns.outbound import SNS_SENDER, Outbound, function_ref, lambda_enqueuer
from cloudlet.services.sns.signing import (
    CONFIRMATION_FIELDS,
    NOTIFICATION_FIELDS,
    Signer,
    canonical,
)
from cloudlet.services.sns.subscriptions import dead_letter_arn, delivery_policy, is_raw
from cloudlet.services.sns.topics import DEFAULT_CONTENT_TYPE

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.sns")

EMAIL_SENDER = "AWS Notifications <no-reply@sns.amazonaws.com>"
EMAIL_FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit "
    "the link below to unsubscribe:\n{url}\n\nPlease do not reply directly to this email. If you "
    "have any questions or comments regarding this email, please contact us at "
    "https://aws.amazon.com/support"
)
USER_AGENT = "Amazon Simple Notification Service Agent"
CONFIRM_TEXT = (
    "You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the "
    "SubscribeURL included in this message."
)
UNSUBSCRIBE_TEXT = (
    "You have chosen to deactivate subscription {sub}.\nTo cancel this operation and restore the "
    "subscription, visit the SubscribeURL included in this message."
)
EMAIL_CONFIRM = (
    "You have chosen to subscribe to the topic: \n{topic}\n\nTo confirm this subscription, click "
    "or visit the link below (If this was in error no action is necessary): \nConfirm "
    "subscription: {url}\n\nPlease do not reply directly to this email. If you wish to remove "
    "yourself from receiving all future SNS subscription confirmation requests please send an "
    "email to sns-opt-out"
)
_SIGNING_KEYS = ("SignatureVersion", "Signature", "SigningCertURL")
_ENVELOPED = frozenset({"sqs", "http", "https"})


@dataclass(slots=True)
class Subscriber:
    doc: dict[str, Any]
    policy: FilterPolicy | None


def unsubscribe_url(base_url: str, subscription_arn: str) -> str:
    return f"{base_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"


def http_headers(
    kind: str, message_id: str, topic_arn: str, sub_arn: str | None, content_type: str
) -> dict[str, str]:
    headers = {
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn,
    }
    if sub_arn:
        headers["x-amz-sns-subscription-arn"] = sub_arn
    headers.update(
        {"Content-Type": content_type, "User-Agent": USER_AGENT, "Accept-Encoding": "gzip,deflate"}
    )
    return headers


class FanOut:
    def __init__(self, app: App, signer: Signer, outbound: Outbound) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.signer = signer
        self.outbound = outbound
        self.mailbox = app.mailbox
        self._subscribers: dict[str, list[Subscriber]] = {}

    # -- the subscriber cache --------------------------------------------------------------------
    def subscribers(self, topic_key: str) -> list[Subscriber]:
        found = self._subscribers.get(topic_key)
        if found is None:
            found = [
                Subscriber(doc, _policy(doc))
                for _, doc in self.store.scan(SUBSCRIPTION, topic_key + "/")
            ]
            self._subscribers[topic_key] = found
        return found

    def forget(self, topic_key: str | None = None) -> None:
        if topic_key is None:
            self._subscribers.clear()
        else:
            self._subscribers.pop(topic_key, None)

    def counts(self, topic_key: str) -> tuple[int, int]:
        subs = self.subscribers(topic_key)
        confirmed = sum(1 for s in subs if s.doc["confirmed"])
        return confirmed, len(subs) - confirmed

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, topic: dict[str, Any], message: msgs.Message, topic_key: str) -> None:
        for subscriber in self.subscribers(topic_key):
            sub = subscriber.doc
            if not sub["confirmed"]:
                continue
            protocol = sub["protocol"]
            text = message.text_for(protocol)
            if subscriber.policy is not None and not subscriber.policy.matches_message(
                text, message.attributes
            ):
                continue
            try:
                _HANDLERS[protocol](self, topic, sub, message, text)
            except AwsError as error:  # a delivery's failure never fails the publish
                log.warning("SNS delivery to %s failed: %s", sub["endpoint"], error.message)

    def signing(
        self, topic: dict[str, Any], message: msgs.Message, text: str, version: str | None = None
    ) -> dict[str, str]:
        """Signature fields of a notification (one signature per distinct text and version, often
        computed ahead of the commit by the signing process; see `wanted_signatures`)."""
        version = version or topic["attributes"].get("SignatureVersion", "1")
        signature = message.signatures.get((text, version))
        if signature is None:
            signature = self.signer.sign(notification_canonical(message, text), version)
            message.signatures[(text, version)] = signature
        return {
            "SignatureVersion": version,
            "Signature": signature,
            "SigningCertURL": self.signer.cert_url(message.base_url),
        }

    def wanted_signatures(
        self, topic: dict[str, Any], key: str, message: msgs.Message
    ) -> list[tuple[str, str]]:
        """The (text, version) pairs publishing `message` will sign, to sign them beforehand."""
        if topic["fifo"]:
            return []
        version = topic["attributes"].get("SignatureVersion", "1")
        wanted: set[tuple[str, str]] = set()
        for subscriber in self.subscribers(key):
            sub = subscriber.doc
            protocol = sub["protocol"]
            if not sub["confirmed"]:
                continue
            if protocol == "lambda":
                wanted.add((message.text_for(protocol), "1"))
            elif protocol == "email-json" or (protocol in _ENVELOPED and not is_raw(sub)):
                wanted.add((message.text_for(protocol), version))
        return sorted(wanted)

    def envelope(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> str:
        fifo = topic["fifo"]
        signing = {} if fifo else self.signing(topic, message, text)
        fields = msgs.notification_fields(
            message,
            text,
            fifo=fifo,
            unsubscribe_url=unsubscribe_url(message.base_url, sub["arn"]),
            signing=signing,
        )
        return msgs.pretty(fields, msgs.envelope_attributes(message.attributes))

    # -- confirmations ---------------------------------------------------------------------------
    def confirmation(
        self, topic: dict[str, Any], sub: dict[str, Any], token: str, base_url: str, kind: str
    ) -> None:
        """Send a SubscriptionConfirmation (or UnsubscribeConfirmation) to an HTTP/S or email
        endpoint; its SubscribeURL calls ConfirmSubscription on this server."""
        topic_arn = topic["arn"]
        subscribe_url = f"{base_url}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
        if kind == "SubscriptionConfirmation":
            text = CONFIRM_TEXT.format(topic=topic_arn)
        else:
            text = UNSUBSCRIBE_TEXT.format(sub=sub["arn"])
        message_id = ids.message_id()
        fields = msgs.confirmation_fields(
            kind,
            message_id=message_id,
            token=token,
            topic_arn=topic_arn,
            text=text,
            subscribe_url=subscribe_url,
            timestamp=iso_ms(self.clock.now_ms()),
        )
        version = topic["attributes"].get("SignatureVersion", "1")
        signing = self.signer.signing_fields(dict(fields), CONFIRMATION_FIELDS, version, base_url)
        body = msgs.pretty(fields + [(k, signing[k]) for k in _SIGNING_KEYS])
        protocol = sub["protocol"]
        if protocol in ("http", "https"):
            sub_arn = sub["arn"] if kind != "SubscriptionConfirmation" else None
            headers = http_headers(kind, message_id, topic_arn, sub_arn, DEFAULT_CONTENT_TYPE)
            meta = {"kind": "http", "type": kind, "endpoint": sub["endpoint"], "headers": headers}
            meta["sub"], meta["message_id"] = sub["arn"], message_id
            self.outbound.enqueue(message_id, body, meta)
        elif protocol in ("email", "email-json") and kind == "SubscriptionConfirmation":
            if protocol == "email":
                body = EMAIL_CONFIRM.format(topic=topic_arn, url=subscribe_url)
            self.mailbox.deliver(
                sender=EMAIL_SENDER,
                to=[sub["endpoint"]],
                subject="AWS Notification - Subscription Confirmation",
                body=body,
                source="sns",
            )

    # -- one handler per protocol ----------------------------------------------------------------
    def _to_sqs(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        raw = is_raw(sub)
        body = text if raw else self.envelope(topic, sub, message, text)
        meta = self._failure_meta(sub, message, raw)
        sqs = self.app.provider("sqs")
        queue = sqs.queue_by_arn(sub["endpoint"])  # type: ignore[attr-defined]
        if queue is None:  # a client error: straight to the dead-letter queue
            self.outbound.dead_letter(dead_letter_arn(sub), body, meta)
            return
        params: dict[str, Any] = {"MessageBody": body}
        if raw and message.attributes:
            params["MessageAttributes"] = msgs.sqs_attributes(message.attributes)
        if message.trace:
            params["MessageSystemAttributes"] = {
                "AWSTraceHeader": {"DataType": "String", "StringValue": message.trace}
            }
        if queue.fifo:
            params["MessageGroupId"] = message.group_id or "default"
            params["MessageDeduplicationId"] = message.dedup_id or msgs.content_dedup_id(text)
        elif message.group_id and not topic["fifo"]:
            params["MessageGroupId"] = message.group_id
        try:
            sqs.send_internal(queue, params, SNS_SENDER)  # type: ignore[attr-defined]
        except AwsError as error:
            log.info("SNS could not deliver to %s: %s", sub["endpoint"], error.message)
            self.outbound.dead_letter(dead_letter_arn(sub), body, meta)

    def _failure_meta(
        self, sub: dict[str, Any], message: msgs.Message, raw: bool
    ) -> dict[str, Any]:
        return {
            "message_id": message.message_id,
            "sub": sub["arn"],
            "attrs": message.attributes if raw else None,
            "group": message.group_id,
            "dedup": message.dedup_id,
        }

    def _to_http(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        raw = is_raw(sub)
        policy = delivery_policy(sub, topic)
        body = text if raw else self.envelope(topic, sub, message, text)
        headers = http_headers(
            "Notification",
            message.message_id,
            message.topic_arn,
            sub["arn"],
            policy["content_type"],
        )
        if raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        meta = self._failure_meta(sub, message, raw)
        meta.update(
            kind="http",
            type="Notification",
            endpoint=sub["endpoint"],
            headers=headers,
            retry=policy["retry"],
            dlq=dead_letter_arn(sub),
        )
        self.outbound.enqueue(message.message_id, body, meta)

    def _to_lambda(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        """Lambda's asynchronous invocation takes the event in this same commit (SNS invokes
        functions asynchronously; Lambda retries them); a missing function is a client error."""
        signing = self.signing(topic, message, text, version="1")
        url = unsubscribe_url(message.base_url, sub["arn"])
        event = msgs.lambda_event(message, text, sub["arn"], url, signing)
        meta = self._failure_meta(sub, message, False)
        dlq = dead_letter_arn(sub)
        enqueue_now = lambda_enqueuer(self.app)
        if enqueue_now is None:  # no asynchronous engine: a durable delivery row runs it
            meta.update(kind="lambda", type="Notification", endpoint=sub["endpoint"], dlq=dlq)
            if dlq:
                meta["dlq_body"] = self.envelope(topic, sub, message, text)
            self.outbound.enqueue(message.message_id, event.decode(), meta)
            return
        ref = function_ref(sub["endpoint"])
        try:
            if ref is None:
                raise AwsError(
                    "ResourceNotFoundException", f"Function not found: {sub['endpoint']}"
                )
            with self.store.transaction():  # a savepoint: a refused event leaves nothing behind
                enqueue_now(ref, event)
        except AwsError as error:
            log.info("SNS could not invoke %s: %s", sub["endpoint"], error.message)
            self.outbound.dead_letter(dlq, self.envelope(topic, sub, message, text), meta)

    def _to_email(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        url = unsubscribe_url(message.base_url, sub["arn"])
        if sub["protocol"] == "email-json":
            body = self.envelope(topic, sub, message, text)
        else:
            body = text + EMAIL_FOOTER.format(url=url)
        display = topic["attributes"].get("DisplayName")
        self.mailbox.deliver(
            sender=f"{display} <no-reply@sns.amazonaws.com>" if display else EMAIL_SENDER,
            to=[sub["endpoint"]],
            subject=message.subject or "AWS Notification Message",
            body=body,
            source="sns",
        )

    def _to_sms(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        display = topic["attributes"].get("DisplayName")
        sms.record(
            self.store,
            self.clock,
            account=topic["account"],
            region=topic["region"],
            phone=sub["endpoint"],
            message=f"{display}> {text}" if display else text,
            attributes=message.attributes,
            origin={"TopicArn": message.topic_arn, "SubscriptionArn": sub["arn"]},
        )

    def _to_application(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        from cloudlet.services.sns.platform import record_push

        record_push(self.store, self.clock, sub["endpoint"], message, sub["arn"])

    def _to_firehose(
        self, topic: dict[str, Any], sub: dict[str, Any], message: msgs.Message, text: str
    ) -> None:
        log.info(
            "SNS message %s for %s not delivered: cloudlet has no Firehose",
            message.message_id,
            sub["endpoint"],
        )


_HANDLERS = {
    "sqs": FanOut._to_sqs,
    "http": FanOut._to_http,
    "https": FanOut._to_http,
    "lambda": FanOut._to_lambda,
    "email": FanOut._to_email,
    "email-json": FanOut._to_email,
    "sms": FanOut._to_sms,
    "application": FanOut._to_application,
    "firehose": FanOut._to_firehose,
}


def _policy(doc: dict[str, Any]) -> FilterPolicy | None:
    text = doc["attributes"].get("FilterPolicy")
    if not text:
        return None
    try:
        policy = compile_filter_policy(
            text, doc["attributes"].get("FilterPolicyScope") or "MessageAttributes"
        )
    except PatternError:  # validated when set; a stored one that no longer compiles filters nothing
        log.warning("the filter policy of %s does not compile; it is ignored", doc["arn"])
        return None
    return policy


def notification_canonical(message: msgs.Message, text: str) -> str:
    """The string a Notification's signature covers."""
    fields = {
        "Message": text,
        "MessageId": message.message_id,
        "Subject": message.subject,
        "Timestamp": message.timestamp,
        "TopicArn": message.topic_arn,
        "Type": "Notification",
    }
    return canonical(fields, NOTIFICATION_FIELDS)
