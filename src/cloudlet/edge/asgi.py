"""The ASGI application: classify a request, run it through one ordered pipeline, answer.

Plain ASGI with no framework routing on the AWS path: edge/http.py serves it, and so could
uvicorn or granian.

The order of the steps: Lambda function URLs, API Gateway invoke URLs, S3 website endpoints,
cloudlet's own endpoints, then AWS API calls (service from the router; S3 requests rewritten to
path style first; API Gateway's v2 API told from v1 by its `/v2/` paths).
A body of known length up to `STREAM_THRESHOLD` that has already arrived is taken before any of
them (the fast path). One still on its way is read when a step needs it, so the steps that need
only the head (routing, credentials) run while it arrives; a larger one, or one of unknown
length, is also left unread, so an operation with a streaming payload (S3 objects) reads it
chunk by chunk (see `protocols.streams`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.edge import s3 as s3edge
from cloudlet.edge.internal import handle_internal
from cloudlet.edge.routing import ServiceRouter
from cloudlet.edge.sigv4 import credentials_of
from cloudlet.protocols import HttpRequest, HttpResponse, get_codec, validation_error
from cloudlet.protocols.errors import (
    AwsError,
    ParamValidationError,
    UnknownOperation,
    internal_failure,
    not_implemented,
)
from cloudlet.protocols.streams import BodyStream, ClientDisconnected, is_stream
from cloudlet.protocols.validate import validate
from cloudlet.services import RequestContext

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.edge")

_ACCOUNT_KEY = re.compile(r"^\d{12}$")
#: request bodies above this size, or of unknown length, are not read before routing
STREAM_THRESHOLD = 1 << 20
_FORM = "application/x-www-form-urlencoded"
#: the path-style form of Lambda function URLs
FUNCTION_URL_PATH = "/_cloudlet/lambda-url/"
#: the path-style forms of API Gateway invoke URLs: cloudlet's, and LocalStack's newer one
EXECUTE_API_PATHS = ("/_cloudlet/apigateway/", "/_aws/execute-api/")
_UNKNOWN_OPERATION = {
    "json": "UnknownOperationException",
    "smithy-rpc-v2-cbor": "UnknownOperationException",
    "rest-json": "UnknownOperationException",
    "query": "InvalidAction",
    "ec2": "InvalidAction",
    "rest-xml": "MethodNotAllowed",
}


class Edge:
    def __init__(self, app: App) -> None:
        self.app = app
        self.router = ServiceRouter(app.services)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = _request_head(scope)
            # cloudlet's own server hands over the exchange: a body already here is taken
            # without awaiting, and a small response is written in one go
            exchange = scope.get("cloudlet.exchange")
            if _streamed(request):
                request.stream = BodyStream(receive)
            elif exchange is None:
                request.body = await _read_body(receive)
            elif (body := exchange.whole_body()) is not None:
                request.body = body
            else:  # on its way: routing goes on from the head, the body is read when needed
                request.stream = BodyStream(receive)
            try:
                response = await self.handle(request, scope)
            except ClientDisconnected:
                return
            if (
                exchange is not None
                and request.stream is None
                and type(response.body) is bytes
                and not getattr(response, "set_cookies", None)
            ):
                exchange.respond(response.status, response.headers, response.body)
            else:
                await _answer(send, request, response)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    def _account_of(self, access_key: str) -> str:
        """The account a request acts in.

        Temporary credentials (ASIA...) act in the account of the role they were issued for; a
        12-digit access key selects that account, as LocalStack does; anything else is the
        default account.
        """
        if _ACCOUNT_KEY.match(access_key):
            return access_key
        if access_key.startswith("ASIA"):
            principal = self.app.provider("sts").principal_for(access_key)
            if principal:
                return principal["account"]
        return self.app.config.account

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.app.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, request: HttpRequest, scope: dict[str, Any]) -> HttpResponse:
        path = request.path
        if not _may_be_special(path, request.host):  # most requests: an AWS API call
            return await self.handle_aws(request, scope)
        url = _function_url(request)
        if url is not None:
            from cloudlet.services.awslambda.url_invoke import serve_url

            await request.load()
            return await serve_url(self.app, request, scope, *url)
        invoke = _execute_api(request)
        if invoke is not None:
            from cloudlet.services.apigateway.dataplane import serve_invoke

            return await serve_invoke(self.app, request, scope, *invoke)
        website = s3edge.website_target(request)
        if website is not None:
            return await s3edge.serve_website(self.app, request, website)
        if path.startswith(("/_cloudlet/", "/moto-api/", "/_localstack/", "/_aws/")):
            await request.load()
            return await handle_internal(self.app, request, scope)
        return await self.handle_aws(request, scope)

    async def handle_aws(self, request: HttpRequest, scope: dict[str, Any]) -> HttpResponse:
        creds = credentials_of(
            request.headers, request.query_params if "X-Amz-" in request.query else {}
        )
        if request.path.startswith("/v2/") and creds and creds.service == "apigateway":
            # API Gateway's v1 and v2 APIs share the signing name: v2's paths start with /v2/
            await request.load()
            return await self.call("apigatewayv2", "rest-json", request, scope, creds)
        if request.stream is not None and request.headers.get("content-type", "").startswith(_FORM):
            await request.load()  # the router reads a query call's Action from the body
        resolved = self.router.resolve(request, creds)
        if resolved is None:
            await request.load()
            return _unroutable(request)
        service, protocol = resolved
        if service != "s3":
            return await self.call(service, protocol, request, scope, creds)
        s3edge.to_path_style(request)
        if request.method == "OPTIONS":
            return s3edge.preflight(self.app, request)
        response = await self.call(service, protocol, request, scope, creds)
        if "origin" in request.headers:
            s3edge.add_cors(self.app, request, response)
        return response

    async def call(
        self,
        service: str,
        protocol: str,
        request: HttpRequest,
        scope: dict[str, Any],
        creds: Any,
    ) -> HttpResponse:
        """Parse, validate, run the provider's method and serialize its answer or error."""
        codec = get_codec(self.router.model(service), protocol)
        request_id = ids.request_id()
        if request.stream is not None and not codec.streams_payload(request):
            await request.load()
        operation = None
        try:
            operation, params = codec.parse(request)
            validate(operation.input, params)
            found = self.app.provider(service).handler(operation.name)
            if found is None:
                raise not_implemented(service, operation.name)
            method, is_async = found
            ctx = RequestContext(
                service=service,
                operation=operation.name,
                account=self._account_of(creds.access_key if creds else ""),
                region=(creds.region if creds else "") or self.app.config.region,
                request_id=request_id,
                access_key=creds.access_key if creds else "",
                host=request.host or f"{self.app.config.host}:{self.app.config.port}",
                scheme=scope.get("scheme", "http"),
                trace_id=request.headers.get("x-amzn-trace-id"),
                headers=request.headers,
            )
            result = await method(ctx, params) if is_async else method(ctx, params)
            return codec.serialize(operation, result or {}, request_id)
        except AwsError as error:
            return codec.serialize_error(error, operation, request_id)
        except ParamValidationError as exc:
            return codec.serialize_error(
                validation_error(protocol, exc, service), operation, request_id
            )
        except UnknownOperation as exc:
            error = AwsError(_UNKNOWN_OPERATION[protocol], exc.message, status=400)
            return codec.serialize_error(error, None, request_id)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception(
                "internal failure in %s.%s (request %s)",
                service,
                operation and operation.name,
                request_id,
            )
            return codec.serialize_error(internal_failure(request_id), operation, request_id)


#: path prefixes of the requests `Edge.handle` serves before AWS API calls
_SPECIAL_PATHS = ("/_", "/restapis/", "/moto-api/")


def _may_be_special(path: str, host: str) -> bool:
    """Whether a request may be one of the kinds `Edge.handle` tries before AWS API calls
    (function URL, API Gateway invoke URL, S3 website, cloudlet's own endpoints): true for every
    one of them, and false for nearly every AWS API call, in one test of path and host."""
    return path.startswith(_SPECIAL_PATHS) or (
        ".lambda-url." in host or ".execute-api." in host or ".s3-website" in host
    )


def _function_url(request: HttpRequest) -> tuple[str, str] | None:
    """(url id, path) of a Lambda function URL request: host-style
    `<url-id>.lambda-url.<region>.localhost[:port]` or path-style `/_cloudlet/lambda-url/<url-id>/...`
    (which needs no DNS). Two string tests, so other requests pay nothing."""
    path = request.path
    if path.startswith(FUNCTION_URL_PATH):
        url_id, _, rest = path[len(FUNCTION_URL_PATH) :].partition("/")
        return url_id, "/" + rest
    host = request.host
    if ".lambda-url." in host:
        return host.partition(".")[0], path or "/"
    return None


def _execute_api(request: HttpRequest) -> tuple[str, str] | None:
    """(api id, `/<stage>/<path>`) of an API Gateway invoke URL (REST and HTTP APIs alike):
    host-style `<api-id>.execute-api.localhost[:port]` (also `...localhost.localstack.cloud`),
    path-style `/_cloudlet/apigateway/<api-id>/...` (needs no DNS), and LocalStack's
    `/_aws/execute-api/<api-id>/...` and `/restapis/<api-id>/<stage>/_user_request_/...`.
    A few string tests, so other requests pay next to nothing."""
    path = request.path
    if path.startswith("/_"):
        for prefix in EXECUTE_API_PATHS:
            if path.startswith(prefix):
                api_id, _, rest = path[len(prefix) :].partition("/")
                return api_id, "/" + rest
    elif path.startswith("/restapis/") and "/_user_request_" in path:
        parts = path.split("/", 5)
        if len(parts) >= 5 and parts[4] == "_user_request_":
            return parts[2], f"/{parts[3]}/" + (parts[5] if len(parts) > 5 else "")
    if ".execute-api." in request.host:
        return request.host.partition(".")[0], path or "/"
    return None


def _unroutable(request: HttpRequest) -> HttpResponse:
    import orjson

    body = {
        "__type": "UnknownServiceException",
        "message": "cloudlet could not tell which AWS service this request is for "
        f"({request.method} {request.path}); see GET /_cloudlet/info for the services it serves",
    }
    return HttpResponse(400, {"Content-Type": "application/json"}, orjson.dumps(body))


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _streamed(request: HttpRequest) -> bool:
    """Whether to leave the body unread: large, or of unknown length (chunked)."""
    headers = request.headers
    length = headers.get("content-length")
    if length is not None:
        return length.isdigit() and int(length) > STREAM_THRESHOLD
    return "transfer-encoding" in headers


def _request_head(scope: dict[str, Any]) -> HttpRequest:
    raw = scope["headers"]
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
    if len(headers) != len(raw):  # a repeated header: its values are joined, in order
        headers = {}
        for raw_name, raw_value in raw:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    return HttpRequest(
        method=scope["method"],
        path=scope.get("raw_path", b"").decode("latin-1").partition("?")[0] or scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        raw_headers=scope["headers"],
    )


async def _answer(send: Any, request: HttpRequest, response: HttpResponse) -> None:
    """Send the response; then read what is left of a body the operation did not consume, so
    the connection can serve its next request. A client still waiting for `100 Continue` has
    sent nothing: it is told to close instead."""
    stream = request.stream
    unread = stream is not None and not stream.done
    if unread and not stream.started and "100-continue" in request.headers.get("expect", ""):
        response.headers["Connection"] = "close"
        unread = False
    await _send_response(send, response, head=request.method == "HEAD")
    if unread:
        with contextlib.suppress(ClientDisconnected):
            await stream.discard()


async def _send_response(send: Any, response: HttpResponse, *, head: bool = False) -> None:
    body = response.body
    headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    for cookie in getattr(response, "set_cookies", ()):  # function URLs may set several
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    streamed = is_stream(body)
    if not streamed and not any(name.lower() == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if not streamed:
        await send({"type": "http.response.body", "body": b"" if head else body})
        return
    try:
        if not head:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
    await send({"type": "http.response.body", "body": b""})
