"""Lambda event-source-mapping filters (FilterCriteria): the event-pattern language over records.

A mapping has up to a handful of filters; a record is delivered when any of them matches, and
dropped (and, for queues, deleted) when none does. Patterns are matched against the record as Lambda
presents it to the function (for Kinesis: the record's `kinesis` object, whose fields the patterns
name), except for its data field — `body` for SQS, `data` for Kinesis and Amazon MQ (base64) — which
Lambda matches as JSON when it holds valid JSON and as a plain string otherwise: `{"body": {"RequestCode": ["BBBB"]}}` filters JSON messages by content, `{"body":
["hello"]}` filters plain-text messages. Every invalid filter is refused with Lambda's one message,
"Invalid filter pattern definition.".
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from cloudlet.core.patterns.errors import PatternError
from cloudlet.core.patterns.pattern import Pattern, compile_event_pattern, parse_json

INVALID = "Invalid filter pattern definition."


class FilterCriteria:
    """Compiled filters of one event source mapping."""

    __slots__ = ("base64_data", "data_key", "patterns")

    def __init__(self, patterns: tuple[Pattern, ...], data_key: str, base64_data: bool) -> None:
        self.patterns = patterns
        self.data_key = data_key
        self.base64_data = base64_data

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether the record passes (always, when there are no filters)."""
        if not self.patterns:
            return True
        document = self.document(record)
        return any(p.matches(document) for p in self.patterns)

    def document(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record with its data field decoded: parsed JSON if it is JSON, else the text."""
        raw = record.get(self.data_key)
        if not isinstance(raw, (str, bytes)):
            return record
        if self.base64_data:
            try:
                raw = base64.b64decode(raw, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return record
        parsed = parse_json(raw)
        document = dict(record)
        if parsed is not None or raw.strip() == "null":
            document[self.data_key] = parsed
        elif isinstance(raw, bytes):
            document[self.data_key] = raw.decode("utf-8", errors="replace")
        else:
            document[self.data_key] = raw
        return document


def compile_filter_criteria(
    filters: Sequence[str | Mapping[str, Any]], *, data_key: str = "body", base64_data: bool = False
) -> FilterCriteria:
    """Filters given as pattern strings or as the API's `{"Pattern": "..."}` objects."""
    patterns: list[Pattern] = []
    for item in filters:
        text = item.get("Pattern") if isinstance(item, Mapping) else item
        if not isinstance(text, str):
            raise PatternError(INVALID)
        try:
            patterns.append(compile_event_pattern(text))
        except PatternError:
            raise PatternError(INVALID) from None
    return FilterCriteria(tuple(patterns), data_key, base64_data)
