"""Streamed message bodies: request payloads read as they arrive, response payloads sent in chunks.

Most AWS requests are small and are read whole before they are parsed: that fast path is unchanged.
A request whose body is large or of unknown length is left unread by the edge: `HttpRequest.stream`
is then a `BodyStream` over ASGI `receive()`. A codec hands it, unread, to an operation whose
payload member is `streaming` (S3 PutObject and UploadPart): the provider finds an async iterator
of chunks in its params (`async for chunk in params["Body"]`). Every other operation gets the body
read whole first (`HttpRequest.load()`), so no codec or provider besides those changes. A streaming
payload that the edge had already read (a small body) arrives as a `BytesStream`, so providers see
one type either way.

On the way out, a streaming payload member may hold an async iterable of bytes instead of bytes
(`FileBody`: ranges of files on disk). The edge sends it chunk by chunk with ASGI `more_body`, and
the HTTP server waits for the socket to drain between chunks, so neither direction holds a whole
object in memory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]

#: what one read of a file body returns; large enough for throughput, small enough for memory
FILE_CHUNK = 1 << 20


class ClientDisconnected(Exception):
    """The client went away before it sent the whole body."""


class BodyStream:
    """A request body not read yet: `async for chunk in stream` yields it as it arrives."""

    __slots__ = ("_receive", "done", "received", "started")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.started = (
            False  # receive() was called: a client waiting on 100-continue was told to go on
        )
        self.done = False
        self.received = 0

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        while not self.done:
            self.started = True
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.done = True
                raise ClientDisconnected("the client closed the connection mid-body")
            chunk = message.get("body", b"")
            self.done = not message.get("more_body", False)
            if chunk:
                self.received += len(chunk)
                return chunk
        raise StopAsyncIteration

    async def read(self) -> bytes:
        """The rest of the body, whole (for operations that do not stream)."""
        chunks = [chunk async for chunk in self]
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def discard(self) -> None:
        """Read and drop what the client still sends, so the connection stays usable."""
        async for _ in self:
            pass


class BytesStream:
    """A body that was read whole, offered through the same interface as `BodyStream`."""

    __slots__ = ("_data", "done", "received", "started")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.started = True
        self.done = not data
        self.received = len(data)

    def __aiter__(self) -> BytesStream:
        return self

    async def __anext__(self) -> bytes:
        if self.done:
            raise StopAsyncIteration
        self.done = True
        return self._data

    async def read(self) -> bytes:
        if self.done:
            return b""
        self.done = True
        return self._data

    async def discard(self) -> None:
        self.done = True


#: (path, offset, length) of one piece of a file body
Segment = tuple[str, int, int]


class FileBody:
    """Ranges of files sent as one response body, read a chunk at a time.

    Reads come from the page cache in well under a millisecond per chunk, so they run on the
    event loop; the HTTP server's back-pressure bounds what is buffered to about one chunk.
    """

    def __init__(self, segments: list[Segment], chunk_size: int = FILE_CHUNK) -> None:
        self.segments = segments
        self.length = sum(length for _, _, length in segments)
        self.chunk_size = chunk_size
        self._fd: int | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            for path, offset, length in self.segments:
                if length <= 0:
                    continue
                self._fd = os.open(path, os.O_RDONLY)
                end = offset + length
                while offset < end:
                    data = os.pread(self._fd, min(self.chunk_size, end - offset), offset)
                    if not data:
                        raise OSError(f"{path} ended before its recorded length")
                    offset += len(data)
                    yield data
                os.close(self._fd)
                self._fd = None
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_stream(body: Any) -> bool:
    """Whether a response body is to be sent in chunks rather than as bytes."""
    return not isinstance(body, bytes | bytearray | memoryview) and hasattr(body, "__aiter__")
