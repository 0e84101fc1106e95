"""cloudlet's one outbound HTTP/1.1 client, on asyncio streams.

Services call real endpoints: SNS HTTP/S subscribers, EventBridge API destinations and their
OAuth token endpoints, API Gateway HTTP integrations and JWKS downloads. httpx/aiohttp would be a
large dependency for one request shape, and urllib would block the event loop (or cost a thread
per request). One connection per request (`Connection: close`, so a slow endpoint affects
nobody else), TLS through `ssl`, Content-Length or chunked bodies, one deadline over the whole
exchange, and the response's headers for those who pass them on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

MAX_BODY = 10 * 1024 * 1024


class HttpFailure(Exception):
    """No answer: the endpoint could not be reached, or not in time."""


class HttpTimeout(HttpFailure):
    """The endpoint did not answer within the deadline."""


async def fetch(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 29.0,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers as sent, body) of one request."""
    try:
        return await asyncio.wait_for(_exchange(method, url, headers or {}, body), timeout)
    except TimeoutError:
        raise HttpTimeout("timed out") from None
    except (OSError, ValueError, asyncio.IncompleteReadError, ssl.SSLError) as error:
        raise HttpFailure(str(error) or type(error).__name__) from None


async def _exchange(
    method: str, url: str, headers: dict[str, str], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    port = parts.port or (443 if secure else 80)
    context = ssl.create_default_context() if secure else None
    reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=context)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1"]
        sent = {k.lower() for k in headers}
        if "host" not in sent:
            lines.append(f"Host: {parts.netloc.rpartition('@')[2]}")  # never the userinfo
        lines.extend(f"{k}: {v}" for k, v in headers.items() if k.lower() not in _HOP)
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        return await _response(reader, method)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


_HOP = frozenset(("connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"))


async def _response(
    reader: asyncio.StreamReader, method: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    status_line = await reader.readline()
    parts = status_line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError("malformed HTTP response")
    status = int(parts[1])
    headers: list[tuple[str, str]] = []
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b""
    found = {k.lower(): v for k, v in headers}
    if "chunked" in found.get("transfer-encoding", "").lower():
        return status, headers, await _chunks(reader)
    length = found.get("content-length")
    if length is not None and length.isdigit():
        if int(length) > MAX_BODY:
            raise ValueError("response body too large")
        return status, headers, await reader.readexactly(int(length))
    return status, headers, await reader.read(MAX_BODY)


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readline()
        if len(out) > MAX_BODY:
            raise ValueError("response body too large")
