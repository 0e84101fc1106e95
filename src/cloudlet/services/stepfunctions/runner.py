"""Running executions: the engine's hosts for STANDARD (durable) and EXPRESS (in memory).

A STANDARD execution persists at every transition: the execution document (status, the frame
tree's snapshot, the event counter) and the history rows written since the last persist go to
the store in one group commit. Transitions of one loop turn (Map iterations, Parallel
branches, several executions) share that commit, and a second persist in the same commit
writes nothing. Waits, retry back-offs and deadlines are durable timers (`states:wake`):
a Wait of a year costs a row, and a restart re-arms nothing by hand — the timer fires, or the
resumed frame finds its due time passed.

An EXPRESS execution runs the same engine on `LocalHost` with sleeps that follow cloudlet's
clock; its history lives only in memory and in the CloudWatch Logs its logging writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core.store import Timer
from cloudlet.services.stepfunctions import history
from cloudlet.services.stepfunctions.common import EXECUTION, TOKEN
from cloudlet.services.stepfunctions.mapruns import MapRunHost
from cloudlet.workflows.engine import Engine, iso
from cloudlet.workflows.frame import Frame, TaskCall
from cloudlet.workflows.local import LocalHost
from cloudlet.workflows.states import Machine, State

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider

log = logging.getLogger("cloudlet.stepfunctions")
WAKE = "stepfunctions:wake"


class Run:
    """One execution being run: its document, its engine and its asyncio task."""

    def __init__(
        self, provider: StepFunctionsProvider, doc: dict[str, Any], machine: Machine
    ) -> None:
        self.provider = provider
        self.doc = doc
        self.arn: str = doc["arn"]
        self.machine = machine
        self.next_id: int = doc.get("nextId", 1)
        self.task: asyncio.Task[None] | None = None
        self.frame: Frame | None = None
        self.events: list[dict[str, Any]] = []  # shaped, not yet stored (standard) / all (express)
        self.done = asyncio.Event()
        self.stop_reason: dict[str, Any] | None = None
        #: emit the RUNNING status change when the run starts (a new start or a redrive)
        self.announce = False
        self.engine: Any = None
        self.host: Any = None
        #: tokens of the tasks this execution waits for, with their calls (heartbeats, activities)
        self.calls: dict[str, TaskCall] = {}
        #: set when the server stops or wipes its state: cancelled, it must write nothing more
        self.halted = False

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    def context(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The Execution and StateMachine parts of the context object."""
        doc = self.doc
        execution = {
            "Id": self.arn,
            "Input": orjson.loads(doc["input"]),
            "Name": doc["name"],
            "RoleArn": doc["roleArn"],
            "StartTime": iso(doc["startDate"]),
            "RedriveCount": doc.get("redriveCount", 0),
        }
        if doc.get("redriveDate"):
            execution["RedriveTime"] = iso(doc["redriveDate"])
        machine = {
            "Id": doc.get("versionArn") or doc["machineArn"],
            "Name": doc["machineArn"].split(":")[6],
        }
        return execution, machine

    def record(
        self, frame: Frame | None, kind: str, details: dict[str, Any] | None, at: int
    ) -> int:
        event_id = self.next_id
        self.next_id += 1
        previous = frame.last_event if frame is not None else event_id - 1
        if frame is not None:
            frame.last_event = event_id
        event = history.shape_event(event_id, previous, at, kind, details)
        self.events.append(event)
        self.provider.observe.event(self, event)
        return event_id


class StandardHost:
    """The durable host: store, group commit and timers."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.provider = run.provider
        self.app = run.provider.app
        self.execution, self.state_machine = run.context()
        self._dirty = False
        self._tokens: list[tuple[str, dict[str, Any]]] = []
        self._staged: dict[tuple[str, str], dict[str, Any]] = {}
        self.map_runs = MapRunHost(run)

    def stage(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """A document to store with the execution's next persist (a Map Run's)."""
        self._staged[(kind, key)] = doc
        self._dirty = True

    def now_ms(self) -> int:
        return self.app.clock.now_ms()

    def event(self, frame: Frame | None, kind: str, details: dict[str, Any] | None, at: int) -> int:
        return self.run.record(frame, kind, details, at)

    async def persist(self, frame: Frame | None = None) -> None:
        self._dirty = True
        await self.app.commit(self.write)

    def write(self) -> None:
        """Store the execution's position and its new events (inside a group commit)."""
        if not self._dirty:
            return
        self._dirty = False
        run = self.run
        if run.frame is not None and run.doc["status"] == "RUNNING":
            run.doc["snapshot"] = run.frame.snapshot()
        run.doc["nextId"] = run.next_id
        self.provider.store.put(EXECUTION, run.arn, dict(run.doc))
        if run.events:
            history.append(self.provider.store, run.arn, run.events, self.now_ms())
            run.events = []
        for token, doc in self._tokens:
            self.provider.store.put(TOKEN, token, doc)
        self._tokens = []
        for (kind, key), doc in self._staged.items():
            self.provider.store.put(kind, key, dict(doc))
        self._staged = {}
        self.provider.observe.flush(run)

    def write_now(self) -> None:
        """Store the execution's position inside the caller's commit (with what it writes)."""
        self._dirty = True
        self.write()

    async def sleep_until(self, frame: Frame, due_ms: int, key: str) -> int:
        if due_ms <= self.now_ms():
            return due_ms
        timer_id = f"{self.run.arn}|{key}"
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.provider.wakers[timer_id] = future
        self._dirty = True

        def arm() -> None:
            self.write()
            self.app.timers.set(timer_id, due_ms, WAKE, {"id": timer_id})

        try:
            await self.app.commit(arm)
            return await future
        except asyncio.CancelledError:
            if self.provider.wakers.get(timer_id) is future:
                del self.provider.wakers[timer_id]
            if not self.provider.closing:  # at shutdown the timer must outlive the process
                self.app.timers.cancel(timer_id)
            raise

    def new_token(self, frame: Frame, state: State) -> str:
        token = self.provider.tokens.new_token()
        self._tokens.append(
            (token, {"execution": self.run.arn, "state": state.name, "status": "waiting"})
        )
        return token

    async def run_task(self, call: TaskCall) -> Any:
        return await self.provider.integrations.run(self.run, call)


def fire(provider: StepFunctionsProvider, timer: Timer) -> None:
    """A wake-up timer fell due: resume the frame that sleeps on it (inside the commit)."""
    future = provider.wakers.pop(timer.timer_id, None)
    if future is not None and not future.done():
        future.set_result(timer.due)


class ExpressHost(LocalHost):
    """In memory: events in a list (and the logs), sleeps on cloudlet's clock."""

    def __init__(self, run: Run) -> None:
        execution, state_machine = run.context()
        app = run.provider.app
        super().__init__(
            None, execution=execution, state_machine=state_machine, now_ms=app.clock.now_ms
        )
        self.run = run
        self.app = app
        self.map_runs = MapRunHost(run)

    def event(self, frame: Frame | None, kind: str, details: dict[str, Any] | None, at: int) -> int:
        return self.run.record(frame, kind, details, at)

    def stage(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """Store a document soon (an express execution has no persist to ride on)."""
        provider = self.run.provider

        async def put() -> None:
            try:
                await self.app.commit(provider.store.put, kind, key, dict(doc))
            except Exception:
                log.exception("cannot store %s %s", kind, key)

        task = asyncio.get_running_loop().create_task(put())
        provider.background.add(task)
        task.add_done_callback(provider.background.discard)

    async def sleep_until(self, frame: Frame, due_ms: int, key: str) -> int:
        while True:
            remaining = due_ms - self.now_ms()
            if remaining <= 0:
                return due_ms
            await self.app.notifier.wait("states:express-clock", remaining / 1000)

    def new_token(self, frame: Frame, state: State) -> str:
        return self.run.provider.tokens.new_token()

    async def run_task(self, call: TaskCall) -> Any:
        return await self.run.provider.integrations.run(self.run, call)


def engine_for(run: Run, express: bool) -> tuple[Engine, Any]:
    host: Any = ExpressHost(run) if express else StandardHost(run)
    return Engine(host), host
