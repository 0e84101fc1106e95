"""Amazon SQS: a thin API over core/queue.

Queues are documents (kind "sqs.queue", key "account/region/name"); messages are core/queue rows
of the queue key "sqs/account/region/name". Both wire protocols SDKs use (JSON and the older
query protocol) reach the same methods.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import orjson

from cloudlet.core import ids
from cloudlet.core.arns import make_arn, parse_arn
from cloudlet.core.queue import ReceivePolicy
from cloudlet.core.store import NewRow, QueueRow
from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.sqs import attributes as qattrs
from cloudlet.services.sqs import messages as msgs
from cloudlet.services.sqs.moves import MoveTasks

KIND = "sqs.queue"
_DEDUP_WINDOW_MS = 5 * 60 * 1000
_PURGE_INTERVAL_MS = 60 * 1000
_MAX_TAGS = 50
_MAX_VISIBILITY = 12 * 60 * 60  # seconds a message may stay hidden after a receive
_MAX_PAYLOAD = 1024 * 1024  # the largest message, and the largest SendMessageBatch request


def _queue_not_found() -> AwsError:
    return AwsError("QueueDoesNotExist", "The specified queue does not exist.")


def _invalid(name: str, value: Any, reason: str) -> AwsError:
    return AwsError(
        "InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Reason: {reason}"
    )


def _queue_exists(attr: str) -> AwsError:
    return AwsError(
        "QueueNameExists",
        f"A queue already exists with the same name and a different value for attribute {attr}",
    )


def _with_encryption(attributes: dict[str, str]) -> dict[str, str]:
    """KMS and SQS-managed encryption exclude each other; KMS brings its data key reuse period."""
    if attributes.get("KmsMasterKeyId"):
        attributes["SqsManagedSseEnabled"] = "false"
        attributes.setdefault("KmsDataKeyReusePeriodSeconds", qattrs.KMS_DATA_KEY_REUSE_DEFAULT)
    return attributes


def _bool(value: str | None) -> bool:
    return str(value).lower() == "true"


class Queue:
    """A queue document and what follows from it."""

    __slots__ = ("doc", "key")

    def __init__(self, key: str, doc: dict[str, Any]) -> None:
        self.key = key
        self.doc = doc

    @property
    def name(self) -> str:
        return self.doc["name"]

    @property
    def arn(self) -> str:
        return self.doc["arn"]

    @property
    def rows_key(self) -> str:
        return "sqs/" + self.key

    @property
    def attributes(self) -> dict[str, str]:
        return self.doc["attributes"]

    @property
    def fifo(self) -> bool:
        return self.doc.get("fifo", False)

    def int_attribute(self, name: str) -> int:
        return int(self.attributes[name])

    def attribute(self, name: str) -> str | None:
        return self.attributes.get(name, qattrs.DEFAULTS.get(name))

    def url(self, ctx: RequestContext) -> str:
        return f"{ctx.base_url}/{self.doc['account']}/{self.name}"


def _name_in_url(url: str) -> tuple[str | None, str]:
    """(account, queue name) in a queue URL (or path); the account is None when it names none."""
    path = urlsplit(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise _queue_not_found()
    account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else None
    return account, parts[-1]


class SqsProvider(Provider):
    service = "sqs"
    helpers = ("queue_by_url", "queue_by_arn", "source_queues_of", "send_internal")

    def __init__(self, app) -> None:
        super().__init__(app)
        self.store = app.store
        self.queues = app.queues
        self.clock = app.clock
        self.moves = MoveTasks(self)
        #: queue URL -> (account or None, name): every message call parses one
        self._url_names: dict[str, tuple[str | None, str]] = {}
        self.receipts = msgs.ReceiptBook()

    # -- lookups ------------------------------------------------------------------------------
    def _key(self, account: str, region: str, name: str) -> str:
        return f"{account}/{region}/{name}"

    def queue_by_url(self, ctx: RequestContext, url: str) -> Queue:
        named = self._url_names.get(url)
        if named is None:
            named = _name_in_url(url)
            if len(self._url_names) >= 4096:  # clients use a few URLs; a flood starts afresh
                self._url_names.clear()
            self._url_names[url] = named
        account, name = named
        key = self._key(account or ctx.account, ctx.region, name)
        doc = self.store.get(KIND, key)
        if doc is None:
            raise _queue_not_found()
        return Queue(key, doc)

    def queue_by_arn(self, arn: str) -> Queue | None:
        parsed = parse_arn(arn)
        if parsed is None or parsed.service != "sqs":
            return None
        key = self._key(parsed.account, parsed.region, parsed.resource)
        doc = self.store.get(KIND, key)
        return Queue(key, doc) if doc is not None else None

    # -- queues -------------------------------------------------------------------------------
    def create_queue(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["QueueName"]
        requested = dict(params.get("Attributes") or {})
        fifo = _bool(requested.get("FifoQueue"))
        if "FifoQueue" in requested and requested["FifoQueue"].lower() not in ("true", "false"):
            raise qattrs.invalid_value("FifoQueue")
        if fifo and not qattrs.FIFO_QUEUE_NAME.match(name):
            raise AwsError(
                "InvalidParameterValue",
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length.",
            )
        if not fifo and not qattrs.QUEUE_NAME.match(name):
            raise AwsError(
                "InvalidParameterValue",
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            )
        settable = qattrs.check_settable(requested, fifo=fifo, creating=True)
        arn = make_arn("sqs", ctx.region, ctx.account, name)
        self._check_redrive(settable, arn, fifo)
        key = self._key(ctx.account, ctx.region, name)
        existing = self.store.get(KIND, key)
        if existing is not None:
            # Only what the request names is compared, against the queue's current values.
            for attr, value in settable.items():
                if Queue(key, existing).attribute(attr) != value:
                    raise _queue_exists(attr)
            return {"QueueUrl": Queue(key, existing).url(ctx)}
        wanted = _with_encryption(
            {**qattrs.DEFAULTS, **(qattrs.FIFO_DEFAULTS if fifo else {}), **settable}
        )
        tags = dict(params.get("tags") or {})
        if len(tags) > _MAX_TAGS:
            raise AwsError("InvalidParameterValue", f"Too many tags added for queue {name}.")
        now = int(self.clock.now())
        doc = {
            "name": name,
            "account": ctx.account,
            "region": ctx.region,
            "arn": arn,
            "fifo": fifo,
            "created": now,
            "modified": now,
            "attributes": wanted,
            "tags": tags,
        }
        self.store.put(KIND, key, doc)
        return {"QueueUrl": Queue(key, doc).url(ctx)}

    def get_queue_url(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = params.get("QueueOwnerAWSAccountId") or ctx.account
        key = self._key(account, ctx.region, params["QueueName"])
        doc = self.store.get(KIND, key)
        if doc is None:
            raise _queue_not_found()
        return {"QueueUrl": Queue(key, doc).url(ctx)}

    def list_queues(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("QueueNamePrefix") or ""
        base = self._key(ctx.account, ctx.region, "")
        found = [Queue(k, d) for k, d in self.store.scan(KIND, base + prefix)]
        return self._page(ctx, params, [q.url(ctx) for q in found], "QueueUrls")

    def _page(
        self, ctx: RequestContext, params: dict[str, Any], urls: list[str], field: str
    ) -> dict[str, Any]:
        limit = params.get("MaxResults")
        if limit is not None and not 1 <= limit <= 1000:
            raise _invalid("MaxResults", limit, "MaxResults must be an integer between 1 and 1000.")
        start = 0
        token = params.get("NextToken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise AwsError("InvalidParameterValue", "Invalid NextToken value.") from None
        end = start + (limit or 1000)
        result: dict[str, Any] = {}
        if urls[start:end]:
            result[field] = urls[start:end]
        if limit is not None and end < len(urls):
            result["NextToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
        return result

    @committed
    def delete_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        with self.store.transaction():
            self.store.delete(KIND, queue.key)
            self.queues.drop(queue.rows_key)

    @committed
    def purge_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        now = self.clock.now_ms()
        last = queue.doc.get("purged_at")
        if last is not None and now - last < _PURGE_INTERVAL_MS:
            raise AwsError(
                "PurgeQueueInProgress",
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
            )
        with self.store.transaction():
            # A purge also forgets deduplication ids: count purges into the ids the store compares.
            purges = queue.doc.get("purges", 0) + 1
            self.store.put(KIND, queue.key, {**queue.doc, "purged_at": now, "purges": purges})
            self.queues.purge(queue.rows_key)

    # -- attributes ---------------------------------------------------------------------------
    def get_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        names = params.get("AttributeNames") or []
        for name in names:
            if name != "All" and name not in qattrs.ALL_NAMES and name not in qattrs.FIFO_DEFAULTS:
                raise qattrs.unknown_attribute(name)
        if not names:
            return {}
        everything = self._all_attributes(queue)
        if "All" in names:
            return {"Attributes": everything}
        return {"Attributes": {n: everything[n] for n in names if n in everything}}

    def _all_attributes(self, queue: Queue) -> dict[str, str]:
        counts = self.queues.counts(queue.rows_key)
        out = {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.in_flight),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
            "CreatedTimestamp": str(queue.doc["created"]),
            "LastModifiedTimestamp": str(queue.doc["modified"]),
        }
        for name, value in queue.attributes.items():
            if value != "" and (
                name != "KmsDataKeyReusePeriodSeconds" or "KmsMasterKeyId" in queue.attributes
            ):
                out[name] = value
        return out

    def set_queue_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        changes = qattrs.check_settable(
            dict(params.get("Attributes") or {}), fifo=queue.fifo, creating=False
        )
        self._check_redrive(changes, queue.arn, queue.fifo)
        attributes = dict(queue.attributes)
        for name, value in changes.items():
            if value == "" and name in (
                "Policy",
                "RedrivePolicy",
                "RedriveAllowPolicy",
                "KmsMasterKeyId",
            ):
                attributes.pop(name, None)
            else:
                attributes[name] = value
        if changes.get("SqsManagedSseEnabled") == "true":
            attributes.pop("KmsMasterKeyId", None)
        if "KmsMasterKeyId" not in attributes:
            attributes.pop("KmsDataKeyReusePeriodSeconds", None)
        attributes = _with_encryption(attributes)
        self.store.put(
            KIND,
            queue.key,
            {**queue.doc, "attributes": attributes, "modified": int(self.clock.now())},
        )

    def _check_redrive(self, attributes: dict[str, str], source_arn: str, fifo: bool) -> None:
        policy = attributes.get("RedrivePolicy")
        if policy:
            target_arn, _ = qattrs.parse_redrive_policy(policy)
            target = self.queue_by_arn(target_arn)
            if target is None:
                raise qattrs.redrive_policy_error(policy, "Dead letter target does not exist.")
            if target.fifo != fifo:
                raise qattrs.redrive_policy_error(
                    policy, "Dead-letter queue must be same type of queue as the source.."
                )
            if not qattrs.redrive_allowed(target.attributes.get("RedriveAllowPolicy"), source_arn):
                raise qattrs.redrive_policy_error(
                    policy,
                    "Source queue is not allowed by the RedriveAllowPolicy of the dead-letter target.",
                )
        if attributes.get("RedriveAllowPolicy"):
            qattrs.parse_redrive_allow_policy(attributes["RedriveAllowPolicy"])

    # -- tags ---------------------------------------------------------------------------------
    def tag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        tags = {**queue.doc.get("tags", {}), **params["Tags"]}
        if len(tags) > _MAX_TAGS:
            raise AwsError("InvalidParameterValue", f"Too many tags added for queue {queue.name}.")
        self.store.put(KIND, queue.key, {**queue.doc, "tags": tags})

    def untag_queue(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        tags = {
            k: v for k, v in queue.doc.get("tags", {}).items() if k not in set(params["TagKeys"])
        }
        self.store.put(KIND, queue.key, {**queue.doc, "tags": tags})

    def list_queue_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        tags = queue.doc.get("tags", {})
        return {"Tags": tags} if tags else {}

    # -- permissions --------------------------------------------------------------------------
    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        label = params["Label"]
        policy = (
            orjson.loads(queue.attributes["Policy"]) if queue.attributes.get("Policy") else None
        )
        policy = policy or {
            "Version": "2008-10-17",
            "Id": f"{queue.arn}/SQSDefaultPolicy",
            "Statement": [],
        }
        if any(s.get("Sid") == label for s in policy["Statement"]):
            raise _invalid("Label", label, "Already exists.")
        if not params["AWSAccountIds"] or not params["Actions"]:
            raise AwsError("MissingParameter", "The request must contain the parameter Actions.")
        principals = [f"arn:aws:iam::{a}:root" for a in params["AWSAccountIds"]]
        actions = [f"SQS:{a}" for a in params["Actions"]]
        policy["Statement"].append(
            {
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                "Action": actions[0] if len(actions) == 1 else actions,
                "Resource": queue.arn,
            }
        )
        self._set_policy(queue, policy)

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        label = params["Label"]
        policy = (
            orjson.loads(queue.attributes["Policy"])
            if queue.attributes.get("Policy")
            else {"Statement": []}
        )
        kept = [s for s in policy.get("Statement", []) if s.get("Sid") != label]
        if len(kept) == len(policy.get("Statement", [])):
            raise _invalid("Label", label, "can't find label.")
        policy["Statement"] = kept
        self._set_policy(queue, policy if kept else None)

    def _set_policy(self, queue: Queue, policy: dict[str, Any] | None) -> None:
        attributes = dict(queue.attributes)
        if policy:
            attributes["Policy"] = orjson.dumps(policy).decode()
        else:
            attributes.pop("Policy", None)
        self.store.put(KIND, queue.key, {**queue.doc, "attributes": attributes})

    # -- dead-letter queues -------------------------------------------------------------------
    def source_queues_of(self, dlq: Queue) -> list[Queue]:
        found = []
        for key, doc in self.store.scan(KIND, self._key(dlq.doc["account"], dlq.doc["region"], "")):
            policy = doc["attributes"].get("RedrivePolicy")
            if policy and orjson.loads(policy).get("deadLetterTargetArn") == dlq.arn:
                found.append(Queue(key, doc))
        return found

    def list_dead_letter_source_queues(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        dlq = self.queue_by_url(ctx, params["QueueUrl"])
        urls = [q.url(ctx) for q in self.source_queues_of(dlq)]
        result = self._page(ctx, params, urls, "queueUrls")
        result.setdefault("queueUrls", [])
        return result

    def start_message_move_task(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.moves.start(ctx, params)

    def cancel_message_move_task(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.moves.cancel(params["TaskHandle"])

    def list_message_move_tasks(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.moves.list(params["SourceArn"], params.get("MaxResults"))

    # -- sending ------------------------------------------------------------------------------
    @committed
    def send_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        row, reply = self._prepare(ctx, queue, params)
        [(seq, message_id, _)] = self.queues.send(
            queue.rows_key, [row], dedup_window_ms=self._dedup_window(queue)
        )
        return self._sent(queue, reply, seq, message_id)

    @committed
    def send_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        entries = params["Entries"]
        self._check_batch(entries, "SendMessageBatchRequestEntry")
        total = sum(msgs.payload_size(entry) for entry in entries)
        if total > _MAX_PAYLOAD:  # the whole request; each message is held to the queue's own limit
            raise AwsError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {_MAX_PAYLOAD} bytes. You have sent {total} bytes.",
            )
        if queue.fifo:  # FIFO parameters missing from any entry fail the whole request
            for entry in entries:
                self._check_fifo_ids(queue, entry, missing_code="InvalidParameterValue")
        prepared: list[tuple[str, NewRow, dict[str, Any]]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                row, reply = self._prepare(ctx, queue, entry)
            except AwsError as error:
                failed.append(_failure(entry["Id"], error))
                continue
            prepared.append((entry["Id"], row, reply))
        results = self.queues.send(
            queue.rows_key, [p[1] for p in prepared], dedup_window_ms=self._dedup_window(queue)
        )
        successful = [
            {"Id": entry_id, **self._sent(queue, reply, seq, message_id)}
            for (entry_id, _, reply), (seq, message_id, _) in zip(prepared, results, strict=True)
        ]
        return {"Successful": successful, "Failed": failed}

    def send_internal(self, queue: Queue, params: dict[str, Any], sender: str) -> dict[str, Any]:
        """SendMessage on behalf of another service of cloudlet (SNS deliveries ...): the API's
        checks and stored form, in the caller's transaction, without an HTTP request. `sender` is
        what SenderId shows."""
        ctx = RequestContext(
            service="sqs",
            operation="SendMessage",
            account=queue.doc["account"],
            region=queue.doc["region"],
            request_id="",
            access_key=sender,
        )
        row, reply = self._prepare(ctx, queue, params)
        [(seq, message_id, _)] = self.queues.send(
            queue.rows_key, [row], dedup_window_ms=self._dedup_window(queue)
        )
        return self._sent(queue, reply, seq, message_id)

    def _check_fifo_ids(self, queue: Queue, params: dict[str, Any], *, missing_code: str) -> None:
        if not params.get("MessageGroupId"):
            raise AwsError(missing_code, "The request must contain the parameter MessageGroupId.")
        if not params.get("MessageDeduplicationId") and not _bool(
            queue.attributes.get("ContentBasedDeduplication")
        ):
            raise AwsError(
                "InvalidParameterValue",
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                "provided explicitly",
            )

    def _check_batch(self, entries: list[dict[str, Any]], entry_name: str) -> None:
        if not entries:
            raise AwsError(
                "EmptyBatchRequest", f"There should be at least one {entry_name} in the request."
            )
        if len(entries) > 10:
            raise AwsError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
            )
        seen: set[str] = set()
        for entry in entries:
            msgs.check_batch_id(entry["Id"])
            if entry["Id"] in seen:
                raise AwsError("BatchEntryIdsNotDistinct", f"Id {entry['Id']} repeated.")
            seen.add(entry["Id"])

    def _dedup_window(self, queue: Queue) -> int:
        return _DEDUP_WINDOW_MS if queue.fifo else 0

    def _prepare(
        self, ctx: RequestContext, queue: Queue, params: dict[str, Any]
    ) -> tuple[NewRow, dict[str, Any]]:
        body = params["MessageBody"]
        msgs.check_body(body)
        attributes = params.get("MessageAttributes") or {}
        size = len(body.encode()) + msgs.check_message_attributes(attributes)
        limit = queue.int_attribute("MaximumMessageSize")
        if size > limit:
            raise AwsError(
                "InvalidParameterValue",
                f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
            )
        system = params.get("MessageSystemAttributes") or {}
        for name, value in system.items():
            if (
                name != "AWSTraceHeader"
                or value.get("DataType") != "String"
                or not value.get("StringValue")
            ):
                raise AwsError(
                    "InvalidParameterValue",
                    f"Message system attribute name '{name}' is invalid.",
                )
        group = params.get("MessageGroupId")
        dedup = params.get("MessageDeduplicationId")
        delay = params.get("DelaySeconds")
        if queue.fifo:
            self._check_fifo_ids(queue, params, missing_code="MissingParameter")
            if delay:  # FIFO queues delay only per queue; an explicit 0 is accepted
                raise _invalid(
                    "DelaySeconds",
                    delay,
                    "The request include parameter that is not valid for this queue type.",
                )
            delay = None
            if not dedup:
                dedup = msgs.hashlib.sha256(body.encode()).hexdigest()
        elif dedup:
            raise _invalid(
                "MessageDeduplicationId",
                dedup,
                "The request include parameter that is not valid for this queue type.",
            )
        if delay is None:
            delay = queue.int_attribute("DelaySeconds")
        elif not 0 <= delay <= 900:
            raise _invalid("DelaySeconds", delay, "must be between 0 and 900, if provided.")
        now = self.clock.now_ms()
        dedup_key = None
        if dedup is not None:
            scope = queue.attributes.get("DeduplicationScope", "queue")
            dedup_key = f"{group}\x00{dedup}" if scope == "messageGroup" else dedup
            if queue.doc.get("purges"):
                dedup_key = f"{queue.doc['purges']}\x01{dedup_key}"
        reply: dict[str, Any] = {"MD5OfMessageBody": msgs.md5_hex(body.encode()), "size": size}
        if attributes:
            reply["MD5OfMessageAttributes"] = msgs.md5_of_attributes(attributes)
        if system:
            reply["MD5OfMessageSystemAttributes"] = msgs.md5_of_attributes(system)
        meta = {
            "md5": reply["MD5OfMessageBody"],  # computed once, at send
            "sender": ctx.access_key or ctx.account,
            "attrs": _encode_attributes(attributes),
            "trace": system.get("AWSTraceHeader", {}).get("StringValue"),
            "dedup": dedup,
        }
        row = NewRow(
            message_id=ids.message_id(),
            body=body,
            meta=orjson.dumps(meta),
            sent_at=now,
            visible_at=now + delay * 1000,
            expires_at=now + queue.int_attribute("MessageRetentionPeriod") * 1000,
            group_id=group,
            dedup_id=dedup_key,
        )
        return row, reply

    def _sent(
        self, queue: Queue, reply: dict[str, Any], seq: int, message_id: str
    ) -> dict[str, Any]:
        out = {k: v for k, v in reply.items() if k != "size"}
        out["MessageId"] = message_id
        if queue.fifo:
            out["SequenceNumber"] = f"{seq:020d}"
        return out

    # -- receiving ----------------------------------------------------------------------------
    async def receive_message(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        limit = params.get("MaxNumberOfMessages", 1)
        if not 1 <= limit <= 10:
            raise _invalid("MaxNumberOfMessages", limit, "Must be between 1 and 10, if provided.")
        wait = params.get("WaitTimeSeconds")
        if wait is None:
            wait = queue.int_attribute("ReceiveMessageWaitTimeSeconds")
        elif not 0 <= wait <= 20:
            raise _invalid("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
        visibility = params.get("VisibilityTimeout")
        if visibility is None:
            visibility = queue.int_attribute("VisibilityTimeout")
        elif not 0 <= visibility <= 43200:
            raise _invalid(
                "VisibilityTimeout", visibility, "Must be >= 0 and <= 43200, if provided."
            )
        policy = ReceivePolicy(visibility_ms=visibility * 1000, fifo=queue.fifo)
        dlq = self._dead_letter_target(queue)
        if dlq is not None:
            policy.dead_letter_queue, policy.max_receives = dlq
        rows = await self.queues.receive(queue.rows_key, limit, policy, wait)
        if not rows:
            return {}
        wanted_system = set(params.get("MessageSystemAttributeNames") or []) | set(
            params.get("AttributeNames") or []
        )
        wanted_user = params.get("MessageAttributeNames") or []
        return {
            "Messages": [
                self._message(queue, row, wanted_system, wanted_user, policy.visibility_ms)
                for row in rows
            ]
        }

    def _dead_letter_target(self, queue: Queue) -> tuple[str, int] | None:
        policy = queue.attributes.get("RedrivePolicy")
        if not policy:
            return None
        target_arn, count = qattrs.parse_redrive_policy(policy)
        target = self.queue_by_arn(target_arn)
        if target is None:
            return None
        return target.rows_key, count

    def _message(
        self, queue: Queue, row: QueueRow, system: set[str], wanted: list[str], visibility_ms: int
    ) -> dict[str, Any]:
        meta = orjson.loads(row.meta)
        received_at = row.visible_at - visibility_ms  # the claim hid it until now + visibility
        message: dict[str, Any] = {
            "MessageId": row.message_id,
            "ReceiptHandle": self.receipts.make(
                queue.rows_key, row.seq, row.receipt or "", received_at, row.visible_at
            ),
            "MD5OfBody": meta.get("md5") or msgs.md5_hex(row.body.encode()),
            "Body": row.body,
        }
        if system:
            message["Attributes"] = self._system_attributes(queue, row, meta, system)
        stored = meta.get("attrs") if wanted else None
        attributes = msgs.select_attributes(_decode_attributes(stored), wanted) if stored else None
        if attributes:
            message["MessageAttributes"] = attributes
            message["MD5OfMessageAttributes"] = msgs.md5_of_attributes(attributes)
        return message

    def _system_attributes(
        self, queue: Queue, row: QueueRow, meta: dict[str, Any], wanted: set[str]
    ) -> dict[str, str]:
        values = {
            "SenderId": meta.get("sender"),
            "SentTimestamp": str(row.sent_at),
            "ApproximateReceiveCount": str(row.receive_count),
            "ApproximateFirstReceiveTimestamp": str(row.first_receive_at or row.sent_at),
            "AWSTraceHeader": meta.get("trace"),
            "MessageGroupId": row.group_id,
        }
        if queue.fifo:
            values["SequenceNumber"] = f"{row.seq:020d}"
            values["MessageDeduplicationId"] = meta.get("dedup")
        if row.origin:
            values["DeadLetterQueueSourceArn"] = _arn_of_rows_key(row.origin)
        every = "All" in wanted
        return {k: v for k, v in values.items() if v is not None and (every or k in wanted)}

    # -- acknowledging ------------------------------------------------------------------------
    def _receipt(self, queue: Queue, handle: str) -> msgs.Receipt:
        receipt = self.receipts.read(handle)
        if receipt.queue_key != queue.rows_key:
            raise AwsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        return receipt

    @committed
    def delete_message(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        self._delete(queue, params["ReceiptHandle"])

    def _delete(self, queue: Queue, handle: str) -> None:
        """Delete by receipt. A stale receipt is no error (SQS is at-least-once), except that a FIFO
        queue refuses a receipt whose visibility timeout has run out."""
        receipt = self._receipt(queue, handle)
        if not queue.fifo:
            self.queues.delete(queue.rows_key, receipt.seq, receipt.token)
            return
        now = self.clock.now_ms()
        with self.store.transaction():
            # Still in flight under this receipt? (The probe's new visibility is deleted with the row.)
            in_flight = self.store.set_visibility(
                queue.rows_key, receipt.seq, receipt.token, now=now, visible_at=now + 1
            )
            if in_flight:
                self.queues.delete(queue.rows_key, receipt.seq, receipt.token)
            elif now >= receipt.visible_until:
                raise _invalid("ReceiptHandle", handle, "The receipt handle has expired.")

    @committed
    def delete_message_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        entries = params["Entries"]
        self._check_batch(entries, "DeleteMessageBatchRequestEntry")
        successful, failed = [], []
        receipts: list[tuple[int, str]] = []  # a standard queue's deletes: one statement
        for entry in entries:
            try:
                if queue.fifo:
                    self._delete(queue, entry["ReceiptHandle"])
                else:
                    receipt = self._receipt(queue, entry["ReceiptHandle"])
                    receipts.append((receipt.seq, receipt.token))
            except AwsError as error:
                failed.append(_failure(entry["Id"], error))
                continue
            successful.append({"Id": entry["Id"]})
        if receipts:
            self.queues.delete_many(queue.rows_key, receipts)
        return {"Successful": successful, "Failed": failed}

    @committed
    def change_message_visibility(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        self._change_visibility(queue, params["ReceiptHandle"], params["VisibilityTimeout"])

    def _change_visibility(self, queue: Queue, handle: str, timeout: int) -> None:
        """Change an in-flight message's visibility. As on SQS, a receipt whose visibility timeout
        already ran out is accepted and changes nothing; one of a deleted message is invalid; and
        a message stays hidden at most 12 hours after the receive."""
        receipt = self._receipt(queue, handle)
        now = self.clock.now_ms()
        if timeout < 0 or (now - receipt.received_at) // 1000 + timeout > _MAX_VISIBILITY:
            raise _invalid(
                "VisibilityTimeout",
                timeout,
                f"Total VisibilityTimeout for the message is beyond the limit [{_MAX_VISIBILITY} seconds]",
            )
        if self.queues.change_visibility(
            queue.rows_key, receipt.seq, receipt.token, timeout * 1000
        ):
            return
        if now >= receipt.visible_until:
            return
        raise _invalid(
            "ReceiptHandle",
            handle,
            "Message does not exist or is not available for visibility timeout change.",
        )

    @committed
    def change_message_visibility_batch(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        queue = self.queue_by_url(ctx, params["QueueUrl"])
        entries = params["Entries"]
        self._check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")
        successful, failed = [], []
        for entry in entries:
            try:
                self._change_visibility(
                    queue, entry["ReceiptHandle"], entry.get("VisibilityTimeout", 0)
                )
            except AwsError as error:
                failed.append(_failure(entry["Id"], error))
                continue
            successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}

    def close(self) -> None:
        self.moves.close()

    def reset(self) -> None:
        self.moves.close()


def _failure(entry_id: str, error: AwsError) -> dict[str, Any]:
    from cloudlet.protocols.quirks import QUERY_ERROR_CODES

    code = QUERY_ERROR_CODES["sqs"].get(error.code, error.code)
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": code,
        "Message": error.message,
    }


def _encode_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, value in attributes.items():
        item = {"DataType": value["DataType"]}
        if "BinaryValue" in value and value["DataType"].startswith("Binary"):
            item["BinaryValue"] = base64.b64encode(bytes(value["BinaryValue"])).decode()
        else:
            item["StringValue"] = value.get("StringValue")
        out[name] = item
    return out


def _decode_attributes(stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, value in stored.items():
        if "BinaryValue" in value:
            out[name] = {
                "DataType": value["DataType"],
                "BinaryValue": base64.b64decode(value["BinaryValue"]),
            }
        else:
            out[name] = value
    return out


def _arn_of_rows_key(rows_key: str) -> str:
    _, account, region, name = rows_key.split("/", 3)
    return make_arn("sqs", region, account, name)
