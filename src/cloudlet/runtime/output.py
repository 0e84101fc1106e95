"""The stdout/stderr of an environment, read as lines without blocking the event loop.

Both streams share one pipe (Lambda puts both into the same log stream, in the order written).
The read end is registered with the loop (`add_reader`), and can also be drained synchronously:
when a runtime posts its response it has flushed its output first, so draining the pipe before
writing END/REPORT keeps the user's lines ahead of them, as on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

#: CloudWatch Logs' largest event; a longer line without a newline is cut here
MAX_LINE = 256 * 1024


class OutputPipe:
    """A pipe whose write end goes to the child and whose read end yields lines."""

    def __init__(self, on_lines: Callable[[list[str]], None]) -> None:
        self.on_lines = on_lines
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self._partial = b""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """The child has its copy: close ours and watch the read end."""
        os.close(self.write_fd)
        self.write_fd = -1
        self._loop = loop
        loop.add_reader(self.read_fd, self.drain)

    def drain(self) -> None:
        """Read whatever is in the pipe now and hand over the complete lines."""
        if self.closed:
            return
        chunks = []
        eof = False
        for _ in range(16):  # at most 1 MB per turn: a chatty function must not hog the loop
            try:
                data = os.read(self.read_fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                eof = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
        if chunks:
            self._split(b"".join(chunks))
        if eof:
            self.close()

    def _split(self, data: bytes) -> None:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            complete.append(self._partial)
            self._partial = b""
        if complete:
            self.on_lines([_text(line) for line in complete])

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._partial:
            self.on_lines([_text(self._partial)])
            self._partial = b""
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self.read_fd)
        with contextlib.suppress(OSError):
            os.close(self.read_fd)
        if self.write_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.write_fd)


def _text(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").removesuffix("\r")
