"""SQS message move tasks: redrive messages from a dead-letter queue back to a source queue.

A task is a document (durable) plus an asyncio task that moves messages in batches at the
requested rate. A task still RUNNING when the server stopped resumes when SQS is next used.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.protocols.errors import AwsError

if TYPE_CHECKING:
    from cloudlet.services.sqs.provider import SqsProvider

KIND = "sqs.move"
#: FailureReason of a task whose source or destination queue was deleted while it ran
_NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"
#: FailureReason of a task that should return messages to their source when some have none
_NO_SOURCE = "The dead-letter queue holds messages that were not moved there from a source queue."
_DEFAULT_RATE = 500  # messages/s when the caller leaves it to SQS ("system optimized")


class MoveTasks:
    def __init__(self, provider: SqsProvider) -> None:
        self.provider = provider
        self.store = provider.store
        self._running: dict[str, asyncio.Task[None]] = {}
        self._resume()

    def _resume(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        for handle, doc in self.store.scan(KIND):
            if doc["Status"] == "RUNNING":
                self._spawn(handle)

    def start(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        source_arn = params["SourceArn"]
        source = self.provider.queue_by_arn(source_arn)
        if source is None:
            raise AwsError(
                "ResourceNotFoundException",
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        if not self.provider.source_queues_of(source):
            raise AwsError(
                "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."
            )
        destination_arn = params.get("DestinationArn")
        if destination_arn and self.provider.queue_by_arn(destination_arn) is None:
            raise AwsError(
                "ResourceNotFoundException",
                "The resource that you specified for the DestinationArn parameter doesn't exist.",
            )
        rate = params.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise AwsError(
                "InvalidParameterValue",
                f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.",
            )
        for _, doc in self.store.scan(KIND):
            if doc["SourceArn"] == source_arn and doc["Status"] in ("RUNNING", "CANCELLING"):
                raise AwsError(
                    "InvalidParameterValue",
                    "There is already a task running. Only one active task is allowed for a source queue arn at "
                    "a given time.",
                )
        handle = base64.b64encode(
            orjson.dumps({"taskId": ids.message_id(), "sourceArn": source_arn})
        ).decode()
        doc = {
            "SourceArn": source_arn,
            "Status": "RUNNING",
            "ApproximateNumberOfMessagesMoved": 0,
            "ApproximateNumberOfMessagesToMove": self.provider.queues.counts(
                source.rows_key
            ).visible,
            "StartedTimestamp": self.provider.clock.now_ms(),
        }
        if destination_arn:
            doc["DestinationArn"] = destination_arn
        if rate is not None:
            doc["MaxNumberOfMessagesPerSecond"] = rate
        self.store.put(KIND, handle, doc)
        self._spawn(handle)
        return {"TaskHandle": handle}

    def _spawn(self, handle: str) -> None:
        self._running[handle] = asyncio.get_running_loop().create_task(self._run(handle))

    async def _run(self, handle: str) -> None:
        loop = asyncio.get_running_loop()
        moved_ids: set[str] = set()
        try:
            while True:
                doc = self.store.get(KIND, handle)
                if doc is None or doc["Status"] != "RUNNING":
                    break
                source = self.provider.queue_by_arn(doc["SourceArn"])
                if source is None:
                    self._finish(handle, "FAILED", _NON_EXISTENT_QUEUE)
                    break
                target = None
                if doc.get("DestinationArn"):
                    queue = self.provider.queue_by_arn(doc["DestinationArn"])
                    if queue is None:
                        self._finish(handle, "FAILED", _NON_EXISTENT_QUEUE)
                        break
                    target = queue.rows_key
                rate = doc.get("MaxNumberOfMessagesPerSecond", _DEFAULT_RATE)
                started = loop.time()
                moved = self.provider.queues.move(source.rows_key, target, min(rate, 100))
                if not moved:
                    self._finish(handle, "COMPLETED")
                    break
                if target is None and moved_ids.intersection(row.message_id for row in moved):
                    # Messages sent to the DLQ directly have no source to go back to: they stay.
                    self._finish(handle, "FAILED", _NO_SOURCE)
                    break
                moved_ids.update(row.message_id for row in moved)
                self.store.put(
                    KIND,
                    handle,
                    {
                        **doc,
                        "ApproximateNumberOfMessagesMoved": doc["ApproximateNumberOfMessagesMoved"]
                        + len(moved),
                    },
                )
                await asyncio.sleep(max(0.0, len(moved) / rate - (loop.time() - started)))
        finally:
            self._running.pop(handle, None)

    def _finish(self, handle: str, status: str, reason: str | None = None) -> None:
        doc = self.store.get(KIND, handle)
        if doc is None:
            return
        doc = {**doc, "Status": status}
        if reason:
            doc["FailureReason"] = reason
        self.store.put(KIND, handle, doc)

    def cancel(self, handle: str) -> dict[str, Any]:
        try:
            source_arn = orjson.loads(base64.b64decode(handle, validate=True))["sourceArn"]
        except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
            raise AwsError(
                "InvalidParameterValue", "Value for parameter TaskHandle is invalid."
            ) from None
        if self.provider.queue_by_arn(str(source_arn)) is None:
            raise AwsError(
                "ResourceNotFoundException",
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        doc = self.store.get(KIND, handle)
        if doc is None:
            raise AwsError("ResourceNotFoundException", "Task does not exist.")
        if doc["Status"] != "RUNNING":
            raise AwsError("UnsupportedOperation", "Only active tasks can be cancelled.")
        self._finish(handle, "CANCELLED")
        task = self._running.pop(handle, None)
        if task is not None:
            task.cancel()
        return {"ApproximateNumberOfMessagesMoved": doc["ApproximateNumberOfMessagesMoved"]}

    def list(self, source_arn: str, max_results: int | None) -> dict[str, Any]:
        if self.provider.queue_by_arn(source_arn) is None:
            raise AwsError(
                "ResourceNotFoundException",
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        limit = max_results or 1
        if not 1 <= limit <= 10:
            raise AwsError(
                "InvalidParameterValue",
                f"Value {limit} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.",
            )
        tasks = [(h, d) for h, d in self.store.scan(KIND) if d["SourceArn"] == source_arn]
        tasks.sort(key=lambda item: item[1]["StartedTimestamp"], reverse=True)
        results = []
        for handle, doc in tasks[:limit]:
            item = dict(doc)
            if doc["Status"] == "RUNNING":
                item["TaskHandle"] = handle
            results.append(item)
        return {"Results": results}

    def close(self) -> None:
        for task in self._running.values():
            task.cancel()
            with contextlib.suppress(Exception):
                task.get_loop().call_soon_threadsafe(lambda: None)
        self._running.clear()
