"""A lean HTTP/1.1 server for the edge's ASGI application.

uvicorn was the first choice; measured here it spent a third of a small SQS request in its own
machinery (two socket writes per response, a proxy-headers middleware, per-request objects) and
~60 ms of imports at start-up. This server keeps only what cloudlet needs: httptools parsing,
keep-alive, pipelining in order, streamed request and response bodies with back-pressure,
`Expect: 100-continue`, and one socket write for a whole small response. The application stays
plain ASGI, so uvicorn or granian can still serve `App.asgi` unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

import httptools

log = logging.getLogger("cloudlet.http")

_KEEP_ALIVE_SECONDS = 75.0
_HIGH_WATER = 1 << 20  # pause reading a request body beyond 1 MiB not yet consumed
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, reason) for code, reason in _REASONS.items()}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}  # the same for every request


class _Date:
    """The Date header, formatted once a second rather than per response."""

    value = b""
    second = -1

    @classmethod
    def header(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.value = b"date: %s\r\n" % http_date(now).encode()
        return cls.value


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch_seconds: float) -> str:
    """RFC 9110's IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), whatever the locale; written
    out here because email.utils, which has it, costs 3 ms of start-up to import."""
    t = time.gmtime(epoch_seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


class _Exchange:
    """One request and its response on a connection."""

    __slots__ = (
        "_head",
        "arrival",
        "body",
        "chunked",
        "complete",
        "conn",
        "expect_continue",
        "head_only",
        "keep_alive",
        "parked",
        "queued",
        "scope",
        "started",
    )

    def __init__(
        self, conn: HttpConnection, scope: dict[str, Any], keep_alive: bool, expect_continue: bool
    ) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.body: deque[bytes] = deque()
        self.queued = 0
        self.complete = False
        #: what receive() awaits while the body is on its way
        self.arrival: asyncio.Future[None] | None = None
        #: the request's coroutine, when it waits for the body outside a task (see HttpServer)
        self.parked: Coroutine[Any, Any, None] | None = None
        self.started = False
        self.chunked = False
        self.head_only = scope["method"] == "HEAD"

    def whole_body(self) -> bytes | None:
        """The request body if it has fully arrived, without awaiting; None if more is coming."""
        if not self.complete or self.expect_continue:
            return None
        body = self.body
        if not body:
            return b""
        chunk = body.popleft() if len(body) == 1 else b"".join(body)
        body.clear()
        self.queued = 0
        return chunk

    def respond(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Write a whole response in one go: the path of every small response, which skips the
        two ASGI messages and their header lists."""
        conn = self.conn
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        has_length = False
        for name in headers:  # only names of the right length are lower-cased and compared
            size = len(name)
            if size == 14 and name.lower() == "content-length":
                has_length = True  # a HEAD response tells the length of what it omits
            elif size == 10 and name.lower() == "connection" and headers[name].lower() == "close":
                self.keep_alive = False
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        parts = [
            _STATUS_LINES.get(status) or b"HTTP/1.1 %d %s\r\n" % (status, b"Unknown"),
            lines.encode("latin-1"),
            b"" if has_length else b"content-length: %d\r\n" % len(body),
            _Date.header(),
            b"\r\n" if self.keep_alive else b"connection: close\r\n\r\n",
        ]
        if not self.head_only:
            parts.append(body)
        self.started = True
        transport.write(b"".join(parts))
        conn.finished(self)

    async def receive(self) -> dict[str, Any]:
        conn = self.conn
        if self.expect_continue:  # the client waits for our go-ahead before sending the body
            self.expect_continue = False
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.write(_CONTINUE)
        while not self.body and not self.complete:
            if conn.transport is None or conn.transport.is_closing():
                return {"type": "http.disconnect"}
            self.arrival = arrival = conn.loop.create_future()
            conn.resume_reading()
            await arrival
        if not self.body:
            return {"type": "http.request", "body": b"", "more_body": False}
        if len(self.body) == 1:
            chunk = self.body.popleft()
        else:
            chunk = b"".join(self.body)
            self.body.clear()
        self.queued -= len(chunk)
        if self.queued < _HIGH_WATER:
            conn.resume_reading()
        return {"type": "http.request", "body": chunk, "more_body": not self.complete}

    def wake(self) -> None:
        """More of the body arrived, or the connection ended: whoever waits in receive() goes
        on. A request parked outside a task resumes in the server's next turn."""
        arrival = self.arrival
        if arrival is None:
            return
        self.arrival = None
        if not arrival.done():
            arrival.set_result(None)
        coro = self.parked
        if coro is not None:
            self.parked = None
            self.conn.server.run_soon(coro, self)

    async def send(self, message: dict[str, Any]) -> None:
        conn = self.conn
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        kind = message["type"]
        if kind == "http.response.start":
            self._head = self._build_head(message)
            return
        if kind != "http.response.body":
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if not self.started:
            self.started = True
            if self.chunked:
                transport.write(self._head + (b"%x\r\n%s\r\n" % (len(body), body) if body else b""))
            else:
                transport.write(self._head + body)
        elif body:
            transport.write(b"%x\r\n%s\r\n" % (len(body), body) if self.chunked else body)
        if more and conn.write_paused:
            await conn.drained()  # a streamed body: wait for the socket, hold one chunk at most
        if not more:
            if self.chunked:
                transport.write(b"0\r\n\r\n")
            conn.finished(self)

    def _build_head(self, message: dict[str, Any]) -> bytes:
        status = message["status"]
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))]
        has_length = False
        for name, value in message.get("headers", ()):
            lower = name.lower()
            if lower == b"content-length":
                has_length = True
            elif lower == b"connection" and value.lower() == b"close":
                self.keep_alive = False
            parts.append(name + b": " + value + b"\r\n")
        if not has_length and status >= 200 and status not in (204, 304):
            self.chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(_Date.header())
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)


class HttpConnection(asyncio.Protocol):
    """One client connection: parses requests and runs them through the ASGI app in order."""

    def __init__(self, app: Any, server: HttpServer) -> None:
        self.app = app
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_event_loop()
        self.pending: deque[_Exchange] = deque()
        self.current: _Exchange | None = None  # the request being parsed
        self.paused = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.last_active = 0.0
        self.write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._expect_continue = False
        self._addresses: tuple[Any, Any] = (None, None)

    # -- transport callbacks -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)
        self._addresses = (
            transport.get_extra_info("sockname"),
            transport.get_extra_info("peername"),
        )
        # uvloop holds a small write until the end of the loop's turn, after whatever else the
        # turn does (a commit, other requests); with no high-water mark it goes out at once.
        transport.set_write_buffer_limits(high=0)  # type: ignore[attr-defined]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # not a TCP socket
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        for exchange in self.pending:
            exchange.wake()
        self.resume_writing()  # a sender waiting to drain finds the transport gone

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    async def drained(self) -> None:
        """Wait until the transport's write buffer is below its low-water mark."""
        if self.write_paused and self.transport is not None:
            if self._drain is None:
                self._drain = self.loop.create_future()
            await self._drain

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject(400, b"upgrades are not supported")
        except httptools.HttpParserError:
            self._reject(400, b"malformed HTTP request")

    def _reject(self, status: int, text: bytes) -> None:
        if self.transport is not None:
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, _REASONS[status], len(text), text)
            )
            self.transport.close()

    # -- parser callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._expect_continue = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # Kept as the client spelled it (API Gateway passes names on verbatim); the edge's
        # request head lower-cases names for everything else.
        self._headers.append((name, value))
        if len(name) == 6 and name.lower() == b"expect":
            self._expect_continue = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        url = self._url
        if url[:1] == b"/" and b"?" not in url and b"#" not in url:
            raw_path, query = url, b""  # the common case, without a URL parse
        else:
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path, parsed.query or b""
        path = raw_path.decode("latin-1")
        if b"%" in raw_path:
            from urllib.parse import unquote

            path = unquote(path)
        server, client = self._addresses
        scope = {
            "type": "http",
            "asgi": _ASGI_VERSION,
            "http_version": self.parser.get_http_version(),
            "server": server,
            "client": client,
            "scheme": "http",
            "method": self.parser.get_method().decode("ascii"),
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "headers": self._headers,
        }
        exchange = _Exchange(self, scope, self.parser.should_keep_alive(), self._expect_continue)
        # not ASGI: lets cloudlet's own app take a whole body and answer in one write
        scope["cloudlet.exchange"] = exchange
        self.current = exchange
        self.pending.append(exchange)
        if len(self.pending) == 1:
            # Start with the head: a client often sends the body in a second segment (boto3
            # does), and what the head alone decides (route, credentials) is done meanwhile.
            self._start(exchange)

    def on_body(self, body: bytes) -> None:
        exchange = self.current
        if exchange is None:
            return
        exchange.body.append(body)
        exchange.queued += len(body)
        exchange.wake()
        if exchange.queued >= _HIGH_WATER:
            self.pause_reading()

    def on_message_complete(self) -> None:
        exchange = self.current
        self.current = None
        if exchange is not None:
            exchange.complete = True
            exchange.wake()

    # -- running requests --------------------------------------------------------------------
    def _start(self, exchange: _Exchange) -> None:
        self.server.run_soon(self._run(exchange), exchange)

    async def _run(self, exchange: _Exchange) -> None:
        try:
            await self.app(exchange.scope, exchange.receive, exchange.send)
        except Exception:
            log.exception(
                "unhandled error serving %s %s", exchange.scope["method"], exchange.scope["path"]
            )
            if not exchange.started and self.transport is not None:
                exchange.keep_alive = False
                await exchange.send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-length", b"0")],
                    }
                )
                await exchange.send({"type": "http.response.body", "body": b""})
        if (
            exchange in self.pending
            and self.transport is not None
            and not self.transport.is_closing()
        ):
            # the app returned without finishing its response
            self.transport.close()

    def finished(self, exchange: _Exchange) -> None:
        """The response is written: start the next pipelined request, or wait idle."""
        if self.pending and self.pending[0] is exchange:
            self.pending.popleft()
        if not exchange.keep_alive or self.server.closing:
            if self.transport is not None:
                self.transport.close()
            return
        if self.pending:
            self._start(self.pending[0])  # pipelined: its head has arrived
        else:
            self.resume_reading()
            self.last_active = self.loop.time()

    def pause_reading(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    def _arm_idle_timer(self) -> None:
        self.last_active = self.loop.time()
        self.idle_timer = self.loop.call_later(_KEEP_ALIVE_SECONDS, self._close_idle)

    def _close_idle(self) -> None:
        """Close a connection idle for the keep-alive time. One timer per connection, re-armed
        only when it fires, rather than moved at every request."""
        if self.transport is None:
            return
        idle_for = self.loop.time() - self.last_active
        if not self.pending and idle_for >= _KEEP_ALIVE_SECONDS:
            self.transport.close()
        else:
            self.idle_timer = self.loop.call_later(
                max(_KEEP_ALIVE_SECONDS - idle_for, 1.0), self._close_idle
            )

    @property
    def idle(self) -> bool:
        return not self.pending


class _Resume:
    """Awaits what an eagerly started coroutine was waiting on, without taking its result: the
    coroutine takes it (or its exception) itself when it is resumed."""

    __slots__ = ("awaited",)

    def __init__(self, awaited: Any) -> None:
        self.awaited = awaited

    def __await__(self) -> Any:
        if self.awaited is None:
            yield  # the coroutine yielded to the loop (asyncio.sleep(0))
        elif not self.awaited.done():
            yield self.awaited


async def _carry_on(coro: Any, awaited: Any) -> None:
    """Run the rest of a coroutine begun outside a task (`HttpServer._run_turn`), as a task would."""
    while True:
        try:
            await _Resume(awaited)
        except BaseException as error:  # cancelled while waiting: the coroutine hears of it
            try:
                awaited = coro.throw(error)
            except StopIteration:
                return
            continue
        try:
            awaited = coro.send(None)
        except StopIteration:
            return


class HttpServer:
    """Listens on (host, port) and serves an ASGI app until `stop()`.

    A request starts in the turn after its head arrives, and the requests of a turn run
    together, without a task each: every one runs until it finishes or waits; then
    `end_of_turn` runs (cloudlet's group commit writes the turn's changes in one transaction
    there), and those whose wait is over carry on at once. One that waits for the rest of its
    body is parked on its exchange and resumes in the turn after the body arrives; one that
    waits for anything else is handed to a task. A small write is so answered in one turn, and
    concurrent ones share a commit. `end_of_turn` is given a function that resumes the
    requests whose wait is already over, so that it can let them answer before it commits.
    """

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        begin_turn: Callable[[], None] | None = None,
        end_of_turn: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.begin_turn = begin_turn
        self.end_of_turn = end_of_turn
        self.connections: set[HttpConnection] = set()
        self.closing = False
        self._server: asyncio.base_events.Server | None = None
        self._runnable: list[tuple[Coroutine[Any, Any, None], _Exchange]] = []
        self._waiting: set[asyncio.Task[None]] = set()
        #: the serving loop, kept: asyncio.get_running_loop() costs a system call (getpid)
        self.loop: asyncio.AbstractEventLoop | None = None

    def run_soon(self, coro: Coroutine[Any, Any, None], exchange: _Exchange) -> None:
        """Run (or resume) a request's coroutine with the others of this turn, in the next one."""
        if not self._runnable:
            self.loop.call_soon(self._run_turn)
        self._runnable.append((coro, exchange))

    def _run_turn(self) -> None:
        runnable, self._runnable = self._runnable, []
        if self.begin_turn is not None:
            self.begin_turn()
        waiting: list[tuple[Coroutine[Any, Any, None], Any, _Exchange]] = []
        try:
            for coro, exchange in runnable:
                try:
                    awaited = coro.send(None)
                except StopIteration:
                    continue  # answered without waiting
                waiting.append((coro, awaited, exchange))
        finally:
            if self.end_of_turn is not None:
                self.end_of_turn(lambda: self._carry_on_ready(waiting))
        self._carry_on_ready(waiting)
        loop = self.loop
        for coro, awaited, exchange in waiting:
            if awaited is not None and awaited is exchange.arrival:  # the rest of its body
                exchange.parked = coro  # resumed in the turn after it arrives (wake)
                continue
            task = loop.create_task(_carry_on(coro, awaited))
            self._waiting.add(task)  # the loop itself keeps only weak references
            task.add_done_callback(self._waiting.discard)

    @staticmethod
    def _carry_on_ready(waiting: list[tuple[Coroutine[Any, Any, None], Any, _Exchange]]) -> None:
        """Resume the waiting requests whose wait is over (their commit, or an early answer)."""
        still = []
        for coro, awaited, exchange in waiting:
            while awaited is not None and awaited.done():
                try:
                    awaited = coro.send(None)
                except StopIteration:
                    break
            else:
                still.append((coro, awaited, exchange))
        waiting[:] = still

    async def start(self) -> None:
        self.loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HttpConnection(self.app, self),
            self.host,
            self.port,
            reuse_address=True,
            backlog=2048,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish (up to `grace`)."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace
        while True:
            for conn in list(self.connections):
                if conn.idle and conn.transport is not None:
                    conn.transport.close()
            if not self.connections or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
