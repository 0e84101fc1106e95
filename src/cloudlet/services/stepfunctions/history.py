"""Execution history: events as AWS shapes them, stored as rows, read back in pages.

The engine reports events as (type, details with plain values); `shape_event` turns them into
GetExecutionHistory's HistoryEvent: the details member named after the type
(`taskScheduledEventDetails`, `stateEnteredEventDetails` ...), inputs and outputs as JSON text
with their `...Details: {"truncated": false}`.

A standard execution's events are rows of the store's append-only event table (the one
CloudWatch Logs uses), one group per execution ARN: appending is cheap, reads come back in
order, and history never sits in memory for executions nobody looks at.
"""

from __future__ import annotations

from typing import Any

import orjson

from cloudlet.core.store import Store
from cloudlet.services.stepfunctions.common import dumps

HISTORY_STREAM = "history"
_NO_DETAILS = {
    "LambdaFunctionStarted",
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "ParallelStateFailed",
    "ParallelStateAborted",
    "MapStateSucceeded",
    "MapStateFailed",
    "MapStateAborted",
    "MapRunSucceeded",
    "MapRunAborted",
    "WaitStateAborted",
    "TaskStateAborted",
    "ChoiceStateAborted",
    "PassStateAborted",
}
_JSON_FIELDS = ("input", "output")


def history_group(execution_arn: str) -> str:
    """The row group of an execution's events (never a CloudWatch Logs group name)."""
    return "states-history:" + execution_arn


def details_key(kind: str) -> str | None:
    if kind in _NO_DETAILS:
        return None
    if kind.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if kind.endswith("StateExited"):
        return "stateExitedEventDetails"
    return kind[0].lower() + kind[1:] + "EventDetails"


def shape_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Engine details with plain values -> AWS's (JSON text and truncation flags)."""
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if key in _JSON_FIELDS:
            out[key] = dumps(value)
            out[key + "Details"] = {"truncated": False}
        elif key == "parameters":
            out[key] = dumps(value)
        elif key == "assignedVariables":
            out[key] = {name: dumps(v) for name, v in value.items()}
            out["assignedVariablesDetails"] = {"truncated": False}
        elif value is not None:
            out[key] = value
    return out


def shape_event(
    event_id: int, previous: int, at: int, kind: str, details: dict[str, Any] | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "timestamp": at / 1000,
        "type": kind,
        "id": event_id,
        "previousEventId": previous,
    }
    key = details_key(kind)
    if key is not None:
        event[key] = shape_details(details)
    return event


def strip_data(event: dict[str, Any]) -> dict[str, Any]:
    """GetExecutionHistory with includeExecutionData=false: no inputs or outputs."""
    out = {}
    for key, value in event.items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            value = {
                k: v
                for k, v in value.items()
                if k not in ("input", "output", "parameters", "inputDetails", "outputDetails")
            }
        out[key] = value
    return out


def append(store: Store, execution_arn: str, events: list[dict[str, Any]], now_ms: int) -> None:
    rows = [(int(event["timestamp"] * 1000), orjson.dumps(event).decode()) for event in events]
    store.append_log_events(history_group(execution_arn), HISTORY_STREAM, rows, ingested=now_ms)


def read_all(store: Store, execution_arn: str) -> list[dict[str, Any]]:
    group = history_group(execution_arn)
    events: list[dict[str, Any]] = []
    after: tuple[int, int] | None = None
    while True:
        batch = store.read_log_events(group, [HISTORY_STREAM], after=after, limit=10_000)
        events.extend(orjson.loads(row.message) for row in batch)
        if len(batch) < 10_000:
            break
        after = (batch[-1].timestamp, batch[-1].seq)
    events.sort(key=lambda e: e["id"])
    return events


def drop(store: Store, execution_arn: str) -> None:
    store.delete_log_events(history_group(execution_arn))
