"""Methods, method responses, integrations and integration responses.

They live inside their resource's document (`resourceMethods[verb]`, with `methodResponses`,
`methodIntegration` and its `integrationResponses`), exactly as GetResources(embed=methods)
shows them. Every change copies the resource document and stores the copy: stored documents are
never mutated in place.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    AUTHORIZER,
    VALIDATOR,
    apply_patch,
    bad_request,
    not_found,
    scope,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

VERBS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"))
INTEGRATION_TYPES = frozenset(("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"))
_AUTH_TYPES = frozenset(("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"))
_METHOD_PATCH = frozenset(
    (
        "authorizationType",
        "authorizerId",
        "apiKeyRequired",
        "requestValidatorId",
        "operationName",
        "requestParameters",
        "requestModels",
        "authorizationScopes",
    )
)
_INTEGRATION_PATCH = frozenset(
    (
        "uri",
        "httpMethod",
        "credentials",
        "requestParameters",
        "requestTemplates",
        "passthroughBehavior",
        "contentHandling",
        "timeoutInMillis",
        "cacheNamespace",
        "cacheKeyParameters",
        "connectionType",
        "connectionId",
        "tlsConfig",
        "type",
    )
)
_RESPONSE_PATCH = frozenset(
    ("selectionPattern", "responseParameters", "responseTemplates", "contentHandling")
)


def _no_method() -> Exception:
    return not_found("Invalid Method identifier specified")


def _no_integration() -> Exception:
    return not_found("Invalid Integration identifier specified")


def _no_response() -> Exception:
    return not_found("Invalid Response status code specified")


class MethodOperations:
    def _method_of(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(a copy of the resource document, its method named by `httpMethod`)."""
        resource = self.resource_doc(ctx, params["restApiId"], params["resourceId"])
        verb = params["httpMethod"].upper()
        method = (resource.get("resourceMethods") or {}).get(verb)
        if method is None:
            raise _no_method()
        resource = copy.deepcopy(resource)
        return resource, resource["resourceMethods"][verb]

    def _integration_of(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        resource, method = self._method_of(ctx, params)
        integration = method.get("methodIntegration")
        if integration is None:
            raise _no_integration()
        return resource, integration

    def _check_refs(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, method: dict
    ) -> None:
        """A method's authorizer and request validator must exist, as AWS checks."""
        auth = method.get("authorizationType") or "NONE"
        if auth not in _AUTH_TYPES:
            raise bad_request(
                f"Invalid authorization type specified. Valid values are {sorted(_AUTH_TYPES)}"
            )
        if auth in ("CUSTOM", "COGNITO_USER_POOLS"):
            authorizer = method.get("authorizerId")
            if not authorizer or not self.store.get(
                AUTHORIZER, scope(ctx.account, ctx.region, api_id, authorizer)
            ):
                raise bad_request(
                    "Invalid authorizer ID specified. Setting the authorization "
                    f"type to {auth} requires a valid authorizer."
                )
        validator = method.get("requestValidatorId")
        if validator and not self.store.get(
            VALIDATOR, scope(ctx.account, ctx.region, api_id, validator)
        ):
            raise bad_request("Invalid Request Validator identifier specified")

    # -- methods -------------------------------------------------------------------------------
    @committed
    def put_method(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        api_id = params["restApiId"]
        resource = copy.deepcopy(self.resource_doc(ctx, api_id, params["resourceId"]))
        verb = params["httpMethod"].upper()
        if verb not in VERBS:
            raise bad_request(
                "Invalid HttpMethod specified. Valid options are "
                "GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY"
            )
        method: dict[str, Any] = {
            "httpMethod": verb,
            "authorizationType": params.get("authorizationType") or "NONE",
            "apiKeyRequired": bool(params.get("apiKeyRequired")),
        }
        for member in (
            "authorizerId",
            "operationName",
            "requestParameters",
            "requestModels",
            "requestValidatorId",
            "authorizationScopes",
        ):
            if params.get(member) is not None:
                method[member] = params[member]
        self._check_refs(ctx, api_id, method)
        resource.setdefault("resourceMethods", {})[verb] = method
        self.save_resource(ctx, api_id, resource)
        return method

    def get_method(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        return self._method_of(ctx, params)[1]

    @committed
    def update_method(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        resource, method = self._method_of(ctx, params)
        updated = apply_patch(method, params.get("patchOperations"), "Method", _METHOD_PATCH)
        self._check_refs(ctx, params["restApiId"], updated)
        resource["resourceMethods"][method["httpMethod"]] = updated
        self.save_resource(ctx, params["restApiId"], resource)
        return updated

    @committed
    def delete_method(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        resource, method = self._method_of(ctx, params)
        del resource["resourceMethods"][method["httpMethod"]]
        if not resource["resourceMethods"]:
            del resource["resourceMethods"]
        self.save_resource(ctx, params["restApiId"], resource)

    # -- method responses ----------------------------------------------------------------------
    @committed
    def put_method_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        resource, method = self._method_of(ctx, params)
        response: dict[str, Any] = {"statusCode": params["statusCode"]}
        for member in ("responseParameters", "responseModels"):
            if params.get(member) is not None:
                response[member] = params[member]
        method.setdefault("methodResponses", {})[params["statusCode"]] = response
        self.save_resource(ctx, params["restApiId"], resource)
        return response

    def get_method_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        _, method = self._method_of(ctx, params)
        found = (method.get("methodResponses") or {}).get(params["statusCode"])
        if found is None:
            raise _no_response()
        return found

    @committed
    def update_method_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        resource, method = self._method_of(ctx, params)
        found = (method.get("methodResponses") or {}).get(params["statusCode"])
        if found is None:
            raise _no_response()
        allowed = frozenset(("responseParameters", "responseModels"))
        updated = apply_patch(found, params.get("patchOperations"), "MethodResponse", allowed)
        method["methodResponses"][params["statusCode"]] = updated
        self.save_resource(ctx, params["restApiId"], resource)
        return updated

    @committed
    def delete_method_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        resource, method = self._method_of(ctx, params)
        if (method.get("methodResponses") or {}).pop(params["statusCode"], None) is None:
            raise _no_response()
        self.save_resource(ctx, params["restApiId"], resource)

    # -- integrations --------------------------------------------------------------------------
    @committed
    def put_integration(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        resource, method = self._method_of(ctx, params)
        integration = new_integration(params, resource["id"])
        previous = method.get("methodIntegration") or {}
        if previous.get("integrationResponses"):
            integration["integrationResponses"] = previous["integrationResponses"]
        method["methodIntegration"] = integration
        self.save_resource(ctx, params["restApiId"], resource)
        return integration

    def get_integration(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self._integration_of(ctx, params)[1]

    @committed
    def update_integration(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        resource, integration = self._integration_of(ctx, params)
        updated = apply_patch(
            integration, params.get("patchOperations"), "Integration", _INTEGRATION_PATCH
        )
        check_integration(updated)
        resource["resourceMethods"][params["httpMethod"].upper()]["methodIntegration"] = updated
        self.save_resource(ctx, params["restApiId"], resource)
        return updated

    @committed
    def delete_integration(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        resource, method = self._method_of(ctx, params)
        if method.pop("methodIntegration", None) is None:
            raise _no_integration()
        self.save_resource(ctx, params["restApiId"], resource)

    # -- integration responses -----------------------------------------------------------------
    @committed
    def put_integration_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        resource, method = self._method_of(ctx, params)
        integration = method.get("methodIntegration")
        if integration is None:
            raise _no_integration()
        status = params["statusCode"]
        if status not in (method.get("methodResponses") or {}):
            raise _no_response()
        response: dict[str, Any] = {"statusCode": status}
        for member in (
            "selectionPattern",
            "responseParameters",
            "responseTemplates",
            "contentHandling",
        ):
            if params.get(member) is not None:
                response[member] = params[member]
        integration.setdefault("integrationResponses", {})[status] = response
        self.save_resource(ctx, params["restApiId"], resource)
        return response

    def get_integration_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        _, integration = self._integration_of(ctx, params)
        found = (integration.get("integrationResponses") or {}).get(params["statusCode"])
        if found is None:
            raise _no_response()
        return found

    @committed
    def update_integration_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        resource, integration = self._integration_of(ctx, params)
        found = (integration.get("integrationResponses") or {}).get(params["statusCode"])
        if found is None:
            raise _no_response()
        updated = apply_patch(
            found, params.get("patchOperations"), "IntegrationResponse", _RESPONSE_PATCH
        )
        integration["integrationResponses"][params["statusCode"]] = updated
        self.save_resource(ctx, params["restApiId"], resource)
        return updated

    @committed
    def delete_integration_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> None:
        resource, integration = self._integration_of(ctx, params)
        if (integration.get("integrationResponses") or {}).pop(params["statusCode"], None) is None:
            raise _no_response()
        self.save_resource(ctx, params["restApiId"], resource)


def new_integration(params: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """An integration document from PutIntegration's params (or an OpenAPI import's), with AWS's
    defaults: WHEN_NO_MATCH passthrough, a 29 s timeout, the resource as cache namespace."""
    kind = params.get("type")
    integration: dict[str, Any] = {
        "type": kind,
        "passthroughBehavior": params.get("passthroughBehavior") or "WHEN_NO_MATCH",
        "timeoutInMillis": params.get("timeoutInMillis") or 29000,
        "cacheNamespace": params.get("cacheNamespace") or resource_id,
        "cacheKeyParameters": params.get("cacheKeyParameters") or [],
    }
    if params.get("integrationHttpMethod"):
        integration["httpMethod"] = params["integrationHttpMethod"].upper()
    for member in (
        "uri",
        "connectionType",
        "connectionId",
        "credentials",
        "requestParameters",
        "requestTemplates",
        "contentHandling",
        "tlsConfig",
    ):
        if params.get(member) is not None:
            integration[member] = params[member]
    if kind in ("HTTP", "HTTP_PROXY", "AWS", "AWS_PROXY"):
        integration.setdefault("connectionType", "INTERNET")
    check_integration(integration)
    return integration


def check_integration(integration: dict[str, Any]) -> None:
    """AWS's checks of an integration: a known type; a URI and HTTP method unless MOCK; Lambda
    (or another AWS service) behind AWS_PROXY; an http(s) URL behind HTTP types."""
    kind = integration.get("type")
    if kind not in INTEGRATION_TYPES:
        raise bad_request(
            "Invalid integration type specified. Valid values are: "
            "[HTTP, AWS, MOCK, HTTP_PROXY, AWS_PROXY]"
        )
    if kind == "MOCK":
        return
    if not integration.get("httpMethod"):
        raise bad_request("Enumeration value for HttpMethod must be non-empty")
    uri = integration.get("uri") or ""
    if not uri:
        raise bad_request("Invalid HTTP endpoint specified for URI")
    if kind in ("AWS", "AWS_PROXY") and not uri.startswith("arn:aws"):
        raise bad_request("AWS ARN for integration must contain path or action")
    if kind == "AWS_PROXY" and ":lambda:path/" not in uri and ":firehose:" not in uri:
        raise bad_request(
            "Integrations of type 'AWS_PROXY' currently only supports Lambda function and "
            "Firehose stream invocations."
        )
    if kind in ("HTTP", "HTTP_PROXY") and not uri.startswith(("http://", "https://")):
        raise bad_request("Invalid HTTP endpoint specified for URI")
