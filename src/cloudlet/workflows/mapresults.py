"""What a distributed Map makes of its child executions: the state output and the result files.

The host reports every child as a *record* in the shape AWS exports with `Transformation:
NONE` (ExecutionArn, Input and Output as JSON text, Status, Error/Cause, dates ...); items that
never ran are records with Status `PENDING`. From those records:

- the Map state's output is the children's outputs in item order (`COMPACT`, the default
  without an export), flattened one level with `FLATTEN`, or the records themselves with
  `NONE`; a failed child that was tolerated keeps its whole record, as AWS documents;
- `result_files` groups the records into the `SUCCEEDED`, `FAILED` and `PENDING` files a
  `ResultWriter` exports (a JSON array each, or JSON Lines with `OutputType: JSONL`).
"""

from __future__ import annotations

from typing import Any

import orjson

SUCCEEDED = "SUCCEEDED"
PENDING = "PENDING"
FILES = ("SUCCEEDED", "FAILED", "PENDING")


def _output(record: dict[str, Any]) -> Any:
    text = record.get("Output")
    return orjson.loads(text) if isinstance(text, str) else text


def transform(records: list[dict[str, Any]], transformation: str) -> list[Any]:
    """The results as `WriterConfig.Transformation` shapes them."""
    if transformation == "NONE":
        return list(records)
    out: list[Any] = []
    for record in records:
        if record.get("Status") != SUCCEEDED:
            out.append(record)
            continue
        value = _output(record)
        if transformation == "FLATTEN" and isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def file_of(record: dict[str, Any]) -> str:
    status = record.get("Status")
    if status == SUCCEEDED:
        return SUCCEEDED
    return PENDING if status == PENDING else "FAILED"


def result_files(
    records: list[dict[str, Any]], transformation: str, output_type: str
) -> dict[str, bytes]:
    """The bodies of `SUCCEEDED_0.json`, `FAILED_0.json` and `PENDING_0.json` (non-empty only)."""
    grouped: dict[str, list[dict[str, Any]]] = {name: [] for name in FILES}
    for record in records:
        grouped[file_of(record)].append(record)
    out: dict[str, bytes] = {}
    for name, members in grouped.items():
        if not members:
            continue
        values = transform(members, transformation) if name == SUCCEEDED else members
        out[name] = encode(values, output_type)
    return out


def encode(values: list[Any], output_type: str) -> bytes:
    if output_type == "JSONL":
        return b"".join(orjson.dumps(value) + b"\n" for value in values)
    return orjson.dumps(values)
