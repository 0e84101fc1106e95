"""REST APIs from OpenAPI 3 and Swagger 2 definitions (ImportRestApi, PutRestApi) and back
(GetExport), with API Gateway's `x-amazon-apigateway-*` extensions.

An import builds the same documents the individual operations build (resources, methods,
integrations, responses, models, authorizers, validators, gateway responses), so an imported API
and a hand-made one are served alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    API,
    AUTHORIZER,
    GATEWAY_RESPONSE,
    MODEL,
    RESOURCE,
    VALIDATOR,
    bad_request,
    new_id,
    scope,
)
from cloudlet.services.apigateway.methods import VERBS, new_integration

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

_EXT = "x-amazon-apigateway-"
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch")
_ANY = _EXT + "any-method"
_REF = re.compile(r"^#/(?:definitions|components/schemas)/(.+)$")


def parse_definition(body: bytes) -> dict[str, Any]:
    """A definition in JSON or YAML; BadRequest when it is neither or no API definition."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        import yaml

        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise bad_request(f"Invalid OpenAPI input: {exc}") from None
    if not isinstance(doc, dict) or not ("swagger" in doc or "openapi" in doc):
        raise bad_request("Invalid OpenAPI input.")
    return doc


def _base_path(doc: dict[str, Any], mode: str) -> str:
    """The base path that `basepath=prepend` puts before every path."""
    if mode != "prepend":
        return ""
    if "basePath" in doc:
        return (doc.get("basePath") or "").rstrip("/")
    for server in doc.get("servers") or ():
        variables = server.get("variables") or {}
        base = (variables.get("basePath") or {}).get("default")
        if base:
            return "/" + base.strip("/")
        match = re.match(r"^[a-z]+://[^/]+(/.*)?$", server.get("url") or "")
        if match and match.group(1):
            return match.group(1).rstrip("/")
    return ""


class OpenApiOperations:
    @committed
    def import_rest_api(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        doc = parse_definition(bytes(params.get("body") or b""))
        info = doc.get("info") or {}
        options = params.get("parameters") or {}
        api = self.new_api(
            ctx,
            {
                "name": info.get("title") or "imported",
                "description": info.get("description"),
                "version": info.get("version"),
                "binaryMediaTypes": doc.get(_EXT + "binary-media-types"),
                "apiKeySource": doc.get(_EXT + "api-key-source"),
                "endpointConfiguration": _endpoint(options),
            },
        )
        self._fill(ctx, api["id"], doc, options)
        return self.store.get(API, scope(ctx.account, ctx.region, api["id"])) or api

    @committed
    def put_rest_api(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        api = self.api_doc(ctx, api_id)
        doc = parse_definition(bytes(params.get("body") or b""))
        if (params.get("mode") or "merge") == "overwrite":
            self._clear(ctx, api_id, api["rootResourceId"])
            info = doc.get("info") or {}
            api = {**api, "name": info.get("title") or api["name"]}
            if info.get("description"):
                api["description"] = info["description"]
            if doc.get(_EXT + "binary-media-types") is not None:
                api["binaryMediaTypes"] = doc[_EXT + "binary-media-types"]
            self.store.put(API, scope(ctx.account, ctx.region, api_id), api)
        self._fill(ctx, api_id, doc, params.get("parameters") or {})
        return self.store.get(API, scope(ctx.account, ctx.region, api_id)) or api

    def _clear(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, root: str) -> None:
        """PutRestApi `overwrite`: the API keeps its id, root and stages; the rest goes."""
        for kind in (RESOURCE, MODEL, VALIDATOR, AUTHORIZER, GATEWAY_RESPONSE):
            for key, _ in self.store.scan(kind, scope(ctx.account, ctx.region, api_id, "")):
                if kind != RESOURCE or not key.endswith("/" + root):
                    self.store.delete(kind, key)
        self.save_resource(ctx, api_id, {"id": root, "path": "/"})

    def _fill(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, doc: dict, options: dict
    ) -> None:
        put = self.store.put
        schemas = doc.get("definitions") or (doc.get("components") or {}).get("schemas") or {}
        for name, schema in schemas.items():
            model = {
                "id": new_id(6),
                "name": name,
                "contentType": "application/json",
                "schema": orjson.dumps(_rewrite_refs(schema)).decode(),
            }
            put(MODEL, scope(ctx.account, ctx.region, api_id, name), model)
        authorizers = self._import_authorizers(ctx, api_id, doc)
        validators = self._import_validators(ctx, api_id, doc)
        for kind, response in (doc.get(_EXT + "gateway-responses") or {}).items():
            gateway = {
                "responseType": kind,
                "statusCode": str(response.get("statusCode") or ""),
                "responseParameters": response.get("responseParameters") or {},
                "responseTemplates": response.get("responseTemplates") or {},
                "defaultResponse": False,
            }
            put(GATEWAY_RESPONSE, scope(ctx.account, ctx.region, api_id, kind), gateway)
        base = _base_path(doc, options.get("basepath") or "ignore")
        default_validator = doc.get(_EXT + "request-validator")
        tree = {r["path"]: r for r in self.resources_of(ctx.account, ctx.region, api_id)}
        for path, item in (doc.get("paths") or {}).items():
            resource = self._ensure_path(ctx, api_id, tree, base + path)
            shared = item.get("parameters") or []
            for verb, operation in item.items():
                name = "ANY" if verb == _ANY else verb.upper()
                if name not in VERBS or not isinstance(operation, dict):
                    continue
                context = (doc, authorizers, validators, default_validator, shared)
                method = _method(name, operation, context)
                resource.setdefault("resourceMethods", {})[name] = method
                self.save_resource(ctx, api_id, resource)

    def _ensure_path(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, tree: dict, path: str
    ) -> dict:
        """The resource of `path`, creating missing ones along it (a copy, ready to change)."""
        path = "/" + path.strip("/")
        current = tree["/"]
        built = ""
        for part in [p for p in path.split("/") if p]:
            built += "/" + part
            found = tree.get(built)
            if found is None:
                found = {
                    "id": new_id(10),
                    "parentId": current["id"],
                    "pathPart": part,
                    "path": built,
                }
                self.save_resource(ctx, api_id, found)
                tree[built] = found
            current = found
        copied = orjson.loads(orjson.dumps(current))
        tree[current["path"]] = copied
        return copied

    def _import_authorizers(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, doc: dict
    ) -> dict:
        """Security schemes: Lambda authorizers become authorizers; `api_key` schemes mark
        methods that use them as requiring an API key. Returns scheme name -> how it applies."""
        schemes = (
            doc.get("securityDefinitions")
            or (doc.get("components") or {}).get("securitySchemes")
            or {}
        )
        out: dict[str, dict[str, Any]] = {}
        for name, scheme in schemes.items():
            ext = scheme.get(_EXT + "authorizer")
            if ext is None:
                if scheme.get("type") == "apiKey":
                    out[name] = {"apiKey": True}
                elif scheme.get(_EXT + "authtype") == "awsSigv4":
                    out[name] = {"authorizationType": "AWS_IAM"}
                continue
            kind = (ext.get("type") or "token").upper()
            kind = "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else kind
            authorizer: dict[str, Any] = {
                "id": new_id(6),
                "name": name,
                "type": kind,
                "authorizerResultTtlInSeconds": ext.get("authorizerResultTtlInSeconds", 300),
                "identitySource": ext.get("identitySource")
                or "method.request.header." + (scheme.get("name") or "Authorization"),
            }
            for member in (
                "authorizerUri",
                "authorizerCredentials",
                "identityValidationExpression",
                "providerARNs",
            ):
                if ext.get(member) is not None:
                    authorizer[member] = ext[member]
            self.store.put(
                AUTHORIZER, scope(ctx.account, ctx.region, api_id, authorizer["id"]), authorizer
            )
            auth_type = "COGNITO_USER_POOLS" if kind == "COGNITO_USER_POOLS" else "CUSTOM"
            out[name] = {"authorizationType": auth_type, "authorizerId": authorizer["id"]}
        return out

    def _import_validators(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, doc: dict
    ) -> dict:
        out = {}
        for name, spec in (doc.get(_EXT + "request-validators") or {}).items():
            validator = {
                "id": new_id(6),
                "name": name,
                "validateRequestBody": bool(spec.get("validateRequestBody")),
                "validateRequestParameters": bool(spec.get("validateRequestParameters")),
            }
            self.store.put(
                VALIDATOR, scope(ctx.account, ctx.region, api_id, validator["id"]), validator
            )
            out[name] = validator["id"]
        return out

    def get_export(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        from cloudlet.services.apigateway.export import export

        stage = self.stage_doc(ctx, params["restApiId"], params["stageName"])
        api = self.api_doc(ctx, params["restApiId"])
        deployment = self.deployment_doc(ctx.account, ctx.region, api["id"], stage["deploymentId"])
        snapshot = (deployment or {}).get("_snapshot") or {}
        kind = params["exportType"]
        if kind not in ("oas30", "swagger"):
            raise bad_request(f"Invalid export type specified: {kind}")
        extensions = (params.get("parameters") or {}).get("extensions") or ""
        doc = export(api, stage, snapshot, ctx.region, kind, extensions)
        accepts = params.get("accepts") or "application/json"
        if "yaml" in accepts:
            import yaml

            body = yaml.safe_dump(doc, sort_keys=False).encode()
            content_type = "application/yaml"
        else:
            body = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
            content_type = "application/json"
        suffix = "yaml" if "yaml" in accepts else "json"
        return {
            "contentType": content_type,
            "contentDisposition": f'attachment; filename="{kind}_{stage["stageName"]}.{suffix}"',
            "body": body,
        }


def _endpoint(options: dict[str, str]) -> dict[str, Any] | None:
    types = options.get("endpointConfigurationTypes")
    return {"types": [types.upper()]} if types else None


def _rewrite_refs(schema: Any) -> Any:
    """`#/definitions/X` and `#/components/schemas/X` as API Gateway stores model references."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and _REF.match(value):
                out[key] = "https://apigateway.amazonaws.com/restapis/{api}/models/" + _REF.match(
                    value
                ).group(1)
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(v) for v in schema]
    return schema


def _method(verb: str, operation: dict[str, Any], context: tuple) -> dict[str, Any]:
    """A method document from an OpenAPI operation and its extensions."""
    doc, authorizers, validators, default_validator, shared = context
    method: dict[str, Any] = {
        "httpMethod": verb,
        "authorizationType": "NONE",
        "apiKeyRequired": False,
    }
    if operation.get("operationId"):
        method["operationName"] = operation["operationId"]
    for requirement in operation.get("security", doc.get("security")) or ():
        for name, scopes in requirement.items():
            found = authorizers.get(name) or {}
            if found.get("apiKey"):
                method["apiKeyRequired"] = True
            elif found:
                method.update(found)
                if scopes:
                    method["authorizationScopes"] = list(scopes)
    parameters: dict[str, bool] = {}
    for parameter in [*shared, *(operation.get("parameters") or ())]:
        place = {"query": "querystring", "path": "path", "header": "header"}.get(
            parameter.get("in")
        )
        if place:
            required = bool(parameter.get("required")) or place == "path"
            parameters[f"method.request.{place}.{parameter['name']}"] = required
        elif parameter.get("in") == "body" and "$ref" in (parameter.get("schema") or {}):
            method["requestModels"] = {
                "application/json": parameter["schema"]["$ref"].rpartition("/")[2]
            }
    if parameters:
        method["requestParameters"] = parameters
    content = (operation.get("requestBody") or {}).get("content") or {}
    models = {
        media: spec["schema"]["$ref"].rpartition("/")[2]
        for media, spec in content.items()
        if "$ref" in (spec.get("schema") or {})
    }
    if models:
        method["requestModels"] = models
    validator = operation.get(_EXT + "request-validator", default_validator)
    if validator in validators:
        method["requestValidatorId"] = validators[validator]
    responses = {}
    for status, response in (operation.get("responses") or {}).items():
        if not str(status).isdigit():
            continue
        entry: dict[str, Any] = {"statusCode": str(status)}
        headers = response.get("headers") or {}
        if headers:
            entry["responseParameters"] = {f"method.response.header.{h}": False for h in headers}
        responses[str(status)] = entry
    if responses:
        method["methodResponses"] = responses
    spec = operation.get(_EXT + "integration")
    if spec:
        method["methodIntegration"] = _integration(spec)
    return method


def _integration(spec: dict[str, Any]) -> dict[str, Any]:
    integration = new_integration(
        {
            "type": (spec.get("type") or "").upper(),
            "integrationHttpMethod": spec.get("httpMethod"),
            "uri": spec.get("uri"),
            "credentials": spec.get("credentials"),
            "requestParameters": spec.get("requestParameters"),
            "requestTemplates": spec.get("requestTemplates"),
            "passthroughBehavior": (spec.get("passthroughBehavior") or "").upper() or None,
            "contentHandling": spec.get("contentHandling"),
            "timeoutInMillis": spec.get("timeoutInMillis"),
            "cacheKeyParameters": spec.get("cacheKeyParameters"),
            "connectionType": spec.get("connectionType"),
            "connectionId": spec.get("connectionId"),
        },
        spec.get("cacheNamespace") or "",
    )
    responses = {}
    for pattern, response in (spec.get("responses") or {}).items():
        status = str(response.get("statusCode") or "200")
        entry: dict[str, Any] = {"statusCode": status}
        if pattern != "default":
            entry["selectionPattern"] = pattern
        for member in ("responseParameters", "responseTemplates", "contentHandling"):
            if response.get(member):
                entry[member] = response[member]
        responses[status] = entry
    if responses:
        integration["integrationResponses"] = responses
    return integration


def model_template(schema_text: str) -> str:
    """GetModelTemplate: a mapping template that copies a model's top-level properties."""
    try:
        schema = orjson.loads(schema_text)
    except orjson.JSONDecodeError:
        schema = {}
    properties = list((schema.get("properties") or {}).items())
    lines = ["#set($inputRoot = $input.path('$'))", "{"]
    for i, (name, spec) in enumerate(properties):
        comma = "," if i < len(properties) - 1 else ""
        if spec.get("type") in ("integer", "number", "boolean"):
            lines.append(f'  "{name}" : $inputRoot.{name}{comma}')
        else:
            lines.append(f'  "{name}" : "$inputRoot.{name}"{comma}')
    lines.append("}")
    return "\n".join(lines)
