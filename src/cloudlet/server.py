"""Serving the App over HTTP: uvicorn with uvloop and httptools, one process.

`serve` is what `cloudlet start` runs; `BackgroundServer` runs the same server on a thread of the
calling process, which is how the tests and embedding programs start one.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from cloudlet.app import App


def _uvicorn_config(app: App, sock_port: int | None = None) -> uvicorn.Config:
    import uvicorn

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return uvicorn.Config(
        app.asgi,
        host=app.config.host,
        port=sock_port if sock_port is not None else app.config.port,
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=app.config.log_level,
        timeout_keep_alive=75,
        server_header=False,
        date_header=False,
    )


def serve(app: App) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    import uvicorn

    uvicorn.Server(_uvicorn_config(app)).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class BackgroundServer:
    """A cloudlet server on a thread of this process, on a free port unless told otherwise."""

    def __init__(self, app: App) -> None:
        import uvicorn

        if not app.config.port:
            app.config.port = free_port(app.config.host)
        self.app = app
        self.server = uvicorn.Server(_uvicorn_config(app))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._run, name="cloudlet-server", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self.app.config.host}:{self.app.config.port}"

    def _run(self) -> None:
        config = self.server.config
        if config.loop == "uvloop":
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self.server.serve())
        else:
            asyncio.run(self.server.serve())

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("cloudlet server failed to start")
            threading.Event().wait(0.005)
            waited += 0.005
            if waited > timeout:
                raise TimeoutError("cloudlet server did not start in time")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
