"""Integrations of REST API methods: what a request becomes once admitted.

- AWS_PROXY: the payload format 1.0 event to a Lambda function, its answer as the response.
- HTTP_PROXY: the request passed to a URL as it came, the answer passed back as it came.
- MOCK, AWS and HTTP ("non-proxy"): the request mapped by a Velocity template (or passed through
  per `passthroughBehavior`), sent to the backend, the integration response chosen by
  `selectionPattern`, then mapped by its template and response parameters.

AWS service integrations (`arn:aws:apigateway:<region>:<service>:action/<Action>` or
`...:path/...`) go through the target service's own codec and provider method, in process, with a
RequestContext of the API's account: the same parsing, validation and answer as an SDK call,
never an HTTP round trip. Lambda is invoked through its invoker, like function URLs do.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from cloudlet.protocols import HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.runtime import Invocation, InvocationResult
from cloudlet.services.apigateway.proxy import (
    INTERNAL_ERROR,
    event_v1,
    is_binary,
    proxy_response,
)

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.apigateway.dataplane import Call, DataPlane

_FUNCTION = re.compile(r":lambda:path/[^/]+/functions/(.+)/invocations$")
_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_HOP = frozenset(
    ("host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "expect")
)


class IntegrationTimeout(Exception):
    """The backend did not answer within `timeoutInMillis`."""


@dataclass(slots=True)
class Backend:
    """What a non-proxy backend answered: the selection pattern is matched against `selector`
    (the status code for HTTP and AWS services, the error message for Lambda functions)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    selector: str = ""


def with_stage_variables(text: str, variables: dict[str, str]) -> str:
    """`${stageVariables.name}` in a URI or ARN replaced by the stage's value."""
    if "${" not in text:
        return text
    return _STAGE_VAR.sub(lambda m: variables.get(m.group(1), ""), text)


def function_arn(uri: str) -> str | None:
    """The function ARN in a Lambda integration URI, or None."""
    match = _FUNCTION.search(uri)
    return match.group(1) if match else None


async def invoke_lambda(
    app: App, arn: str, payload: bytes, request_id: str, timeout_s: float
) -> InvocationResult:
    """Run a function synchronously, as API Gateway does; AwsError when it cannot be invoked,
    IntegrationTimeout past `timeout_s` (the invocation itself runs on to its own end)."""
    from cloudlet.services.awslambda.functions import Ref

    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        raise AwsError("ResourceNotFoundException", f"Invalid function ARN: {arn}")
    ref = Ref(parts[4], parts[3], parts[6], parts[7] if len(parts) > 7 else None)
    invoker = app.provider("lambda").invoker  # type: ignore[attr-defined]
    target = invoker.target(ref)
    spec = await invoker.spec(target)
    run = asyncio.ensure_future(
        invoker.run(spec, Invocation(request_id, payload, target.invoked_arn))
    )
    try:
        return await asyncio.wait_for(asyncio.shield(run), timeout_s)
    except TimeoutError:
        raise IntegrationTimeout() from None


async def integrate(plane: DataPlane, call: Call) -> HttpResponse:
    integration = call.method.get("methodIntegration")
    if integration is None:
        return plane.gateway_response(call, "API_CONFIGURATION_ERROR", "Internal server error")
    kind = integration.get("type")
    try:
        if kind == "AWS_PROXY":
            return await _lambda_proxy(plane, call, integration)
        if kind == "HTTP_PROXY":
            return await _http_proxy(plane, call, integration)
        return await _mapped(plane, call, integration)
    except IntegrationTimeout:
        return plane.gateway_response(call, "INTEGRATION_TIMEOUT", "Endpoint request timed out")
    except (AwsError, IntegrationFailure):
        return plane.gateway_response(call, "API_CONFIGURATION_ERROR", "Internal server error")


class IntegrationFailure(Exception):
    """The integration could not be carried out (unreachable backend, template error ...)."""


def timeout_of(integration: dict[str, Any]) -> float:
    return (integration.get("timeoutInMillis") or 29000) / 1000


async def _lambda_proxy(plane: DataPlane, call: Call, integration: dict[str, Any]) -> HttpResponse:
    arn = function_arn(with_stage_variables(integration.get("uri") or "", call.stage_variables))
    if arn is None:
        raise IntegrationFailure("not a Lambda function URI")
    binary = call.compiled.binary_types
    event = event_v1(
        call.request,
        resource=call.resource["path"],
        path=call.path,
        path_parameters=call.path_parameters,
        stage_variables=call.stage_variables,
        request_context=call.context(),
        binary=is_binary(call.request.headers.get("content-type", ""), binary),
        added_headers=call.added_headers(),
    )
    result = await invoke_lambda(
        plane.app, arn, orjson.dumps(event), call.request_id, timeout_of(integration)
    )
    if not result.function_error:
        accept = call.request.headers.get("accept", "")
        response = proxy_response(
            result.payload, call.request_id, binary_types=binary, accept=accept
        )
        if response is not None:
            return response
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": call.request_id,
        "x-amzn-ErrorType": "InternalServerErrorException",
    }
    return HttpResponse(502, headers, INTERNAL_ERROR)


# -- HTTP --------------------------------------------------------------------------------------


def request_parameters(
    plane: DataPlane, call: Call, integration: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """`integration.request.<place>.<name>` mappings evaluated: place -> name -> value."""
    out: dict[str, dict[str, str]] = {"header": {}, "querystring": {}, "path": {}}
    for target, source in (integration.get("requestParameters") or {}).items():
        if not target.startswith("integration.request."):
            continue
        place, _, name = target[len("integration.request.") :].partition(".")
        value = plane.parameter_value(call, source)
        if value is not None and place in out:
            out[place][name] = value
    return out


def _url(call: Call, integration: dict[str, Any], mapped: dict[str, dict[str, str]]) -> str:
    url = with_stage_variables(integration.get("uri") or "", call.stage_variables)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).rstrip("+")
        value = mapped["path"].get(name, call.path_parameters.get(name, ""))
        return quote(value, safe="/")  # a greedy parameter's slashes stay slashes

    return re.sub(r"\{([A-Za-z0-9_.+-]+)\}", fill, url)


async def _http_proxy(plane: DataPlane, call: Call, integration: dict[str, Any]) -> HttpResponse:
    from cloudlet.core.http_client import HttpFailure, HttpTimeout, fetch

    mapped = request_parameters(plane, call, integration)
    url = _url(call, integration, mapped)
    query = call.request.query
    if mapped["querystring"]:
        query = "&".join(filter(None, (query, urlencode(mapped["querystring"]))))
    if query:
        url += ("&" if "?" in url else "?") + query
    headers = {k: v for k, v in call.request.headers.items() if k not in _HOP}
    headers.update(mapped["header"])
    verb = integration.get("httpMethod") or call.request.method
    if verb == "ANY":
        verb = call.request.method
    try:
        status, got, body = await fetch(
            verb, url, headers, call.request.body, timeout_of(integration)
        )
    except HttpTimeout:
        raise IntegrationTimeout() from None
    except HttpFailure as error:
        raise IntegrationFailure(str(error)) from None
    out = {k: v for k, v in got if k.lower() not in _HOP}
    out["x-amzn-RequestId"] = call.request_id
    return HttpResponse(status, out, body)


async def _http_backend(
    plane: DataPlane, call: Call, integration: dict[str, Any], body: str
) -> Backend:
    from cloudlet.core.http_client import HttpFailure, HttpTimeout, fetch

    mapped = request_parameters(plane, call, integration)
    url = _url(call, integration, mapped)
    if mapped["querystring"]:
        url += ("&" if "?" in url else "?") + urlencode(mapped["querystring"])
    headers = {"Content-Type": "application/json", **mapped["header"]}
    try:
        status, got, data = await fetch(
            integration.get("httpMethod") or "GET",
            url,
            headers,
            body.encode(),
            timeout_of(integration),
        )
    except HttpTimeout:
        raise IntegrationTimeout() from None
    except HttpFailure as error:
        raise IntegrationFailure(str(error)) from None
    return Backend(status, dict(got), data, str(status))


# -- non-proxy integrations --------------------------------------------------------------------


async def _mapped(plane: DataPlane, call: Call, integration: dict[str, Any]) -> HttpResponse:
    body = _map_request(plane, call, integration)
    if isinstance(body, HttpResponse):
        return body
    kind = integration.get("type")
    if kind == "MOCK":
        backend = _mock(body)
    elif kind == "HTTP":
        backend = await _http_backend(plane, call, integration, body)
    else:
        from cloudlet.services.apigateway.services import aws_backend

        backend = await aws_backend(plane, call, integration, body)
    return _respond(plane, call, integration, backend)


def _template_context(call: Call) -> dict[str, Any]:
    """`$context` of templates: the request context plus the overrides templates may set."""
    context = call.context()
    context.setdefault("requestOverride", {"header": {}, "querystring": {}, "path": {}})
    context.setdefault("responseOverride", {"header": {}, "status": None})
    return context


def _map_request(plane: DataPlane, call: Call, integration: dict[str, Any]) -> str | HttpResponse:
    """The integration request body: the template for the request's content type, or the body
    itself as `passthroughBehavior` allows (415 Unsupported Media Type when it does not)."""
    raw = call.request.body.decode("utf-8", "replace")
    templates = integration.get("requestTemplates") or {}
    content_type = call.request.headers.get("content-type") or "application/json"
    template = templates.get(content_type.split(";", 1)[0].strip().lower())
    if template is None:
        behavior = integration.get("passthroughBehavior") or "WHEN_NO_MATCH"
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
            return plane.gateway_response(call, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type")
        return raw
    return _render(plane, call, template, raw)


def _render(plane: DataPlane, call: Call, template: str, body: str) -> str:
    from cloudlet.services.apigateway.vtl import TemplateError

    try:
        return plane.templates.render(
            template,
            body=body,
            params=call.params(),
            context=_template_context(call),
            stage_variables=call.stage_variables,
        )
    except TemplateError as error:
        raise IntegrationFailure(str(error)) from None


def _mock(body: str) -> Backend:
    """A MOCK integration answers the status code its request template names (200 if none)."""
    try:
        data = orjson.loads(body) if body.strip() else {}
        status = int(data.get("statusCode", 200)) if isinstance(data, dict) else 200
    except (orjson.JSONDecodeError, TypeError, ValueError):
        status = 200
    return Backend(status, {}, b"", str(status))


def _select(responses: dict[str, dict[str, Any]], selector: str) -> dict[str, Any] | None:
    """The integration response whose selectionPattern matches the selector (whole string, as
    Java's `matches`), else the default one (no pattern)."""
    default = None
    for response in responses.values():
        pattern = response.get("selectionPattern")
        if not pattern:
            default = default or response
            continue
        try:
            if re.fullmatch(pattern, selector):
                return response
        except re.error:
            continue
    return default


def _respond(
    plane: DataPlane, call: Call, integration: dict[str, Any], backend: Backend
) -> HttpResponse:
    chosen = _select(integration.get("integrationResponses") or {}, backend.selector)
    if chosen is None:
        return plane.gateway_response(call, "API_CONFIGURATION_ERROR", "Internal server error")
    templates = chosen.get("responseTemplates") or {}
    accept = call.request.headers.get("accept", "").split(",")[0].split(";")[0].strip()
    media = (
        accept
        if accept in templates
        else "application/json"
        if "application/json" in templates
        else next(iter(templates), None)
    )
    body = backend.body
    if media is not None and templates[media]:
        text = _render(plane, call, templates[media], body.decode("utf-8", "replace"))
        body = text.encode()
    body = _convert(chosen.get("contentHandling"), body)
    content_type = media or next(
        (v for k, v in backend.headers.items() if k.lower() == "content-type"), "application/json"
    )
    headers = {"Content-Type": content_type, "x-amzn-RequestId": call.request_id}
    for name, source in (chosen.get("responseParameters") or {}).items():
        if name.startswith("method.response.header."):
            value = plane.parameter_value(call, source, (backend.headers, backend.body))
            if value is not None:
                headers[name[len("method.response.header.") :]] = value
    status = int(chosen.get("statusCode") or 200)
    override = (call.context().get("responseOverride") or {}) if call._context else {}
    if override.get("status"):
        status = int(str(override["status"]))
    headers.update({k: str(v) for k, v in (override.get("header") or {}).items()})
    return HttpResponse(status, headers, body)


def _convert(handling: str | None, body: bytes) -> bytes:
    if handling == "CONVERT_TO_BINARY":
        try:
            return base64.b64decode(body)
        except ValueError:
            return body
    if handling == "CONVERT_TO_TEXT":
        return base64.b64encode(body)
    return body
