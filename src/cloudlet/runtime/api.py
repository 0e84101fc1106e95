"""The AWS Lambda Runtime API, served to one execution environment on a listener of its own.

Every environment gets its own asyncio server on 127.0.0.1 (port 0), so
`AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>` works unchanged for our bootstraps, the official runtime
interface clients and `provided` custom runtimes, and the listener itself says which environment
is calling: no path tricks, no lookup by request id. It is a raw asyncio Protocol with the
httptools parser and keep-alive, because the round trip of `next` is on every warm invocation.

`GET .../invocation/next` is a long poll: the connection is parked until the environment assigns
an invocation, then answered; nothing polls. Request ids, states and payload limits are checked
by the handler (the environment); this module only speaks HTTP and routes.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import httptools
import orjson

NEXT_PATH = "/2018-06-01/runtime/invocation/next"
INVOCATION_PREFIX = "/2018-06-01/runtime/invocation/"
INIT_ERROR_PATH = "/2018-06-01/runtime/init/error"
#: the largest response a function may return synchronously: 6 MB plus 100 bytes, as on AWS
MAX_PAYLOAD = 6 * 1024 * 1024 + 100

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}

Reply = tuple[int, dict[str, Any]]


@dataclass(slots=True)
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    too_large: bool = False  # the body was over MAX_PAYLOAD (and was not kept)


class ApiHandler(Protocol):
    """What an environment answers; one handler per listener."""

    def api_accept(self, peer_port: int, local_port: int) -> bool: ...

    def api_next(self, conn: ApiConnection) -> None: ...

    def api_next_abandoned(self, conn: ApiConnection) -> None: ...

    def api_response(self, request_id: str, request: ApiRequest) -> Reply: ...

    def api_error(self, request_id: str, request: ApiRequest) -> Reply: ...

    def api_init_error(self, request: ApiRequest) -> Reply: ...


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type}


ACCEPTED: Reply = (202, {"status": "OK"})
INVALID_REQUEST_ID: Reply = (400, error_body("InvalidRequestID", "Invalid request ID"))


def invalid_state(current: str, target: str) -> Reply:
    message = f"State transition from {current} to {target} failed for runtime. Error: State transition is not allowed"
    return 403, error_body("InvalidStateTransition", message)


class ApiConnection(asyncio.Protocol):
    """One keep-alive connection of a runtime client. Requests are answered in order; a parked
    `next` holds back whatever was pipelined after it."""

    def __init__(self, handler: ApiHandler) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[tuple[ApiRequest, bool]] = deque()
        self.parked = False  # a `next` waits for an invocation
        self._held = b""  # answers held back to go out with the next write
        self._keep_alive = True
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is not a subclass)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if not peer or not self.handler.api_accept(peer[1], local[1]):
            transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._reply(400, error_body("InvalidRequestFormat", "malformed HTTP request"), False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.parked:
            self.parked = False
            self.handler.api_next_abandoned(self)

    # -- httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_PAYLOAD:
            self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        path = self._url.decode("latin-1").split("?", 1)[0]
        too_large = self._size > MAX_PAYLOAD
        body = b"" if too_large else b"".join(self._body)
        request = ApiRequest(method, path, self._headers, body, too_large)
        self.queue.append((request, self.parser.should_keep_alive()))
        self._drain()

    # -- routing

    def _drain(self) -> None:
        while self.queue and not self.parked and self.transport is not None:
            request, keep_alive = self.queue.popleft()
            self._dispatch(request, keep_alive)

    def _dispatch(self, request: ApiRequest, keep_alive: bool) -> None:
        path = request.path
        if path == NEXT_PATH:
            if request.method != "GET":
                self._reply(405, error_body("MethodNotAllowed", "use GET"), keep_alive)
                return
            self.parked = True
            self._keep_alive = keep_alive
            self.handler.api_next(self)
            return
        if request.method != "POST":
            self._reply(405, error_body("MethodNotAllowed", "use POST"), keep_alive)
            return
        if path == INIT_ERROR_PATH:
            self._reply(*self.handler.api_init_error(request), keep_alive)
            return
        if path.startswith(INVOCATION_PREFIX):
            request_id, _, action = path[len(INVOCATION_PREFIX) :].partition("/")
            if action == "response":
                self._reply(*self.handler.api_response(request_id, request), keep_alive)
                return
            if action == "error":
                self._reply(*self.handler.api_error(request_id, request), keep_alive)
                return
        self._reply(404, error_body("NotFound", f"no such path: {path}"), keep_alive)

    # -- answers

    def _reply(self, status: int, body: dict[str, Any], keep_alive: bool) -> None:
        data = orjson.dumps(body)
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        )
        reply = head.encode() + (b"\r\n" if keep_alive else b"Connection: close\r\n\r\n") + data
        if keep_alive and self.queue and self.queue[0][0].path == NEXT_PATH:
            # a `next` is pipelined behind this request: its client reads both answers in
            # order anyway, so this one goes out with the next invocation, in one write
            self._held += reply
            return
        self._send(reply)
        if not keep_alive and self.transport is not None:
            self.transport.close()

    def can_send(self) -> bool:
        """A parked `next` whose client is still connected."""
        return self.parked and self.transport is not None and not self.transport.is_closing()

    def send_invocation(self, headers: bytes, payload: bytes) -> bool:
        """Answer the parked `next`: `headers` are complete header lines. False if the client is
        gone (the invocation then waits for its next `next`)."""
        if not self.can_send():
            return False
        self.parked = False
        tail = b"\r\n" if self._keep_alive else b"Connection: close\r\n\r\n"
        self._send(
            b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n%s%s"
            % (headers, len(payload), tail, payload)
        )
        if not self._keep_alive:
            self.transport.close()
        else:
            self._drain()
        return True

    def refuse(self, status: int, body: dict[str, Any]) -> None:
        """Answer the parked `next` with an error instead of an invocation."""
        self.parked = False
        self._reply(status, body, self._keep_alive)
        self._drain()

    def _send(self, data: bytes) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def serve_api(handler: ApiHandler) -> tuple[asyncio.Server, int]:
    """Start a Runtime API listener for one environment on 127.0.0.1 and a free port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ApiConnection(handler), "127.0.0.1", 0, backlog=8)
    port = server.sockets[0].getsockname()[1]
    return server, port
