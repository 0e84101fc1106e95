"""POSTing to HTTP/S subscribers: one request per attempt (core/http_client), with a deadline,
and what its status means for the delivery. AWS gives a subscriber 15 seconds to answer.
"""

from __future__ import annotations

from cloudlet.core.http_client import HttpFailure, fetch

TIMEOUT_S = 15.0


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
        status, _, _ = await fetch("POST", url, headers, body, timeout)
    except HttpFailure:
        return None
    return status
