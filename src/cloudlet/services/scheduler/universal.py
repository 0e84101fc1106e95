"""Scheduler's universal targets: `arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`.

The schedule's Input is the action's request, with the API's own member names (`{"QueueUrl": ...,
"MessageBody": ...}` for `sqs:sendMessage`). It is decoded and validated against the service's
model exactly as a client's request would be, then handed to cloudlet's provider of that service
(never re-implemented here). A service or action cloudlet does not implement fails the delivery.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import orjson

from cloudlet.protocols.errors import ParamValidationError
from cloudlet.services import PROVIDERS
from cloudlet.services.events.targets import TargetError, call_operation

if TYPE_CHECKING:
    from cloudlet.app import App

UNIVERSAL = re.compile(r"^arn:aws:scheduler:::aws-sdk:([a-z0-9]+):([a-zA-Z0-9]+)$")
#: SDK service names (as in the ARN) whose botocore model is named differently
_MODEL_NAMES = {
    "sfn": "stepfunctions",
    "cloudwatchlogs": "logs",
    "eventbridge": "events",
    "cloudwatch": "cloudwatch",
}


def resolve(arn: str) -> tuple[str, str] | None:
    """(model name, operation name) of a universal target ARN, or None if it is not one."""
    match = UNIVERSAL.match(arn)
    if not match:
        return None
    service, action = match.groups()
    return _MODEL_NAMES.get(service, service), action[:1].upper() + action[1:]


async def call_universal(app: App, arn: str, account: str, region: str, body: str) -> None:
    from cloudlet.protocols.json import decode_structure
    from cloudlet.protocols.model import load_service_model
    from cloudlet.protocols.validate import validate

    resolved = resolve(arn)
    if resolved is None or resolved[0] not in PROVIDERS:
        raise TargetError("NO_RESOURCE", f"cloudlet does not implement the target {arn}.")
    service, operation_name = resolved
    model = load_service_model(service)
    if operation_name not in model.operation_names:
        raise TargetError("ValidationException", f"Unknown operation {operation_name}.")
    operation = model.operation(operation_name)
    try:
        data = orjson.loads(body or "{}")
        params = decode_structure(operation.input, data) if operation.input else {}
        validate(operation.input, params)
    except (orjson.JSONDecodeError, AttributeError, ParamValidationError) as error:
        raise TargetError("ValidationException", str(error)) from None
    await call_operation(app, service, operation_name, account, region, params)
