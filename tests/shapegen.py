"""Hypothesis strategies that build valid values for any botocore shape.

The protocol round-trip tests use these to exercise the whole model surface: every operation's
input through botocore's serializer into our parser, every output through our serializer into
botocore's parser.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import strategies as st

from cloudlet.protocols.model import Operation, Shape

# Characters that survive every protocol: JSON, CBOR, form encoding, XML text and URI paths.
_BODY_CHARS = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "Zs"),
    exclude_characters="\r\x85\u2028\u2029",
)
# Header values: printable ASCII without leading/trailing blanks (HTTP trims them).
_HEADER_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _text(shape: Shape, *, header: bool, nonempty: bool = False) -> st.SearchStrategy[str]:
    enum = shape.enum
    if enum:
        return st.sampled_from(enum)
    low = max(shape.raw.get("min", 0) or 0, 1 if header or nonempty else 0)
    high = min(shape.raw.get("max", 24) or 24, 24)
    high = max(high, low)
    return st.text(_HEADER_CHARS if header else _BODY_CHARS, min_size=low, max_size=high)


def _timestamp() -> st.SearchStrategy[dt.datetime]:
    # Whole seconds: every timestamp format (rfc822, iso8601, epoch) carries them exactly.
    return st.integers(min_value=0, max_value=4_000_000_000).map(
        lambda s: _EPOCH + dt.timedelta(seconds=s)
    )


def values(shape: Shape, *, depth: int = 0, location: str | None = None) -> st.SearchStrategy[Any]:
    """A strategy for valid values of `shape`; `location` is the HTTP binding, if any."""
    header = location in ("header", "headers")
    kind = shape.type
    if kind == "string":
        if shape.raw.get("jsonvalue") or shape.trait("jsonvalue"):
            return st.dictionaries(
                st.text("abc", min_size=1, max_size=3), st.integers(0, 9), max_size=2
            )
        # URI labels are never empty: an empty label changes the path and so the route.
        return _text(shape, header=header, nonempty=location == "uri")
    if kind in ("integer", "long"):
        low = shape.raw.get("min", -(2**31) if kind == "integer" else -(2**53))
        high = shape.raw.get("max", 2**31 - 1 if kind == "integer" else 2**53)
        return st.integers(min_value=int(low), max_value=int(high))
    if kind in ("float", "double"):
        # Halves are exact in every text and binary encoding; the model's range is honoured.
        low = math.ceil(shape.raw.get("min", -(10**6)) * 2)
        high = math.floor(shape.raw.get("max", 10**6) * 2)
        return st.integers(min_value=low, max_value=high).map(lambda i: i / 2)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return _timestamp()
    if kind == "blob":
        return st.binary(min_size=0 if not header else 1, max_size=16)
    if kind == "list":
        low = shape.raw.get("min", 0) or 0
        high = min(max(low, 0 if depth > 3 else 3), shape.raw.get("max", 3))
        return st.lists(values(shape.member, depth=depth + 1), min_size=low, max_size=high)
    if kind == "map":
        low = shape.raw.get("min", 0) or 0  # the model's minimum entry count (e.g. tags: 1)
        high = min(max(low, 0 if depth > 3 else 3), shape.raw.get("max", 3))
        keys = _text(shape.key, header=header).filter(bool)
        if header:
            keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
        return st.dictionaries(
            keys,
            values(shape.value, depth=depth + 1, location=location),
            min_size=low,
            max_size=high,
        )
    if kind == "structure":
        return structures(shape, depth=depth)
    raise TypeError(f"no strategy for shape type {kind}")


def structures(shape: Shape, *, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts for a structure: required members always, optional ones sometimes."""
    if shape.is_document:
        return st.dictionaries(
            st.text("abc", min_size=1, max_size=3), st.integers(0, 9), max_size=2
        )
    members = {
        name: m
        for name, m in shape.members.items()
        if not m.is_event_stream and not (depth > 4 and name not in shape.required)
    }
    if shape.is_union:
        if not members:
            return st.just({})
        return st.one_of(
            *[
                values(m, depth=depth + 1, location=m.location).map(lambda v, n=name: {n: v})
                for name, m in members.items()
            ]
        )
    required = {
        n: values(m, depth=depth + 1, location=m.location)
        for n, m in members.items()
        if n in shape.required
    }
    optional = {
        n: values(m, depth=depth + 1, location=m.location)
        for n, m in members.items()
        if n not in shape.required
    }
    return st.fixed_dictionaries(required, optional=optional)


def operation_inputs(operation: Operation) -> st.SearchStrategy[dict[str, Any]]:
    if operation.input is None:
        return st.just({})
    return structures(operation.input)


def operation_outputs(operation: Operation) -> st.SearchStrategy[dict[str, Any]]:
    if operation.output is None:
        return st.just({})
    return structures(operation.output)
