"""Delivering one input to one target: a deliverer per kind of target ARN.

Local targets that only write to the store — SQS queues, Lambda's asynchronous-invocation queue,
CloudWatch Logs, another event bus — are *synchronous*: they run inside the caller's transaction
(the PutEvents commit, the timer's commit), so an answered PutEvents has already reached them.
Targets that take time or do their own commit — API destinations (HTTP), SNS topics, Step
Functions, Scheduler's universal `aws-sdk` targets — are *asynchronous* and run from the durable
delivery queue (see `delivery`). Other services are reached through their providers' own operation
methods with a RequestContext (`call_operation`), never re-implemented here.

A deliverer raises `TargetError` with AWS's error code and whether the failure is worth retrying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.arns import parse_arn
from cloudlet.protocols.errors import AwsError, ParamValidationError
from cloudlet.services import PROVIDERS, RequestContext

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.events.delivery import Deliveries

_RETRYABLE_CODES = ("Throttling", "ThrottlingException", "TooManyRequestsException")


class TargetError(Exception):
    """A failed delivery: AWS's error code and message, and whether a retry may succeed."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


def from_aws_error(error: AwsError) -> TargetError:
    retryable = error.status >= 500 or error.code in _RETRYABLE_CODES
    return TargetError(error.code, error.message, retryable)


def kind_of(arn: str) -> str:
    """The deliverer of a target ARN: its service, with EventBridge split into buses and API
    destinations, and Scheduler's universal targets apart."""
    if arn.startswith("arn:aws:scheduler:::aws-sdk:"):
        return "universal"
    parsed = parse_arn(arn)
    if parsed is None:
        return ""
    if parsed.service == "events":
        return "api-destination" if parsed.resource.startswith("api-destination/") else "bus"
    return parsed.service


# -- synchronous deliverers (inside the caller's transaction) -----------------------------------------
def to_sqs(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    target = meta["target"]
    sqs = engine.app.provider("sqs")
    queue = sqs.queue_by_arn(target["Arn"])  # type: ignore[attr-defined]
    if queue is None:
        raise TargetError("NO_RESOURCE", "The specified queue does not exist.")
    params: dict[str, Any] = {"MessageBody": body}
    if queue.fifo:
        params["MessageGroupId"] = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if queue.attributes.get("ContentBasedDeduplication") != "true":
            params["MessageDeduplicationId"] = meta["event_id"]
    try:
        sqs.send_internal(queue, params, sender=meta["account"])  # type: ignore[attr-defined]
    except AwsError as error:
        raise TargetError("INVALID_PARAMETER", error.message) from None


def to_lambda(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    """Lambda targets are invoked asynchronously, as AWS does: once Lambda has the event, its own
    retry settings and destinations apply."""
    from cloudlet.services.awslambda.functions import Ref

    parts = meta["target"]["Arn"].split(":")
    if len(parts) not in (7, 8) or parts[5] != "function":
        raise TargetError("INVALID_PARAMETER", "The target is not a function ARN.")
    ref = Ref(parts[4], parts[3], parts[6], parts[7] if len(parts) == 8 else None)
    lam = engine.app.provider("lambda")
    try:
        lam.events.enqueue_now(ref, body.encode())  # type: ignore[attr-defined]
    except AwsError as error:
        failure = from_aws_error(error)
        if error.code == "ResourceNotFoundException":
            failure.code = "NO_RESOURCE"
        raise failure from None


def to_logs(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    """One log stream per event, named after the event's id, as EventBridge names them; the
    message is the input (or the `message` of a `{"timestamp", "message"}` template)."""
    from cloudlet.services.logs.resources import GROUP, group_key

    parsed = parse_arn(meta["target"]["Arn"])
    assert parsed is not None
    group = parsed.resource.removeprefix("log-group:").removesuffix(":*")
    if engine.app.store.get(GROUP, group_key(parsed.account, parsed.region, group)) is None:
        raise TargetError("NO_RESOURCE", f"The specified log group does not exist: {group}")
    timestamp, message = meta.get("time_ms") or engine.clock.now_ms(), body
    if body.startswith("{"):
        document = orjson.loads(body)
        if isinstance(document, dict) and set(document) == {"timestamp", "message"}:
            message = document["message"] if isinstance(document["message"], str) else body
    logs = engine.app.provider("logs")
    logs.append(parsed.account, parsed.region, group, meta["event_id"], [(timestamp, message)])  # type: ignore[attr-defined]


def to_bus(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    """Another event bus, in this account or another: the event goes through that bus's rules."""
    parsed = parse_arn(meta["target"]["Arn"])
    assert parsed is not None
    name = parsed.resource.removeprefix("event-bus/")
    events = engine.provider
    if events.bus(parsed.account, parsed.region, name) is None:
        raise TargetError("NO_RESOURCE", f"Event bus {name} does not exist.")
    event = orjson.loads(body)
    events.route(parsed.account, parsed.region, name, event, depth=meta.get("depth", 0) + 1)


SyncDeliverer = Callable[["Deliveries", dict[str, Any], str], None]
SYNC: dict[str, SyncDeliverer] = {
    "sqs": to_sqs,
    "lambda": to_lambda,
    "logs": to_logs,
    "bus": to_bus,
}
#: deliverers that raise TargetError before writing anything (the hot path skips a savepoint)
ATOMIC = frozenset((to_sqs, to_lambda))


# -- asynchronous deliverers (from the delivery queue) ----------------------------------------------
async def call_operation(
    app: App, service: str, operation: str, account: str, region: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Call another service's operation as a client would, through its provider's method."""
    if service not in PROVIDERS:
        raise TargetError("NO_RESOURCE", f"cloudlet does not implement {service} yet.")
    found = app.provider(service).handler(operation)
    if found is None:
        raise TargetError("NO_RESOURCE", f"cloudlet does not implement {service}.{operation} yet.")
    method, is_async = found
    ctx = RequestContext(
        service=service,
        operation=operation,
        account=account,
        region=region,
        request_id=ids.request_id(),
        access_key=account,
        host=f"{app.config.host}:{app.config.port}",
    )
    try:
        result = await method(ctx, params) if is_async else method(ctx, params)
    except AwsError as error:
        raise from_aws_error(error) from None
    except ParamValidationError as error:
        raise TargetError("ValidationException", error.message) from None
    return result or {}


async def to_sns(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    parsed = parse_arn(meta["target"]["Arn"])
    assert parsed is not None
    params: dict[str, Any] = {"TopicArn": meta["target"]["Arn"], "Message": body}
    if parsed.resource.endswith(".fifo"):
        group = (meta["target"].get("SqsParameters") or {}).get("MessageGroupId") or "default"
        params.update(MessageGroupId=group, MessageDeduplicationId=meta["event_id"])
    await call_operation(engine.app, "sns", "Publish", parsed.account, parsed.region, params)


async def to_states(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    """Step Functions StartExecution: the seam for the stepfunctions provider (until it exists,
    the delivery fails without retries and reaches the dead-letter queue, if any)."""
    parsed = parse_arn(meta["target"]["Arn"])
    assert parsed is not None
    params = {"stateMachineArn": meta["target"]["Arn"], "input": body}
    await call_operation(
        engine.app, "stepfunctions", "StartExecution", parsed.account, parsed.region, params
    )


async def to_api_destination(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    await engine.provider.invoke_api_destination(meta["target"], body)


async def to_universal(engine: Deliveries, meta: dict[str, Any], body: str) -> None:
    """`arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`: the input is the action's request."""
    from cloudlet.services.scheduler.universal import call_universal

    await call_universal(engine.app, meta["target"]["Arn"], meta["account"], meta["region"], body)


AsyncDeliverer = Callable[["Deliveries", dict[str, Any], str], Awaitable[None]]
ASYNC: dict[str, AsyncDeliverer] = {
    "sns": to_sns,
    "states": to_states,
    "api-destination": to_api_destination,
    "universal": to_universal,
}
