"""The HTTP API data plane: stages, routes, authorizers and proxy integrations.

A request's stage is the first path segment when a stage of that name exists, else `$default`
(which serves at the root, as on AWS). Routes match most specific first (the REST route tree,
`routes.RouteTree`, does the matching), the exact method before `ANY`, `$default` last; nothing
matching is AWS's 404 `{"message":"Not Found"}`. The CORS configuration answers preflight
requests itself and decorates every response, as function URLs do (`url_invoke.cors_headers`).

Lambda integrations send payload format 2.0 (the event function URLs also use: built by
`url_invoke.url_event`, then given the route, stage and API) or 1.0 (`apigateway.proxy`), and
read the matching response contract back.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from cloudlet.core import ids
from cloudlet.protocols import HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.services.apigateway.common import scope
from cloudlet.services.apigateway.dataplane import Buckets
from cloudlet.services.apigateway.integrations import IntegrationTimeout, invoke_lambda
from cloudlet.services.apigateway.proxy import event_v1, identity, proxy_response, request_time
from cloudlet.services.apigateway.routes import RouteTree
from cloudlet.services.apigatewayv2.common import DEFAULT_STAGE, DEPLOYMENT, STAGE

if TYPE_CHECKING:
    from cloudlet.services.apigatewayv2.provider import ApiGatewayV2Provider

_HOP = frozenset(
    ("host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "expect")
)


def message(
    status: int, text: str, request_id: str, extra: dict[str, str] | None = None
) -> HttpResponse:
    headers = {"Content-Type": "application/json", "apigw-requestid": request_id, **(extra or {})}
    return HttpResponse(status, headers, orjson.dumps({"message": text}))


@dataclass(slots=True)
class CompiledApi:
    deployment_id: str
    tree: RouteTree
    default_route: dict[str, Any] | None
    snapshot: dict[str, Any]


@dataclass
class HttpCall:
    """One request's state on its way through an HTTP API stage."""

    request: HttpRequest
    scope: dict[str, Any]
    account: str
    region: str
    api_id: str
    stage: dict[str, Any]
    compiled: CompiledApi
    path: str  # the request path without a named stage's prefix
    route: dict[str, Any] = field(default_factory=dict)
    path_parameters: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    now_ms: int = 0
    authorizer: dict[str, Any] | None = None

    @property
    def stage_name(self) -> str:
        return self.stage["StageName"]

    @property
    def stage_variables(self) -> dict[str, str]:
        return self.stage.get("StageVariables") or {}

    @property
    def raw_path(self) -> str:
        return self.path if self.stage_name == DEFAULT_STAGE else f"/{self.stage_name}{self.path}"

    @property
    def route_arn(self) -> str:
        key = self.route.get("RouteKey", "$default")
        verb, _, path = key.partition(" ")
        tail = f"{verb}{path}" if path else "$default"
        return f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage_name}/{tail}"

    @property
    def domain(self) -> str:
        host = self.request.host.partition(":")[0]
        return host if ".execute-api." in host else f"{self.api_id}.execute-api.localhost"

    @property
    def source_ip(self) -> str:
        return (self.scope.get("client") or ("127.0.0.1", 0))[0]


class HttpDataPlane:
    def __init__(self, provider: ApiGatewayV2Provider) -> None:
        self.provider = provider
        self.app = provider.app
        self.store = provider.store
        self.buckets = Buckets()
        self._compiled: dict[tuple[str, str], CompiledApi] = {}
        #: JWKS key sets by URL, with their expiry (see `auth`)
        self.jwks: dict[str, tuple[float, Any]] = {}

    def forget(self, api_id: str) -> None:
        for key in [k for k in self._compiled if k[0] == api_id]:
            del self._compiled[key]

    def compiled(
        self, account: str, region: str, api_id: str, deployment_id: str
    ) -> CompiledApi | None:
        found = self._compiled.get((api_id, deployment_id))
        if found is None:
            doc = self.store.get(DEPLOYMENT, scope(account, region, api_id, deployment_id))
            if doc is None:
                return None
            snapshot = doc.get("_snapshot") or {}
            by_path: dict[str, dict[str, Any]] = {}
            default = None
            for route in snapshot.get("routes") or ():
                verb, _, path = route["RouteKey"].partition(" ")
                if not path:
                    default = route
                    continue
                by_path.setdefault(path, {"path": path, "resourceMethods": {}})["resourceMethods"][
                    verb
                ] = route
            found = CompiledApi(deployment_id, RouteTree(list(by_path.values())), default, snapshot)
            self._compiled[(api_id, deployment_id)] = found
        return found

    def _stage_of(
        self, account: str, region: str, api_id: str, path: str
    ) -> tuple[dict | None, str]:
        first, _, rest = path.lstrip("/").partition("/")
        if first and first != DEFAULT_STAGE:
            stage = self.store.get(STAGE, scope(account, region, api_id, first))
            if stage is not None:
                return stage, "/" + rest
        return self.store.get(STAGE, scope(account, region, api_id, DEFAULT_STAGE)), path or "/"

    async def serve(
        self,
        request: HttpRequest,
        scope_: dict[str, Any],
        owner: dict[str, Any],
        api_id: str,
        path: str,
    ) -> HttpResponse:
        from cloudlet.services.awslambda.url_invoke import cors_headers

        account, region = owner["account"], owner["region"]
        request_id = ids.request_id()
        stage, rest = self._stage_of(account, region, api_id, path)
        compiled = (
            stage
            and stage.get("DeploymentId")
            and self.compiled(account, region, api_id, stage["DeploymentId"])
        )
        if not compiled:
            return message(404, "Not Found", request_id)
        cors = compiled.snapshot.get("cors")
        if (
            cors
            and request.method == "OPTIONS"
            and "access-control-request-method" in request.headers
        ):
            headers = {"apigw-requestid": request_id, **cors_headers(cors, request.headers, True)}
            return HttpResponse(204, headers, b"")
        call = HttpCall(
            request,
            scope_,
            account,
            region,
            api_id,
            stage,
            compiled,
            rest,
            request_id=request_id,
            now_ms=self.app.clock.now_ms(),
        )
        response = await self._route(call)
        if cors:
            response.headers = {
                k: v
                for k, v in response.headers.items()
                if not k.lower().startswith("access-control-")
            }
            response.headers.update(cors_headers(cors, request.headers, False))
        return response

    async def _route(self, call: HttpCall) -> HttpResponse:
        match = call.compiled.tree.match(call.request.method, call.path)
        if match is not None:
            call.route, call.path_parameters = match.method, match.path_parameters
        elif call.compiled.default_route is not None:
            call.route = call.compiled.default_route
        else:
            return message(404, "Not Found", call.request_id)
        if not self._allows(call):
            return message(429, "Too Many Requests", call.request_id)
        from cloudlet.services.apigatewayv2.auth import authorize

        refused = await authorize(self, call)
        if refused is not None:
            return refused
        integration = (call.compiled.snapshot.get("integrations") or {}).get(
            (call.route.get("Target") or "").removeprefix("integrations/")
        )
        if integration is None:
            return message(500, "Internal Server Error", call.request_id)
        try:
            if integration["IntegrationType"] == "AWS_PROXY":
                return await self._lambda(call, integration)
            return await self._http(call, integration)
        except IntegrationTimeout:
            return message(503, "Service Unavailable", call.request_id)
        except AwsError:
            return message(500, "Internal Server Error", call.request_id)

    def _allows(self, call: HttpCall) -> bool:
        key = call.route.get("RouteKey", "$default")
        settings = (
            (call.stage.get("RouteSettings") or {}).get(key)
            or call.stage.get("DefaultRouteSettings")
            or {}
        )
        rate = float(settings.get("ThrottlingRateLimit", 10000.0))
        burst = float(settings.get("ThrottlingBurstLimit", 5000))
        return self.buckets.take(("http", call.api_id, call.stage_name, key), rate, burst)

    # -- Lambda --------------------------------------------------------------------------------
    async def _lambda(self, call: HttpCall, integration: dict[str, Any]) -> HttpResponse:
        from cloudlet.services.awslambda.url_invoke import http_response

        uri = integration["IntegrationUri"]
        arn = (
            uri.split("functions/", 1)[1].removesuffix("/invocations")
            if "functions/" in uri
            else uri
        )
        v2 = integration.get("PayloadFormatVersion") == "2.0"
        event = self.event_v2(call) if v2 else self.event_v1(call)
        result = await invoke_lambda(
            self.app,
            arn,
            orjson.dumps(event),
            call.request_id,
            (integration.get("TimeoutInMillis") or 30000) / 1000,
        )
        if result.function_error:
            return message(500, "Internal Server Error", call.request_id)
        if v2:
            response = http_response(result.payload, call.request_id)
            if response.status == 502 and response.body == b"Internal Server Error":
                return message(500, "Internal Server Error", call.request_id)
            response.headers.pop("x-amzn-requestid", None)
        else:
            response = proxy_response(result.payload, call.request_id)
            if response is None:
                return message(500, "Internal Server Error", call.request_id)
            response.headers.pop("x-amzn-RequestId", None)
        response.headers["apigw-requestid"] = call.request_id
        return response

    def event_v2(self, call: HttpCall) -> dict[str, Any]:
        """The payload format 2.0 event: function URLs' event with the route, stage and API."""
        from cloudlet.services.awslambda.functions import Ref
        from cloudlet.services.awslambda.url_invoke import url_event

        ref = Ref(call.account, call.region, call.api_id)
        event = url_event(
            call.request,
            call.scope,
            call.api_id,
            call.raw_path,
            ref,
            {},
            call.request_id,
            call.now_ms,
        )
        route_key = call.route.get("RouteKey", "$default")
        event["routeKey"] = route_key
        context = event["requestContext"]
        context.update(
            accountId=call.account,
            apiId=call.api_id,
            domainName=call.domain,
            domainPrefix=call.domain.partition(".")[0],
            routeKey=route_key,
            stage=call.stage_name,
        )
        if call.authorizer is not None:
            context["authorizer"] = call.authorizer
        if call.path_parameters:
            event["pathParameters"] = call.path_parameters
        if call.stage_variables:
            event["stageVariables"] = call.stage_variables
        return event

    def event_v1(self, call: HttpCall) -> dict[str, Any]:
        route_key = call.route.get("RouteKey", "$default")
        resource = route_key.partition(" ")[2] or "$default"
        context: dict[str, Any] = {
            "accountId": call.account,
            "apiId": call.api_id,
            "domainName": call.domain,
            "domainPrefix": call.domain.partition(".")[0],
            "extendedRequestId": base64.b64encode(os.urandom(11)).decode(),
            "httpMethod": call.request.method,
            "identity": identity(call.request, call.source_ip),
            "path": call.raw_path,
            "protocol": f"HTTP/{call.scope.get('http_version') or '1.1'}",
            "requestId": call.request_id,
            "requestTime": request_time(call.now_ms),
            "requestTimeEpoch": call.now_ms,
            "resourceId": route_key,
            "resourcePath": resource,
            "stage": call.stage_name,
        }
        if call.authorizer is not None:
            context["authorizer"] = call.authorizer
        event = event_v1(
            call.request,
            resource=resource,
            path=call.raw_path,
            path_parameters=call.path_parameters,
            stage_variables=call.stage_variables,
            request_context=context,
            binary=False,
        )
        return {"version": "1.0", **event}

    # -- HTTP ----------------------------------------------------------------------------------
    async def _http(self, call: HttpCall, integration: dict[str, Any]) -> HttpResponse:
        from cloudlet.core.http_client import HttpFailure, HttpTimeout, fetch

        headers = {k: v for k, v in call.request.headers.items() if k not in _HOP}
        query = dict(call.request.query_multi) if call.request.query else {}
        url = self._target_url(call, integration["IntegrationUri"])
        url = _apply_mappings(call, integration.get("RequestParameters") or {}, url, headers, query)
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        verb = integration.get("IntegrationMethod") or "ANY"
        verb = call.request.method if verb == "ANY" else verb
        try:
            status, got, body = await fetch(
                verb,
                url,
                headers,
                call.request.body,
                (integration.get("TimeoutInMillis") or 30000) / 1000,
            )
        except HttpTimeout:
            raise IntegrationTimeout() from None
        except HttpFailure:
            return message(500, "Internal Server Error", call.request_id)
        out = {k: v for k, v in got if k.lower() not in _HOP}
        out["apigw-requestid"] = call.request_id
        return HttpResponse(status, out, body)

    def _target_url(self, call: HttpCall, uri: str) -> str:
        """The integration URL: `{name}` from path parameters (`{proxy}` keeps its slashes);
        a bare URL behind `$default` gets the request path appended."""
        import re

        if "{" in uri:
            return re.sub(
                r"\{([A-Za-z0-9_.-]+)\+?\}",
                lambda m: quote(call.path_parameters.get(m.group(1), ""), safe="/"),
                uri,
            )
        if call.route.get("RouteKey") == "$default" and uri.rstrip("/").count("/") <= 2:
            return uri.rstrip("/") + call.path
        return uri


def _apply_mappings(
    call: HttpCall,
    mappings: dict[str, str],
    url: str,
    headers: dict[str, str],
    query: dict[str, str],
) -> str:
    """HTTP API parameter mapping: `append|overwrite|remove:header.<name>` and
    `...:querystring.<name>`, `overwrite:path`, with `$request.*`, `$context.*`,
    `$stageVariables.*` or literal values."""
    for target, source in mappings.items():
        action, _, where = target.partition(":")
        value = _mapped_value(call, source)
        place, _, name = where.partition(".")
        if place == "path" and action == "overwrite":
            base = url.split("/", 3)
            url = "/".join(base[:3]) + value if len(base) >= 3 else url
        elif place in ("header", "querystring"):
            bucket = headers if place == "header" else query
            key = name.lower() if place == "header" else name
            if action == "remove":
                bucket.pop(key, None)
            elif action == "append" and key in bucket:
                bucket[key] = f"{bucket[key]},{value}"
            else:
                bucket[key] = value
    return url


def _mapped_value(call: HttpCall, source: str) -> str:
    if source.startswith("$request.header."):
        return call.request.headers.get(source[len("$request.header.") :].lower(), "")
    if source.startswith("$request.querystring."):
        return call.request.query_params.get(source[len("$request.querystring.") :], "")
    if source == "$request.path":
        return call.path
    if source.startswith("$request.path."):
        return call.path_parameters.get(source[len("$request.path.") :], "")
    if source.startswith("$stageVariables."):
        return call.stage_variables.get(source[len("$stageVariables.") :], "")
    if source.startswith("$context."):
        return {
            "requestId": call.request_id,
            "stage": call.stage_name,
            "apiId": call.api_id,
            "routeKey": call.route.get("RouteKey", ""),
        }.get(source[len("$context.") :], "")
    return source
