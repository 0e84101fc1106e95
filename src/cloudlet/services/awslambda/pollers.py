"""The pollers of SQS event source mappings: a worker fleet that scales with the queue.

A `Poller` runs the workers of one enabled mapping inside cloudlet, against core/queue directly
(no HTTP). A worker claims a batch (BatchSize, gathering for up to MaximumBatchingWindowInSeconds),
builds the SQS event exactly as Lambda does, invokes the function synchronously and deletes what
succeeded. A failed batch stays hidden until the queue's visibility timeout runs out and comes
back, and the queue's redrive policy takes it to the dead-letter queue (core/queue's claim does
that). Receipt handles are made by SQS's own helper, so handlers may delete messages themselves.

Scaling: one worker long-polls while the queue is empty. A worker that claims a full batch while
more messages are visible adds a worker (at most one every `_SCALE_INTERVAL_S`, as Lambda adds
pollers gradually), up to ScalingConfig.MaximumConcurrency and the function's reserved
concurrency, and only while another worker can help: a slow function gets many, a no-op one
only the few that keep the event loop busy. An added worker that finds the queue empty leaves. FIFO queues keep per-group order:
core/queue never hands out a group that has a message in flight.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from cloudlet.core import ids
from cloudlet.core.patterns import FilterCriteria
from cloudlet.core.queue import ReceivePolicy, WorkQueues
from cloudlet.core.store import QueueRow
from cloudlet.protocols.errors import AwsError
from cloudlet.runtime import Invocation
from cloudlet.services.awslambda.functions import Ref
from cloudlet.services.sqs import messages as msgs

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.awslambda.invoke import Invoker
    from cloudlet.services.sqs.provider import Queue

log = logging.getLogger("cloudlet.lambda")

_PRIMARY_WAIT_S = 20.0
_EXTRA_WAIT_S = 1.0
_SCALE_INTERVAL_S = 0.2
#: an invocation's payload limit, with room for the event's envelope
_MAX_PAYLOAD = 6 * 1024 * 1024 - 64 * 1024
_RECORD_OVERHEAD = 700
_MAX_BACKOFF_S = 5.0
_SMOOTHING = 0.2


@dataclass(slots=True)
class Setup:
    """What a worker needs for its next batch (read afresh per batch: updates apply at once)."""

    ref: Ref
    queue: Queue
    policy: ReceivePolicy
    batch_size: int
    window_s: int
    report_failures: bool
    cap: int  # most workers at once
    filters: FilterCriteria | None = None  # records that match none are deleted unseen

    @property
    def rows_key(self) -> str:
        return self.queue.rows_key


class Owner(Protocol):
    """What a poller needs of the mappings (see mappings.Mappings)."""

    app: App
    queues: WorkQueues
    invoker: Invoker

    def setup(self, uuid: str) -> Setup | None: ...
    def report(self, uuid: str, result: str) -> None: ...


class Poller:
    def __init__(self, owner: Owner, uuid: str) -> None:
        self.owner = owner
        self.uuid = uuid
        self.workers: set[asyncio.Task[None]] = set()
        self.polling: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.peak = 0
        self._last_scale = 0.0
        self._throttles = 0
        #: moving averages of a batch's time inside the function and around it (claiming,
        #: building the event, deleting): workers beyond (inside + around) / around add nothing
        self._inside_s = 0.0
        self._around_s = 0.0

    def start(self) -> None:
        self._spawn(primary=True)

    async def stop(self) -> None:
        """Stop polling; batches being processed finish first."""
        self.halt(running_too=False)
        if self.workers:
            await asyncio.wait(set(self.workers))

    def halt(self, *, running_too: bool) -> None:
        """Stop now: workers waiting for messages at once, the others after their batch (or at
        once too, with `running_too`, when the server shuts down)."""
        self.stopping = True
        for task in list(self.workers if running_too else self.polling):
            task.cancel()

    def _spawn(self, *, primary: bool) -> None:
        task = asyncio.get_running_loop().create_task(self._work(primary))
        self.workers.add(task)
        self.peak = max(self.peak, len(self.workers))
        task.add_done_callback(self.workers.discard)

    async def _work(self, primary: bool) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        try:
            while not self.stopping:
                setup = self.owner.setup(self.uuid)
                if setup is None:  # disabled, deleted, or its queue is gone
                    self.stopping = True
                    return
                self.polling.add(task)
                try:
                    rows = await self._collect(setup, _PRIMARY_WAIT_S if primary else _EXTRA_WAIT_S)
                except asyncio.CancelledError:
                    return  # stopped while waiting for messages
                finally:
                    self.polling.discard(task)
                if not rows:
                    if primary:
                        continue
                    return  # scale in: the backlog is gone
                self._maybe_scale_out(setup, len(rows))
                began = loop.time()
                inside = await self._process(setup, rows)
                self._observe(inside, loop.time() - began - inside)
        except Exception:
            log.exception("a poller of event source mapping %s failed", self.uuid)
            self.stopping = True  # the next change of the mapping starts a new poller

    # -- batches ---------------------------------------------------------------------------------
    async def _collect(self, setup: Setup, wait_s: float) -> list[QueueRow]:
        """A batch: up to BatchSize messages, gathered for up to the batching window."""
        queues, key = self.owner.queues, setup.rows_key
        rows = await queues.receive(key, setup.batch_size, setup.policy, wait_s)
        if not rows or setup.window_s <= 0 or len(rows) >= setup.batch_size:
            return await self._fit(setup, rows)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + setup.window_s
        size = sum(len(row.body) + _RECORD_OVERHEAD for row in rows)
        while len(rows) < setup.batch_size and size < _MAX_PAYLOAD and not self.stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            more = await queues.receive(key, setup.batch_size - len(rows), setup.policy, remaining)
            rows.extend(more)
            size += sum(len(row.body) + _RECORD_OVERHEAD for row in more)
        return await self._fit(setup, rows)

    async def _fit(self, setup: Setup, rows: list[QueueRow]) -> list[QueueRow]:
        """Keep the batch within the invocation payload limit; release the rest at once."""
        size, keep = 0, len(rows)
        for index, row in enumerate(rows):
            size += len(row.body.encode()) + _RECORD_OVERHEAD
            if size > _MAX_PAYLOAD and index:
                keep = index
                break
        if keep < len(rows):
            await self._release(setup, rows[keep:])
        return rows[:keep]

    async def _process(self, setup: Setup, rows: list[QueueRow]) -> float:
        """Invoke the function with a batch; returns the seconds spent inside the invocation."""
        invoker = self.owner.invoker
        try:
            target = invoker.target(setup.ref)
            spec = await invoker.spec(target)
        except AwsError as error:  # the function is gone: park until it exists again
            self.owner.report(self.uuid, f"PROBLEM: {error.message}")
            await self._release(setup, rows)
            self.stopping = True
            return 0.0
        records = [sqs_record(setup.queue, row, setup.policy.visibility_ms) for row in rows]
        if setup.filters is not None:
            # As on AWS: messages no filter accepts are deleted without invoking the function.
            keep = [setup.filters.matches(record) for record in records]
            dropped = [row for row, kept in zip(rows, keep, strict=True) if not kept]
            if dropped:
                await self.owner.app.commit(self._delete, setup.rows_key, dropped)
            rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
            records = [record for record, kept in zip(records, keep, strict=True) if kept]
            if not rows:
                return 0.0
        event = {"Records": records}
        invocation = Invocation(ids.request_id(), orjson.dumps(event), target.invoked_arn)
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            result = await invoker.run(spec, invocation)
        except AwsError as error:  # throttled: hand the batch back, then slow down
            self.owner.report(self.uuid, f"PROBLEM: {error.message}")
            await self._release(setup, rows)
            self._throttles += 1
            await asyncio.sleep(min(0.05 * 2**self._throttles, _MAX_BACKOFF_S))
            return 0.0
        inside = loop.time() - began
        self._throttles = 0
        if result.function_error:
            # the batch comes back once the queue's visibility timeout has run out
            self.owner.report(self.uuid, "PROBLEM: Function call failed")
            return inside
        done = succeeded(rows, result.payload) if setup.report_failures else rows
        if done:
            await self.owner.app.commit(self._delete, setup.rows_key, done)
        self.owner.report(self.uuid, "OK")
        return inside

    def _observe(self, inside: float, around: float) -> None:
        self._inside_s += (inside - self._inside_s) * _SMOOTHING
        self._around_s += (max(around, 0.0) - self._around_s) * _SMOOTHING

    def _useful_workers(self) -> float:
        """While one batch runs inside the function, this many others can be claimed and
        finished around it; more workers would only wait for the event loop."""
        if not self._around_s:
            return float("inf")
        return (self._inside_s + self._around_s) / self._around_s

    def _maybe_scale_out(self, setup: Setup, got: int) -> None:
        workers = len(self.workers)
        if got < setup.batch_size or workers >= setup.cap or self.stopping:
            return
        if workers >= self._useful_workers():
            return
        now = asyncio.get_running_loop().time()
        if now - self._last_scale < _SCALE_INTERVAL_S:
            return
        self._last_scale = now
        if self.owner.queues.counts(setup.rows_key).visible > 0:
            self._spawn(primary=False)

    def _delete(self, key: str, rows: list[QueueRow]) -> None:
        queues = self.owner.queues
        for row in rows:
            queues.delete(key, row.seq, row.receipt or "")

    async def _release(self, setup: Setup, rows: list[QueueRow]) -> None:
        if rows:
            await self.owner.app.commit(self._make_visible, setup.rows_key, rows)

    def _make_visible(self, key: str, rows: list[QueueRow]) -> None:
        queues = self.owner.queues
        for row in rows:
            queues.change_visibility(key, row.seq, row.receipt or "", 0)


def succeeded(rows: list[QueueRow], payload: bytes) -> list[QueueRow]:
    """The messages a ReportBatchItemFailures response leaves to delete.

    As Lambda reads it: no response, or no or an empty `batchItemFailures`, is a full success; an
    item without a valid `itemIdentifier` of this batch fails the whole batch. On a FIFO queue the
    messages after a failed one of the same group fail too, so the group keeps its order.
    """
    try:
        answer = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return rows
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    if not failures:
        return rows
    ids_in_batch = {row.message_id for row in rows}
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids_in_batch:
            return []
        failed.add(identifier)
    done, blocked = [], set()
    for row in rows:
        if row.message_id in failed or (row.group_id is not None and row.group_id in blocked):
            if row.group_id is not None:
                blocked.add(row.group_id)
            continue
        done.append(row)
    return done


def sqs_record(queue: Queue, row: QueueRow, visibility_ms: int) -> dict[str, Any]:
    """One record of the SQS event, as Lambda builds it from a received message."""
    meta = orjson.loads(row.meta)
    attributes = {
        "ApproximateReceiveCount": str(row.receive_count),
        "SentTimestamp": str(row.sent_at),
        "SenderId": meta.get("sender") or queue.doc["account"],
        "ApproximateFirstReceiveTimestamp": str(row.first_receive_at or row.sent_at),
    }
    if meta.get("trace"):
        attributes["AWSTraceHeader"] = meta["trace"]
    if queue.fifo:
        attributes["SequenceNumber"] = f"{row.seq:020d}"
        attributes["MessageGroupId"] = row.group_id or ""
        attributes["MessageDeduplicationId"] = meta.get("dedup") or ""
    if row.origin:
        _, account, region, name = row.origin.split("/", 3)
        attributes["DeadLetterQueueSourceArn"] = f"arn:aws:sqs:{region}:{account}:{name}"
    received_at = row.visible_at - visibility_ms  # the claim hid it until now + visibility
    record: dict[str, Any] = {
        "messageId": row.message_id,
        "receiptHandle": msgs.make_receipt(
            queue.rows_key, row.seq, row.receipt or "", received_at, row.visible_at
        ),
        "body": row.body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": msgs.md5_hex(row.body.encode()),
    }
    stored = meta.get("attrs") or {}
    if stored:
        record["messageAttributes"] = {n: _lambda_attribute(v) for n, v in stored.items()}
        record["md5OfMessageAttributes"] = msgs.md5_of_attributes(_decoded(stored))
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue.arn
    record["awsRegion"] = queue.doc["region"]
    return record


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS's stored attribute in Lambda's lower-camel shape (binary values stay base64)."""
    out: dict[str, Any] = {}
    if "BinaryValue" in value:
        out["binaryValue"] = value["BinaryValue"]
    else:
        out["stringValue"] = value.get("StringValue")
    out["stringListValues"] = []
    out["binaryListValues"] = []
    out["dataType"] = value["DataType"]
    return out


def _decoded(stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: (
            {"DataType": value["DataType"], "BinaryValue": base64.b64decode(value["BinaryValue"])}
            if "BinaryValue" in value
            else value
        )
        for name, value in stored.items()
    }
