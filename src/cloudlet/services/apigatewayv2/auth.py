"""Authorization of HTTP API routes: JWT authorizers, Lambda (REQUEST) authorizers with simple
or IAM-policy responses, and AWS_IAM.

A JWT is checked as API Gateway checks it: signature with a key of the issuer's JWKS (found
through `<issuer>/.well-known/openid-configuration`, cached for an hour), `iss`, `aud` (or a
Cognito access token's `client_id`) against the configured audiences, `exp` and `nbf` on
cloudlet's clock, and the route's authorization scopes against `scope`/`scp`. PyJWT does the
cryptography. Refusals are AWS's: 401 `Unauthorized`, 403 `Forbidden`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols import HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.services.apigateway.authorizers import evaluate
from cloudlet.services.apigateway.integrations import IntegrationTimeout, invoke_lambda
from cloudlet.services.apigatewayv2.dataplane import message

if TYPE_CHECKING:
    from cloudlet.services.apigatewayv2.dataplane import HttpCall, HttpDataPlane

_JWKS_TTL_S = 3600.0


async def authorize(plane: HttpDataPlane, call: HttpCall) -> HttpResponse | None:
    kind = call.route.get("AuthorizationType") or "NONE"
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        signed = call.request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256")
        return (
            None
            if signed or "X-Amz-Signature=" in call.request.query
            else message(403, "Forbidden", call.request_id)
        )
    authorizer = (call.compiled.snapshot.get("authorizers") or {}).get(
        call.route.get("AuthorizerId") or ""
    )
    if authorizer is None:
        return message(500, "Internal Server Error", call.request_id)
    v2 = _payload_v2(call)
    if authorizer.get("AuthorizerType") == "JWT":
        return await _jwt(plane, call, authorizer, v2)
    return await _lambda(plane, call, authorizer, v2)


def _payload_v2(call: HttpCall) -> bool:
    target = (call.route.get("Target") or "").removeprefix("integrations/")
    integration = (call.compiled.snapshot.get("integrations") or {}).get(target) or {}
    return integration.get("PayloadFormatVersion", "2.0") == "2.0"


def source_value(call: HttpCall, source: str) -> str | None:
    """An identity source: `$request.header.X`, `$request.querystring.X`, `$context.X`,
    `$stageVariables.X`."""
    request = call.request
    if source.startswith("$request.header."):
        return request.headers.get(source[len("$request.header.") :].lower())
    if source.startswith("$request.querystring."):
        return (
            request.query_params.get(source[len("$request.querystring.") :])
            if request.query
            else None
        )
    if source.startswith("$stageVariables."):
        return call.stage_variables.get(source[len("$stageVariables.") :])
    if source.startswith("$context."):
        return {
            "requestId": call.request_id,
            "stage": call.stage_name,
            "apiId": call.api_id,
            "routeKey": call.route.get("RouteKey"),
        }.get(source[len("$context.") :])
    return None


# -- JWT -----------------------------------------------------------------------------------------
async def _jwt(
    plane: HttpDataPlane, call: HttpCall, authorizer: dict, v2: bool
) -> HttpResponse | None:
    import jwt

    sources = authorizer.get("IdentitySource") or ["$request.header.Authorization"]
    token = (source_value(call, sources[0]) or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    config = authorizer.get("JwtConfiguration") or {}
    unauthorized = message(
        401, "Unauthorized", call.request_id, {"www-authenticate": 'Bearer error="invalid_token"'}
    )
    if not token:
        return message(401, "Unauthorized", call.request_id)
    try:
        header = jwt.get_unverified_header(token)
        key = await _signing_key(plane, config.get("Issuer") or "", header.get("kid"))
        if key is None:
            return unauthorized
        claims = jwt.decode(
            token,
            key,
            algorithms=[header.get("alg") or "RS256"],
            options={
                "verify_aud": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_iss": False,
            },
        )
    except (jwt.PyJWTError, ValueError):
        return unauthorized
    if not _claims_valid(claims, config, plane.app.clock.now()):
        return unauthorized
    scopes = _scopes(claims)
    wanted = call.route.get("AuthorizationScopes") or []
    if wanted and not set(wanted) & set(scopes):
        return message(403, "Forbidden", call.request_id)
    shown = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in claims.items()}
    found = {"claims": shown, "scopes": scopes or None}
    call.authorizer = {"jwt": found} if v2 else found
    return None


def _claims_valid(claims: dict[str, Any], config: dict[str, Any], now: float) -> bool:
    if claims.get("iss") != config.get("Issuer"):
        return False
    audiences = set(config.get("Audience") or ())
    aud = claims.get("aud")
    token_audiences = {aud} if isinstance(aud, str) else set(aud or ())
    if audiences and not (audiences & token_audiences or claims.get("client_id") in audiences):
        return False
    if "exp" in claims and float(claims["exp"]) <= now:
        return False
    return not ("nbf" in claims and float(claims["nbf"]) > now)


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope") or claims.get("scp") or []
    return scope.split() if isinstance(scope, str) else [str(s) for s in scope]


async def _signing_key(plane: HttpDataPlane, issuer: str, kid: str | None) -> Any:
    """The public key `kid` of the issuer's JWKS (discovered once, kept an hour)."""
    import jwt

    cached = plane.jwks.get(issuer)
    if cached is None or cached[0] < time.monotonic():
        from cloudlet.core.http_client import HttpFailure, fetch

        try:
            status, _, body = await fetch(
                "GET", issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=5
            )
            jwks_uri = orjson.loads(body)["jwks_uri"] if status == 200 else None
            if jwks_uri is None:
                return None
            status, _, body = await fetch("GET", jwks_uri, timeout=5)
            keys = jwt.PyJWKSet.from_json(body.decode()) if status == 200 else None
        except (
            HttpFailure,
            KeyError,
            ValueError,
            TypeError,
            orjson.JSONDecodeError,
            jwt.PyJWTError,
        ):
            return None
        if keys is None:
            return None
        cached = plane.jwks[issuer] = (time.monotonic() + _JWKS_TTL_S, keys)
    for key in cached[1].keys:
        if kid is None or key.key_id == kid:
            return key.key
    return None


# -- Lambda authorizers --------------------------------------------------------------------------
async def _lambda(
    plane: HttpDataPlane, call: HttpCall, authorizer: dict, v2: bool
) -> HttpResponse | None:
    sources = authorizer.get("IdentitySource") or []
    values = [source_value(call, s) for s in sources]
    if any(not v for v in values):
        return message(401, "Unauthorized", call.request_id)
    ttl = int(authorizer.get("AuthorizerResultTtlInSeconds") or 0)
    cache = plane.provider.auth_cache
    key = (call.api_id, authorizer["AuthorizerId"], *[v or "" for v in values])
    now = plane.app.clock.now()
    cached = cache.get(key) if ttl and sources else None
    if cached is not None and cached[0] > now:
        result = cached[1]
    else:
        outcome = await _run(plane, call, authorizer, [v or "" for v in values])
        if isinstance(outcome, HttpResponse):
            return outcome
        result = outcome
        if ttl and sources:
            cache[key] = (now + ttl, result)
    return _apply(call, authorizer, result, v2)


async def _run(plane: HttpDataPlane, call: HttpCall, authorizer: dict, values: list[str]) -> Any:
    uri = authorizer.get("AuthorizerUri") or ""
    arn = uri.split("functions/", 1)[1].removesuffix("/invocations") if "functions/" in uri else uri
    if authorizer.get("AuthorizerPayloadFormatVersion") == "2.0":
        event = {
            **plane.event_v2(call),
            "type": "REQUEST",
            "routeArn": call.route_arn,
            "identitySource": values,
        }
    else:
        event = {
            **plane.event_v1(call),
            "type": "REQUEST",
            "methodArn": call.route_arn,
            "identitySource": ",".join(values),
        }
    try:
        result = await invoke_lambda(plane.app, arn, orjson.dumps(event), call.request_id, 10.0)
    except (AwsError, IntegrationTimeout):
        return message(500, "Internal Server Error", call.request_id)
    try:
        value = orjson.loads(result.payload) if result.payload else None
    except orjson.JSONDecodeError:
        value = None
    if result.function_error:
        if isinstance(value, dict) and value.get("errorMessage") == "Unauthorized":
            return message(401, "Unauthorized", call.request_id)
        return message(500, "Internal Server Error", call.request_id)
    if not isinstance(value, dict):
        return message(500, "Internal Server Error", call.request_id)
    return value


def _apply(
    call: HttpCall, authorizer: dict, result: dict[str, Any], v2: bool
) -> HttpResponse | None:
    context = result.get("context") if isinstance(result.get("context"), dict) else {}
    if authorizer.get("EnableSimpleResponses") and "isAuthorized" in result:
        allowed = result.get("isAuthorized") is True
    else:
        allowed = evaluate(result.get("policyDocument") or {}, call.route_arn) == "Allow"
    if not allowed:
        return message(403, "Forbidden", call.request_id)
    if v2:
        call.authorizer = {"lambda": context}
        if "principalId" in result:
            call.authorizer["principalId"] = result["principalId"]
    else:
        call.authorizer = {
            **context,
            "principalId": result.get("principalId"),
            "integrationLatency": 0,
        }
    return None
