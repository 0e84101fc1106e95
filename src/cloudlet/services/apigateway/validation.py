"""Request validation of REST API methods: required parameters and JSON Schema (draft 4)
models, as a method's request validator asks.

A model's schema may refer to other models of the API by their URL
(`https://apigateway.amazonaws.com/restapis/<api>/models/<Name>`); those references are
inlined before the schema is compiled, once per deployment and model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from cloudlet.services.apigateway.dataplane import Call, DataPlane

_MAX_DEPTH = 16


def validate_request(plane: DataPlane, call: Call, validator_id: str) -> tuple[str, str] | None:
    """(gateway response type, message) when the request fails validation, else None."""
    snapshot = call.compiled.snapshot
    validator = (snapshot.get("validators") or {}).get(validator_id)
    if validator is None:
        return None
    if validator.get("validateRequestParameters"):
        missing = _missing_parameters(call)
        if missing:
            return (
                "BAD_REQUEST_PARAMETERS",
                f"Missing required request parameters: [{', '.join(missing)}]",
            )
    if validator.get("validateRequestBody"):
        models = call.method.get("requestModels") or {}
        content_type = call.request.headers.get("content-type") or "application/json"
        name = models.get(content_type.split(";", 1)[0].strip().lower()) or models.get("$default")
        if name and not _body_valid(plane, call, name):
            return "BAD_REQUEST_BODY", "Invalid request body"
    return None


def _missing_parameters(call: Call) -> list[str]:
    request = call.request
    missing = []
    for key, required in (call.method.get("requestParameters") or {}).items():
        if not required or not key.startswith("method.request."):
            continue
        place, _, name = key[len("method.request.") :].partition(".")
        if place == "header":
            present = name.lower() in request.headers
        elif place in ("querystring", "multivaluequerystring"):
            present = bool(request.query) and name in request.query_params
        elif place == "path":
            present = name in call.path_parameters
        else:
            present = True
        if not present:
            missing.append(name)
    return missing


def _body_valid(plane: DataPlane, call: Call, model: str) -> bool:
    validator = _validator(plane, call, model)
    if validator is None:
        return True
    try:
        data = orjson.loads(call.request.body) if call.request.body.strip() else None
    except orjson.JSONDecodeError:
        return False
    return validator.is_valid(data)


def _validator(plane: DataPlane, call: Call, name: str) -> Any:
    key = (call.compiled.deployment_id, name)
    if key not in plane.schemas:
        models = call.compiled.snapshot.get("models") or {}
        schema = _schema_of(models, name, 0)
        if schema is None:
            plane.schemas[key] = None
        else:
            from jsonschema import Draft4Validator

            plane.schemas[key] = Draft4Validator(schema)
    return plane.schemas[key]


def _schema_of(models: dict[str, Any], name: str, depth: int) -> Any:
    model = models.get(name)
    if model is None or depth > _MAX_DEPTH:
        return None
    try:
        schema = orjson.loads(model.get("schema") or "{}")
    except orjson.JSONDecodeError:
        return None
    return _inline(schema, models, depth)


def _inline(node: Any, models: dict[str, Any], depth: int) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and "/models/" in ref:
            return _schema_of(models, ref.rpartition("/")[2], depth + 1) or {}
        return {k: _inline(v, models, depth) for k, v in node.items() if k != "$schema"}
    if isinstance(node, list):
        return [_inline(v, models, depth) for v in node]
    return node
