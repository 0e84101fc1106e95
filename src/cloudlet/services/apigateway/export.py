"""GetExport: a deployed stage as an OpenAPI 3.0 or Swagger 2.0 definition.

Built from the stage's deployment snapshot, so the export shows what callers are served. With
`extensions=integrations` (or `apigateway`) the `x-amazon-apigateway-integration` of every method
is included, so the export imports back into an equal API.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import orjson

_EXT = "x-amazon-apigateway-"
_PARAM = re.compile(r"^method\.request\.(path|querystring|header)\.(.+)$")
_IN = {"path": "path", "querystring": "query", "header": "header"}


def export(
    api: dict[str, Any],
    stage: dict[str, Any],
    snapshot: dict[str, Any],
    region: str,
    kind: str,
    extensions: str,
) -> dict[str, Any]:
    swagger = kind == "swagger"
    with_integrations = "integrations" in extensions or "apigateway" in extensions
    created = datetime.datetime.fromtimestamp(api["createdDate"], datetime.UTC)
    doc: dict[str, Any] = {"swagger": "2.0"} if swagger else {"openapi": "3.0.1"}
    doc["info"] = {
        "title": api.get("name") or "",
        "version": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if api.get("description"):
        doc["info"]["description"] = api["description"]
    host = f"{api['id']}.execute-api.{region}.amazonaws.com"
    if swagger:
        doc.update(host=host, basePath="/" + stage["stageName"], schemes=["https"])
    else:
        doc["servers"] = [
            {
                "url": f"https://{host}/{{basePath}}",
                "variables": {"basePath": {"default": stage["stageName"]}},
            }
        ]
    doc["paths"] = _paths(snapshot, swagger, with_integrations)
    schemas = {
        name: orjson.loads(model.get("schema") or "{}")
        for name, model in (snapshot.get("models") or {}).items()
    }
    if swagger:
        doc["definitions"] = schemas
    else:
        doc["components"] = {"schemas": schemas}
    security = _security(snapshot, with_integrations)
    if security:
        if swagger:
            doc["securityDefinitions"] = security
        else:
            doc["components"]["securitySchemes"] = security
    media = (snapshot.get("api") or {}).get("binaryMediaTypes")
    if media and with_integrations:
        doc[_EXT + "binary-media-types"] = media
    return doc


def _paths(snapshot: dict[str, Any], swagger: bool, with_integrations: bool) -> dict[str, Any]:
    authorizers = snapshot.get("authorizers") or {}
    out: dict[str, Any] = {}
    for resource in snapshot.get("resources") or ():
        methods = resource.get("resourceMethods") or {}
        if not methods:
            continue
        item = out.setdefault(resource["path"], {})
        for verb, method in methods.items():
            name = _EXT + "any-method" if verb == "ANY" else verb.lower()
            item[name] = _operation(method, authorizers, swagger, with_integrations)
    return out


def _operation(
    method: dict[str, Any], authorizers: dict[str, Any], swagger: bool, with_integrations: bool
) -> dict[str, Any]:
    operation: dict[str, Any] = {}
    if method.get("operationName"):
        operation["operationId"] = method["operationName"]
    parameters = []
    for key, required in (method.get("requestParameters") or {}).items():
        match = _PARAM.match(key)
        if match:
            place, name = match.groups()
            parameter: dict[str, Any] = {"name": name, "in": _IN[place], "required": bool(required)}
            if swagger:
                parameter["type"] = "string"
            else:
                parameter["schema"] = {"type": "string"}
            parameters.append(parameter)
    if parameters:
        operation["parameters"] = parameters
    models = method.get("requestModels") or {}
    if models and not swagger:
        operation["requestBody"] = {
            "content": {
                media: {"schema": {"$ref": f"#/components/schemas/{name}"}}
                for media, name in models.items()
            },
            "required": True,
        }
    responses: dict[str, Any] = {}
    for status, response in (method.get("methodResponses") or {}).items():
        entry: dict[str, Any] = {"description": f"{status} response"}
        headers = {
            key.rpartition(".")[2]: {"schema": {"type": "string"}}
            if not swagger
            else {"type": "string"}
            for key in response.get("responseParameters") or {}
        }
        if headers:
            entry["headers"] = headers
        responses[status] = entry
    operation["responses"] = responses
    security = []
    if method.get("apiKeyRequired"):
        security.append({"api_key": []})
    authorizer = authorizers.get(method.get("authorizerId") or "")
    if authorizer:
        security.append({authorizer["name"]: method.get("authorizationScopes") or []})
    if security:
        operation["security"] = security
    integration = method.get("methodIntegration")
    if integration and with_integrations:
        operation[_EXT + "integration"] = _integration(integration)
    return operation


def _integration(integration: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": integration["type"].lower()}
    for member in (
        "httpMethod",
        "uri",
        "credentials",
        "requestParameters",
        "requestTemplates",
        "passthroughBehavior",
        "contentHandling",
        "timeoutInMillis",
        "connectionType",
    ):
        if integration.get(member) is not None:
            out[member] = integration[member]
    if out.get("passthroughBehavior"):
        out["passthroughBehavior"] = out["passthroughBehavior"].lower()
    responses = {}
    for status, response in (integration.get("integrationResponses") or {}).items():
        pattern = response.get("selectionPattern") or "default"
        entry = {"statusCode": status}
        for member in ("responseParameters", "responseTemplates", "contentHandling"):
            if response.get(member):
                entry[member] = response[member]
        responses[pattern] = entry
    if responses:
        out["responses"] = responses
    return out


def _security(snapshot: dict[str, Any], with_integrations: bool) -> dict[str, Any]:
    schemes: dict[str, Any] = {}
    resources = snapshot.get("resources") or ()
    if any(
        m.get("apiKeyRequired")
        for r in resources
        for m in (r.get("resourceMethods") or {}).values()
    ):
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    for authorizer in (snapshot.get("authorizers") or {}).values():
        source = authorizer.get("identitySource") or ""
        scheme: dict[str, Any] = {
            "type": "apiKey",
            "name": source.rpartition(".")[2]
            if source.startswith("method.request.header.")
            else "Unused",
            "in": "header",
            _EXT + "authtype": "custom"
            if authorizer["type"] != "COGNITO_USER_POOLS"
            else "cognito_user_pools",
        }
        if with_integrations:
            ext = {"type": authorizer["type"].lower()}
            for member in (
                "authorizerUri",
                "authorizerCredentials",
                "identitySource",
                "identityValidationExpression",
                "authorizerResultTtlInSeconds",
                "providerARNs",
            ):
                if authorizer.get(member) is not None:
                    ext[member] = authorizer[member]
            scheme[_EXT + "authorizer"] = ext
        schemes[authorizer["name"]] = scheme
    return schemes
