"""Lambda proxy integrations, payload format 1.0: the event API Gateway sends and the response
contract it reads back. REST APIs use it for AWS_PROXY; HTTP APIs for payloadFormatVersion 1.0.

The event carries headers and query parameters twice (last value, and every value), the matched
resource and path parameters, stage variables and a `requestContext` describing the call. The
function answers `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`; anything
else is "malformed" and the caller gets AWS's 502 `{"message": "Internal server error"}`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.protocols import HttpRequest, HttpResponse

#: the members a proxy response may have; any other member makes it malformed
_RESPONSE_KEYS = frozenset(
    ("statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies")
)
INTERNAL_ERROR = b'{"message": "Internal server error"}'


@dataclass
class MultiResponse(HttpResponse):
    """An HTTP response that may repeat headers (`multiValueHeaders`, several cookies)."""

    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def set_cookies(self) -> list[str]:
        """The edge writes these as one `set-cookie` header each."""
        return [v for k, v in self.extra_headers if k.lower() == "set-cookie"]


def canonical(name: str) -> str:
    """`content-type` -> `Content-Type`: how HTTP clients write header names. The edge hands
    names over in lower case, so REST events carry them in this canonical form."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def request_time(now_ms: int) -> str:
    """`requestContext.requestTime`: `09/Apr/2015:12:34:56 +0000`."""
    return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def query_maps(request: HttpRequest) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """(last value per key, every value per key), None without a query string."""
    if not request.query:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in request.query_multi:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def header_maps(
    request: HttpRequest,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """`headers` (the last value of each) and `multiValueHeaders` (every value), with the names
    as the client spelled them, as API Gateway passes them."""
    pairs = request.header_list
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def is_binary(content_type: str, binary_types: list[str] | None) -> bool:
    """Whether a content type is one of an API's binary media types (`image/*`, `*/*` too)."""
    if not binary_types or not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    for pattern in binary_types:
        pattern = pattern.lower()
        if pattern in (kind, "*/*") or (pattern.endswith("/*") and kind.startswith(pattern[:-1])):
            return True
    return False


def body_field(body: bytes, binary: bool) -> tuple[str | None, bool]:
    """(event body, isBase64Encoded): base64 for binary media types or undecodable bytes."""
    if not body:
        return None, False
    if not binary:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def event_v1(
    request: HttpRequest,
    *,
    resource: str,
    path: str,
    path_parameters: dict[str, str] | None,
    stage_variables: dict[str, str] | None,
    request_context: dict[str, Any],
    binary: bool,
    added_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The payload format 1.0 event; `added_headers` are those API Gateway adds
    (`X-Forwarded-For` ...) unless the client sent them."""
    headers, multi_headers = header_maps(request)
    if added_headers:
        headers = headers or {}
        multi_headers = multi_headers or {}
        present = {name.lower() for name in headers}
        for name, value in added_headers.items():
            if name.lower() not in present:
                headers[name] = value
                multi_headers[name] = [value]
    query, multi_query = query_maps(request)
    body, encoded = body_field(request.body, binary)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def identity(request: HttpRequest, source_ip: str, **known: Any) -> dict[str, Any]:
    """`requestContext.identity`: the caller as far as API Gateway knows it."""
    out: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.headers.get("user-agent", ""),
        "user": None,
    }
    out.update(known)
    return out


def _header_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)


def proxy_response(
    payload: bytes, request_id: str, *, binary_types: list[str] | None = None, accept: str = ""
) -> MultiResponse | None:
    """The HTTP response a proxy function's answer describes; None when it is malformed."""
    try:
        value = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not _RESPONSE_KEYS.issuperset(value):
        return None
    body = value.get("body")
    status = value.get("statusCode", 200)
    headers_in = value.get("headers") or {}
    multi_in = value.get("multiValueHeaders") or {}
    if (
        (body is not None and not isinstance(body, str))
        or not isinstance(headers_in, dict)
        or not isinstance(multi_in, dict)
    ):
        return None
    try:
        status = int(status)
    except (TypeError, ValueError):
        return None
    headers = {str(k): _header_text(v) for k, v in headers_in.items()}
    extra: list[tuple[str, str]] = []
    for name, values in multi_in.items():
        items = values if isinstance(values, list) else [values]
        if str(name).lower() == "set-cookie":
            extra.extend(("set-cookie", _header_text(v)) for v in items)
            headers = {k: v for k, v in headers.items() if k.lower() != "set-cookie"}
        elif items:
            headers[str(name)] = ",".join(_header_text(v) for v in items)
    data = (body or "").encode()
    if value.get("isBase64Encoded") and body:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if (
            binary_types is None
            or is_binary(accept, binary_types)
            or is_binary(content_type, binary_types)
        ):
            try:
                data = base64.b64decode(body)
            except ValueError:
                return None
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    headers["x-amzn-RequestId"] = request_id
    return MultiResponse(status, headers, data, extra)
