"""Models, request validators, authorizers, gateway responses and tags of REST APIs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    API,
    API_KEY,
    AUTHORIZER,
    GATEWAY_RESPONSE,
    MODEL,
    STAGE,
    USAGE_PLAN,
    VALIDATOR,
    apply_patch,
    bad_request,
    conflict,
    new_id,
    not_found,
    page,
    scope,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

#: gateway response types and the status AWS answers them with (DEFAULT_* have none of their own)
GATEWAY_RESPONSES: dict[str, str | None] = {
    "ACCESS_DENIED": "403",
    "API_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500",
    "BAD_REQUEST_PARAMETERS": "400",
    "BAD_REQUEST_BODY": "400",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
    "EXPIRED_TOKEN": "403",
    "INTEGRATION_FAILURE": "504",
    "INTEGRATION_TIMEOUT": "504",
    "INVALID_API_KEY": "403",
    "INVALID_SIGNATURE": "403",
    "MISSING_AUTHENTICATION_TOKEN": "403",
    "QUOTA_EXCEEDED": "429",
    "REQUEST_TOO_LARGE": "413",
    "RESOURCE_NOT_FOUND": "404",
    "THROTTLED": "429",
    "UNAUTHORIZED": "401",
    "UNSUPPORTED_MEDIA_TYPE": "415",
    "WAF_FILTERED": "403",
}
DEFAULT_TEMPLATE = {"application/json": '{"message":$context.error.messageString}'}
_MODEL_NAME = re.compile(r"^[A-Za-z0-9]+$")
_AUTHORIZER_PATCH = frozenset(
    (
        "name",
        "type",
        "providerARNs",
        "authType",
        "authorizerUri",
        "authorizerCredentials",
        "identitySource",
        "identityValidationExpression",
        "authorizerResultTtlInSeconds",
    )
)
#: ARN path prefixes of taggable resources -> (kind, key parts)
_TAGGABLE = (
    (re.compile(r"^/restapis/([^/]+)/stages/([^/]+)$"), STAGE),
    (re.compile(r"^/restapis/([^/]+)$"), API),
    (re.compile(r"^/apikeys/([^/]+)$"), API_KEY),
    (re.compile(r"^/usageplans/([^/]+)$"), USAGE_PLAN),
)


def default_gateway_response(kind: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "responseType": kind,
        "responseParameters": {},
        "responseTemplates": dict(DEFAULT_TEMPLATE),
        "defaultResponse": True,
    }
    status = GATEWAY_RESPONSES[kind]
    if status:
        response["statusCode"] = status
    return response


class ExtraOperations:
    # -- models --------------------------------------------------------------------------------
    def _model(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, name: str) -> dict:
        self.api_doc(ctx, api_id)
        doc = self.store.get(MODEL, scope(ctx.account, ctx.region, api_id, name))
        if doc is None:
            raise not_found("Invalid model name specified: " + name)
        return doc

    @committed
    def create_model(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id, name = params["restApiId"], params["name"]
        self.api_doc(ctx, api_id)
        if not _MODEL_NAME.match(name):
            raise bad_request("Model name must be alphanumeric: " + name)
        key = scope(ctx.account, ctx.region, api_id, name)
        if self.store.get(MODEL, key) is not None:
            raise conflict("Model name already exists for this REST API")
        schema = params.get("schema")
        if schema:
            try:
                orjson.loads(schema)
            except orjson.JSONDecodeError:
                raise bad_request(
                    "Invalid model specified: Validation Result: warnings : [], "
                    "errors : [Invalid model schema specified]"
                ) from None
        doc = {"id": new_id(6), "name": name, "contentType": params["contentType"]}
        for member in ("description", "schema"):
            if params.get(member) is not None:
                doc[member] = params[member]
        self.store.put(MODEL, key, doc)
        return doc

    def get_model(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self._model(ctx, params["restApiId"], params["modelName"])

    def get_models(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        prefix = scope(ctx.account, ctx.region, params["restApiId"], "")
        return page([d for _, d in self.store.scan(MODEL, prefix)], params)

    def get_model_template(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        model = self._model(ctx, params["restApiId"], params["modelName"])
        from cloudlet.services.apigateway.openapi import model_template

        return {"value": model_template(model.get("schema") or "{}")}

    @committed
    def update_model(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        doc = self._model(ctx, params["restApiId"], params["modelName"])
        allowed = frozenset(("schema", "description"))
        updated = apply_patch(doc, params.get("patchOperations"), "Model", allowed)
        key = scope(ctx.account, ctx.region, params["restApiId"], doc["name"])
        self.store.put(MODEL, key, updated)
        return updated

    @committed
    def delete_model(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        api_id, name = params["restApiId"], params["modelName"]
        self._model(ctx, api_id, name)
        for resource in self.resources_of(ctx.account, ctx.region, api_id):
            for method in (resource.get("resourceMethods") or {}).values():
                if name in (method.get("requestModels") or {}).values():
                    raise conflict(
                        f"Cannot delete model '{name}', is referenced in method "
                        f"request: {resource['path']}/{method['httpMethod']}"
                    )
        self.store.delete(MODEL, scope(ctx.account, ctx.region, api_id, name))

    # -- request validators ----------------------------------------------------------------------
    def _validator(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, vid: str) -> dict:
        self.api_doc(ctx, api_id)
        doc = self.store.get(VALIDATOR, scope(ctx.account, ctx.region, api_id, vid))
        if doc is None:
            raise not_found("Invalid Request Validator identifier specified")
        return doc

    @committed
    def create_request_validator(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        api_id = params["restApiId"]
        self.api_doc(ctx, api_id)
        doc = {
            "id": new_id(6),
            "name": params.get("name") or "",
            "validateRequestBody": bool(params.get("validateRequestBody")),
            "validateRequestParameters": bool(params.get("validateRequestParameters")),
        }
        self.store.put(VALIDATOR, scope(ctx.account, ctx.region, api_id, doc["id"]), doc)
        return doc

    def get_request_validator(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self._validator(ctx, params["restApiId"], params["requestValidatorId"])

    def get_request_validators(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        prefix = scope(ctx.account, ctx.region, params["restApiId"], "")
        return page([d for _, d in self.store.scan(VALIDATOR, prefix)], params)

    @committed
    def update_request_validator(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        api_id = params["restApiId"]
        doc = self._validator(ctx, api_id, params["requestValidatorId"])
        allowed = frozenset(("name", "validateRequestBody", "validateRequestParameters"))
        updated = apply_patch(doc, params.get("patchOperations"), "RequestValidator", allowed)
        self.store.put(VALIDATOR, scope(ctx.account, ctx.region, api_id, doc["id"]), updated)
        return updated

    @committed
    def delete_request_validator(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> None:
        api_id = params["restApiId"]
        doc = self._validator(ctx, api_id, params["requestValidatorId"])
        self.store.delete(VALIDATOR, scope(ctx.account, ctx.region, api_id, doc["id"]))

    # -- authorizers -----------------------------------------------------------------------------
    def _authorizer(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, aid: str) -> dict:
        self.api_doc(ctx, api_id)
        doc = self.store.get(AUTHORIZER, scope(ctx.account, ctx.region, api_id, aid))
        if doc is None:
            raise not_found("Invalid Authorizer identifier specified")
        return doc

    @committed
    def create_authorizer(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        self.api_doc(ctx, api_id)
        kind = params["type"]
        if kind in ("TOKEN", "REQUEST") and not params.get("authorizerUri"):
            raise bad_request("Authorizer URI is required for authorizers of type " + kind)
        if kind == "COGNITO_USER_POOLS" and not params.get("providerARNs"):
            raise bad_request("ProviderARNs need to be specified for COGNITO_USER_POOLS")
        if kind == "TOKEN" and not params.get("identitySource"):
            params = {**params, "identitySource": "method.request.header.Authorization"}
        doc: dict[str, Any] = {
            "id": new_id(6),
            "name": params["name"],
            "type": kind,
            "authorizerResultTtlInSeconds": params.get("authorizerResultTtlInSeconds", 300),
        }
        for member in _AUTHORIZER_PATCH - {"name", "type", "authorizerResultTtlInSeconds"}:
            if params.get(member) is not None:
                doc[member] = params[member]
        self.store.put(AUTHORIZER, scope(ctx.account, ctx.region, api_id, doc["id"]), doc)
        return doc

    def get_authorizer(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self._authorizer(ctx, params["restApiId"], params["authorizerId"])

    def get_authorizers(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        prefix = scope(ctx.account, ctx.region, params["restApiId"], "")
        return page([d for _, d in self.store.scan(AUTHORIZER, prefix)], params)

    @committed
    def update_authorizer(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        doc = self._authorizer(ctx, api_id, params["authorizerId"])
        updated = apply_patch(doc, params.get("patchOperations"), "Authorizer", _AUTHORIZER_PATCH)
        self.store.put(AUTHORIZER, scope(ctx.account, ctx.region, api_id, doc["id"]), updated)
        return updated

    @committed
    def delete_authorizer(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        api_id = params["restApiId"]
        doc = self._authorizer(ctx, api_id, params["authorizerId"])
        for resource in self.resources_of(ctx.account, ctx.region, api_id):
            for method in (resource.get("resourceMethods") or {}).values():
                if method.get("authorizerId") == doc["id"]:
                    raise conflict(
                        "Cannot delete authorizer, is referenced in method: "
                        f"{resource['path']}/{method['httpMethod']}"
                    )
        self.store.delete(AUTHORIZER, scope(ctx.account, ctx.region, api_id, doc["id"]))

    # -- gateway responses -----------------------------------------------------------------------
    def _response_type(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> str:
        self.api_doc(ctx, params["restApiId"])
        kind = params["responseType"]
        if kind not in GATEWAY_RESPONSES:
            raise bad_request(f"Invalid response type specified: {kind}")
        return kind

    @committed
    def put_gateway_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        kind = self._response_type(ctx, params)
        doc: dict[str, Any] = {
            "responseType": kind,
            "responseParameters": params.get("responseParameters") or {},
            "responseTemplates": params.get("responseTemplates") or {},
            "defaultResponse": False,
        }
        status = params.get("statusCode") or GATEWAY_RESPONSES[kind]
        if status:
            doc["statusCode"] = status
        self.store.put(
            GATEWAY_RESPONSE, scope(ctx.account, ctx.region, params["restApiId"], kind), doc
        )
        return doc

    def get_gateway_response(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        kind = self._response_type(ctx, params)
        key = scope(ctx.account, ctx.region, params["restApiId"], kind)
        return self.store.get(GATEWAY_RESPONSE, key) or default_gateway_response(kind)

    def get_gateway_responses(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        items = []
        for kind in GATEWAY_RESPONSES:
            key = scope(ctx.account, ctx.region, params["restApiId"], kind)
            items.append(self.store.get(GATEWAY_RESPONSE, key) or default_gateway_response(kind))
        return page(items, {"limit": 500, **params})

    @committed
    def update_gateway_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> dict:
        kind = self._response_type(ctx, params)
        key = scope(ctx.account, ctx.region, params["restApiId"], kind)
        doc = self.store.get(GATEWAY_RESPONSE, key) or default_gateway_response(kind)
        allowed = frozenset(("statusCode", "responseParameters", "responseTemplates"))
        updated = apply_patch(doc, params.get("patchOperations"), "GatewayResponse", allowed)
        updated["defaultResponse"] = False
        self.store.put(GATEWAY_RESPONSE, key, updated)
        return updated

    @committed
    def delete_gateway_response(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> None:
        kind = self._response_type(ctx, params)
        key = scope(ctx.account, ctx.region, params["restApiId"], kind)
        if not self.store.delete(GATEWAY_RESPONSE, key):
            raise not_found("Invalid Gateway Response identifier specified")

    # -- tags ------------------------------------------------------------------------------------
    def _tagged(self: ApiGatewayProvider, ctx: RequestContext, arn: str) -> tuple[str, str, dict]:
        """(kind, key, document) of the resource an `arn:aws:apigateway:<region>::/...` names."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "apigateway":
            raise bad_request(f"Invalid ARN specified in the request: {arn}")
        region, path = parts[3] or ctx.region, parts[5]
        for pattern, kind in _TAGGABLE:
            match = pattern.match(path)
            if match:
                key = scope(ctx.account, region, *match.groups())
                doc = self.store.get(kind, key)
                if doc is not None:
                    return kind, key, doc
        raise not_found("Invalid resource identifier specified")

    @committed
    def tag_resource(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        kind, key, doc = self._tagged(ctx, params["resourceArn"])
        self.store.put(kind, key, {**doc, "tags": {**(doc.get("tags") or {}), **params["tags"]}})

    @committed
    def untag_resource(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        kind, key, doc = self._tagged(ctx, params["resourceArn"])
        drop = set(params["tagKeys"])
        tags = {k: v for k, v in (doc.get("tags") or {}).items() if k not in drop}
        self.store.put(kind, key, {**doc, "tags": tags})

    def get_tags(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return {"tags": self._tagged(ctx, params["resourceArn"])[2].get("tags") or {}}
