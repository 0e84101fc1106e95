"""Event notifications: SQS queues, Lambda functions and SNS topics, and EventBridge.

A bucket's NotificationConfiguration is checked as S3 checks it (known events, prefix/suffix
rules, destinations that exist) and answered with an `s3:TestEvent` to each queue. Each object
change then builds AWS's event record (eventVersion 2.1) for every configuration whose events and
filter match, and delivers it *inside the commit of the change itself*: onto the SQS queue, onto
Lambda's durable asynchronous-invocation queue, or through SNS's publish (which fans out in the
same transaction). So a change that was acknowledged has its notifications stored, and a failed
change has none. With EventBridge enabled, "Object Created"/"Object Deleted" events are emitted
on the app's EventHub right after the commit.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import orjson

from cloudlet.core.arns import parse_arn
from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.restxml import RestXmlCodec
from cloudlet.services import RequestContext
from cloudlet.services.s3.common import bucket_arn, iso, owner_id

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.s3")

#: SenderId of the messages S3 puts on SQS queues (S3's service principal)
S3_SENDER = "AIDAJQR6QDGQ7PATMSYEY"
EVENTS = frozenset(
    {
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
        "s3:ObjectAcl:Put",
        "s3:LifecycleExpiration:*",
        "s3:Replication:*",
        "s3:IntelligentTiering",
        "s3:ReducedRedundancyLostObject",
    }
)
#: (configuration list, ARN member)
_KINDS = (
    ("QueueConfigurations", "QueueArn"),
    ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
    ("TopicConfigurations", "TopicArn"),
)
_REASONS = {
    "ObjectCreated:Put": "PutObject",
    "ObjectCreated:Post": "POST Object",
    "ObjectCreated:Copy": "CopyObject",
    "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "ObjectRemoved:Delete": "DeleteObject",
    "ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


def invalid_destination(arn: str) -> AwsError:
    return AwsError(
        "InvalidArgument",
        "Unable to validate the following destination configurations",
        status=400,
        fields={"ArgumentName1": arn, "ArgumentValue1": "The destination does not exist"},
    )


def _rules(config: dict[str, Any]) -> list[tuple[str, str]]:
    rules = ((config.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    return [(r.get("Name", "").lower(), r.get("Value", "")) for r in rules]


class Notifications:
    def __init__(self, app: App) -> None:
        self.app = app
        self._sequence = itertools.count(app.clock.now_ms() * 1000)

    # -- configuration -------------------------------------------------------------------------
    def check(self, config: dict[str, Any]) -> dict[str, Any]:
        """A configuration as stored: validated, each entry with an Id."""
        out: dict[str, Any] = {}
        for kind, arn_member in _KINDS:
            entries = []
            for entry in config.get(kind) or []:
                events = entry.get("Events") or []
                if not events or any(e not in EVENTS for e in events):
                    raise AwsError(
                        "InvalidArgument",
                        "The event is not supported for notifications",
                        status=400,
                    )
                names = [name for name, _ in _rules(entry)]
                if any(n not in ("prefix", "suffix") for n in names) or len(set(names)) != len(
                    names
                ):
                    raise AwsError(
                        "InvalidArgument",
                        "Cannot specify more than one prefix rule in a filter."
                        if len(set(names)) != len(names)
                        else "filter rule name must be either prefix or suffix",
                        status=400,
                    )
                if not self._exists(entry[arn_member]):
                    raise invalid_destination(entry[arn_member])
                entries.append({**entry, "Id": entry.get("Id") or str(uuid.uuid4())})
            if entries:
                out[kind] = entries
        if config.get("EventBridgeConfiguration") is not None:
            out["EventBridgeConfiguration"] = {}
        return out

    def _exists(self, arn: str) -> bool:
        parsed = parse_arn(arn)
        if parsed is None:
            return False
        app = self.app
        if parsed.service == "sqs":
            return app.provider("sqs").queue_by_arn(arn) is not None  # type: ignore[attr-defined]
        if parsed.service == "lambda":
            return _function_exists(app, parsed)
        if parsed.service == "sns":
            return (
                app.store.get("sns.topic", f"{parsed.account}/{parsed.region}/{parsed.resource}")
                is not None
            )
        return False

    def test_event(self, ctx: RequestContext, bucket: str, config: dict[str, Any]) -> None:
        """The s3:TestEvent S3 sends each queue of a new configuration (inside its commit)."""
        message = {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": iso(self.app.clock.now_ms()),
            "Bucket": bucket,
            "RequestId": ctx.request_id,
            "HostId": RestXmlCodec.host_id(ctx.request_id),
        }
        for entry in config.get("QueueConfigurations") or []:
            self._to_sqs(entry["QueueArn"], orjson.dumps(message).decode())

    # -- events --------------------------------------------------------------------------------
    def object_event(
        self,
        ctx: RequestContext,
        bucket: dict[str, Any],
        key: str,
        version: dict[str, Any],
        event: str,
    ) -> list[dict[str, Any]]:
        """Deliver the notifications of one change (inside its commit); returns the EventBridge
        events to emit once it has committed."""
        config = bucket.get("notify")
        if not config:
            return []
        sequencer = f"{next(self._sequence):016X}"
        full = "s3:" + event
        for kind, arn_member in _KINDS:
            for entry in config.get(kind) or []:
                if not _wanted(entry, full, key):
                    continue
                record = self._record(ctx, bucket, key, version, event, entry["Id"], sequencer)
                self._deliver(ctx, entry[arn_member], orjson.dumps({"Records": [record]}).decode())
        if "EventBridgeConfiguration" in config:
            return [self._bridge_event(ctx, bucket, key, version, event, sequencer)]
        return []

    def emit(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.app.events.emit(event["account"], event["region"], event)

    def _record(
        self,
        ctx: RequestContext,
        bucket: dict[str, Any],
        key: str,
        version: dict[str, Any],
        event: str,
        config_id: str,
        sequencer: str,
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not version.get("dm") and event.startswith("ObjectCreated"):
            obj["size"] = version["size"]
            obj["eTag"] = version["etag"]
        if version.get("id") and version["id"] != "null":
            obj["versionId"] = version["id"]
        obj["sequencer"] = sequencer
        principal = f"AWS:{ctx.access_key}" if ctx.access_key else "anonymous"
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": bucket["region"],
            "eventTime": iso(self.app.clock.now_ms()),
            "eventName": event,
            "userIdentity": {"principalId": principal},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {
                "x-amz-request-id": ctx.request_id,
                "x-amz-id-2": RestXmlCodec.host_id(ctx.request_id),
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": config_id,
                "bucket": {
                    "name": bucket["name"],
                    "ownerIdentity": {"principalId": owner_id(bucket["account"])[:14].upper()},
                    "arn": bucket_arn(bucket["name"]),
                },
                "object": obj,
            },
        }

    def _bridge_event(
        self,
        ctx: RequestContext,
        bucket: dict[str, Any],
        key: str,
        version: dict[str, Any],
        event: str,
        sequencer: str,
    ) -> dict[str, Any]:
        created = event.startswith("ObjectCreated")
        obj: dict[str, Any] = {"key": key}
        if created:
            obj.update(size=version["size"], etag=version["etag"])
        if version.get("id") and version["id"] != "null":
            obj["version-id"] = version["id"]
        obj["sequencer"] = sequencer
        detail: dict[str, Any] = {
            "version": "0",
            "bucket": {"name": bucket["name"]},
            "object": obj,
            "request-id": ctx.request_id,
            "requester": ctx.account,
            "source-ip-address": "127.0.0.1",
            "reason": _REASONS.get(event, event),
        }
        if not created:
            detail["deletion-type"] = (
                "Delete Marker Created" if version.get("dm") else "Permanently Deleted"
            )
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created" if created else "Object Deleted",
            "source": "aws.s3",
            "account": bucket["account"],
            "time": iso(self.app.clock.now_ms())[:19] + "Z",
            "region": bucket["region"],
            "resources": [bucket_arn(bucket["name"])],
            "detail": detail,
        }

    # -- delivery ------------------------------------------------------------------------------
    def _deliver(self, ctx: RequestContext, arn: str, body: str) -> None:
        """One record to one destination; a destination that vanished is logged (as AWS drops
        such events) without failing the change."""
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            with self.app.store.transaction():
                if service == "sqs":
                    self._to_sqs(arn, body)
                elif service == "lambda":
                    self._to_lambda(arn, body)
                elif service == "sns":
                    self._to_sns(ctx, arn, body)
        except Exception as error:
            log.warning("could not deliver an S3 event to %s: %s", arn, error)

    def _to_sqs(self, arn: str, body: str) -> None:
        sqs = self.app.provider("sqs")
        queue = sqs.queue_by_arn(arn)  # type: ignore[attr-defined]
        if queue is None:
            raise LookupError("the queue does not exist")
        params: dict[str, Any] = {"MessageBody": body}
        if queue.fifo:
            params.update(MessageGroupId="s3", MessageDeduplicationId=str(uuid.uuid4()))
        sqs.send_internal(queue, params, sender=S3_SENDER)  # type: ignore[attr-defined]

    def _to_lambda(self, arn: str, body: str) -> None:
        from cloudlet.services.awslambda.functions import Ref

        parts = arn.split(":")
        ref = Ref(parts[4], parts[3], parts[6], parts[7] if len(parts) == 8 else None)
        self.app.provider("lambda").events.enqueue_now(ref, body.encode())  # type: ignore[attr-defined]

    def _to_sns(self, ctx: RequestContext, arn: str, body: str) -> None:
        sns = self.app.provider("sns")
        params = {"TopicArn": arn, "Message": body, "Subject": "Amazon S3 Notification"}
        parsed = parse_arn(arn)
        sender = RequestContext(
            service="sns",
            operation="Publish",
            account=parsed.account if parsed else ctx.account,
            region=parsed.region if parsed else ctx.region,
            request_id=ctx.request_id,
            access_key="",
            host=ctx.host,
            scheme=ctx.scheme,
        )
        internal = getattr(sns, "publish_internal", None)
        if internal is not None:
            internal(sender, params)
        else:
            sns.publisher.publish(sender, params)  # type: ignore[attr-defined]


def _function_exists(app: App, parsed: Any) -> bool:
    from cloudlet.services.awslambda.functions import Ref

    parts = parsed.resource.split(":")
    if len(parts) < 2 or parts[0] != "function":
        return False
    name = parts[1]
    try:
        app.provider("lambda").functions.function(Ref(parsed.account, parsed.region, name))  # type: ignore[attr-defined]
    except AwsError:
        return False
    return True


def _wanted(entry: dict[str, Any], event: str, key: str) -> bool:
    if not any(fnmatchcase(event, pattern) for pattern in entry.get("Events") or []):
        return False
    for name, value in _rules(entry):
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True
