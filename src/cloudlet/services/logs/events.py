"""Log events: PutLogEvents' checks, GetLogEvents' two-way tokens, FilterLogEvents' scans.

Events are rows of the store's log_events table, ordered by (timestamp, seq); `seq` is unique, so
a (timestamp, seq) pair is a position that stays valid while events arrive or expire. Tokens and
event ids are such positions spelled as digits, as AWS's are.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from cloudlet.core.clock import Clock
from cloudlet.core.store import LogEvent, Store
from cloudlet.services import RequestContext
from cloudlet.services.logs.resources import (
    DAY_MS,
    GROUP,
    STREAM,
    Group,
    checked_pattern,
    group_of,
    invalid,
    sequence_token,
    stream_doc,
)

MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26  # bytes AWS adds to every event when sizing a batch or a response
MAX_RESPONSE_BYTES = 1_048_576
TOO_OLD_MS = 14 * DAY_MS
TOO_NEW_MS = 2 * 3_600_000
MAX_SPAN_MS = DAY_MS
#: How many events one FilterLogEvents call looks at before answering with a nextToken (AWS, too,
#: answers partial or empty pages with a token): bounds how long one call holds the event loop.
SCAN_BUDGET = 10_000
PURGE_INTERVAL_MS = 60_000

_POSITION = re.compile(r"^([fb])/(\d{20})(\d{36})$")

Position = tuple[int, int]


def position_text(position: Position) -> str:
    return f"{position[0]:020d}{position[1]:036d}"


def check_batch(
    events: list[dict[str, Any]], now: int, retention_days: int | None
) -> tuple[list[tuple[int, str]], dict[str, int]]:
    """The events of a PutLogEvents batch to store, and `rejectedLogEventsInfo`.

    As on AWS: an unordered or oversized batch fails whole; events too old (14 days, or past the
    group's retention) or too new (2 hours ahead) are rejected while the rest are stored; the
    events stored may not span more than 24 hours.
    """
    size = 0
    previous = None
    for event in events:
        if previous is not None and event["timestamp"] < previous:
            raise invalid(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        previous = event["timestamp"]
        size += len(event["message"].encode()) + EVENT_OVERHEAD
    if size > MAX_BATCH_BYTES:
        raise invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    too_old = now - TOO_OLD_MS
    expired = now - retention_days * DAY_MS if retention_days else None
    too_new = now + TOO_NEW_MS
    rejected: dict[str, int] = {}
    kept: list[tuple[int, str]] = []
    for index, event in enumerate(events):
        timestamp = event["timestamp"]
        if timestamp < too_old:
            rejected["tooOldLogEventEndIndex"] = index + 1  # exclusive, as AWS documents
        elif expired is not None and timestamp < expired:
            rejected["expiredLogEventEndIndex"] = index + 1
        elif timestamp > too_new:
            rejected.setdefault("tooNewLogEventStartIndex", index)
        else:
            kept.append((timestamp, event["message"]))
    if kept and kept[-1][0] - kept[0][0] > MAX_SPAN_MS:
        raise invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    return kept, rejected


def _cap(rows: list[LogEvent]) -> list[LogEvent]:
    """At most 1 MB of events per response, counted as AWS counts a batch."""
    total = 0
    for index, row in enumerate(rows):
        total += len(row.message.encode()) + EVENT_OVERHEAD
        if total > MAX_RESPONSE_BYTES:
            return rows[: max(index, 1)]
    return rows


class EventOperations:
    """PutLogEvents, GetLogEvents and FilterLogEvents, mixed into LogsProvider."""

    store: Store
    clock: Clock
    _purged: dict[str, int]

    # -- writing ------------------------------------------------------------------------------
    def _ingest(self, group: Group, stream: dict[str, Any], events: list[tuple[int, str]]) -> int:
        """Store checked events of one stream and update the stream and group summaries."""
        if not events:
            return stream.get("last_seq", 0)
        now = self.clock.now_ms()
        with self.store.transaction():
            last_seq = self.store.append_log_events(group.key, stream["name"], events, ingested=now)
            first_ts = min(events[0][0], stream.get("first_ts") or events[0][0])
            updated = {
                **stream,
                "first_ts": first_ts,
                "last_ts": max(events[-1][0], stream.get("last_ts") or 0),
                "last_ingested": now,
                "last_seq": last_seq,
            }
            self.store.put(STREAM, group.stream_key(stream["name"]), updated)
            added = sum(len(message.encode()) for _, message in events)
            group.doc = {**group.doc, "stored_bytes": group.doc.get("stored_bytes", 0) + added}
            self.store.put(GROUP, group.key, group.doc)
        return last_seq

    def _expire(self, group: Group, now: int, *, force: bool = False) -> None:
        """Delete events past the group's retention, at most once a minute per group (reads hide
        them at once; this only reclaims the space)."""
        cutoff = group.retention_cutoff(now)
        if cutoff is None or (
            not force and now - self._purged.get(group.key, 0) < PURGE_INTERVAL_MS
        ):
            return
        self._purged[group.key] = now
        with self.store.transaction():
            count, size = self.store.delete_log_events(group.key, before=cutoff)
            if count:
                stored = max(group.doc.get("stored_bytes", 0) - size, 0)
                group.doc = {**group.doc, "stored_bytes": stored}
                self.store.put(GROUP, group.key, group.doc)

    def put_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = group_of(self.store, ctx, params)
        stream = stream_doc(self.store, group, params["logStreamName"])
        now = self.clock.now_ms()
        kept, rejected = check_batch(params["logEvents"], now, group.doc.get("retention"))
        self._expire(group, now)
        last_seq = self._ingest(group, stream, kept)
        out: dict[str, Any] = {"nextSequenceToken": sequence_token(last_seq)}
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    # -- reading ------------------------------------------------------------------------------
    def _window(
        self, group: Group, params: dict[str, Any], *, end_inclusive: bool
    ) -> tuple[int | None, int | None]:
        """(start, end) for the store: start inclusive, end exclusive, clamped to retention."""
        now = self.clock.now_ms()
        self._expire(group, now)
        start = params.get("startTime")
        end = params.get("endTime")
        if end is not None and end_inclusive:
            end += 1
        cutoff = group.retention_cutoff(now)
        if cutoff is not None:
            start = cutoff if start is None else max(start, cutoff)
        return start, end

    def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Events of one stream. Without a token: the latest `limit` events (the earliest with
        `startFromHead`). `f/` tokens read on after a position, `b/` tokens back before one; when
        nothing is left that way, the token passed comes back unchanged."""
        group = group_of(self.store, ctx, params)
        stream = params["logStreamName"]
        stream_doc(self.store, group, stream)
        start, end = self._window(group, params, end_inclusive=False)
        limit = params.get("limit") or 10_000
        token = params.get("nextToken")
        direction, position = _parse_position(token) if token else (None, None)
        forward = direction == "f" if direction else bool(params.get("startFromHead"))
        rows = self.store.read_log_events(
            group.key,
            [stream],
            start=start,
            end=end,
            after=position if direction == "f" else None,
            before=position if direction == "b" else None,
            limit=limit,
            forward=forward,
        )
        rows = _cap(rows)
        if not forward:
            rows.reverse()
        if rows:
            first, last = rows[0], rows[-1]
            tokens = (
                f"f/{position_text((last.timestamp, last.seq))}",
                f"b/{position_text((first.timestamp, first.seq))}",
            )
        elif position is not None:
            ts, seq = position
            if direction == "f":  # at the end: a way back that includes the position itself
                tokens = (token, f"b/{position_text((ts, seq + 1))}")
            else:
                tokens = (f"f/{position_text((ts, max(seq - 1, 0)))}", token)
        else:
            tokens = (f"f/{position_text((0, 0))}", f"b/{position_text((0, 0))}")
        return {
            "events": [
                {"timestamp": r.timestamp, "message": r.message, "ingestionTime": r.ingested}
                for r in rows
            ],
            "nextForwardToken": tokens[0],
            "nextBackwardToken": tokens[1],
        }

    def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Matching events of a group across its streams in (timestamp, seq) order, a page at a
        time; `nextToken` is the position after the last event looked at."""
        group = group_of(self.store, ctx, params)
        names = params.get("logStreamNames")
        prefix = params.get("logStreamNamePrefix")
        if names and prefix:
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
        pattern = checked_pattern(params.get("filterPattern"))
        start, end = self._window(group, params, end_inclusive=True)
        limit = params.get("limit") or 10_000
        token = params.get("nextToken")
        position = _parse_filter_token(token) if token else None
        found: list[dict[str, Any]] = []
        scanned = size = 0
        full = exhausted = False
        while not full and scanned < SCAN_BUDGET:
            want = min(1000, SCAN_BUDGET - scanned)
            rows = self.store.read_log_events(
                group.key, names, stream_prefix=prefix, start=start, end=end, after=position,
                limit=want,
            )  # fmt: skip
            taken = 0
            for row in rows:
                if pattern.matches(row.message):
                    cost = len(row.message.encode()) + EVENT_OVERHEAD
                    if found and size + cost > MAX_RESPONSE_BYTES:
                        full = True  # this event starts the next page
                        break
                    found.append(_filtered(row))
                    size += cost
                taken += 1
                position = (row.timestamp, row.seq)
                if len(found) >= limit:
                    full = True
                    break
            scanned += taken
            if len(rows) < want and taken == len(rows):  # read to the end of the range
                exhausted = True
                break
        out: dict[str, Any] = {"events": found, "searchedLogStreams": []}
        if not exhausted and position is not None:
            out["nextToken"] = _filter_token(position)
        return out


def _filtered(row: LogEvent) -> dict[str, Any]:
    return {
        "logStreamName": row.stream,
        "timestamp": row.timestamp,
        "message": row.message,
        "ingestionTime": row.ingested,
        "eventId": position_text((row.timestamp, row.seq)),
    }


def _parse_position(token: str) -> tuple[str, Position]:
    found = _POSITION.match(token)
    if found is None:
        raise invalid("The specified nextToken is invalid.")
    return found.group(1), (int(found.group(2)), int(found.group(3)))


def _filter_token(position: Position) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}/{position[1]}".encode()).decode()


def _parse_filter_token(token: str) -> Position:
    try:
        ts, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition("/")
        return int(ts), int(seq)
    except ValueError:
        raise invalid("The specified nextToken is invalid.") from None
