"""The durable at-least-once work queue that SQS, async invocations and deliveries share.

A queue is a name in the store; messages are rows with a visibility time, a receive count and an
expiry. Sending makes rows visible (now or after a delay); receiving claims them atomically for a
visibility timeout; deleting acknowledges. A claim that finds a message received too often moves
it to the dead-letter queue instead. Long polls wait on core/notify and on the next due time —
never a sleep loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cloudlet.core.clock import Clock
from cloudlet.core.notify import Notifier
from cloudlet.core.store import GroupCommit, NewRow, QueueCounts, QueueRow, Store

_EXPIRE_EVERY_MS = 1000

log = logging.getLogger("cloudlet.queue")


@dataclass(slots=True)
class ReceivePolicy:
    """How a queue hands out messages."""

    visibility_ms: int
    fifo: bool = False
    max_receives: int | None = None
    dead_letter_queue: str | None = None


class WorkQueues:
    """Queue operations. The synchronous ones join the caller's transaction (callers run writes
    through the server's GroupCommit); `receive` runs its claims through it itself."""

    def __init__(self, store: Store, clock: Clock, notifier: Notifier, commit: GroupCommit) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.commit = commit
        self._last_expiry: dict[str, int] = {}
        clock.on_advance(notifier.notify_all)

    def _topic(self, queue: str) -> str:
        return "queue:" + queue

    def send(
        self, queue: str, rows: list[NewRow], *, dedup_window_ms: int = 0
    ) -> list[tuple[int, str, bool]]:
        """Store messages durably and wake receivers; returns (seq, message_id, duplicate) per row."""
        now = self.clock.now_ms()
        result = self.store.enqueue(queue, rows, dedup_window_ms=dedup_window_ms, now=now)
        if any(row.visible_at <= now for row in rows):
            self.notifier.notify(self._topic(queue), len(rows))
        elif rows:
            self.notifier.notify(
                self._topic(queue), 1
            )  # let a poller re-arm for the earlier due time
        return result

    def claim(self, queue: str, limit: int, policy: ReceivePolicy) -> list[QueueRow]:
        now = self.clock.now_ms()
        rows = self.store.claim(
            queue,
            now=now,
            limit=limit,
            visible_until=now + policy.visibility_ms,
            fifo=policy.fifo,
            max_receives=policy.max_receives,
            dead_letter_queue=policy.dead_letter_queue,
        )
        if policy.dead_letter_queue:  # the claim may have dead-lettered messages someone awaits
            self.notifier.notify(self._topic(policy.dead_letter_queue))
        if not rows:
            self._expire_now_and_then(queue, now)
        return rows

    async def receive(
        self, queue: str, limit: int, policy: ReceivePolicy, wait_seconds: float
    ) -> list[QueueRow]:
        """Claim messages, waiting up to `wait_seconds` for the first one to become available.

        A standard queue's claim is answered before its commit: a crash that loses it makes
        the message visible again, which at-least-once delivery allows. A FIFO queue's claim is
        durable first, since its group stays blocked while the message is out."""
        claim = self.commit if policy.fifo else self.commit.early
        rows = await claim(self.claim, queue, limit, policy)
        if rows or wait_seconds <= 0:
            return rows
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        topic = self._topic(queue)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            now = self.clock.now_ms()
            due = self.store.next_visible_at(queue, now)
            timeout = remaining if due is None else min(remaining, max(due - now, 1) / 1000)
            await self.notifier.wait(topic, timeout)
            rows = await claim(self.claim, queue, limit, policy)
            if rows:
                return rows

    def delete(self, queue: str, seq: int, receipt: str) -> bool:
        deleted = self.store.delete_message(queue, seq, receipt)
        if deleted:  # a FIFO group may have been waiting for exactly this message
            self.notifier.notify(self._topic(queue), 1)
        return deleted

    def delete_many(self, queue: str, receipts: list[tuple[int, str]]) -> int:
        """Delete several messages by (seq, receipt) in one statement; how many were deleted."""
        deleted = self.store.delete_messages(queue, receipts)
        if deleted:
            self.notifier.notify(self._topic(queue), deleted)
        return deleted

    def change_visibility(self, queue: str, seq: int, receipt: str, timeout_ms: int) -> bool:
        now = self.clock.now_ms()
        changed = self.store.set_visibility(
            queue, seq, receipt, now=now, visible_at=now + timeout_ms
        )
        if changed:  # waiting polls re-arm for the new, possibly earlier, due time
            self.notifier.notify(self._topic(queue))
        return changed

    def counts(self, queue: str) -> QueueCounts:
        now = self.clock.now_ms()
        self._expire_now_and_then(queue, now)
        return self.store.counts(queue, now)

    def purge(self, queue: str) -> int:
        return self.store.purge(queue)

    def drop(self, queue: str) -> None:
        self.store.drop_queue(queue)
        self._last_expiry.pop(queue, None)

    def move(self, source: str, target: str | None, limit: int) -> list[QueueRow]:
        """Move messages to `target`, or back to the queue each was dead-lettered from."""
        rows = self.store.move(source, target, limit=limit, now=self.clock.now_ms())
        if rows:
            if target is not None:
                self.notifier.notify(self._topic(target), len(rows))
            else:
                self.notifier.notify_all()
        return rows

    def _expire_now_and_then(self, queue: str, now: int) -> None:
        """Drop messages past their retention, at most once a second per queue."""
        if now - self._last_expiry.get(queue, 0) >= _EXPIRE_EVERY_MS:
            self._last_expiry[queue] = now
            self.store.expire(queue, now)


class Consumer:
    """Workers for one queue: rows are claimed under a lease and each is handled in a task of its
    own, at most `parallel` at once. Deliveries (SNS HTTP, EventBridge targets, mail relay) use
    it: the handler does the slow part, then settles the row in a commit, deleting it with
    `receipt(row)` — the newest receipt, since a row whose lease ran out while it was handled
    may have been claimed again by this same consumer.
    """

    def __init__(
        self,
        queues: WorkQueues,
        queue: str,
        handle: Callable[[QueueRow], Awaitable[None]],
        *,
        lease_ms: int,
        parallel: int = 8,
        wait_s: float = 20.0,
        name: str = "cloudlet-consumer",
    ) -> None:
        self.queues = queues
        self.queue = queue
        self.handle = handle
        self.policy = ReceivePolicy(visibility_ms=lease_ms)
        self.parallel = parallel
        self.wait_s = wait_s
        self.name = name
        self._running: dict[int, str] = {}  # seq -> newest receipt of rows being handled
        self._slot = asyncio.Event()
        self._consumer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Run (idempotent; needs the event loop — the App's start hooks call it after a restart)."""
        if self._consumer is not None and not self._consumer.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._consumer = loop.create_task(self._consume(), name=self.name)

    def receipt(self, row: QueueRow) -> str:
        return self._running.get(row.seq, row.receipt or "")

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            self._consumer = None
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._running.clear()

    async def _consume(self) -> None:
        while True:
            try:
                free = self.parallel - len(self._running)
                if free <= 0:
                    self._slot.clear()
                    await self._slot.wait()
                    continue
                rows = await self.queues.receive(
                    self.queue, min(free, 10), self.policy, self.wait_s
                )
                for row in rows:
                    if row.seq not in self._running:
                        task = asyncio.get_running_loop().create_task(self._run(row))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    self._running[row.seq] = row.receipt or ""
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; it goes on in a second", self.name)
                await asyncio.sleep(1)

    async def _run(self, row: QueueRow) -> None:
        try:
            await self.handle(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug of ours: the lease runs out and the row is handled again
            log.exception("%s could not handle message %s", self.name, row.message_id)
        finally:
            self._running.pop(row.seq, None)
            self._slot.set()
