"""Where an execution is: frames, their snapshots, and the host interface of the engine.

An execution is a tree of *frames*: the top-level machine is one, and every running Parallel
branch and Map iteration is a child frame of the frame whose Parallel/Map state started it.
A frame knows its current state, that state's raw input, its variables, and what the state is
in the middle of (a Wait's due time, a task token awaited, how far a running task got, retry
counts, the results of the iterations finished so far). `snapshot()` turns the tree into plain
JSON and `restore()` back, so a durable host can store an execution at every transition and
resume it after a restart exactly where it was.

The engine never touches a clock, a store or a service: everything with a side effect goes
through the `Host` (events for the history, persistence, timers, task calls, task tokens).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloudlet.workflows.states import Machine, State
from cloudlet.workflows.templates import Variables


class Frame:
    __slots__ = (
        "anchor",
        "due",
        "entered_at",
        "entered_id",
        "input",
        "item",
        "key",
        "last_event",
        "machine",
        "parent",
        "phase",
        "retries",
        "state",
        "sub",
        "task",
        "token",
        "variables",
    )

    def __init__(
        self,
        machine: Machine,
        state: str,
        data: Any,
        variables: Variables,
        parent: Frame | None = None,
        key: str = "",
    ) -> None:
        self.machine = machine
        self.state = state
        self.input = data
        self.variables = variables
        self.parent = parent
        self.key = key
        #: None before the state's Entered event, "in" while it runs
        self.phase: str | None = None
        #: the logical time of this frame after a timer fired (history agrees with the schedule)
        self.anchor: int | None = None
        self.entered_at = 0
        self.entered_id = 0
        self.last_event = 0
        #: attempts used per retrier of the current state
        self.retries: dict[int, int] | None = None
        #: a Wait's or a retry back-off's due time (ms)
        self.due: int | None = None
        #: the task token of the task the state waits for
        self.token: str | None = None
        #: the running task attempt's durable progress, set when it is scheduled: its start
        #: time ("t") and what its integration recorded (a child's name, a message sent ...)
        self.task: dict[str, Any] | None = None
        #: Parallel/Map progress: {"results": {i: output}, "frames": {i: Frame}}; a distributed
        #: Map keeps its Map Run's ARN ("mapRun"), its children being executions of their own
        self.sub: dict[str, Any] | None = None
        #: Map iteration: {"Index": i, "Value": item}
        self.item: dict[str, Any] | None = None

    @property
    def current(self) -> State:
        return self.machine.states[self.state]

    def root(self) -> Frame:
        frame = self
        while frame.parent is not None:
            frame = frame.parent
        return frame

    def child(self, machine: Machine, index: int, data: Any) -> Frame:
        frame = Frame(
            machine,
            machine.start_at,
            data,
            self.variables.child(),
            parent=self,
            key=f"{self.key}/{self.state}/{index}",
        )
        frame.anchor = self.anchor  # branches start at their parent's (logical) time
        return frame

    # -- persistence ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "s": self.state,
            "i": self.input,
            "v": dict(self.variables.values),
            "e": self.last_event,
            "t0": self.entered_at,
            "id": self.entered_id,
        }
        if self.phase is not None:
            out["p"] = self.phase
        if self.anchor is not None:
            out["a"] = self.anchor
        if self.retries:
            out["r"] = {str(k): v for k, v in self.retries.items()}
        if self.due is not None:
            out["d"] = self.due
        if self.token is not None:
            out["tk"] = self.token
        if self.task is not None:
            out["tc"] = dict(self.task)
        if self.item is not None:
            out["m"] = self.item
        if self.sub is not None:
            out["sub"] = {
                "results": {str(k): v for k, v in self.sub["results"].items()},
                "frames": {str(k): f.snapshot() for k, f in self.sub["frames"].items()},
                "failed": self.sub.get("failed", 0),
                "done": self.sub.get("done", False),
            }
            if "mapRun" in self.sub:
                out["sub"]["mapRun"] = self.sub["mapRun"]
            if self.sub.get("redrive"):
                out["sub"]["redrive"] = True
        return out

    @classmethod
    def restore(
        cls, doc: dict[str, Any], machine: Machine, parent: Frame | None = None, key: str = ""
    ) -> Frame:
        scope = Variables(dict(doc.get("v") or {}), parent.variables if parent else None)
        frame = cls(machine, doc["s"], doc.get("i"), scope, parent, key)
        frame.phase = doc.get("p")
        frame.anchor = doc.get("a")
        frame.last_event = doc.get("e", 0)
        frame.entered_at = doc.get("t0", 0)
        frame.entered_id = doc.get("id", 0)
        frame.retries = {int(k): v for k, v in (doc.get("r") or {}).items()} or None
        frame.due = doc.get("d")
        frame.token = doc.get("tk")
        progress = doc.get("tc")
        frame.task = dict(progress) if progress is not None else None
        if frame.task is None and frame.token is not None:  # stored before "tc": token sent
            frame.task = {"sent": True}
        frame.item = doc.get("m")
        sub = doc.get("sub")
        if sub is not None:
            state = frame.current
            frame.sub = {
                "results": {int(k): v for k, v in sub["results"].items()},
                "failed": sub.get("failed", 0),
                "done": sub.get("done", False),
                "frames": {},
            }
            if "mapRun" in sub:
                frame.sub["mapRun"] = sub["mapRun"]
            if sub.get("redrive"):
                frame.sub["redrive"] = True
            for index, child in sub["frames"].items():
                i = int(index)
                child_machine = (
                    state.spec["branches"][i]
                    if state.type == "Parallel"
                    else state.spec["processor"]
                )
                frame.sub["frames"][i] = cls.restore(
                    child, child_machine, frame, f"{key}/{frame.state}/{i}"
                )
        return frame


@dataclass(slots=True)
class TaskCall:
    """One attempt of a Task state, as the host runs it."""

    resource: str
    arguments: Any
    state_name: str
    frame: Frame
    token: str | None = None
    #: True when the execution resumed while this task ran: its Scheduled/Started events are
    #: recorded, and `progress` says how far the call got
    resumed: bool = False
    timeout_s: int | None = None
    heartbeat_s: int | None = None
    credentials: Any = None
    #: set by the host when SendTaskHeartbeat arrives
    beat: asyncio.Event = field(default_factory=asyncio.Event)
    #: callbacks into the engine for history events (activity picked up, .sync submitted)
    on_started: Any = None
    on_submitted: Any = None
    #: the attempt's durable progress (the frame's `task`): what the integration records in it
    #: is stored with the execution's next persist, or at once with `await checkpoint()`
    progress: dict[str, Any] = field(default_factory=dict)
    checkpoint: Any = None


@dataclass(slots=True)
class MapRunRequest:
    """A distributed Map starting a Map Run: its settings, evaluated from the state's input."""

    state_name: str
    label: str | None
    execution_type: str
    max_concurrency: int
    tolerated_count: int
    tolerated_percentage: float


@dataclass(slots=True)
class ReaderRequest:
    """An ItemReader call: the S3 action, its evaluated parameters and ReaderConfig."""

    action: str
    parameters: dict[str, Any]
    config: dict[str, Any]
    max_items: int | None


@dataclass(slots=True)
class MapRunOutcome:
    """Every child as an exported record (item order), and whether the failures exceeded
    the tolerated threshold (the run then stopped early: later items stay PENDING)."""

    records: list[dict[str, Any]]
    exceeded: bool


class MapRuns(Protocol):
    """What a host offers distributed Maps: Map Runs whose children are real executions."""

    async def open(self, frame: Frame, request: MapRunRequest) -> str:
        """Create the Map Run (RUNNING); its ARN. Durable with the frame's next persist."""
        ...

    def planned(self, arn: str) -> bool:
        """True once the children's inputs are recorded (a resumed run does not read again)."""
        ...

    async def redrive(self, frame: Frame, arn: str) -> int:
        """Redrive a Map Run that did not succeed (RUNNING again); its new redriveCount.

        Its children that did not succeed run again when `run` resumes it; durable with the
        frame's next persist.
        """
        ...

    async def read(self, frame: Frame, request: ReaderRequest) -> list[Any]:
        """The items of an ItemReader, or StatesError(States.ItemReaderFailed)."""
        ...

    async def run(
        self, frame: Frame, arn: str, inputs: list[Any] | None, item_counts: list[int] | None
    ) -> MapRunOutcome:
        """Run (or, with no inputs, resume) the children until all ended or too many failed."""
        ...

    async def write(
        self, frame: Frame, arn: str, parameters: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        """Export result files and their manifest; the ResultWriterDetails."""
        ...

    def close(self, frame: Frame, arn: str, status: str, error: str = "", cause: str = "") -> None:
        """The Map Run ended (SUCCEEDED, FAILED or ABORTED)."""
        ...


class Host(Protocol):
    """What the engine needs from its environment."""

    #: the context object's Execution and StateMachine parts
    execution: dict[str, Any]
    state_machine: dict[str, Any]
    #: distributed Maps' Map Runs; None runs their children inline (in-memory hosts)
    map_runs: MapRuns | None

    def now_ms(self) -> int: ...

    def event(self, frame: Frame, kind: str, details: dict[str, Any] | None, at: int) -> int:
        """Record a history event of `frame`; returns its id."""
        ...

    async def persist(self, frame: Frame) -> None:
        """Make the execution's current position durable (no-op in memory)."""
        ...

    async def sleep_until(self, frame: Frame, due_ms: int, key: str) -> int:
        """Wait until `due_ms` on the host's clock; returns the time it fired (the due time)."""
        ...

    def new_token(self, frame: Frame, state: State) -> str: ...

    async def run_task(self, call: TaskCall) -> Any:
        """Run a task; its result, or StatesError."""
        ...
