"""The REST API data plane: a request on an invoke URL, through a deployed stage, to its
integration and back.

The order is AWS's: stage and route (403 `Missing Authentication Token` when nothing matches),
throttling (stage and method settings), IAM or Lambda authorizer, API key and usage plan
(throttle and quota), request validation, then the integration (`integrations`). Every refusal
is a gateway response, customizable per API (`gateway_response`).

A deployment is compiled once (route tree, settings) and cached by its id: deployments never
change, so nothing is ever stale; a request costs a few dictionary lookups before it reaches its
integration.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.protocols import HttpRequest, HttpResponse
from cloudlet.services.apigateway.common import API_KEY, INDEX, KEY_VALUE, STAGE, USAGE_PLAN, scope
from cloudlet.services.apigateway.extras import GATEWAY_RESPONSES, default_gateway_response
from cloudlet.services.apigateway.proxy import identity, request_time
from cloudlet.services.apigateway.routes import RouteTree
from cloudlet.services.apigateway.vtl import Templates

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

_ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "INVALID_API_KEY": "ForbiddenException",
    "ACCESS_DENIED": "AccessDeniedException",
    "UNAUTHORIZED": "UnauthorizedException",
    "THROTTLED": "TooManyRequestsException",
    "QUOTA_EXCEEDED": "LimitExceededException",
    "BAD_REQUEST_BODY": "BadRequestException",
    "BAD_REQUEST_PARAMETERS": "BadRequestException",
    "UNSUPPORTED_MEDIA_TYPE": "UnsupportedMediaTypeException",
    "INTEGRATION_TIMEOUT": "InternalServerErrorException",
}
_DEFAULT_RATE, _DEFAULT_BURST = 10000.0, 5000


def plain_json(status: int, body: dict[str, Any], request_id: str = "") -> HttpResponse:
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["x-amzn-RequestId"] = request_id
    return HttpResponse(status, headers, orjson.dumps(body))


async def serve_invoke(
    app: App, request: HttpRequest, scope_: dict[str, Any], api_id: str, path: str
) -> HttpResponse:
    """Answer a request on an invoke URL: `path` is `/<stage>/<resource path>` for REST APIs,
    the whole path for HTTP APIs (which may serve it from their `$default` stage)."""
    owner = app.store.get(INDEX, api_id)
    if owner is None:
        return plain_json(403, {"message": "Forbidden"})
    if owner.get("kind") == "HTTP":
        plane = app.provider("apigatewayv2").dataplane  # type: ignore[attr-defined]
    else:
        plane = app.provider("apigateway").dataplane  # type: ignore[attr-defined]
    await request.load()
    return await plane.serve(request, scope_, owner, api_id, path)


@dataclass(slots=True)
class Compiled:
    """A deployment ready to serve."""

    deployment_id: str
    routes: RouteTree
    snapshot: dict[str, Any]
    binary_types: list[str]
    key_source: str


@dataclass
class Call:
    """One request's state on its way through a stage."""

    request: HttpRequest
    scope: dict[str, Any]
    account: str
    region: str
    api_id: str
    stage: dict[str, Any]
    compiled: Compiled
    path: str
    request_id: str
    now_ms: int
    resource: dict[str, Any] = field(default_factory=dict)
    method: dict[str, Any] = field(default_factory=dict)
    path_parameters: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None
    api_key: dict[str, Any] | None = None
    #: the API key a Lambda authorizer named (`usageIdentifierKey`), for key source AUTHORIZER
    usage_key: str | None = None
    _context: dict[str, Any] | None = None

    @property
    def stage_name(self) -> str:
        return self.stage["stageName"]

    @property
    def stage_variables(self) -> dict[str, str]:
        return self.stage.get("variables") or {}

    @property
    def source_ip(self) -> str:
        return (self.scope.get("client") or ("127.0.0.1", 0))[0]

    @property
    def method_arn(self) -> str:
        verb = self.method.get("httpMethod") or self.request.method
        return (
            f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/"
            f"{self.stage_name}/{verb}{self.path if self.path != '/' else '/'}"
        )

    def added_headers(self) -> dict[str, str]:
        """The headers API Gateway adds to what it forwards."""
        server = self.scope.get("server") or ("127.0.0.1", 80)
        return {
            "X-Forwarded-For": self.source_ip,
            "X-Forwarded-Port": str(server[1]),
            "X-Forwarded-Proto": self.scope.get("scheme", "http"),
            "X-Amzn-Trace-Id": f"Root=1-{self.now_ms // 1000:08x}-{os.urandom(12).hex()}",
        }

    def params(self) -> dict[str, dict[str, str]]:
        """`$input.params()`: path, query string and header parameters."""
        from cloudlet.services.apigateway.proxy import canonical

        return {
            "path": dict(self.path_parameters),
            "querystring": dict(self.request.query_params) if self.request.query else {},
            "header": {canonical(k): v for k, v in self.request.headers.items()},
        }

    def context(self) -> dict[str, Any]:
        """`requestContext` of proxy events and `$context` of templates (built once)."""
        if self._context is None:
            self._context = self._build_context()
        return self._context

    def _build_context(self) -> dict[str, Any]:
        host = self.request.host.partition(":")[0]
        domain = host if ".execute-api." in host else f"{self.api_id}.execute-api.localhost"
        known: dict[str, Any] = {}
        if self.api_key is not None:
            known = {"apiKey": self.api_key["value"], "apiKeyId": self.api_key["id"]}
        context: dict[str, Any] = {
            "resourceId": self.resource.get("id"),
            "resourcePath": self.resource.get("path"),
            "httpMethod": self.request.method,
            "extendedRequestId": base64.b64encode(os.urandom(11)).decode(),
            "requestTime": request_time(self.now_ms),
            "path": f"/{self.stage_name}{self.path}",
            "accountId": self.account,
            "protocol": f"HTTP/{self.scope.get('http_version') or '1.1'}",
            "stage": self.stage_name,
            "domainPrefix": domain.partition(".")[0],
            "requestTimeEpoch": self.now_ms,
            "requestId": self.request_id,
            "identity": identity(self.request, self.source_ip, **known),
            "domainName": domain,
            "deploymentId": self.compiled.deployment_id,
            "apiId": self.api_id,
        }
        if self.authorizer is not None:
            context["authorizer"] = self.authorizer
        return context


class Buckets:
    """Token buckets for throttling, by name; refilled on the real monotonic clock (throttling
    is about real request rates, not cloudlet's movable clock)."""

    def __init__(self) -> None:
        self._state: dict[tuple[Any, ...], tuple[float, float]] = {}

    def take(self, key: tuple[Any, ...], rate: float, burst: float) -> bool:
        now = time.monotonic()
        tokens, last = self._state.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1.0, now)
        return True


class DataPlane:
    def __init__(self, provider: ApiGatewayProvider) -> None:
        self.provider = provider
        self.app = provider.app
        self.store = provider.store
        self.templates = Templates()
        self.buckets = Buckets()
        self._compiled: dict[tuple[str, str], Compiled] = {}
        #: compiled JSON Schema validators by (deployment, model name)
        self.schemas: dict[tuple[str, str], Any] = {}

    def forget(self, api_id: str) -> None:
        for key in [k for k in self._compiled if k[0] == api_id]:
            del self._compiled[key]

    def compiled(
        self, account: str, region: str, api_id: str, deployment_id: str
    ) -> Compiled | None:
        found = self._compiled.get((api_id, deployment_id))
        if found is None:
            doc = self.provider.deployment_doc(account, region, api_id, deployment_id)
            if doc is None:
                return None
            snapshot = doc.get("_snapshot") or {}
            api = snapshot.get("api") or {}
            found = Compiled(
                deployment_id,
                RouteTree(snapshot.get("resources") or []),
                snapshot,
                api.get("binaryMediaTypes") or [],
                api.get("apiKeySource") or "HEADER",
            )
            self._compiled[(api_id, deployment_id)] = found
        return found

    # -- serving ---------------------------------------------------------------------------------
    async def serve(
        self,
        request: HttpRequest,
        scope_: dict[str, Any],
        owner: dict[str, Any],
        api_id: str,
        path: str,
    ) -> HttpResponse:
        account, region = owner["account"], owner["region"]
        stage_name, _, tail = path.lstrip("/").partition("/")
        stage = self.store.get(STAGE, scope(account, region, api_id, stage_name))
        compiled = stage and self.compiled(account, region, api_id, stage["deploymentId"])
        if not compiled or compiled.snapshot.get("api", {}).get("disableExecuteApiEndpoint"):
            return plain_json(403, {"message": "Forbidden"})
        call = Call(
            request,
            scope_,
            account,
            region,
            api_id,
            stage,
            compiled,
            "/" + tail,
            ids.request_id(),
            self.app.clock.now_ms(),
        )
        match = compiled.routes.match(request.method, call.path)
        if match is None:
            return self.gateway_response(
                call, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
            )
        call.resource, call.method, call.path_parameters = (
            match.resource,
            match.method,
            match.path_parameters,
        )
        refused = await self.admit(call)
        if refused is not None:
            return refused
        from cloudlet.services.apigateway.integrations import integrate

        return await integrate(self, call)

    async def admit(self, call: Call) -> HttpResponse | None:
        """Throttling, authorization, API keys and validation: a refusal, or None to go on."""
        if not self._stage_allows(call):
            return self.gateway_response(call, "THROTTLED", "Too Many Requests")
        auth = call.method.get("authorizationType") or "NONE"
        if auth == "AWS_IAM" and not _signed(call.request):
            return self.gateway_response(
                call, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
            )
        if auth in ("CUSTOM", "COGNITO_USER_POOLS"):
            from cloudlet.services.apigateway.authorizers import authorize

            refused = await authorize(self, call)
            if refused is not None:
                return refused
        if call.method.get("apiKeyRequired"):
            refused = self._check_key(call)
            if refused is not None:
                return refused
        validator_id = call.method.get("requestValidatorId")
        if validator_id:
            from cloudlet.services.apigateway.validation import validate_request

            problem = validate_request(self, call, validator_id)
            if problem is not None:
                return self.gateway_response(call, *problem)
        return None

    def _stage_allows(self, call: Call) -> bool:
        settings = call.stage.get("methodSettings") or {}
        key = call.resource["path"].replace("/", "~1") + "/" + call.method["httpMethod"]
        found = settings.get(key) or settings.get("*/*") or {}
        rate = float(found.get("throttlingRateLimit", _DEFAULT_RATE))
        burst = float(found.get("throttlingBurstLimit", _DEFAULT_BURST))
        return self.buckets.take(("stage", call.api_id, call.stage_name, key), rate, burst)

    def _check_key(self, call: Call) -> HttpResponse | None:
        """The API key (header `x-api-key`, or the authorizer's `usageIdentifierKey`) must be
        enabled and in a usage plan of this stage; the plan's throttle and quota apply."""
        if call.compiled.key_source == "AUTHORIZER":
            value = call.usage_key
        else:
            value = call.request.headers.get("x-api-key")
        found = value and self.store.get(KEY_VALUE, scope(call.account, call.region, value))
        key = found and self.store.get(API_KEY, scope(call.account, call.region, found["id"]))
        if not key or not key.get("enabled"):
            return self.gateway_response(call, "INVALID_API_KEY", "Forbidden")
        for plan_id in key.get("_plans") or ():
            plan = self.store.get(USAGE_PLAN, scope(call.account, call.region, plan_id))
            entry = plan and next(
                (
                    s
                    for s in plan.get("apiStages") or ()
                    if s.get("apiId") == call.api_id and s.get("stage") == call.stage_name
                ),
                None,
            )
            if entry is None:
                continue
            call.api_key = key
            return self._plan_allows(call, plan, entry, key)
        return self.gateway_response(call, "INVALID_API_KEY", "Forbidden")

    def _plan_allows(
        self, call: Call, plan: dict[str, Any], entry: dict[str, Any], key: dict[str, Any]
    ) -> HttpResponse | None:
        method_key = f"{call.resource['path']}/{call.method['httpMethod']}"
        limits = (entry.get("throttle") or {}).get(method_key) or plan.get("throttle")
        if limits and not self.buckets.take(
            (
                "plan",
                plan["id"],
                key["id"],
                method_key if limits is not plan.get("throttle") else "",
            ),
            float(limits.get("rateLimit", _DEFAULT_RATE)),
            float(limits.get("burstLimit", _DEFAULT_BURST)),
        ):
            return self.gateway_response(call, "THROTTLED", "Too Many Requests")
        quota = plan.get("quota")
        if quota and quota.get("limit") is not None:
            usage = self.provider.usage
            period = usage.period(quota.get("period"), self.app.clock.now())
            if not usage.take(plan["id"], key["id"], period, int(quota["limit"])):
                return self.gateway_response(call, "QUOTA_EXCEEDED", "Limit Exceeded")
        return None

    # -- gateway responses -----------------------------------------------------------------------
    def gateway_response(
        self, call: Call, kind: str, message: str | None, *, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        """A refusal as the API's gateway response of `kind` (customized, or AWS's default;
        a customized DEFAULT_4XX / DEFAULT_5XX covers the types not customized themselves)."""
        custom = call.compiled.snapshot.get("gatewayResponses") or {}
        status = GATEWAY_RESPONSES.get(kind) or "500"
        doc = custom.get(kind)
        if doc is not None:
            status = doc.get("statusCode") or status
        else:
            fallback = "DEFAULT_4XX" if status.startswith("4") else "DEFAULT_5XX"
            doc = custom.get(fallback) or default_gateway_response(kind)
        templates = doc.get("responseTemplates") or {}
        template = templates.get("application/json") or next(iter(templates.values()), "")
        body = _error_body(template, call, kind, message)
        out = {"Content-Type": "application/json", "x-amzn-RequestId": call.request_id}
        if kind in _ERROR_TYPES:
            out["x-amzn-ErrorType"] = _ERROR_TYPES[kind]
        for name, source in (doc.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header."):
                value = self.parameter_value(call, source)
                if value is not None:
                    out[name[len("gatewayresponse.header.") :]] = value
        out.update(headers or {})
        return HttpResponse(int(status or 500), out, body.encode())

    def parameter_value(
        self, call: Call, source: str, response: tuple[dict[str, str], bytes] | None = None
    ) -> str | None:
        """A mapping's source expression: `'literal'`, `method.request.<place>.<name>`,
        `stageVariables.<name>`, `context.<path>`, `integration.response.header|body...`."""
        if len(source) >= 2 and source[0] == "'" and source[-1] == "'":
            return source[1:-1]
        if source.startswith("method.request."):
            place, _, name = source[len("method.request.") :].partition(".")
            return _request_param(call, place, name)
        if source.startswith("stageVariables."):
            return call.stage_variables.get(source[len("stageVariables.") :])
        if source.startswith("context."):
            value: Any = call.context()
            for part in source[len("context.") :].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return None if value is None else str(value)
        if response is not None and source.startswith("integration.response."):
            return _response_param(source[len("integration.response.") :], *response)
        return None


def _request_param(call: Call, place: str, name: str) -> str | None:
    request = call.request
    if place == "path":
        return call.path_parameters.get(name)
    if place == "querystring":
        return request.query_params.get(name) if request.query else None
    if place == "header":
        return request.headers.get(name.lower())
    if place == "multivalueheader":
        value = request.headers.get(name.lower())
        return value
    if place == "multivaluequerystring":
        values = [v for k, v in request.query_multi if k == name] if request.query else []
        return ",".join(values) if values else None
    if place == "body" and not name:
        return request.body.decode("utf-8", "replace")
    return None


def _response_param(source: str, headers: dict[str, str], body: bytes) -> str | None:
    if source.startswith("header."):
        wanted = source[len("header.") :].lower()
        return next((v for k, v in headers.items() if k.lower() == wanted), None)
    if source == "body":
        return body.decode("utf-8", "replace")
    if source.startswith("body."):
        from cloudlet.services.apigateway.vtl import json_path

        try:
            value = json_path(orjson.loads(body), "$." + source[len("body.") :])
        except orjson.JSONDecodeError:
            return None
        if value is None:
            return None
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    return None


def _error_body(template: str, call: Call, kind: str, message: str | None) -> str:
    """Gateway response templates use simple `$context` substitution, not Velocity (AWS's
    authorizer failures carry a null message)."""
    quoted = orjson.dumps(message).decode()
    out = (
        template.replace("$context.error.messageString", quoted)
        .replace("$context.error.message", message or "")
        .replace("$context.error.responseType", kind)
        .replace("$context.requestId", call.request_id)
    )
    return out


def _signed(request: HttpRequest) -> bool:
    return request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256") or (
        "X-Amz-Signature=" in request.query
    )
