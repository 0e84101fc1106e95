"""A small HTTP/1.1 client on asyncio streams, for API destinations and OAuth token requests.

One connection per request (`Connection: close`), TLS through `ssl`, a deadline over the whole
exchange. API destinations need any method, the status and — for OAuth — the response body; that
is all this does. AWS gives an API destination endpoint 5 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

TIMEOUT_S = 5.0
_MAX_BODY = 1024 * 1024


class HttpFailure(Exception):
    """The endpoint could not be reached or did not answer in time."""


async def request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes = b"",
    timeout: float = TIMEOUT_S,
) -> tuple[int, bytes]:
    """(status, body) of one request; HttpFailure when there was no answer."""
    try:
        return await asyncio.wait_for(_exchange(method, url, headers, body), timeout)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError, ssl.SSLError) as error:
        raise HttpFailure(str(error) or type(error).__name__) from None


async def _exchange(
    method: str, url: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    context = ssl.create_default_context() if secure else None
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host if secure else None
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines += ["Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1") + body)
        await writer.drain()
        return await _response(reader)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[1].isdigit():
        raise ValueError("not an HTTP response")
    status = int(fields[1])
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        return status, await _chunks(reader)
    if length is not None:
        return status, await reader.readexactly(min(length, _MAX_BODY))
    return status, await reader.read(_MAX_BODY)


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while len(out) <= _MAX_BODY:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += await reader.readexactly(size)
        await reader.readline()
    return bytes(out)
