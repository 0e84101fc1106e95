"""Where records of asynchronous invocations go: destinations and dead-letter queues.

`Destinations.deliver_to(arn, record)` dispatches on the service of the ARN: SQS queues, Lambda
functions, SNS topics (the record is the message) and EventBridge buses (the record is the
`detail` of an event with source `lambda` and detail-type
`Lambda Function Invocation Result - Success|Failure`). A delivery joins the caller's
transaction, so the record is stored in the same commit that finishes the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.arns import parse_arn
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.awslambda.functions import Ref

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.lambda")

#: (function, payload) -> store an asynchronous invocation of it, in the caller's transaction
EnqueueEvent = Callable[[Ref, bytes], None]


def iso_timestamp(ms: int) -> str:
    """The record's timestamp: `2019-11-14T18:16:05.568Z`."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def json_or_text(payload: bytes | str | None) -> Any:
    """A payload as the record carries it: parsed JSON, else the text itself."""
    if payload is None or payload in (b"", ""):
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invokes: int,
    request_payload: str,
    response: dict[str, Any] | None,
    now_ms: int,
) -> dict[str, Any]:
    """AWS's invocation record (version 1.0). `response` is the last attempt's answer
    (`executed`, `error`, `payload`), None when the function never ran (throttled, expired)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_timestamp(now_ms),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invokes,
        },
        "requestPayload": json_or_text(request_payload),
    }
    if response is not None and response.get("executed") is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": response["executed"]}
        if response.get("error"):
            context["functionError"] = response["error"]
        record["responseContext"] = context
        record["responsePayload"] = json_or_text(response.get("payload"))
    return record


def dead_letter_attributes(request_id: str, response: dict[str, Any] | None) -> dict[str, Any]:
    """The message attributes Lambda adds to an event it dead-letters: the request id, the HTTP
    status of the last attempt and the first kilobyte of its error message."""
    status, message = 200, ""
    if response is not None:
        status = int(response.get("status") or 200)
        payload = json_or_text(response.get("payload"))
        if isinstance(payload, dict):
            message = str(payload.get("errorMessage") or payload.get("message") or "")
        elif payload is not None:
            message = str(payload)
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(status)},
    }
    if message:
        attributes["ErrorMessage"] = {"DataType": "String", "StringValue": message[:1024]}
    return attributes


class Destinations:
    """Deliveries run inside the caller's transaction (the group commit that also acknowledges
    the event), so a record is stored exactly when its event is done with."""

    def __init__(self, app: App, enqueue_event: EnqueueEvent) -> None:
        self.app = app
        self.enqueue_event = enqueue_event

    def deliver_to(
        self, arn: str, record: dict[str, Any] | str, attributes: dict[str, Any] | None = None
    ) -> bool:
        """Send a record (or, for dead-letter queues, the original event with `attributes`) to
        the resource an ARN names; False when it could not be delivered (logged, as AWS counts a
        DestinationDeliveryFailures metric). A failed delivery rolls back alone."""
        parsed = parse_arn(arn)
        deliverer = _DELIVERERS.get(parsed.service) if parsed is not None else None
        if deliverer is None:
            service = parsed.service if parsed is not None else arn
            log.info("records for %s are not delivered: cloudlet has no %s yet", arn, service)
            return False
        body = record if isinstance(record, str) else orjson.dumps(record).decode()
        try:
            with self.app.store.transaction():
                return deliverer(self, arn, body, attributes)
        except AwsError as error:
            log.warning("could not deliver a record to %s: %s", arn, error.message)
            return False

    def _to_sqs(self, arn: str, body: str, attributes: dict[str, Any] | None) -> bool:
        sqs = self.app.provider("sqs")
        queue = sqs.queue_by_arn(arn)  # type: ignore[attr-defined]
        if queue is None:
            log.warning("could not deliver a record to %s: the queue does not exist", arn)
            return False
        if queue.fifo:
            log.warning("could not deliver a record to %s: FIFO queues are not destinations", arn)
            return False
        params: dict[str, Any] = {"MessageBody": body}
        if attributes:
            params["MessageAttributes"] = attributes
        sqs.send_internal(queue, params, sender=queue.doc["account"])  # type: ignore[attr-defined]
        return True

    def _to_lambda(self, arn: str, body: str, attributes: dict[str, Any] | None) -> bool:
        parts = arn.split(":")
        if len(parts) not in (7, 8) or parts[5] != "function":
            log.warning("could not deliver a record to %s: not a function ARN", arn)
            return False
        ref = Ref(parts[4], parts[3], parts[6], parts[7] if len(parts) == 8 else None)
        self.enqueue_event(ref, body.encode())
        return True

    def _to_sns(self, arn: str, body: str, attributes: dict[str, Any] | None) -> bool:
        """The record is the message of a publish to the topic, in the caller's transaction."""
        parsed = parse_arn(arn)
        assert parsed is not None
        ctx = RequestContext(
            service="sns",
            operation="Publish",
            account=parsed.account,
            region=parsed.region,
            request_id=ids.request_id(),
        )
        sns = self.app.provider("sns")
        sns.publisher.publish(ctx, {"TopicArn": arn, "Message": body}, None)  # type: ignore[attr-defined]
        return True

    def _to_events(self, arn: str, body: str, attributes: dict[str, Any] | None) -> bool:
        """The record is the `detail` of a "Lambda Function Invocation Result" event on the bus."""
        parsed = parse_arn(arn)
        assert parsed is not None
        record = orjson.loads(body)
        context = record.get("requestContext", {}) if isinstance(record, dict) else {}
        outcome = "Success" if context.get("condition") == "Success" else "Failure"
        bus = parsed.resource.partition("/")[2] or "default"
        event = {
            "version": "0",
            "id": ids.uuid4(),
            "detail-type": f"Lambda Function Invocation Result - {outcome}",
            "source": "lambda",
            "account": parsed.account,
            "time": datetime.fromtimestamp(self.app.clock.now(), UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "region": parsed.region,
            "resources": [arn, context.get("functionArn", "")],
            "detail": record,
        }
        self.app.provider("events").route(parsed.account, parsed.region, bus, event)  # type: ignore[attr-defined]
        return True


_Deliverer = Callable[[Destinations, str, str, "dict[str, Any] | None"], bool]

#: ARN service -> deliverer
_DELIVERERS: dict[str, _Deliverer] = {
    "sqs": Destinations._to_sqs,
    "lambda": Destinations._to_lambda,
    "sns": Destinations._to_sns,
    "events": Destinations._to_events,
}
