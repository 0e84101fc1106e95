"""Authorizers of REST API methods: Lambda TOKEN and REQUEST authorizers, with their results
cached for `authorizerResultTtlInSeconds`, and Cognito user pool authorizers.

A Lambda authorizer answers `{principalId, policyDocument, context, usageIdentifierKey}`; the
policy is evaluated against the request's method ARN
(`arn:aws:execute-api:<region>:<account>:<api>/<stage>/<VERB>/<path>`), an explicit Deny
winning, and the principal and context reach the integration as `requestContext.authorizer`.
As on AWS, the cache keeps the policy by identity, so a cached policy is evaluated again for
each method called with the same token. A function error `Unauthorized` is a 401.
"""

from __future__ import annotations

import base64
import re
import time
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols import HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.services.apigateway.integrations import (
    IntegrationTimeout,
    function_arn,
    invoke_lambda,
    with_stage_variables,
)
from cloudlet.services.apigateway.proxy import header_maps, query_maps

if TYPE_CHECKING:
    from cloudlet.services.apigateway.dataplane import Call, DataPlane

_DENY = "User is not authorized to access this resource with an explicit deny"
_NOT_ALLOWED = "User is not authorized to access this resource"
_ACTIONS = frozenset(("execute-api:Invoke", "execute-api:*", "*"))


async def authorize(plane: DataPlane, call: Call) -> HttpResponse | None:
    """Run the method's authorizer: a refusal, or None with `call.authorizer` set."""
    authorizers = call.compiled.snapshot.get("authorizers") or {}
    authorizer = authorizers.get(call.method.get("authorizerId") or "")
    if authorizer is None:
        return plane.gateway_response(call, "AUTHORIZER_CONFIGURATION_ERROR", None)
    if authorizer["type"] == "COGNITO_USER_POOLS":
        return _cognito(plane, call, authorizer)
    sources = _identity(call, authorizer)
    ttl = int(authorizer.get("authorizerResultTtlInSeconds", 300) or 0)
    if sources is None and (authorizer["type"] == "TOKEN" or ttl):
        return plane.gateway_response(call, "UNAUTHORIZED", "Unauthorized")
    cache = plane.provider.auth_cache
    key = (call.api_id, authorizer["id"], "\x00".join(sources or ()))
    now = plane.app.clock.now()
    cached = cache.get(key) if ttl else None
    if cached is not None and cached[0] > now:
        result = cached[1]
    else:
        started = time.perf_counter()
        outcome = await _run(plane, call, authorizer, sources)
        if isinstance(outcome, HttpResponse):
            return outcome
        result = {**outcome, "_latency": int((time.perf_counter() - started) * 1000)}
        if ttl:
            cache[key] = (now + ttl, result)
    return _apply(plane, call, result)


def _identity(call: Call, authorizer: dict[str, Any]) -> tuple[str, ...] | None:
    """The identity source values (None when one is missing, or the token fails
    `identityValidationExpression`)."""
    values = []
    for source in (authorizer.get("identitySource") or "").split(","):
        source = source.strip()
        if not source:
            continue
        value = plane_value(call, source)
        if not value:
            return None
        values.append(value)
    if authorizer["type"] == "TOKEN":
        expression = authorizer.get("identityValidationExpression")
        if not values or (expression and not re.fullmatch(expression, values[0])):
            return None
    return tuple(values)


def plane_value(call: Call, source: str) -> str | None:
    request = call.request
    if source.startswith("method.request.header."):
        return request.headers.get(source[len("method.request.header.") :].lower())
    if source.startswith("method.request.querystring."):
        name = source[len("method.request.querystring.") :]
        return request.query_params.get(name) if request.query else None
    if source.startswith("stageVariables."):
        return call.stage_variables.get(source[len("stageVariables.") :])
    if source.startswith("context."):
        value: Any = call.context()
        for part in source[len("context.") :].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def _event(call: Call, authorizer: dict[str, Any], sources: tuple[str, ...] | None) -> dict:
    if authorizer["type"] == "TOKEN":
        return {
            "type": "TOKEN",
            "authorizationToken": (sources or ("",))[0],
            "methodArn": call.method_arn,
        }
    headers, multi_headers = header_maps(call.request)
    query, multi_query = query_maps(call.request)
    return {
        "type": "REQUEST",
        "methodArn": call.method_arn,
        "resource": call.resource["path"],
        "path": call.path,
        "httpMethod": call.request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": call.path_parameters or {},
        "stageVariables": call.stage_variables or {},
        "requestContext": call.context(),
    }


async def _run(
    plane: DataPlane, call: Call, authorizer: dict[str, Any], sources: tuple[str, ...] | None
) -> dict[str, Any] | HttpResponse:
    arn = function_arn(
        with_stage_variables(authorizer.get("authorizerUri") or "", call.stage_variables)
    )
    if arn is None:
        return plane.gateway_response(call, "AUTHORIZER_CONFIGURATION_ERROR", None)
    payload = orjson.dumps(_event(call, authorizer, sources))
    try:
        result = await invoke_lambda(plane.app, arn, payload, call.request_id, 30.0)
    except (AwsError, IntegrationTimeout):
        return plane.gateway_response(call, "AUTHORIZER_CONFIGURATION_ERROR", None)
    try:
        value = orjson.loads(result.payload) if result.payload else None
    except orjson.JSONDecodeError:
        value = None
    if result.function_error:
        if isinstance(value, dict) and value.get("errorMessage") == "Unauthorized":
            return plane.gateway_response(call, "UNAUTHORIZED", "Unauthorized")
        return plane.gateway_response(call, "AUTHORIZER_FAILURE", None)
    if (
        not isinstance(value, dict)
        or "principalId" not in value
        or not isinstance(value.get("policyDocument"), dict)
    ):
        return plane.gateway_response(call, "AUTHORIZER_CONFIGURATION_ERROR", None)
    return value


def _apply(plane: DataPlane, call: Call, result: dict[str, Any]) -> HttpResponse | None:
    verdict = evaluate(result["policyDocument"], call.method_arn)
    if verdict != "Allow":
        message = _DENY if verdict == "Deny" else _NOT_ALLOWED
        return plane.gateway_response(call, "ACCESS_DENIED", message)
    context = result.get("context") if isinstance(result.get("context"), dict) else {}
    call.authorizer = {
        **{k: v for k, v in context.items() if not isinstance(v, dict | list)},
        "principalId": result["principalId"],
        "integrationLatency": result.get("_latency", 0),
    }
    call.usage_key = result.get("usageIdentifierKey")
    if call._context is not None:  # a REQUEST authorizer's event already built it
        call._context["authorizer"] = call.authorizer
    return None


def evaluate(policy: dict[str, Any], arn: str) -> str | None:
    """ "Allow", "Deny" (an explicit deny wins) or None (nothing matched) for `arn`."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    verdict = None
    for statement in statements:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if not any(a in _ACTIONS for a in actions):
            continue
        if not any(_arn_matches(pattern, arn) for pattern in resources):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        if statement.get("Effect") == "Allow":
            verdict = "Allow"
    return verdict


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def _cognito(plane: DataPlane, call: Call, authorizer: dict[str, Any]) -> HttpResponse | None:
    """Cognito user pool authorizers: the token's claims are read and its expiry checked (the
    signature is not, as cloudlet has no user pools)."""
    source = authorizer.get("identitySource") or "method.request.header.Authorization"
    token = plane_value(call, source) or ""
    claims = jwt_claims(token.removeprefix("Bearer "))
    if claims is None or claims.get("exp", float("inf")) < plane.app.clock.now():
        return plane.gateway_response(call, "UNAUTHORIZED", "Unauthorized")
    call.authorizer = {"claims": claims}
    if call._context is not None:
        call._context["authorizer"] = call.authorizer
    return None


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified; None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
