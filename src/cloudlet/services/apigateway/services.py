"""AWS integrations (non-proxy): Lambda functions and AWS service actions behind a method.

`arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations` invokes the
function with the mapped body; its result (or, for a function error, its `errorMessage`, which
selection patterns match) comes back. Any other service is called as an SDK would call it,
minus the network: the mapped request is parsed by that service's codec (JSON protocol with
`X-Amz-Target` for `action/<Action>` of JSON services such as Step Functions; the query protocol
for form bodies, as SQS's `Action=SendMessage&MessageBody=...` integrations send), validated
against its model, run by its provider with a RequestContext of the API's account and region,
and serialized as the service answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from cloudlet.core import ids
from cloudlet.protocols import HttpRequest, get_codec
from cloudlet.protocols.errors import AwsError, ParamValidationError, UnknownOperation
from cloudlet.protocols.model import load_service_model
from cloudlet.protocols.validate import validate
from cloudlet.services import PROVIDERS, RequestContext
from cloudlet.services.apigateway.integrations import (
    Backend,
    IntegrationFailure,
    function_arn,
    invoke_lambda,
    request_parameters,
    timeout_of,
    with_stage_variables,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.dataplane import Call, DataPlane

#: service names in integration ARNs (endpoint prefixes) that differ from the model's name
_MODEL_NAMES = {"states": "stepfunctions", "email": "ses", "monitoring": "cloudwatch"}
_FORM = "application/x-www-form-urlencoded"


async def aws_backend(
    plane: DataPlane, call: Call, integration: dict[str, Any], body: str
) -> Backend:
    uri = with_stage_variables(integration.get("uri") or "", call.stage_variables)
    parts = uri.split(":", 5)
    if len(parts) != 6 or parts[2] != "apigateway":
        raise IntegrationFailure(f"not an AWS integration URI: {uri}")
    region, service, target = parts[3] or call.region, parts[4], parts[5]
    if service == "lambda":
        return await _lambda(plane, call, integration, uri, body)
    model_name = _MODEL_NAMES.get(service, service)
    if model_name not in PROVIDERS:
        raise IntegrationFailure(f"cloudlet does not serve {service}")
    mapped = request_parameters(plane, call, integration)
    kind, _, rest = target.partition("/")
    request = _service_request(model_name, kind, rest, body, mapped)
    return await _call_service(plane, call, model_name, region, request)


async def _lambda(plane: DataPlane, call: Call, integration: dict, uri: str, body: str) -> Backend:
    arn = function_arn(uri)
    if arn is None:
        raise IntegrationFailure("not a Lambda function URI")
    payload = body.encode() if body.strip() else b"{}"
    result = await invoke_lambda(plane.app, arn, payload, call.request_id, timeout_of(integration))
    selector = ""
    if result.function_error:
        try:
            error = orjson.loads(result.payload)
            selector = str(error.get("errorMessage", "")) if isinstance(error, dict) else ""
        except orjson.JSONDecodeError:
            selector = result.payload.decode("utf-8", "replace")
    headers = {"Content-Type": "application/json"}
    return Backend(200, headers, result.payload, selector)


def _service_request(
    model_name: str, kind: str, rest: str, body: str, mapped: dict[str, dict[str, str]]
) -> HttpRequest:
    """The request an SDK would send for this integration."""
    model = load_service_model(model_name)
    headers = {k.lower(): v for k, v in mapped["header"].items()}
    query = urlencode(mapped["querystring"])
    path = "/" + rest if kind == "path" else "/"
    action = rest if kind == "action" else ""
    form = headers.get("content-type", "").startswith(_FORM) or model.protocol in ("query", "ec2")
    if form:
        data = body
        if action and "Action=" not in data:
            data = "&".join(filter(None, (f"Action={action}", data)))
        headers["content-type"] = _FORM
        return HttpRequest("POST", path, query, headers, data.encode())
    if action and model.target_prefix:
        headers["x-amz-target"] = f"{model.target_prefix}.{action}"
        headers["content-type"] = (
            f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
        )
        return HttpRequest("POST", path, query, headers, body.encode() or b"{}")
    raise IntegrationFailure(f"cannot call {model_name} with {kind}/{rest}")


async def _call_service(
    plane: DataPlane, call: Call, model_name: str, region: str, request: HttpRequest
) -> Backend:
    model = load_service_model(model_name)
    protocol = "query" if request.headers.get("content-type") == _FORM else "json"
    codec = get_codec(model, protocol)
    request_id = ids.request_id()
    operation = None
    try:
        operation, params = codec.parse(request)
        if protocol == "query" and request.path != "/" and "QueueUrl" not in params:
            # SQS queue URLs as integration paths (`sqs:path/<account>/<queue>`)
            params["QueueUrl"] = f"http://{call.request.host or 'localhost'}{request.path}"
        validate(operation.input, params)
        found = plane.app.provider(model_name).handler(operation.name)
        if found is None:
            raise AwsError(
                "NotImplemented", f"cloudlet does not implement {operation.name}", status=501
            )
        method, is_async = found
        ctx = RequestContext(
            service=model_name,
            operation=operation.name,
            account=call.account,
            region=region,
            request_id=request_id,
            host=call.request.host or "localhost",
        )
        result = await method(ctx, params) if is_async else method(ctx, params)
        response = codec.serialize(operation, result or {}, request_id)
    except AwsError as error:
        response = codec.serialize_error(error, operation, request_id)
    except (ParamValidationError, UnknownOperation) as error:
        response = codec.serialize_error(
            AwsError("ValidationException", str(error)), operation, request_id
        )
    body = response.body if isinstance(response.body, bytes) else b""
    return Backend(response.status, dict(response.headers), body, str(response.status))
