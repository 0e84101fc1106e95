"""POSTing to HTTP/S subscribers: one request per attempt, on the event loop, with a deadline.

A deliberately small HTTP/1.1 client (asyncio streams; TLS through `ssl`): SNS needs the status code
of one POST and nothing else, and a connection per attempt keeps a slow or broken subscriber from
affecting any other. AWS gives a subscriber 15 seconds to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

TIMEOUT_S = 15.0
_MAX_HEADER = 64 * 1024


class Outcome:
    """What an attempt came to: delivered, worth retrying (5xx, 429, no answer), or refused."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


def classify(status: int | None) -> str:
    if status is None or status == 429 or status >= 500:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    return Outcome.REFUSED


async def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_S
) -> int | None:
    """POST `body`; the response status, or None when the endpoint could not be reached in time."""
    try:
        return await asyncio.wait_for(_post(url, body, headers), timeout)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError, ssl.SSLError):
        return None


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
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
        host_header = parts.netloc.rpartition("@")[2]
        lines = [f"POST {target} HTTP/1.1", f"Host: {host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        if len(status_line) > _MAX_HEADER:
            raise ValueError("status line too long")
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/"):
            raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
        return int(fields[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
