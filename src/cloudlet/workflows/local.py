"""An in-memory host: runs a machine to completion with no store, for express executions,
engine tests and the engine benchmark.

`LocalHost` records the history in a list and sleeps on asyncio; task calls go to a function
given by the caller. `run_local(definition, input, tasks=...)` runs one execution and returns
its `Outcome` (status, output or error/cause, events).
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudlet.workflows.definition import load
from cloudlet.workflows.engine import Engine, iso, start_frame
from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.frame import Frame, TaskCall
from cloudlet.workflows.states import Machine, State

#: a task runner: (call) -> result, or an awaitable of it; raises StatesError to fail
TaskRunner = Callable[[TaskCall], Any]


@dataclass(slots=True)
class Event:
    id: int
    previous: int
    timestamp: int
    type: str
    details: dict[str, Any] | None


@dataclass(slots=True)
class Outcome:
    status: str  # SUCCEEDED | FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[Event] = field(default_factory=list)


class LocalHost:
    def __init__(
        self,
        tasks: TaskRunner | None = None,
        *,
        execution: dict[str, Any] | None = None,
        state_machine: dict[str, Any] | None = None,
        now_ms: Callable[[], int] | None = None,
        record: bool = True,
        virtual_time: bool = False,
    ) -> None:
        self.tasks = tasks
        self.execution = execution or {
            "Id": "arn:aws:states:us-east-1:000000000000:execution:local:local",
            "Name": "local",
            "StartTime": iso(int(time.time() * 1000)),
            "RoleArn": "arn:aws:iam::000000000000:role/local",
            "RedriveCount": 0,
        }
        self.state_machine = state_machine or {
            "Id": "arn:aws:states:us-east-1:000000000000:stateMachine:local",
            "Name": "local",
        }
        self._now = now_ms or (lambda: int(time.time() * 1000))
        #: no Map Runs in memory: a distributed Map runs its children inline
        self.map_runs: Any = None
        self.record = record
        #: timers fire at once and move this host's clock forward instead (tests)
        self.virtual_time = virtual_time
        self._skipped = 0
        self.events: list[Event] = []
        self._next_id = 1

    def now_ms(self) -> int:
        return self._now() + self._skipped

    def event(self, frame: Frame | None, kind: str, details: dict[str, Any] | None, at: int) -> int:
        event_id = self._next_id
        self._next_id += 1
        previous = frame.last_event if frame is not None else event_id - 1
        if self.record:
            self.events.append(Event(event_id, previous, at, kind, details))
        if frame is not None:
            frame.last_event = event_id
        return event_id

    async def persist(self, frame: Frame) -> None:
        return None

    async def sleep_until(self, frame: Frame, due_ms: int, key: str) -> int:
        delay = (due_ms - self.now_ms()) / 1000
        if delay > 0:
            if self.virtual_time:
                self._skipped += int(delay * 1000)
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(delay)
        return due_ms

    def new_token(self, frame: Frame, state: State) -> str:
        return uuid.uuid4().hex

    async def run_task(self, call: TaskCall) -> Any:
        if self.tasks is None:
            raise StatesError("States.TaskFailed", f"No task runner for {call.resource}")
        result = self.tasks(call)
        if inspect.isawaitable(result):
            result = await result
        return result


async def execute(engine: Engine, host: LocalHost, machine: Machine, data: Any) -> Outcome:
    """Run one execution with its Execution* events."""
    host.event(None, "ExecutionStarted", {"input": data}, host.now_ms())
    frame = start_frame(machine, data)
    frame.last_event = 1
    try:
        output = await engine.run(frame)
    except StatesError as error:
        details = {"error": error.name, "cause": error.cause}
        host.event(frame, "ExecutionFailed", details, host.now_ms())
        return Outcome("FAILED", error=error.name, cause=error.cause, events=host.events)
    host.event(frame, "ExecutionSucceeded", {"output": output}, host.now_ms())
    return Outcome("SUCCEEDED", output=output, events=host.events)


def run_local(
    definition: str | dict[str, Any] | Machine,
    data: Any = None,
    tasks: TaskRunner | None = None,
    **host_options: Any,
) -> Outcome:
    """Run a definition to completion on a fresh event loop (tests, tools)."""
    machine = definition if isinstance(definition, Machine) else load(definition)
    host = LocalHost(tasks, **host_options)
    return asyncio.run(execute(Engine(host), host, machine, {} if data is None else data))
