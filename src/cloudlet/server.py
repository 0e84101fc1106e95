"""Serving the App over HTTP, on one event loop (uvloop when installed).

`serve` is what `cloudlet start` runs; `BackgroundServer` runs the same server on a thread of the
calling process, which is how the tests and embedding programs start one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from cloudlet.edge.http import HttpServer

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


async def _serve(app: App, stop: asyncio.Event, started: Callable[[HttpServer], None]) -> None:
    server = HttpServer(
        app.asgi,
        app.config.host,
        app.config.port,
        begin_turn=app.commit.begin_turn,
        end_of_turn=app.commit.flush_now,
    )
    await server.start()
    app.config.port = server.port
    started(server)
    for hook in app.on_start:
        try:
            outcome = hook()
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("a start-up hook failed: %r", hook)
    try:
        await stop.wait()
    finally:
        await server.stop()
        app.close()


def serve(app: App) -> None:
    """Serve until SIGINT or SIGTERM, then finish in-flight requests and close the store."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _serve(
            app,
            stop,
            lambda server: log.info("ready on http://%s:%d", app.config.host, server.port),
        )

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


class BackgroundServer:
    """A cloudlet server on a thread of this process, on a free port unless told otherwise."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="cloudlet-server", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self.app.config.host}:{self.app.config.port}"

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await _serve(self.app, self._stop, lambda _: self._ready.set())

        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(main())
        except BaseException as error:  # surfaced by start()
            self._failed = error
            self._ready.set()

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("cloudlet server did not start in time")
        if self._failed is not None:
            raise RuntimeError("cloudlet server failed to start") from self._failed
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
