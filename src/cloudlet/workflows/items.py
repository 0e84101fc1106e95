"""The items of a distributed Map: what an ItemReader's object holds, and how items batch.

Pure functions over bytes and lists, so the host only fetches objects and the parsing rules
live in one place: a JSON object is an array of items (or holds one at `ItemsPointer`), a JSON
Lines object one item per line, a CSV object one item per row (an object of strings keyed by
the header row or by `CSVHeaders`), and an S3 Inventory manifest names the CSV files whose rows
are the items. Anything else fails the Map Run with `States.ItemReaderFailed`, as on AWS.

`batches` groups selected items into the child inputs of an `ItemBatcher`:
`{"Items": [...], "BatchInput": ...}`, bounded by item count and by serialized size.
"""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any

import orjson

from cloudlet.workflows.errors import ITEM_READER, RUNTIME, StatesError
from cloudlet.workflows.mapspec import CSV_DELIMITERS

#: the largest MaxItems AWS accepts
MAX_ITEMS = 100_000_000
#: a batch may hold at most 256 KiB of input
MAX_BATCH_BYTES = 256 * 1024


def reader_failed(cause: str) -> StatesError:
    return StatesError(ITEM_READER, cause)


def parse_object(data: bytes, config: dict[str, Any]) -> list[Any]:
    """The items of one object read by `s3:getObject`, by `ReaderConfig.InputType`."""
    kind = config.get("InputType")
    if kind == "JSON":
        return _json_items(data, config.get("ItemsPointer"))
    if kind == "JSONL":
        return _jsonl_items(data)
    if kind == "CSV":
        return parse_csv(_text(data), config)
    raise reader_failed(f"The input type {kind} is not supported by cloudlet's ItemReader")


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise reader_failed("The object is not UTF-8 encoded text") from None


def _json_items(data: bytes, pointer: str | None) -> list[Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise reader_failed("Attempting to map the object content to a JSON array failed") from None
    if pointer:
        document = _point(document, pointer)
    if not isinstance(document, list):
        raise reader_failed("The object content is not a JSON array")
    return document


def _point(document: Any, pointer: str) -> Any:
    """RFC 6901: `/a/0/b`."""
    node = document
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise reader_failed(f"The ItemsPointer '{pointer}' does not point into the object")
    return node


def _jsonl_items(data: bytes) -> list[Any]:
    items = []
    for number, line in enumerate(_text(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise reader_failed(f"Line {number} of the object is not valid JSON") from None
    return items


def parse_csv(text: str, config: dict[str, Any]) -> list[dict[str, str]]:
    """CSV rows as objects of strings (values are never converted, as on AWS)."""
    delimiter = CSV_DELIMITERS.get(config.get("CSVDelimiter") or "COMMA", ",")
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    if config.get("CSVHeaderLocation") == "GIVEN":
        headers = list(config.get("CSVHeaders") or [])
    else:
        if not rows:
            return []
        headers, rows = rows[0], rows[1:]
    return [_row(headers, row) for row in rows]


def _row(headers: list[str], row: list[str]) -> dict[str, str]:
    if len(row) > len(headers):
        raise reader_failed(
            f"A CSV row has {len(row)} fields but the header names {len(headers)} columns"
        )
    return {name: row[i] if i < len(row) else "" for i, name in enumerate(headers)}


def inventory(data: bytes) -> tuple[str, list[str], list[str]]:
    """An S3 Inventory `manifest.json`: (bucket of the files, their keys, column names)."""
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise reader_failed("The manifest is not a valid S3 Inventory manifest") from None
    if not isinstance(manifest, dict) or manifest.get("fileFormat", "CSV").upper() != "CSV":
        raise reader_failed("Only S3 Inventory manifests of CSV files are supported")
    bucket = str(manifest.get("destinationBucket") or "").rsplit(":", 1)[-1]
    files = [f["key"] for f in manifest.get("files") or [] if isinstance(f, dict) and "key" in f]
    schema = [name.strip() for name in str(manifest.get("fileSchema") or "").split(",")]
    if not bucket or not schema[0]:
        raise reader_failed("The S3 Inventory manifest names no bucket or no fileSchema")
    return bucket, files, schema


def inventory_rows(data: bytes, schema: list[str]) -> list[dict[str, str]]:
    """The rows of one inventory file (gzip-compressed CSV without a header row)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return parse_csv(_text(data), {"CSVHeaderLocation": "GIVEN", "CSVHeaders": schema})


def limit(value: Any, what: str) -> int | None:
    """A positive integer setting evaluated from the input, or None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StatesError(RUNTIME, f"The value of {what} must be a non-negative integer")
    return value


def batches(
    items: list[Any], max_items: int | None, max_bytes: int | None, batch_input: Any
) -> list[dict[str, Any]]:
    """Child inputs `{"Items": [...], "BatchInput": ...}` within both bounds (0: no bound)."""
    count_cap = max_items or len(items) or 1
    byte_cap = min(max_bytes or MAX_BATCH_BYTES, MAX_BATCH_BYTES)
    base = len(orjson.dumps(_batch([], batch_input)))
    out: list[dict[str, Any]] = []
    current: list[Any] = []
    size = base
    for item in items:
        item_size = len(orjson.dumps(item)) + (1 if current else 0)
        if current and (len(current) >= count_cap or size + item_size > byte_cap):
            out.append(_batch(current, batch_input))
            current, size = [], base
            item_size -= 1
        current.append(item)
        size += item_size
    if current:
        out.append(_batch(current, batch_input))
    return out


def _batch(items: list[Any], batch_input: Any) -> dict[str, Any]:
    if batch_input is None:
        return {"Items": items}
    return {"BatchInput": batch_input, "Items": items}
