"""Amazon API Gateway HTTP APIs (apigatewayv2): APIs, routes, integrations, authorizers,
stages and deployments; the data plane is `dataplane`.

Documents keep the API's member names (`ApiId`, `RouteKey` ...), so a stored document is the
operation's answer. A deployment snapshots the routes, integrations, authorizers and CORS
configuration; a stage with `AutoDeploy` gets a new deployment after every change, as on AWS.
HTTP APIs share the id space (`apigateway.index`) and invoke URLs with REST APIs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.apigateway.common import INDEX, new_id, scope
from cloudlet.services.apigatewayv2.common import (
    API,
    AUTHORIZER,
    DEFAULT_STAGE,
    DEPLOYMENT,
    INTEGRATION,
    ROUTE,
    STAGE,
    bad,
    not_found,
    page,
    pick,
)
from cloudlet.services.apigatewayv2.stages import StageOperations

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.apigatewayv2.dataplane import HttpDataPlane

_ROUTE_KEY = re.compile(r"^(\$default|(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (/[^ ]*))$")
_API_FIELDS = (
    "Name",
    "Description",
    "Version",
    "CorsConfiguration",
    "DisableExecuteApiEndpoint",
    "RouteSelectionExpression",
    "ApiKeySelectionExpression",
    "DisableSchemaValidation",
    "IpAddressType",
)
_ROUTE_FIELDS = (
    "ApiKeyRequired",
    "AuthorizationScopes",
    "AuthorizationType",
    "AuthorizerId",
    "OperationName",
    "RequestParameters",
    "RouteKey",
    "Target",
    "RequestModels",
    "ModelSelectionExpression",
    "RouteResponseSelectionExpression",
)
_INTEGRATION_FIELDS = (
    "ConnectionId",
    "ConnectionType",
    "CredentialsArn",
    "Description",
    "IntegrationMethod",
    "IntegrationSubtype",
    "IntegrationType",
    "IntegrationUri",
    "PayloadFormatVersion",
    "RequestParameters",
    "ResponseParameters",
    "TimeoutInMillis",
    "TlsConfig",
    "RequestTemplates",
    "PassthroughBehavior",
    "TemplateSelectionExpression",
    "ContentHandlingStrategy",
)
_AUTHORIZER_FIELDS = (
    "AuthorizerCredentialsArn",
    "AuthorizerPayloadFormatVersion",
    "AuthorizerResultTtlInSeconds",
    "AuthorizerType",
    "AuthorizerUri",
    "EnableSimpleResponses",
    "IdentitySource",
    "IdentityValidationExpression",
    "JwtConfiguration",
    "Name",
)


class ApiGatewayV2Provider(StageOperations, Provider):
    service = "apigatewayv2"
    helpers = ("dataplane", "snapshot", "autodeploy")

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.auth_cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._dataplane: HttpDataPlane | None = None

    @property
    def dataplane(self) -> HttpDataPlane:
        if self._dataplane is None:
            from cloudlet.services.apigatewayv2.dataplane import HttpDataPlane

            self._dataplane = HttpDataPlane(self)
        return self._dataplane

    def reset(self) -> None:
        self.auth_cache.clear()
        self._dataplane = None

    # -- lookups -----------------------------------------------------------------------------
    def _api(self, ctx: RequestContext, api_id: str) -> dict[str, Any]:
        doc = self.store.get(API, scope(ctx.account, ctx.region, api_id))
        if doc is None:
            raise not_found("API", f"{ctx.account}:{api_id}")
        return doc

    def _child(self, kind: str, label: str, ctx: RequestContext, api_id: str, ident: str) -> dict:
        self._api(ctx, api_id)
        doc = self.store.get(kind, scope(ctx.account, ctx.region, api_id, ident))
        if doc is None:
            raise not_found(label, ident)
        return doc

    def _children(self, kind: str, ctx: RequestContext, api_id: str) -> list[dict[str, Any]]:
        self._api(ctx, api_id)
        return [d for _, d in self.store.scan(kind, scope(ctx.account, ctx.region, api_id, ""))]

    def _put(self, kind: str, ctx: RequestContext, api_id: str, ident: str, doc: dict) -> None:
        self.store.put(kind, scope(ctx.account, ctx.region, api_id, ident), doc)

    # -- APIs ----------------------------------------------------------------------------------
    @committed
    def create_api(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("ProtocolType") != "HTTP":
            raise bad("cloudlet serves HTTP APIs; WebSocket APIs are not implemented yet")
        api_id = new_id(10)
        while self.store.get(INDEX, api_id) is not None:
            api_id = new_id(10)
        port = ctx.host.rpartition(":")[2] if ":" in ctx.host else "4566"
        doc = {
            "ApiId": api_id,
            "ApiEndpoint": f"http://{api_id}.execute-api.localhost:{port}",
            "CreatedDate": self.clock.now(),
            "ProtocolType": "HTTP",
            "RouteSelectionExpression": "${request.method} ${request.path}",
            "ApiKeySelectionExpression": "$request.header.x-api-key",
            "DisableExecuteApiEndpoint": False,
            "Tags": params.get("Tags") or {},
            **pick(params, _API_FIELDS),
        }
        self.store.put(API, scope(ctx.account, ctx.region, api_id), doc)
        self.store.put(
            INDEX, api_id, {"account": ctx.account, "region": ctx.region, "kind": "HTTP"}
        )
        if params.get("Target"):
            self._quick_create(ctx, api_id, params)
        return doc

    def _quick_create(self, ctx: RequestContext, api_id: str, params: dict[str, Any]) -> None:
        """`Target`: an integration (Lambda proxy, or HTTP proxy for a URL), a route
        (`RouteKey`, default `$default`) and the auto-deployed `$default` stage."""
        target = params["Target"]
        lambda_target = target.startswith("arn:")
        integration = self._new_integration(
            ctx,
            api_id,
            {
                "IntegrationType": "AWS_PROXY" if lambda_target else "HTTP_PROXY",
                "IntegrationUri": target,
                "IntegrationMethod": "POST" if lambda_target else "ANY",
                "PayloadFormatVersion": "2.0" if lambda_target else "1.0",
                "CredentialsArn": params.get("CredentialsArn"),
            },
        )
        route = {
            "RouteId": new_id(7),
            "RouteKey": params.get("RouteKey") or "$default",
            "AuthorizationType": "NONE",
            "ApiKeyRequired": False,
            "Target": f"integrations/{integration['IntegrationId']}",
        }
        self._put(ROUTE, ctx, api_id, route["RouteId"], route)
        self._put(
            STAGE, ctx, api_id, DEFAULT_STAGE, self._new_stage(DEFAULT_STAGE, {"AutoDeploy": True})
        )
        self.autodeploy(ctx, api_id)

    def get_api(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._api(ctx, params["ApiId"])

    def get_apis(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        docs = [d for _, d in self.store.scan(API, scope(ctx.account, ctx.region, ""))]
        docs.sort(key=lambda d: (d["CreatedDate"], d["ApiId"]))
        return page(docs, params)

    @committed
    def update_api(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = {**self._api(ctx, params["ApiId"]), **pick(params, _API_FIELDS)}
        self.store.put(API, scope(ctx.account, ctx.region, doc["ApiId"]), doc)
        self.autodeploy(ctx, doc["ApiId"])
        return doc

    @committed
    def delete_api(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        api_id = params["ApiId"]
        self._api(ctx, api_id)
        for kind in (ROUTE, INTEGRATION, AUTHORIZER, STAGE, DEPLOYMENT):
            for key, _ in self.store.scan(kind, scope(ctx.account, ctx.region, api_id, "")):
                self.store.delete(kind, key)
        self.store.delete(API, scope(ctx.account, ctx.region, api_id))
        self.store.delete(INDEX, api_id)
        if self._dataplane is not None:
            self._dataplane.forget(api_id)

    @committed
    def delete_cors_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        doc = {k: v for k, v in self._api(ctx, params["ApiId"]).items() if k != "CorsConfiguration"}
        self.store.put(API, scope(ctx.account, ctx.region, doc["ApiId"]), doc)
        self.autodeploy(ctx, doc["ApiId"])

    # -- routes --------------------------------------------------------------------------------
    def _check_route(self, ctx: RequestContext, api_id: str, route: dict[str, Any]) -> None:
        if not _ROUTE_KEY.match(route.get("RouteKey") or ""):
            raise bad(
                f"Unable to create route {route.get('RouteKey')}: the route key must be "
                "$default or a method and a path, such as 'GET /pets'"
            )
        target = route.get("Target")
        if target:
            integration = target.removeprefix("integrations/")
            if not self.store.get(INTEGRATION, scope(ctx.account, ctx.region, api_id, integration)):
                raise bad(f"Invalid integration target: {target}")
        auth = route.get("AuthorizationType") or "NONE"
        if auth not in ("NONE", "JWT", "AWS_IAM", "CUSTOM"):
            raise bad(f"Invalid authorization type: {auth}")
        if auth in ("JWT", "CUSTOM") and not self.store.get(
            AUTHORIZER, scope(ctx.account, ctx.region, api_id, route.get("AuthorizerId") or "")
        ):
            raise bad("Invalid authorizer ID: authorization type " + auth + " needs an authorizer")
        for other in self._children(ROUTE, ctx, api_id):
            if other["RouteKey"] == route["RouteKey"] and other["RouteId"] != route["RouteId"]:
                raise AwsError(
                    "ConflictException",
                    f"Route with key {route['RouteKey']} already exists for this API",
                )

    @committed
    def create_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        self._api(ctx, api_id)
        route = {
            "RouteId": new_id(7),
            "AuthorizationType": "NONE",
            "ApiKeyRequired": False,
            **pick(params, _ROUTE_FIELDS),
        }
        self._check_route(ctx, api_id, route)
        self._put(ROUTE, ctx, api_id, route["RouteId"], route)
        self.autodeploy(ctx, api_id)
        return route

    def get_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._child(ROUTE, "Route", ctx, params["ApiId"], params["RouteId"])

    def get_routes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        routes = sorted(self._children(ROUTE, ctx, params["ApiId"]), key=lambda r: r["RouteKey"])
        return page(routes, params)

    @committed
    def update_route(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        route = {
            **self._child(ROUTE, "Route", ctx, api_id, params["RouteId"]),
            **pick(params, _ROUTE_FIELDS),
        }
        self._check_route(ctx, api_id, route)
        self._put(ROUTE, ctx, api_id, route["RouteId"], route)
        self.autodeploy(ctx, api_id)
        return route

    @committed
    def delete_route(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        api_id = params["ApiId"]
        self._child(ROUTE, "Route", ctx, api_id, params["RouteId"])
        self.store.delete(ROUTE, scope(ctx.account, ctx.region, api_id, params["RouteId"]))
        self.autodeploy(ctx, api_id)

    # -- integrations --------------------------------------------------------------------------
    def _new_integration(self, ctx: RequestContext, api_id: str, params: dict[str, Any]) -> dict:
        integration = {
            "IntegrationId": new_id(7),
            "ConnectionType": "INTERNET",
            "TimeoutInMillis": 30000,
            **pick(params, _INTEGRATION_FIELDS),
        }
        _check_integration(integration)
        self._put(INTEGRATION, ctx, api_id, integration["IntegrationId"], integration)
        return integration

    @committed
    def create_integration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        self._api(ctx, api_id)
        integration = self._new_integration(ctx, api_id, params)
        self.autodeploy(ctx, api_id)
        return integration

    def get_integration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._child(
            INTEGRATION, "Integration", ctx, params["ApiId"], params["IntegrationId"]
        )

    def get_integrations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return page(self._children(INTEGRATION, ctx, params["ApiId"]), params)

    @committed
    def update_integration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        current = self._child(INTEGRATION, "Integration", ctx, api_id, params["IntegrationId"])
        integration = {**current, **pick(params, _INTEGRATION_FIELDS)}
        _check_integration(integration)
        self._put(INTEGRATION, ctx, api_id, integration["IntegrationId"], integration)
        self.autodeploy(ctx, api_id)
        return integration

    @committed
    def delete_integration(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        api_id, ident = params["ApiId"], params["IntegrationId"]
        self._child(INTEGRATION, "Integration", ctx, api_id, ident)
        for route in self._children(ROUTE, ctx, api_id):
            if route.get("Target") == f"integrations/{ident}":
                raise AwsError(
                    "ConflictException",
                    f"Integration {ident} is in use by route {route['RouteKey']}",
                )
        self.store.delete(INTEGRATION, scope(ctx.account, ctx.region, api_id, ident))
        self.autodeploy(ctx, api_id)

    # -- authorizers ---------------------------------------------------------------------------
    @committed
    def create_authorizer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        self._api(ctx, api_id)
        authorizer = {"AuthorizerId": new_id(6), **pick(params, _AUTHORIZER_FIELDS)}
        kind = authorizer.get("AuthorizerType")
        if kind == "JWT":
            if not (authorizer.get("JwtConfiguration") or {}).get("Issuer"):
                raise bad("JwtConfiguration.Issuer is required for JWT authorizers")
        elif kind == "REQUEST":
            if not authorizer.get("AuthorizerUri"):
                raise bad("AuthorizerUri is required for REQUEST authorizers")
            if not authorizer.get("AuthorizerPayloadFormatVersion"):
                raise bad("AuthorizerPayloadFormatVersion is required for REQUEST authorizers")
            authorizer.setdefault("AuthorizerResultTtlInSeconds", 0)
        else:
            raise bad(f"Invalid authorizer type: {kind}")
        self._put(AUTHORIZER, ctx, api_id, authorizer["AuthorizerId"], authorizer)
        self.autodeploy(ctx, api_id)
        return authorizer

    def get_authorizer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._child(AUTHORIZER, "Authorizer", ctx, params["ApiId"], params["AuthorizerId"])

    def get_authorizers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return page(self._children(AUTHORIZER, ctx, params["ApiId"]), params)

    @committed
    def update_authorizer(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        api_id = params["ApiId"]
        current = self._child(AUTHORIZER, "Authorizer", ctx, api_id, params["AuthorizerId"])
        authorizer = {**current, **pick(params, _AUTHORIZER_FIELDS)}
        self._put(AUTHORIZER, ctx, api_id, authorizer["AuthorizerId"], authorizer)
        self.autodeploy(ctx, api_id)
        return authorizer

    @committed
    def delete_authorizer(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        api_id, ident = params["ApiId"], params["AuthorizerId"]
        self._child(AUTHORIZER, "Authorizer", ctx, api_id, ident)
        self.store.delete(AUTHORIZER, scope(ctx.account, ctx.region, api_id, ident))
        self.autodeploy(ctx, api_id)

    def reset_authorizers_cache(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._stage(ctx, params["ApiId"], params["StageName"])
        self.auth_cache.clear()

    # -- tags ----------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> tuple[str, str, dict[str, Any]]:
        match = re.match(r"^arn:aws:apigateway:([^:]*)::/apis/([^/]+)(?:/stages/([^/]+))?$", arn)
        if match is None:
            raise not_found("Resource", arn)
        region = match.group(1) or ctx.region
        if match.group(3):
            kind, key = STAGE, scope(ctx.account, region, match.group(2), match.group(3))
        else:
            kind, key = API, scope(ctx.account, region, match.group(2))
        doc = self.store.get(kind, key)
        if doc is None:
            raise not_found("Resource", arn)
        return kind, key, doc

    @committed
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, key, doc = self._tagged(ctx, params["ResourceArn"])
        self.store.put(
            kind, key, {**doc, "Tags": {**(doc.get("Tags") or {}), **(params.get("Tags") or {})}}
        )
        return {}

    @committed
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        kind, key, doc = self._tagged(ctx, params["ResourceArn"])
        drop = set(params.get("TagKeys") or ())
        self.store.put(
            kind,
            key,
            {**doc, "Tags": {k: v for k, v in (doc.get("Tags") or {}).items() if k not in drop}},
        )

    def get_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self._tagged(ctx, params["ResourceArn"])[2].get("Tags") or {}}


def _check_integration(integration: dict[str, Any]) -> None:
    """HTTP APIs integrate Lambda functions (AWS_PROXY, payload format 1.0 or 2.0) and URLs
    (HTTP_PROXY)."""
    kind = integration.get("IntegrationType")
    if kind not in ("AWS_PROXY", "HTTP_PROXY"):
        raise bad(
            f"Integration type {kind} is not supported for HTTP APIs; use AWS_PROXY or HTTP_PROXY"
        )
    uri = integration.get("IntegrationUri") or ""
    if kind == "AWS_PROXY":
        if not integration.get("PayloadFormatVersion"):
            raise bad("PayloadFormatVersion is required for AWS_PROXY integrations")
        if ":lambda:" not in uri:
            raise bad("IntegrationUri must be a Lambda function ARN for AWS_PROXY integrations")
    else:
        integration.setdefault("PayloadFormatVersion", "1.0")
        if not uri.startswith(("http://", "https://")):
            raise bad("IntegrationUri must be an http(s) URL for HTTP_PROXY integrations")
        integration.setdefault("IntegrationMethod", "ANY")
    if integration.get("PayloadFormatVersion") not in ("1.0", "2.0"):
        raise bad("PayloadFormatVersion must be 1.0 or 2.0")
