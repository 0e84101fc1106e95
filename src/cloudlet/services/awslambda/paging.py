"""Marker/MaxItems pagination as Lambda's List operations do it.

A marker names the sort key of the first item of the next page (base64), so pages stay correct
while items are added or removed between calls. Lambda returns at most 50 items per page
whatever MaxItems asks for.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from cloudlet.services.awslambda.errors import invalid_parameter

T = TypeVar("T")
PAGE_LIMIT = 50


def page(
    items: list[tuple[str, T]], params: dict[str, Any], limit: int = PAGE_LIMIT
) -> tuple[list[T], str | None]:
    """One page of `(sort key, item)` pairs (sorted by key) and the marker of the next one."""
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid_parameter(f"Invalid marker: {marker}") from None
        start = next((i for i, (key, _) in enumerate(items) if key >= after), len(items))
    size = min(params.get("MaxItems") or limit, limit)
    chosen = items[start : start + size]
    following = start + size
    next_marker = None
    if following < len(items):
        next_marker = base64.urlsafe_b64encode(items[following][0].encode()).decode()
    return [item for _, item in chosen], next_marker
