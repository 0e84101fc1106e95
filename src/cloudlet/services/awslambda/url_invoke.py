"""Function URLs served: an HTTP request becomes a payload-format-2.0 event, the function's answer
becomes the HTTP response.

The edge sends here requests for `<url-id>.lambda-url.<region>.localhost[:port]` (browsers resolve
`*.localhost`) and the path-style `/_cloudlet/lambda-url/<url-id>/<path>`, which needs no DNS.
The event is the one Lambda builds for function URLs (API Gateway's payload format 2.0: cookies
taken out of the headers, repeated query parameters and headers comma-joined, a body that is not
text base64-encoded); the answer is read as Lambda reads it: `{statusCode, headers, cookies, body,
isBase64Encoded}`, or any other value meaning 200 with that JSON as the body. The URL's Cors
configuration answers preflight requests itself and decorates every response, overriding the
function's own CORS headers. AuthType AWS_IAM is accepted but not enforced yet.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from cloudlet.core import ids
from cloudlet.edge.sigv4 import credentials_of
from cloudlet.protocols import HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.runtime import Invocation
from cloudlet.services.awslambda.functions import Ref
from cloudlet.services.awslambda.invoke import MAX_SYNC_PAYLOAD

if TYPE_CHECKING:
    from cloudlet.app import App

_JSON = "application/json"
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "yaml", "html")


@dataclass
class UrlResponse(HttpResponse):
    """An HTTP response that may set several cookies (one `set-cookie` header each)."""

    set_cookies: list[str] = field(default_factory=list)


def _message(status: int, text: str, request_id: str) -> UrlResponse:
    headers = {"content-type": _JSON, "x-amzn-requestid": request_id}
    return UrlResponse(status, headers, orjson.dumps({"Message": text}))


async def serve_url(
    app: App, request: HttpRequest, scope: dict[str, Any], url_id: str, path: str
) -> HttpResponse:
    """Answer one request to a function URL."""
    request_id = ids.request_id()
    provider = app.provider("lambda")
    found = provider.urls.target(url_id)  # type: ignore[attr-defined]
    if found is None:
        return _message(403, "Forbidden", request_id)
    ref = Ref(found["account"], found["region"], found["name"], found["qualifier"])
    config = provider.urls.config(ref) or {}  # type: ignore[attr-defined]
    cors = config.get("Cors") or None
    if cors and _is_preflight(request):
        headers = {"x-amzn-requestid": request_id, **cors_headers(cors, request.headers, True)}
        return UrlResponse(200, headers, b"")
    if len(request.body) > MAX_SYNC_PAYLOAD:
        return _message(413, "Request must be smaller than 6291456 bytes", request_id)
    now_ms = app.clock.now_ms()
    event = url_event(request, scope, url_id, path, ref, config, request_id, now_ms)
    invoker = provider.invoker  # type: ignore[attr-defined]
    try:
        target = invoker.target(ref)
        invocation = Invocation(request_id, orjson.dumps(event), target.invoked_arn)
        result = await invoker.run(await invoker.spec(target), invocation)
    except AwsError as error:
        if error.code == "TooManyRequestsException":
            return _message(429, "Rate Exceeded.", request_id)
        return _message(403, "Forbidden", request_id)
    if result.function_error:
        return UrlResponse(
            502,
            {"content-type": "text/plain", "x-amzn-requestid": request_id},
            b"Internal Server Error",
        )
    response = http_response(result.payload, request_id)
    if cors:
        response.headers = {
            k: v for k, v in response.headers.items() if not k.startswith("access-control-")
        }
        response.headers.update(cors_headers(cors, request.headers, False))
    return response


def _is_preflight(request: HttpRequest) -> bool:
    headers = request.headers
    return (
        request.method == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


# -- the request ---------------------------------------------------------------------------------
def url_event(
    request: HttpRequest,
    scope: dict[str, Any],
    url_id: str,
    path: str,
    ref: Ref,
    config: dict[str, Any],
    request_id: str,
    now_ms: int,
) -> dict[str, Any]:
    """The payload-format-2.0 event Lambda builds for a function URL request (`now_ms` is
    cloudlet's clock)."""
    client = scope.get("client") or ("127.0.0.1", 0)
    server = scope.get("server") or ("127.0.0.1", 80)
    headers = {k: v for k, v in request.headers.items() if k != "cookie"}
    headers.setdefault("x-amzn-trace-id", f"Root=1-{now_ms // 1000:08x}-{ids.token(12)}")
    headers.setdefault("x-forwarded-proto", scope.get("scheme", "http"))
    headers.setdefault("x-forwarded-port", str(server[1]))
    headers.setdefault("x-forwarded-for", client[0])
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": request.query,
    }
    cookie = request.headers.get("cookie")
    if cookie:
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    event["headers"] = headers
    if request.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    context = _request_context(request, scope, url_id, path, ref, request_id)
    context["time"] = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    context["timeEpoch"] = now_ms
    if config.get("AuthType") == "AWS_IAM":
        _add_caller(context, request, ref)
    event["requestContext"] = context
    if request.body:
        text = _as_text(request)
        event["body"] = text if text is not None else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def _request_context(
    request: HttpRequest,
    scope: dict[str, Any],
    url_id: str,
    path: str,
    ref: Ref,
    request_id: str,
) -> dict[str, Any]:
    """`requestContext`: the caller is `anonymous` for AuthType NONE, as on AWS."""
    client = scope.get("client") or ("127.0.0.1", 0)
    return {
        "accountId": "anonymous",
        "apiId": url_id,
        "domainName": f"{url_id}.lambda-url.{ref.region}.localhost",
        "domainPrefix": url_id,
        "http": {
            "method": request.method,
            "path": path,
            "protocol": f"HTTP/{scope.get('http_version') or '1.1'}",
            "sourceIp": client[0],
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
    }


def _as_text(request: HttpRequest) -> str | None:
    """The body as text when its content type is textual and it decodes; None otherwise (the
    event then carries it base64-encoded, as Lambda does for binary and form bodies)."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type or not any(kind in content_type for kind in _TEXT_TYPES):
        return None
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _add_caller(context: dict[str, Any], request: HttpRequest, ref: Ref) -> None:
    """The signer of an AWS_IAM request, as far as SigV4 tells (the signature is not checked)."""
    creds = credentials_of(
        request.headers, request.query_params if "X-Amz-" in request.query else {}
    )
    access_key = creds.access_key if creds else ""
    account = access_key if access_key.isdigit() and len(access_key) == 12 else ref.account
    context["accountId"] = account
    context["authorizer"] = {
        "iam": {
            "accessKey": access_key,
            "accountId": account,
            "callerId": access_key,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{account}:root",
            "userId": account,
        }
    }


# -- the response --------------------------------------------------------------------------------
def http_response(payload: bytes, request_id: str) -> UrlResponse:
    """The HTTP response a function's answer describes."""
    try:
        value = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return UrlResponse(
            502,
            {"content-type": "text/plain", "x-amzn-requestid": request_id},
            b"Internal Server Error",
        )
    if not isinstance(value, dict) or "statusCode" not in value:
        return UrlResponse(200, {"content-type": _JSON, "x-amzn-requestid": request_id}, payload)
    headers = {str(k).lower(): _header_value(v) for k, v in (value.get("headers") or {}).items()}
    headers.setdefault("content-type", _JSON)
    headers["x-amzn-requestid"] = request_id
    body = value.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = base64.b64decode(body) if value.get("isBase64Encoded") else body.encode()
    else:
        data = orjson.dumps(body)
    cookies = [_header_value(c) for c in value.get("cookies") or []]
    try:
        status = int(value["statusCode"])
    except (TypeError, ValueError):
        status = 502
    return UrlResponse(status, headers, data, cookies)


def _header_value(value: Any) -> str:
    """A header value as the wire carries it (UTF-8 bytes read as Latin-1)."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text.encode("utf-8").decode("latin-1")


def cors_headers(cors: dict[str, Any], headers: dict[str, str], preflight: bool) -> dict[str, str]:
    """The CORS headers a function URL's Cors configuration adds for this request's origin."""
    origin = headers.get("origin")
    if not origin:
        return {}
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        allowed = "*"
    elif origin in origins:
        allowed = origin
    else:
        return {}
    out = {"access-control-allow-origin": allowed}
    if cors.get("AllowCredentials"):
        out["access-control-allow-credentials"] = "true"
    if preflight:
        methods = cors.get("AllowMethods") or []
        wanted = headers.get("access-control-request-method", "").upper()
        if "*" not in methods and wanted not in {m.upper() for m in methods}:
            return {}
        out["access-control-allow-methods"] = ",".join(methods)
        if cors.get("AllowHeaders"):
            out["access-control-allow-headers"] = ",".join(cors["AllowHeaders"])
        if cors.get("MaxAge") is not None:
            out["access-control-max-age"] = str(cors["MaxAge"])
    elif cors.get("ExposeHeaders"):
        out["access-control-expose-headers"] = ",".join(cors["ExposeHeaders"])
    out["vary"] = "Origin"
    return out
