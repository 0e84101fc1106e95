"""A distributed Map's S3 side: ItemReader and ResultWriter, through cloudlet's own S3.

Nothing here re-implements S3: every read and write is a call to the S3 provider's operation
(`ListObjectsV2`, `GetObject`, `PutObject`) with the execution's account and region, like any
`aws-sdk:s3:*` task. What the objects mean is `workflows.items` (parsing) and
`workflows.mapresults` (result files); this module only moves bytes and turns S3's errors into
the Map Run's: `States.ItemReaderFailed` and `States.ResultWriterFailed`.

Listed objects become items as AWS documents them: `{"Etag", "Key", "LastModified" (epoch
seconds), "Size", "StorageClass"}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.streams import BytesStream
from cloudlet.workflows.errors import RESULT_WRITER, StatesError
from cloudlet.workflows.frame import ReaderRequest
from cloudlet.workflows.items import inventory, inventory_rows, parse_object, reader_failed
from cloudlet.workflows.mapspec import GET_OBJECT, LIST_OBJECTS

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.integrations import Integrations
    from cloudlet.services.stepfunctions.runner import Run

_PAGE = 1000


async def read_items(integrations: Integrations, run: Run, request: ReaderRequest) -> list[Any]:
    """The items an ItemReader names, at most `MaxItems` of them."""
    try:
        if request.action == LIST_OBJECTS:
            items = await _listed(integrations, run, request.parameters, request.max_items)
        elif request.action == GET_OBJECT:
            items = await _object_items(integrations, run, request)
        else:
            raise reader_failed(f"The ItemReader resource {request.action} is not supported")
    except StatesError as error:
        if error.name.startswith("States."):
            raise
        raise reader_failed(error.cause) from None
    return items[: request.max_items] if request.max_items else items


async def _listed(
    integrations: Integrations, run: Run, parameters: dict[str, Any], most: int | None
) -> list[dict[str, Any]]:
    params = {k: v for k, v in parameters.items() if k != "MaxKeys"}
    items: list[dict[str, Any]] = []
    while True:
        page = await integrations.call_provider(run, "s3", "ListObjectsV2", params, "S3")
        items.extend(_listed_item(entry) for entry in page.get("Contents") or [])
        token = page.get("NextContinuationToken")
        if not token or (most and len(items) >= most):
            return items
        params = {**params, "ContinuationToken": token}


def _listed_item(entry: dict[str, Any]) -> dict[str, Any]:
    modified = entry.get("LastModified")
    return {
        "Etag": entry.get("ETag"),
        "Key": entry.get("Key"),
        "LastModified": int(modified.timestamp()) if hasattr(modified, "timestamp") else modified,
        "Size": entry.get("Size"),
        "StorageClass": entry.get("StorageClass", "STANDARD"),
    }


async def _object_items(integrations: Integrations, run: Run, request: ReaderRequest) -> list[Any]:
    data = await fetch(integrations, run, request.parameters)
    if request.config.get("InputType") != "MANIFEST":
        return parse_object(data, request.config)
    bucket, keys, schema = inventory(data)
    items: list[Any] = []
    for key in keys:
        body = await fetch(integrations, run, {"Bucket": bucket, "Key": key})
        items.extend(inventory_rows(body, schema))
        if request.max_items and len(items) >= request.max_items:
            break
    return items


async def fetch(integrations: Integrations, run: Run, parameters: dict[str, Any]) -> bytes:
    """An object's whole body (GetObject streams it; an item source is read whole)."""
    params = {k: v for k, v in parameters.items() if k in ("Bucket", "Key", "VersionId")}
    answer = await integrations.call_provider(run, "s3", "GetObject", params, "S3")
    body = answer.get("Body")
    if body is None or isinstance(body, bytes):
        return body or b""
    return b"".join([chunk async for chunk in body])


async def write_results(
    integrations: Integrations,
    run: Run,
    map_run_arn: str,
    parameters: dict[str, Any],
    files: dict[str, bytes],
) -> dict[str, Any]:
    """`<Prefix>/<map run id>/<STATUS>_0.json` and `manifest.json`; ResultWriterDetails."""
    bucket = parameters["Bucket"]
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    base = f"{prefix}{map_run_arn.rsplit(':', 1)[-1]}/"
    listed: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    try:
        for status, body in files.items():
            key = f"{base}{status}_0.json"
            await _put(integrations, run, bucket, key, body)
            listed[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": listed}
        await _put(integrations, run, bucket, base + "manifest.json", orjson.dumps(manifest))
    except StatesError as error:
        raise StatesError(RESULT_WRITER, error.cause) from None
    return {"Bucket": bucket, "Key": base + "manifest.json"}


async def _put(integrations: Integrations, run: Run, bucket: str, key: str, body: bytes) -> None:
    params = {
        "Bucket": bucket,
        "Key": key,
        "Body": BytesStream(body),
        "ContentLength": len(body),
        "ContentType": "application/json",
    }
    await integrations.call_provider(run, "s3", "PutObject", params, "S3")
