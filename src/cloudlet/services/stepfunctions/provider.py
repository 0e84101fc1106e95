"""AWS Step Functions: state machines, executions that really run, activities and task tokens.

The States Language itself is `cloudlet.workflows` (pure Python); this package gives it a
durable host (`runner`), reaches other services through their providers (`integrations`),
and serves the API: `machines` (state machines, versions, aliases, tags, validation),
`executions` (start, describe, list, stop, history, redrive), `tokens` (callbacks and
activities), `teststate` (TestState), `observe` (logs and status events), and distributed
Maps: `mapruns` and `mapchildren` (Map Runs and their child executions), `s3io` (ItemReader
and ResultWriter), `maprunapi` (DescribeMapRun, ListMapRuns, UpdateMapRun).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from cloudlet.services import Provider
from cloudlet.services.stepfunctions.executions import ExecutionOperations
from cloudlet.services.stepfunctions.integrations import Integrations
from cloudlet.services.stepfunctions.machines import MachineOperations
from cloudlet.services.stepfunctions.maprunapi import MapRunOperations
from cloudlet.services.stepfunctions.mapruns import Tracker
from cloudlet.services.stepfunctions.observe import Observer
from cloudlet.services.stepfunctions.runner import WAKE, Run, fire
from cloudlet.services.stepfunctions.teststate import TestStateOperation
from cloudlet.services.stepfunctions.tokens import TokenOperations, Tokens
from cloudlet.workflows.states import Machine

if TYPE_CHECKING:
    from cloudlet.app import App


class StepFunctionsProvider(
    MachineOperations,
    ExecutionOperations,
    MapRunOperations,
    TokenOperations,
    TestStateOperation,
    Provider,
):
    service = "stepfunctions"
    helpers = (
        "resume",
        "machine_doc",
        "revision",
        "compiled",
        "resolve",
        "schedule_activity",
        "summary",
        "machine_for",
        "spawn",
        "adopt",
        "redrive_status",
        "redrive_run",
    )

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        #: executions running in this process, by ARN
        self.runs: dict[str, Run] = {}
        #: Map Runs running in this process, by ARN
        self.map_runs: dict[str, Tracker] = {}
        #: sleeping frames' wake-up futures, by timer id
        self.wakers: dict[str, asyncio.Future[int]] = {}
        #: tokens of express executions (never stored): token -> execution ARN
        self.live_tokens: dict[str, str] = {}
        self.background: set[asyncio.Task[Any]] = set()
        #: set when the server stops: cancelled runs must leave their durable state alone
        self.closing = False
        self._machines: dict[str, Machine] = {}
        self.tokens = Tokens()
        self.observe = Observer(self)
        self.integrations = Integrations(self)
        app.timers.handle(WAKE, lambda timer: fire(self, timer))

    def reset(self) -> None:
        self._stop_all()
        self.observe.forget()

    def close(self) -> None:
        self.closing = True
        self._stop_all()

    def _stop_all(self) -> None:
        for run in list(self.runs.values()):
            run.halted = True
            if run.task is not None:
                run.task.cancel()
        self.runs.clear()
        self.map_runs.clear()
        self.wakers.clear()
        self.live_tokens.clear()
        for task in list(self.background):
            task.cancel()
