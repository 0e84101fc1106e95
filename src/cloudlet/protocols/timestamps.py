"""Timestamps on the wire: epoch seconds, ISO 8601 and RFC 822 (HTTP dates).

Providers may hand any of `datetime`, epoch seconds (int/float) to the serializers; parsers always
produce timezone-aware UTC `datetime`s, which is also what botocore gives its callers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

UTC = dt.UTC


def parse_timestamp(value: Any) -> dt.datetime:
    """Parse epoch seconds, ISO 8601 or an HTTP date into an aware UTC datetime."""
    from cloudlet.protocols.errors import ParamValidationError

    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            pass
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
        from email.utils import parsedate_to_datetime  # lazily: 14 ms of imports at start-up

        try:
            return parsedate_to_datetime(text).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    raise ParamValidationError("invalid", f"Invalid timestamp: {value!r}")


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return dt.datetime.fromtimestamp(float(value), UTC)


def to_epoch(value: Any) -> int | float:
    """Epoch seconds; whole seconds as int, otherwise a float with millisecond precision."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = _as_datetime(value).timestamp()
    return int(seconds) if seconds.is_integer() else round(seconds, 3)


def to_iso8601(value: Any) -> str:
    """ISO 8601 in UTC as AWS writes it: 2024-01-02T03:04:05.678Z (milliseconds when present)."""
    when = _as_datetime(value).astimezone(UTC)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_rfc822(value: Any) -> str:
    """An HTTP date: Tue, 02 Jan 2024 03:04:05 GMT."""
    from email.utils import format_datetime

    return format_datetime(_as_datetime(value).astimezone(UTC).replace(microsecond=0), usegmt=True)


def format_timestamp(value: Any, fmt: str) -> Any:
    """Format for a model timestampFormat: "unixTimestamp", "iso8601" or "rfc822"."""
    if fmt == "unixTimestamp":
        return to_epoch(value)
    if fmt == "rfc822":
        return to_rfc822(value)
    return to_iso8601(value)
