"""The store: the only code of cloudlet that speaks SQL.

A narrow interface, huey-style, so that the embedded SQLite backend and the PostgreSQL backend
for several nodes stay small and equal:

- **documents**: JSON-like dicts keyed by (kind, key); a service keeps its resources here.
- **queue rows**: the messages of core/queue, with the atomic claim / delete / visibility
  operations an at-least-once queue needs.
- **meta**: a few durable settings of the server itself (the clock offset).
- **log events**: CloudWatch Logs events, appended per (group, stream) and read back in
  (timestamp, seq) order, forward or backward, by time range and position.

Every method is atomic on its own; `transaction()` groups several into one. Times are integer
milliseconds since the epoch, always passed in by the caller (the store never reads a clock, so
a moved clock moves everything).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger("cloudlet.store")


@dataclass(slots=True)
class NewRow:
    """A message to enqueue."""

    message_id: str
    body: str
    meta: bytes  # opaque to the store: the queue's user (SQS attributes, invocation record ...)
    sent_at: int
    visible_at: int
    expires_at: int
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass(slots=True)
class QueueRow:
    """A stored message as the store returns it."""

    seq: int
    message_id: str
    body: str
    meta: bytes
    sent_at: int
    visible_at: int
    expires_at: int
    receive_count: int
    first_receive_at: int | None
    group_id: str | None
    dedup_id: str | None
    receipt: str | None
    origin: str | None = None  # the queue a dead-lettered message came from


@dataclass(slots=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int


@dataclass(slots=True)
class LogEvent:
    """A stored log event. `seq` orders events ingested at the same timestamp and never repeats,
    so (timestamp, seq) is a stable position to page from."""

    seq: int
    stream: str
    timestamp: int
    ingested: int
    message: str


@dataclass(slots=True)
class Timer:
    timer_id: str
    due: int
    kind: str
    payload: bytes


class Store(Protocol):
    """What every backend provides. See sqlite.py for the reference implementation."""

    # -- documents ---------------------------------------------------------------------------
    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...
    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None: ...
    def delete(self, kind: str, key: str) -> bool: ...
    def scan(self, kind: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]: ...

    # -- queue rows --------------------------------------------------------------------------
    def enqueue(
        self, queue: str, rows: list[NewRow], *, dedup_window_ms: int = 0, now: int = 0
    ) -> list[tuple[int, str, bool]]:
        """Insert rows; returns (seq, message_id, duplicate) per row.

        A row whose dedup_id was enqueued to the same queue within `dedup_window_ms` is not
        inserted: the earlier message's seq and id come back with duplicate=True.
        """
        ...

    def claim(
        self,
        queue: str,
        *,
        now: int,
        limit: int,
        visible_until: int,
        fifo: bool = False,
        max_receives: int | None = None,
        dead_letter_queue: str | None = None,
    ) -> list[QueueRow]:
        """Atomically take up to `limit` visible messages and hide them until `visible_until`.

        FIFO: messages of a group leave in order and a group with a message in flight is skipped.
        With `max_receives`, a message already received that many times moves to
        `dead_letter_queue` instead of being returned.
        """
        ...

    def delete_message(self, queue: str, seq: int, receipt: str) -> bool:
        """Delete the message if `receipt` is its latest receipt; False if it did not match."""
        ...

    def delete_messages(self, queue: str, receipts: list[tuple[int, str]]) -> int:
        """Delete each (seq, receipt) whose receipt is the message's latest; how many went."""
        ...

    def set_visibility(
        self, queue: str, seq: int, receipt: str, *, now: int, visible_at: int
    ) -> bool:
        """Change an in-flight message's visibility; False if it is not in flight with that receipt."""
        ...

    def counts(self, queue: str, now: int) -> QueueCounts: ...
    def next_visible_at(self, queue: str, now: int) -> int | None: ...
    def purge(self, queue: str, *, before_seq: int | None = None) -> int: ...
    def drop_queue(self, queue: str) -> None: ...
    def expire(self, queue: str, now: int) -> int: ...
    def move(self, source: str, target: str | None, *, limit: int, now: int) -> list[QueueRow]: ...
    def last_seq(self) -> int: ...

    # -- log events --------------------------------------------------------------------------
    def append_log_events(
        self, group: str, stream: str, events: list[tuple[int, str]], *, ingested: int
    ) -> int:
        """Store (timestamp, message) events of one stream; returns the seq of the last one (0 if
        none). Seqs grow with every append and are never reused, even after deletes."""
        ...

    def read_log_events(
        self,
        group: str,
        streams: list[str] | None = None,
        *,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        after: tuple[int, int] | None = None,
        before: tuple[int, int] | None = None,
        limit: int = 10_000,
        forward: bool = True,
    ) -> list[LogEvent]:
        """Events of a group (or of the named streams, or of those whose name starts with
        `stream_prefix`) in (timestamp, seq) order.

        `start` is inclusive and `end` exclusive (timestamps); `after` / `before` are exclusive
        (timestamp, seq) positions. Forward reads return the first `limit` events ascending,
        backward reads the last `limit` events descending (the order they were read in).
        """
        ...

    def delete_log_events(
        self, group: str, stream: str | None = None, before: int | None = None
    ) -> tuple[int, int]:
        """Delete a group's events (of one stream; with timestamps before `before`); returns how
        many events and how many message bytes (UTF-8) went, for the caller's size counters."""
        ...

    # -- timers ------------------------------------------------------------------------------
    def set_timer(self, timer_id: str, due: int, kind: str, payload: bytes) -> None:
        """Create or move a durable timer (ids are unique: setting again replaces it)."""
        ...

    def cancel_timer(self, timer_id: str) -> bool: ...
    def due_timers(self, now: int, limit: int) -> list[Timer]:
        """Timers due at `now` or before, earliest first (ties in id order)."""
        ...

    def next_timer_due(self) -> int | None: ...

    # -- lifecycle ---------------------------------------------------------------------------
    def transaction(self) -> Any: ...
    def atomically(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a transaction of its own (not nested in another); its result."""
        ...

    def idle(self) -> None:
        """Writes have paused for a moment: housekeeping that would stall a write goes here."""
        ...

    def reset(self) -> None: ...
    def close(self) -> None: ...


class StoreClosed(RuntimeError):
    """A write arrived after the server closed its store (it is stopping)."""


class GroupCommit:
    """Run the writes of concurrent requests in one transaction per event-loop turn.

    A commit is the expensive part of a small write (a WAL append and, with FULL sync, an
    fsync). Requests that arrive together wait one loop turn and share one commit; each runs in
    its own savepoint, so one request's failure rolls back only its own writes. Nobody is
    answered before the commit that makes their write durable, except through `early`.
    """

    #: seconds without a write after which the store is told it is idle
    IDLE_AFTER = 0.25

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[
            tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any], bool]
        ] = []
        self._last_write = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: between begin_turn() and flush_now(): writes wait for flush_now, not for a loop turn
        self._in_turn = False

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the writes come from, looked up once: asyncio.get_running_loop() is a
        getpid system call each time (its fork check), and this is every write's path."""
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def __call__(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """`fn(*args)` with this turn's other writes; its result once they are committed."""
        return self._queue(fn, args, False)

    def early(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """`fn(*args)` with this turn's other writes; its result as soon as it has run, before
        their commit. Only for a write that a crash may lose harmlessly: a receive's claim (the
        message is then simply delivered again, as at-least-once delivery allows). Its caller
        answers while the commit is written instead of after it."""
        return self._queue(fn, args, True)

    def _queue(self, fn: Callable[..., T], args: tuple[Any, ...], early: bool) -> asyncio.Future[T]:
        loop = self._running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._pending and not self._in_turn:
            loop.call_soon(self._flush)
        self._pending.append((fn, args, future, early))
        return future

    def begin_turn(self) -> None:
        """The HTTP server is about to run a turn's requests and will call `flush_now()` after
        them: their writes need no flush of their own scheduled (that would cost the loop an
        extra turn, an epoll call, per write request)."""
        self._in_turn = True

    def flush_now(self, answer_early: Callable[[], None] | None = None) -> None:
        """Commit what is waiting now rather than on the next turn: the HTTP server calls this
        once the requests of a turn have all reached their commit. `answer_early` lets the
        requests whose `early` writes have run carry on before the commit."""
        self._in_turn = False
        if self._pending:
            self._flush(answer_early)

    def _flush(self, answer_early: Callable[[], None] | None = None) -> None:
        batch, self._pending = self._pending, []
        if not batch:  # flushed early by flush_now()
            return
        loop = self._running_loop()
        self._last_write = loop.time()
        if self._idle_timer is None:
            self._idle_timer = loop.call_later(self.IDLE_AFTER, self._check_idle)
        if getattr(self.store, "closed", False):  # the server stopped while these waited
            for _, _, future, _ in batch:
                if not future.done():
                    future.set_exception(StoreClosed("the store is closed: the server is stopping"))
            return
        # One write alone needs no savepoint: its failure rolls back the transaction, which
        # holds nothing else.
        alone = len(batch) == 1
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        answered = False
        try:
            with self.store.transaction():
                for fn, args, future, early in batch:
                    if alone:
                        result, error = fn(*args), None
                    else:
                        try:
                            with self.store.transaction():
                                result, error = fn(*args), None
                        except Exception as failure:
                            result, error = None, failure
                    if early:
                        _settle(future, result, error)
                        answered = True
                    else:
                        outcomes.append((future, result, error))
                if answered and answer_early is not None:
                    answer_early()
        except Exception as error:  # the commit failed: no write of this batch is durable
            for _, _, future, _ in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for future, result, error in outcomes:
            _settle(future, result, error)

    def _check_idle(self) -> None:
        loop = self._running_loop()
        quiet_for = loop.time() - self._last_write
        if quiet_for < self.IDLE_AFTER:  # still writing: look again when it may have stopped
            self._idle_timer = loop.call_later(self.IDLE_AFTER - quiet_for, self._check_idle)
            return
        self._idle_timer = None
        try:
            self.store.idle()
        except Exception:
            log.exception("store housekeeping failed")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its waiter was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def open_store(data_dir: str) -> Store:
    """Open the store for a data directory (SQLite). PostgreSQL arrives with multi-node support."""
    from cloudlet.core.store.sqlite import SqliteStore

    os.makedirs(data_dir, exist_ok=True)
    return SqliteStore(os.path.join(data_dir, "cloudlet.db"))
