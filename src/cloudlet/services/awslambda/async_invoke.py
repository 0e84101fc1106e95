"""Asynchronous invocation (`InvocationType=Event`): durable, retried, with destinations.

An event is stored on core/queue before Invoke answers 202 — one queue per function,
`lambda-async/<account>/<region>/<name>` — and a consumer per queue runs it through the invoker.
What happens next follows AWS:

- a function error is retried up to MaximumRetryAttempts (default 2), one minute after the first
  attempt and two minutes after the second;
- a throttle or a system error is retried with exponential back-off (1 s, 2 s, 4 s ... at most
  5 minutes) for as long as the event is younger than MaximumEventAgeInSeconds (default 6 h);
- the outcome goes to the OnSuccess / OnFailure destination as an invocation record, and a failed
  event to the function's dead-letter queue.

A retry is the event put back on the queue with its due time (delete + send in one commit), so
retries survive a restart, and moving cloudlet's clock makes due retries run at once. A claimed
event is leased for the function's timeout plus a margin; after a crash the lease runs out and the
event runs again (at least once, as on AWS). `ASYNC_PENDING` documents name the queues that hold
events, so a starting server finds them without a query and without loading this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.queue import ReceivePolicy
from cloudlet.core.store import NewRow, QueueRow
from cloudlet.protocols.errors import AwsError
from cloudlet.runtime import Invocation, InvocationResult
from cloudlet.services.awslambda.destinations import (
    Destinations,
    dead_letter_attributes,
    invocation_record,
)
from cloudlet.services.awslambda.eventconfigs import EventConfigs
from cloudlet.services.awslambda.functions import FUNCTION, LATEST, Functions, Ref
from cloudlet.services.awslambda.invoke import Invoker, Target
from cloudlet.services.awslambda.startup import ASYNC_PENDING

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.lambda")

QUEUE_PREFIX = "lambda-async/"
_DEFAULT_RETRIES = 2
_DEFAULT_MAX_AGE_S = 21600
#: the wait before the first and the second retry of a function error
_RETRY_DELAYS_S = (60, 120)
_MAX_BACKOFF_S = 300
#: events of one function that run at once (fewer with reserved concurrency): a burst of events
#: should not start dozens of environments on a laptop
_PARALLEL = 16
_WAIT_S = 20.0
#: a claimed event is hidden for the init phase + the function's timeout + this margin
_INIT_S = 10
_LEASE_MARGIN_S = 30
#: events are kept past the longest maximum age, so an expired one still reaches OnFailure
_RETENTION_MS = (_DEFAULT_MAX_AGE_S + 86400) * 1000


def queue_of(key: str) -> str:
    return QUEUE_PREFIX + key


@dataclass(slots=True)
class Settings:
    """The asynchronous-invocation settings that apply to one event."""

    retries: int
    max_age_ms: int
    on_success: str | None
    on_failure: str | None


class _Consumer:
    """The consumer of one function's queue: claims events and runs each in a task."""

    __slots__ = ("key", "queue", "running", "slot", "task")

    def __init__(self, key: str) -> None:
        self.key = key
        self.queue = queue_of(key)
        #: seq -> the newest receipt of each event being run (a lease that ran out while the
        #: attempt still runs gives the event a new receipt; acknowledging needs the newest)
        self.running: dict[int, str] = {}
        self.slot = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class AsyncInvocations:
    def __init__(
        self, app: App, invoker: Invoker, functions: Functions, event_configs: EventConfigs
    ) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.queues = app.queues
        self.invoker = invoker
        self.functions = functions
        self.event_configs = event_configs
        self.destinations = Destinations(app, self.enqueue_now)
        self._consumers: dict[str, _Consumer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- accepting -------------------------------------------------------------------------------
    async def accept(self, target: Target, invocation: Invocation) -> None:
        """Store an `Event` invocation durably (Invoke answers 202 after this returns)."""
        await self._enqueue(
            target.ref, invocation.payload, invocation.request_id, invocation.trace_id
        )

    def enqueue_now(self, ref: Ref, payload: bytes) -> None:
        """An asynchronous invocation from inside cloudlet (a Lambda destination), stored in the
        caller's transaction; ResourceNotFoundException when the function does not exist."""
        self.functions.function(ref)
        self._store_event(ref.key, self._row(ref, payload, ids.request_id(), None))
        self._consumer(ref.key)

    async def _enqueue(
        self, ref: Ref, payload: bytes, request_id: str, trace_id: str | None
    ) -> None:
        row = self._row(ref, payload, request_id, trace_id)
        await self.app.commit(self._store_event, ref.key, row)
        self._consumer(ref.key)

    def _row(self, ref: Ref, payload: bytes, request_id: str, trace_id: str | None) -> NewRow:
        now = self.clock.now_ms()
        meta = {
            "account": ref.account,
            "region": ref.region,
            "name": ref.name,
            "qualifier": ref.qualifier,
            "trace": trace_id,
            "accepted": now,
            "invokes": 0,
            "throttles": 0,
            "last": None,
        }
        return NewRow(
            message_id=request_id,
            body=payload.decode(),
            meta=orjson.dumps(meta),
            sent_at=now,
            visible_at=now,
            expires_at=now + _RETENTION_MS,
        )

    def _store_event(self, key: str, row: NewRow) -> None:
        self.queues.send(queue_of(key), [row])
        if self.store.get(ASYNC_PENDING, key) is None:
            self.store.put(ASYNC_PENDING, key, {"since": row.sent_at})

    # -- consuming -------------------------------------------------------------------------------
    def resume(self) -> None:
        """After a restart: consume every queue that still holds events."""
        for key, _ in self.store.scan(ASYNC_PENDING):
            self._consumer(key)

    def _consumer(self, key: str) -> _Consumer:
        consumer = self._consumers.get(key)
        if consumer is None:
            consumer = self._consumers[key] = _Consumer(key)
            consumer.task = self._spawn(self._consume(consumer))
        return consumer

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _consume(self, consumer: _Consumer) -> None:
        policy = ReceivePolicy(visibility_ms=self._lease_ms(consumer.key))
        try:
            while True:
                free = self._parallel(consumer.key) - len(consumer.running)
                if free <= 0:
                    consumer.slot.clear()
                    await consumer.slot.wait()
                    continue
                policy.visibility_ms = self._lease_ms(consumer.key)
                rows = await self.queues.receive(consumer.queue, free, policy, _WAIT_S)
                for row in rows:
                    if row.seq not in consumer.running:
                        self._spawn(self._attempt(consumer, row))
                    consumer.running[row.seq] = row.receipt or ""
                idle = not rows and not consumer.running
                if idle and await self.app.commit(self._retire, consumer):
                    return
        except Exception:
            log.exception("the asynchronous-invocation consumer of %s failed", consumer.key)
            if self._consumers.get(consumer.key) is consumer:
                del self._consumers[consumer.key]

    def _retire(self, consumer: _Consumer) -> bool:
        """Stop consuming a drained queue (in a commit, so no event slips in between)."""
        counts = self.queues.counts(consumer.queue)
        if counts.visible or counts.in_flight or counts.delayed:
            return False
        self.store.delete(ASYNC_PENDING, consumer.key)
        if self._consumers.get(consumer.key) is consumer:
            del self._consumers[consumer.key]
        return True

    def _parallel(self, key: str) -> int:
        function = self.store.get(FUNCTION, key)
        reserved = function.get("reserved") if function else None
        return _PARALLEL if reserved is None else max(1, min(reserved, _PARALLEL))

    def _lease_ms(self, key: str) -> int:
        account, region, name = key.split("/", 2)
        version = self.functions.find_version(Ref(account, region, name), LATEST)
        timeout = version["config"]["Timeout"] if version else 900
        return (_INIT_S + timeout + _LEASE_MARGIN_S) * 1000

    # -- one attempt -----------------------------------------------------------------------------
    async def _attempt(self, consumer: _Consumer, row: QueueRow) -> None:
        try:
            await self._run(consumer, row)
        except Exception:  # a bug of ours: the lease runs out and the event runs again
            log.exception("asynchronous invocation %s failed in cloudlet", row.message_id)
        finally:
            consumer.running.pop(row.seq, None)
            consumer.slot.set()

    async def _run(self, consumer: _Consumer, row: QueueRow) -> None:
        meta = orjson.loads(row.meta)
        ref = Ref(meta["account"], meta["region"], meta["name"], meta.get("qualifier"))
        settings = self.settings(ref)
        if self.clock.now_ms() - meta["accepted"] >= settings.max_age_ms:
            await self._finish(consumer, row, meta, settings, "EventAgeExceeded")
            return
        try:
            target = self.invoker.target(ref)
        except AwsError:
            log.info("dropping asynchronous event %s: %s is gone", row.message_id, ref.qualified())
            await self._ack(consumer, row)
            return
        if target.function.get("reserved") == 0:  # AWS: to the failure path, without retries
            meta["last"] = _failed_call(429, "Rate Exceeded.")
            await self._finish(consumer, row, meta, settings, "RetriesExhausted", target)
            return
        result = await self._invoke(target, row, meta)
        if result is None:  # throttled, or a system error: back off while the event is young
            meta["throttles"] += 1
            delay = min(2 ** (meta["throttles"] - 1), _MAX_BACKOFF_S)
            await self._reschedule(consumer, row, meta, settings, delay)
            return
        meta["invokes"] += 1
        meta["last"] = {
            "executed": target.executed,
            "error": result.function_error,
            "payload": result.payload.decode("utf-8", "replace"),
            "status": 200,
        }
        if result.function_error is None:
            await self._finish(consumer, row, meta, settings, "Success", target)
        elif meta["invokes"] > settings.retries:
            await self._finish(consumer, row, meta, settings, "RetriesExhausted", target)
        else:
            delay = _RETRY_DELAYS_S[min(meta["invokes"], len(_RETRY_DELAYS_S)) - 1]
            await self._reschedule(consumer, row, meta, settings, delay)

    async def _invoke(
        self, target: Target, row: QueueRow, meta: dict[str, Any]
    ) -> InvocationResult | None:
        """Run the function once; None (and the reason in `meta`) when it could not run."""
        invocation = Invocation(
            request_id=row.message_id,
            payload=row.body.encode(),
            invoked_arn=target.invoked_arn,
            trace_id=meta.get("trace"),
        )
        try:
            return await self.invoker.run(await self.invoker.spec(target), invocation)
        except AwsError as error:
            status = 429 if error.code == "TooManyRequestsException" else error.status
            meta["last"] = _failed_call(status, error.message)
        except (OSError, RuntimeError, ValueError) as error:
            log.warning("asynchronous invocation %s could not run: %s", row.message_id, error)
            meta["last"] = _failed_call(500, "Internal error: the function could not be started.")
        return None

    def settings(self, ref: Ref) -> Settings:
        config = self.event_configs.lookup(ref.account, ref.region, ref.name, ref.qualifier) or {}
        retries = config.get("MaximumRetryAttempts")
        destinations = config.get("DestinationConfig") or {}
        return Settings(
            retries=_DEFAULT_RETRIES if retries is None else retries,
            max_age_ms=(config.get("MaximumEventAgeInSeconds") or _DEFAULT_MAX_AGE_S) * 1000,
            on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
            on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
        )

    # -- outcomes --------------------------------------------------------------------------------
    async def _finish(
        self,
        consumer: _Consumer,
        row: QueueRow,
        meta: dict[str, Any],
        settings: Settings,
        condition: str,
        target: Target | None = None,
    ) -> None:
        """Send the record (and a failed event to the dead-letter queue), then forget the event."""
        ref = Ref(meta["account"], meta["region"], meta["name"], meta.get("qualifier"))
        response = meta.get("last")
        record = invocation_record(
            request_id=row.message_id,
            function_arn=ref.qualified(ref.qualifier or LATEST),
            condition=condition,
            invokes=meta["invokes"],
            request_payload=row.body,
            response=response,
            now_ms=self.clock.now_ms(),
        )
        deliveries: list[tuple[str, Any, Any]] = []
        if condition == "Success":
            if settings.on_success:
                deliveries.append((settings.on_success, record, None))
        else:
            if settings.on_failure:
                deliveries.append((settings.on_failure, record, None))
            dead_letters = self._dead_letter_arn(ref, target)
            if dead_letters:
                attributes = dead_letter_attributes(row.message_id, response)
                deliveries.append((dead_letters, row.body, attributes))
            if not deliveries:
                log.info("asynchronous event %s discarded (%s)", row.message_id, condition)
        await self.app.commit(self._complete, consumer, row.seq, deliveries)

    def _complete(
        self, consumer: _Consumer, seq: int, deliveries: list[tuple[str, Any, Any]]
    ) -> None:
        """Deliver and acknowledge in one transaction: a crash leaves both undone or both done."""
        for arn, content, attributes in deliveries:
            self.destinations.deliver_to(arn, content, attributes)
        self._delete(consumer, seq)

    def _dead_letter_arn(self, ref: Ref, target: Target | None) -> str | None:
        if target is None:
            try:
                target = self.invoker.target(ref)
            except AwsError:
                return None
        return (target.version["config"].get("DeadLetterConfig") or {}).get("TargetArn") or None

    async def _ack(self, consumer: _Consumer, row: QueueRow) -> None:
        await self.app.commit(self._delete, consumer, row.seq)

    def _delete(self, consumer: _Consumer, seq: int) -> None:
        self.queues.delete(consumer.queue, seq, consumer.running.get(seq, ""))

    async def _reschedule(
        self,
        consumer: _Consumer,
        row: QueueRow,
        meta: dict[str, Any],
        settings: Settings,
        delay_s: int,
    ) -> None:
        """Put the event back, due after `delay_s` (never after it would be too old to run)."""
        now = self.clock.now_ms()
        due = min(now + delay_s * 1000, meta["accepted"] + settings.max_age_ms)
        again = NewRow(
            message_id=row.message_id,
            body=row.body,
            meta=orjson.dumps(meta),
            sent_at=row.sent_at,
            visible_at=max(due, now),
            expires_at=row.expires_at,
        )
        await self.app.commit(self._swap, consumer, row.seq, again)

    def _swap(self, consumer: _Consumer, seq: int, again: NewRow) -> None:
        if self.queues.delete(consumer.queue, seq, consumer.running.get(seq, "")):
            self.queues.send(consumer.queue, [again])

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self, *, running_too: bool = True) -> None:
        """Stop consuming. `running_too=False` (a reset of the state) lets invocations already
        running finish rather than cutting them off inside the runtime."""
        for consumer in self._consumers.values():
            if consumer.task is not None:
                consumer.task.cancel()
        self._consumers.clear()
        if running_too:
            for task in list(self._tasks):
                task.cancel()
            self._tasks.clear()


def _failed_call(status: int, message: str) -> dict[str, Any]:
    """The last attempt when the function could not run (no response of its own)."""
    return {
        "executed": None,
        "error": None,
        "payload": orjson.dumps({"errorMessage": message}).decode(),
        "status": status,
    }
