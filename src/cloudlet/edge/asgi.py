"""The ASGI application: classify a request, run it through one ordered pipeline, answer.

Plain ASGI with no framework routing on the AWS path: edge/http.py serves it, and so could
uvicorn or granian.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
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
from cloudlet.protocols.validate import validate
from cloudlet.services import RequestContext

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.edge")

_ACCOUNT_KEY = re.compile(r"^\d{12}$")
#: the path-style form of Lambda function URLs
FUNCTION_URL_PATH = "/_cloudlet/lambda-url/"
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
            request = await _read_request(scope, receive)
            response = await self.handle(request, scope)
            await _send_response(send, response, head=request.method == "HEAD")
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
        url = _function_url(request)
        if url is not None:
            from cloudlet.services.awslambda.url_invoke import serve_url

            return await serve_url(self.app, request, scope, *url)
        if path.startswith(("/_cloudlet/", "/moto-api/", "/_localstack/")):
            return await handle_internal(self.app, request, scope)
        return await self.handle_aws(request, scope)

    async def handle_aws(self, request: HttpRequest, scope: dict[str, Any]) -> HttpResponse:
        creds = credentials_of(
            request.headers, request.query_params if "X-Amz-" in request.query else {}
        )
        resolved = self.router.resolve(request, creds)
        if resolved is None:
            return _unroutable(request)
        service, protocol = resolved
        codec = get_codec(self.router.model(service), protocol)
        request_id = ids.request_id()
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
        except Exception:
            log.exception(
                "internal failure in %s.%s (request %s)",
                service,
                operation and operation.name,
                request_id,
            )
            return codec.serialize_error(internal_failure(request_id), operation, request_id)


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


def _unroutable(request: HttpRequest) -> HttpResponse:
    import orjson

    body = {
        "__type": "UnknownServiceException",
        "message": "cloudlet could not tell which AWS service this request is for "
        f"({request.method} {request.path}); see GET /_cloudlet/info for the services it serves",
    }
    return HttpResponse(400, {"Content-Type": "application/json"}, orjson.dumps(body))


async def _read_request(scope: dict[str, Any], receive: Any) -> HttpRequest:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        more = message.get("more_body", False)
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return HttpRequest(
        method=scope["method"],
        path=scope.get("raw_path", b"").decode("latin-1").partition("?")[0] or scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=b"".join(chunks) if len(chunks) != 1 else chunks[0],
    )


async def _send_response(send: Any, response: HttpResponse, *, head: bool = False) -> None:
    body = response.body
    headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    for cookie in getattr(response, "set_cookies", ()):  # function URLs may set several
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    if not any(name.lower() == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
