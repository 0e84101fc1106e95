"""CORS: a bucket's rules applied to browser requests, preflights included.

A request with an `Origin` is matched against the bucket's rules in order (origin with `*`
wildcards, method, and for a preflight every requested header); the first rule that matches
decides the `Access-Control-*` headers. A preflight that no rule allows is answered 403, as S3
answers it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from cloudlet.core import ids
from cloudlet.protocols import HttpRequest, HttpResponse, get_codec
from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.model import load_service_model

_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


def bucket_of(request: HttpRequest) -> str:
    return request.path.lstrip("/").partition("/")[0]


def match(
    rules: list[dict[str, Any]], origin: str, method: str, headers: list[str]
) -> dict[str, Any] | None:
    for rule in rules:
        if method not in rule.get("AllowedMethods", []):
            continue
        if not any(fnmatchcase(origin, o) for o in rule.get("AllowedOrigins", [])):
            continue
        allowed = [h.lower() for h in rule.get("AllowedHeaders") or []]
        if all(any(fnmatchcase(h, a) for a in allowed) for h in headers):
            return rule
    return None


def grant(rule: dict[str, Any], origin: str, requested: str | None = None) -> dict[str, str]:
    """The Access-Control-* headers a matching rule gives."""
    anyone = "*" in rule.get("AllowedOrigins", [])
    out = {
        "Access-Control-Allow-Origin": "*" if anyone else origin,
        "Access-Control-Allow-Methods": ", ".join(rule["AllowedMethods"]),
        "Vary": _VARY,
    }
    if not anyone:
        out["Access-Control-Allow-Credentials"] = "true"
    if rule.get("ExposeHeaders"):
        out["Access-Control-Expose-Headers"] = ", ".join(rule["ExposeHeaders"])
    if rule.get("MaxAgeSeconds") is not None:
        out["Access-Control-Max-Age"] = str(rule["MaxAgeSeconds"])
    if requested:
        out["Access-Control-Allow-Headers"] = requested
    return out


def _forbidden(message: str, method: str) -> HttpResponse:
    codec = get_codec(load_service_model("s3"))
    error = AwsError(
        "AccessForbidden",
        message,
        status=403,
        fields={"Method": method, "ResourceType": "OBJECT"},
    )
    return codec.serialize_error(error, None, ids.request_id())


def preflight(bucket: dict[str, Any] | None, request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("origin")
    method = request.headers.get("access-control-request-method")
    if not origin or not method:
        codec = get_codec(load_service_model("s3"))
        error = AwsError(
            "BadRequest", "Insufficient information. Origin request header needed.", status=400
        )
        return codec.serialize_error(error, None, ids.request_id())
    rules = (bucket or {}).get("cors")
    if not rules:
        return _forbidden("CORSResponse: CORS is not enabled for this bucket.", method)
    requested = request.headers.get("access-control-request-headers", "")
    names = [h.strip().lower() for h in requested.split(",") if h.strip()]
    rule = match(rules, origin, method, names)
    if rule is None:
        return _forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the "
            "evalution of Origin, request method / Access-Control-Request-Method or "
            "Access-Control-Request-Headersare not whitelisted by the resource's CORS spec.",
            method,
        )
    return HttpResponse(200, {**grant(rule, origin, requested or None), "Content-Length": "0"})


def response_headers(bucket: dict[str, Any] | None, request: HttpRequest) -> dict[str, str]:
    rules = (bucket or {}).get("cors")
    origin = request.headers.get("origin")
    if not rules or not origin:
        return {}
    rule = match(rules, origin, request.method, [])
    return grant(rule, origin) if rule is not None else {}
