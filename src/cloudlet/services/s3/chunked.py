"""The `aws-chunked` content encoding, decoded while the body streams in.

SDKs frame object data this way when they sign each chunk (`x-amz-content-sha256:
STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) or send a checksum after the data
(`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `x-amz-trailer: x-amz-checksum-crc32`):

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [x-amz-checksum-crc32:<b64>\\r\\n][x-amz-trailer-signature:<sig>\\r\\n]\\r\\n

Chunk signatures are not verified (cloudlet does not verify SigV4 yet). The decoder reads from
the current received piece by offset, so data is copied once, into the pieces it yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from cloudlet.protocols.errors import AwsError

_MAX_LINE = 4096


def is_aws_chunked(headers: dict[str, str]) -> bool:
    sha = headers.get("x-amz-content-sha256", "")
    return sha.startswith("STREAMING-") or "aws-chunked" in headers.get("content-encoding", "")


def incomplete() -> AwsError:
    return AwsError(
        "IncompleteBody",
        "The request body terminated unexpectedly",
        status=400,
    )


class _Reader:
    """Bytes of an async chunk iterator, by line or by count, without joining pieces."""

    __slots__ = ("data", "pos", "source")

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self.source = source
        self.data = b""
        self.pos = 0

    async def _more(self) -> bool:
        try:
            piece = await self.source.__anext__()
        except StopAsyncIteration:
            return False
        self.data = self.data[self.pos :] + piece if self.pos < len(self.data) else piece
        self.pos = 0
        return True

    async def line(self) -> bytes | None:
        """The next CRLF-terminated line (without it); None at the end of the body."""
        while True:
            end = self.data.find(b"\r\n", self.pos)
            if end >= 0:
                text = self.data[self.pos : end]
                self.pos = end + 2
                return text
            if len(self.data) - self.pos > _MAX_LINE:
                raise incomplete()
            if not await self._more():
                return None if self.pos >= len(self.data) else self._rest()

    def _rest(self) -> bytes:
        text = self.data[self.pos :]
        self.pos = len(self.data)
        return text

    async def take(self, limit: int) -> bytes:
        """Up to `limit` bytes (at least one)."""
        if self.pos >= len(self.data) and not await self._more():
            raise incomplete()
        end = min(self.pos + limit, len(self.data))
        piece = self.data[self.pos : end] if self.pos or end < len(self.data) else self.data
        self.pos = end
        return piece


class AwsChunked:
    """The decoded data of an aws-chunked body; `trailers` holds its trailing headers once the
    iteration has ended."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.trailers: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._decode()

    async def _decode(self) -> AsyncIterator[bytes]:
        reader = _Reader(self.source.__aiter__())
        while True:
            line = await reader.line()
            if line is None:
                raise incomplete()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise incomplete() from None
            if size == 0:
                break
            while size:
                piece = await reader.take(size)
                size -= len(piece)
                yield piece
            if await reader.line() != b"":
                raise incomplete()
        while True:
            line = await reader.line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
