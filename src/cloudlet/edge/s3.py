"""S3's place on the edge: virtual-hosted-style addresses, website endpoints, browser CORS.

- API calls addressed virtual-hosted style are rewritten to path style before the codec (which
  routes path style only): `<bucket>.s3.localhost[:port]/key`, `<bucket>.s3.<region>.localhost`,
  and `<bucket>.localhost`, which is what boto3 forms from an endpoint of `http://localhost:4566`
  with `addressing_style="virtual"`. `*.localhost.localstack.cloud` hosts work the same way.
- Website endpoints: `<bucket>.s3-website.localhost[:port]` (also `.s3-website.<region>.` and
  `.s3-website-<region>.`, under `.localhost.localstack.cloud` or AWS's `.amazonaws.com`), and
  `/_cloudlet/s3-website/<bucket>/...`, which needs no DNS.
- Browser requests: the preflight `OPTIONS` (no operation of the model has that method) and the
  CORS headers of a bucket's configuration on every answer to a request with an `Origin`.

Each test is a string operation or two, paid only by requests that reach S3.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cloudlet.protocols import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from cloudlet.app import App

WEBSITE_PATH = "/_cloudlet/s3-website/"
_DOMAINS = (".localhost", ".localhost.localstack.cloud")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def _label(host: str) -> str | None:
    """What precedes a local domain in a Host header (`a.s3` of `a.s3.localhost:4566`)."""
    name = host if host.startswith("[") else host.partition(":")[0]
    name = name.lower()
    for domain in _DOMAINS:
        if name.endswith(domain):
            return name[: -len(domain)]
    return None


def bucket_of_host(host: str) -> str | None:
    """The bucket a virtual-hosted-style Host names, or None (path style, or the bare endpoint)."""
    label = _label(host)
    if not label or label == "s3" or label.startswith("s3."):
        return None
    if label.endswith(".s3"):
        return label[:-3] or None
    head, _, region = label.rpartition(".")
    if head.endswith(".s3") and _REGION.match(region):
        return head[:-3] or None
    return label


def to_path_style(request: HttpRequest) -> None:
    """Rewrite a virtual-hosted-style request in place: `/key` on `b.s3.localhost` -> `/b/key`."""
    bucket = bucket_of_host(request.host)
    if bucket:
        path = request.path
        request.path = "/" + bucket + ("" if path in ("", "/") else path)


def website_target(request: HttpRequest) -> tuple[str, str] | None:
    """(bucket, path) of a request to a website endpoint, in either form."""
    path = request.path
    if path.startswith(WEBSITE_PATH):
        bucket, _, rest = path[len(WEBSITE_PATH) :].partition("/")
        return bucket, "/" + rest
    host = request.host
    if ".s3-website" in host:
        # Any domain: the local ones, and AWS's own `<bucket>.s3-website[-.]<region>.amazonaws.com`
        # for pages and tools that keep AWS's host names (mapped here by DNS or a Host header).
        name = host.partition(":")[0].lower()
        at = name.find(".s3-website")
        if at > 0:
            return name[:at], path or "/"
    return None


async def serve_website(app: App, request: HttpRequest, target: tuple[str, str]) -> HttpResponse:
    from cloudlet.services.s3.website import serve

    return await serve(app.provider("s3"), request, *target)  # type: ignore[arg-type]


def preflight(app: App, request: HttpRequest) -> HttpResponse:
    """A browser's CORS preflight, answered from the bucket's CORS configuration."""
    return app.provider("s3").preflight(request)  # type: ignore[attr-defined]


def add_cors(app: App, request: HttpRequest, response: HttpResponse) -> None:
    """The CORS headers a bucket's configuration grants a browser request (Origin present)."""
    headers: dict[str, Any] = app.provider("s3").cors_headers(request)  # type: ignore[attr-defined]
    if headers:
        response.headers.update(headers)
