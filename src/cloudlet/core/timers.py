"""Durable due-time jobs: Wait states, schedules, retry back-off, anything that must happen later.

A timer is a row in the store (id, due time, kind, payload). One asyncio task per server sleeps
until the earliest due time — no polling, no thread parked per timer — and wakes early when a
nearer timer is set or the clock is moved forward. A due timer fires by running its kind's
handler *inside the group commit, together with the timer's deletion*: the handler's writes
(enqueue a delivery, advance an execution, set the next tick) and the removal of the timer commit
as one, so a timer fires exactly once even across a crash. Handlers are therefore synchronous
and only write; work that takes time is handed to core/queue.

Kinds are named "<service>:<what>" (e.g. "events:schedule"). A handler registers with
`Timers.handle(kind, fn)`; a timer whose service is not loaded yet (after a restart) loads it
through the App, which registers the handler, before firing.

When the clock jumps forward, every timer that fell due fires in due order, and handlers get
the timer's own due time (`Timer.due`) as the moment it fired, so timestamps agree with the
schedule rather than with the jump.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from cloudlet.core.clock import Clock
from cloudlet.core.store import GroupCommit, Store, Timer

log = logging.getLogger("cloudlet.timers")

TimerHandler = Callable[[Timer], None]
_BATCH = 100
_RETRY_MS = (1_000, 5_000, 30_000, 300_000)


class Timers:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        commit: GroupCommit,
        load_service: Callable[[str], Any] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.commit = commit
        self.load_service = load_service
        self._handlers: dict[str, TimerHandler] = {}
        self._failures: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._sleeping_until: int | None = None
        clock.on_advance(self._poke)

    # -- API ---------------------------------------------------------------------------------
    def handle(self, kind: str, handler: TimerHandler) -> None:
        """Register the handler of a kind ("<service>:<what>")."""
        self._handlers[kind] = handler

    def set(self, timer_id: str, due_ms: int, kind: str, payload: Any = None) -> None:
        """Create or move a timer. Joins the caller's transaction when there is one."""
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        self.store.set_timer(timer_id, due_ms, kind, data)
        if self._sleeping_until is None or due_ms < self._sleeping_until:
            self._poke()

    def cancel(self, timer_id: str) -> bool:
        return self.store.cancel_timer(timer_id)

    @staticmethod
    def payload(timer: Timer) -> Any:
        return orjson.loads(timer.payload)

    def resume(self) -> None:
        """Start firing if the store holds timers (at server start: cheap when there are none)."""
        if self.store.next_timer_due() is not None:
            self._ensure_running()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- the loop ----------------------------------------------------------------------------
    def _poke(self) -> None:
        self._ensure_running()
        if self._wake is not None:
            self._wake.set()

    def _ensure_running(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: resume() at server start picks the timers up
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="cloudlet-timers")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            now = self.clock.now_ms()
            due = self.store.due_timers(now, _BATCH)
            # In due order, and all in one group commit: each fires in its own savepoint.
            await asyncio.gather(*(self._fire(timer) for timer in due))
            if len(due) == _BATCH:
                continue
            following = self.store.next_timer_due()
            self._sleeping_until = following
            if following is None:
                await self._wake.wait()
            else:
                delay = max(following - self.clock.now_ms(), 0) / 1000
                with contextlib.suppress(TimeoutError):  # the due time came: fire
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._sleeping_until = None

    async def _fire(self, timer: Timer) -> None:
        handler = self._handler(timer.kind)
        if handler is None:
            log.error("no handler for timer %s of kind %s; dropped", timer.timer_id, timer.kind)
            await self.commit(self.store.cancel_timer, timer.timer_id)
            return
        try:
            await self.commit(self._fire_once, timer, handler)
        except Exception:
            failures = self._failures.get(timer.timer_id, 0)
            self._failures[timer.timer_id] = failures + 1
            delay = _RETRY_MS[min(failures, len(_RETRY_MS) - 1)]
            log.exception(
                "timer %s (%s) failed; retrying in %d ms", timer.timer_id, timer.kind, delay
            )
            self.store.set_timer(
                timer.timer_id, self.clock.now_ms() + delay, timer.kind, timer.payload
            )
        else:
            self._failures.pop(timer.timer_id, None)

    def _fire_once(self, timer: Timer, handler: TimerHandler) -> None:
        self.store.cancel_timer(timer.timer_id)  # first: the handler may set the same id again
        handler(timer)

    def _handler(self, kind: str) -> TimerHandler | None:
        handler = self._handlers.get(kind)
        if handler is None and self.load_service is not None:
            try:
                self.load_service(kind.partition(":")[0])
            except Exception:
                log.exception("could not load the service of timer kind %s", kind)
            handler = self._handlers.get(kind)
        return handler
