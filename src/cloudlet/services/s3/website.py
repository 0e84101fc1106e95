"""Static website hosting: what `<bucket>.s3-website.localhost` (or `/_cloudlet/s3-website/<bucket>/`)
answers a browser.

As S3's website endpoint: GET and HEAD only; index documents for "directories" (and a redirect
from `/dir` to `/dir/` when only the latter has one); routing rules before the lookup (key prefix)
and after it (error code); redirect-all; an object's `x-amz-website-redirect-location`; the error
document for 4xx answers, served with the error's status; HTML error pages otherwise. Callers are
anonymous: an object is served only when the bucket policy lets everyone `s3:GetObject` it (and
RestrictPublicBuckets does not block that) or its ACL is public (and neither IgnorePublicAcls nor
disabled ACLs set it aside); anything else is 403.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import orjson

from cloudlet.core import ids
from cloudlet.edge.s3 import WEBSITE_PATH
from cloudlet.protocols import HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.restxml import RestXmlCodec
from cloudlet.services.s3 import acl, objects, policy
from cloudlet.services.s3.common import BUCKET, OBJECT, object_key, quoted, utc

if TYPE_CHECKING:
    from cloudlet.services.s3.provider import S3Provider

_TITLES = {
    301: "301 Moved Permanently",
    302: "302 Found",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
}


def error_page(status: int, fields: list[tuple[str, str]], request_id: str) -> HttpResponse:
    """AWS's HTML error page of a website endpoint."""
    title = _TITLES.get(status, str(status))
    items = "".join(f"<li>{escape(k)}: {escape(v)}</li>\n" for k, v in fields)
    host_id = RestXmlCodec.host_id(request_id)
    body = (
        f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<ul>\n"
        f"{items}<li>RequestId: {request_id}</li>\n<li>HostId: {host_id}</li>\n</ul>\n"
        "<hr/>\n</body>\n</html>\n"
    ).encode()
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "x-amz-request-id": request_id,
        "x-amz-id-2": host_id,
    }
    return HttpResponse(status, headers, body)


def _redirect(status: int, location: str) -> HttpResponse:
    return HttpResponse(status, {"Location": location, "Content-Length": "0"}, b"")


class _Site:
    """One website request: the bucket, its configuration, and how URLs are formed."""

    def __init__(self, provider: S3Provider, request: HttpRequest, bucket: dict[str, Any]) -> None:
        self.provider = provider
        self.request = request
        self.bucket = bucket
        self.config: dict[str, Any] = bucket["website"]
        self.base = WEBSITE_PATH + bucket["name"] if request.path.startswith(WEBSITE_PATH) else ""
        self.request_id = ids.request_id()

    def version(self, key: str) -> dict[str, Any] | None:
        found = objects.current(
            self.provider.store.get(OBJECT, object_key(self.bucket["name"], key))
        )
        return None if found is None or found.get("dm") else found

    def public(self, key: str, version: dict[str, Any] | None) -> bool:
        bucket = self.bucket
        pab = bucket.get("pab") or {}
        text = bucket.get("policy")
        document = orjson.loads(text) if text else None
        resource = f"arn:aws:s3:::{bucket['name']}/{key}"
        if (
            document
            and not pab.get("RestrictPublicBuckets")
            and policy.anonymous_may(document, "s3:GetObject", resource)
        ):
            return True
        acls_apply = bucket.get("ownership", "BucketOwnerEnforced") != "BucketOwnerEnforced"
        return (
            version is not None
            and acls_apply
            and not pab.get("IgnorePublicAcls")
            and acl.is_public(version.get("acl"))
        )

    def location(self, redirect: dict[str, Any], key: str, prefix: str = "") -> str:
        scheme = redirect.get("Protocol") or "http"
        host = redirect.get("HostName")
        if redirect.get("ReplaceKeyWith") is not None:
            key = redirect["ReplaceKeyWith"]
        elif redirect.get("ReplaceKeyPrefixWith") is not None:
            key = redirect["ReplaceKeyPrefixWith"] + key[len(prefix) :]
        path = "/" + quote(key, safe="/~")
        if host:
            return f"{scheme}://{host}{path}"
        return f"{scheme}://{self.request.host}{self.base}{path}"

    def routed(self, key: str, status: int | None) -> HttpResponse | None:
        """The redirect of the first routing rule matching the key (and the error status)."""
        for rule in self.config.get("RoutingRules") or []:
            condition = rule.get("Condition") or {}
            prefix = condition.get("KeyPrefixEquals") or ""
            code = condition.get("HttpErrorCodeReturnedEquals")
            if not key.startswith(prefix):
                continue
            if (code is None) != (status is None) or (code is not None and int(code) != status):
                continue
            redirect = rule.get("Redirect") or {}
            return _redirect(
                int(redirect.get("HttpRedirectCode") or 301), self.location(redirect, key, prefix)
            )
        return None

    def failed(self, status: int, code: str, message: str, key: str) -> HttpResponse:
        """An error answer: a routing rule, else the error document, else AWS's HTML page."""
        routed = self.routed(key, status)
        if routed is not None:
            return routed
        document = (self.config.get("ErrorDocument") or {}).get("Key")
        if document:
            version = self.version(document)
            if version is not None and self.public(document, version):
                return self.object(version, status)
        fields = [("Code", code), ("Message", message)]
        if code == "NoSuchKey":
            fields.append(("Key", key))
        return error_page(status, fields, self.request_id)

    def object(self, version: dict[str, Any], status: int = 200) -> HttpResponse:
        headers = {
            "Content-Type": version.get("ctype") or "binary/octet-stream",
            "Content-Length": str(version["size"]),
            "ETag": quoted(version["etag"]),
            "Last-Modified": objects.http_date(utc(version["mtime"])),
            "x-amz-request-id": self.request_id,
        }
        for member, name in (
            ("CacheControl", "Cache-Control"),
            ("ContentEncoding", "Content-Encoding"),
            ("ContentDisposition", "Content-Disposition"),
            ("ContentLanguage", "Content-Language"),
        ):
            value = (version.get("hdr") or {}).get(member)
            if value:
                headers[name] = value
        body = self.provider.blobs.body(version["blobs"])
        return HttpResponse(status, headers, body)


async def serve(provider: S3Provider, request: HttpRequest, name: str, path: str) -> HttpResponse:
    await request.load()
    request_id = ids.request_id()
    if request.method not in ("GET", "HEAD"):
        fields = [
            ("Code", "MethodNotAllowed"),
            ("Message", "The specified method is not allowed against this resource."),
            ("Method", request.method),
            ("ResourceType", "OBJECT"),
        ]
        return error_page(405, fields, request_id)
    bucket = provider.store.get(BUCKET, name)
    if bucket is None:
        fields = [
            ("Code", "NoSuchBucket"),
            ("Message", "The specified bucket does not exist"),
            ("BucketName", name),
        ]
        return error_page(404, fields, request_id)
    config = bucket.get("website")
    if not config:
        fields = [
            ("Code", "NoSuchWebsiteConfiguration"),
            ("Message", "The specified bucket does not have a website configuration"),
            ("BucketName", name),
        ]
        return error_page(404, fields, request_id)
    site = _Site(provider, request, bucket)
    key = unquote(path.lstrip("/"))
    everything = config.get("RedirectAllRequestsTo")
    if everything:
        scheme = everything.get("Protocol") or "http"
        return _redirect(301, f"{scheme}://{everything['HostName']}/{quote(key, safe='/~')}")
    return _lookup(site, key)


def _lookup(site: _Site, key: str) -> HttpResponse:
    routed = site.routed(key, None)
    if routed is not None:
        return routed
    suffix = (site.config.get("IndexDocument") or {}).get("Suffix", "index.html")
    wanted = key + suffix if key == "" or key.endswith("/") else key
    version = site.version(wanted)
    if version is None:
        if key and not key.endswith("/") and site.version(f"{key}/{suffix}") is not None:
            return _redirect(302, f"{site.base}/{quote(key, safe='/~')}/")
        if not site.public(wanted, None):
            return site.failed(403, "AccessDenied", "Access Denied", wanted)
        return site.failed(404, "NoSuchKey", "The specified key does not exist.", wanted)
    if not site.public(wanted, version):
        return site.failed(403, "AccessDenied", "Access Denied", wanted)
    redirect = (version.get("hdr") or {}).get("WebsiteRedirectLocation")
    if redirect:
        return _redirect(301, redirect)
    try:
        objects.check_conditions(_conditions(site.request), version)
    except AwsError as error:
        return HttpResponse(error.status, dict(error.headers), b"")
    return site.object(version)


def _conditions(request: HttpRequest) -> dict[str, Any]:
    headers = request.headers
    out: dict[str, Any] = {}
    if "if-none-match" in headers:
        out["IfNoneMatch"] = headers["if-none-match"]
    if "if-match" in headers:
        out["IfMatch"] = headers["if-match"]
    for header, member in (
        ("if-modified-since", "IfModifiedSince"),
        ("if-unmodified-since", "IfUnmodifiedSince"),
    ):
        ms = objects.parse_http_date(headers.get(header, ""))
        if ms is not None:
            out[member] = utc(ms)
    return out
