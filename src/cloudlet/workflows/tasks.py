"""Task states: the arguments, the history events of each kind of resource, and the deadlines.

The engine knows the *shape* of a task — which events AWS records for a Lambda function ARN
(LambdaFunctionScheduled ...), an activity (ActivityScheduled ...) or a service integration
(TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded ...), when a task token is created,
how TimeoutSeconds and HeartbeatSeconds end an attempt — and leaves the call itself to
`Host.run_task`.

An attempt's progress is part of the frame (`Frame.task`) from the moment it is scheduled, so a
durable host that restores the frame resumes the attempt without recording its Scheduled and
Started events again; the integration reads in `TaskCall.progress` what it already did (the
child execution it named or started, the message carrying the token it sent) and records more
there, durably at once with `TaskCall.checkpoint()` when a restart must not repeat it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from cloudlet.workflows import query
from cloudlet.workflows.errors import HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, StatesError
from cloudlet.workflows.frame import Frame, TaskCall

if TYPE_CHECKING:
    from cloudlet.workflows.engine import Engine
    from cloudlet.workflows.states import State

LAMBDA = "LambdaFunction"
ACTIVITY = "Activity"
SERVICE = "Task"


def classify(resource: str) -> tuple[str, str, str]:
    """(family, resourceType, resource) as the history reports a Task's resource."""
    if ":states:::" in resource:
        rest = resource.split(":::", 1)[1]
        if rest.startswith("aws-sdk:"):
            service, _, action = rest[len("aws-sdk:") :].rpartition(":")
            return SERVICE, "aws-sdk:" + service, action
        resource_type, _, name = rest.partition(":")
        return SERVICE, resource_type, name
    parts = resource.split(":")
    if len(parts) > 5 and parts[2] == "states" and parts[5] == "activity":
        return ACTIVITY, "activity", resource
    return LAMBDA, "lambda", resource


def waits_for_token(resource: str) -> bool:
    return resource.endswith(".waitForTaskToken") or classify(resource)[0] == ACTIVITY


class TaskStates:
    async def _task(self: Engine, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next
        outcome: list[Any] = []

        async def attempt() -> Any:
            result, ctx = await self._task_attempt(state, frame)
            outcome[:] = [ctx]
            return result

        result = await self.with_retry(state, frame, attempt)
        return self.finish(state, frame, result, following, ctx=outcome[0])

    def _task_input(
        self: Engine, state: State, frame: Frame, ctx: dict[str, Any]
    ) -> tuple[Any, Any, Any]:
        """(arguments, timeout seconds, heartbeat seconds) of one attempt."""
        spec = state.spec
        if state.jsonata:
            variables: Any = frame.variables.merged()
            states = self.states_var(frame, state, ctx)
            args = (
                query.evaluate_top(state.arguments, states, variables)
                if state.arguments
                else frame.input
            )
            source: Any = states
        else:
            variables = frame.variables
            data = self.effective_input(state, frame, ctx)
            args = state.parameters(data, ctx, variables) if state.parameters else data
            source = data
        timeout = spec["timeout"](source, variables, ctx) if spec["timeout"] else None
        heartbeat = spec["heartbeat"](source, variables, ctx) if spec["heartbeat"] else None
        for name, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise StatesError(RUNTIME, f"The value of {name} must be a positive integer")
        return args, timeout, heartbeat

    async def _task_attempt(self: Engine, state: State, frame: Frame) -> tuple[Any, dict[str, Any]]:
        resource = state.spec["resource"]
        family, resource_type, name = classify(resource)
        # restored in the middle of this attempt: its Scheduled/Started events are recorded
        resumed = frame.task is not None or frame.token is not None
        token = frame.token
        if token is None and waits_for_token(resource):
            token = self.host.new_token(frame, state)
        ctx = self.context(frame, state, token)
        args, timeout, heartbeat = self._task_input(state, frame, ctx)
        frame.anchor = None  # a task takes real time: its events use the clock again
        ident = {"resourceType": resource_type, "resource": name} if family == SERVICE else {}
        if not resumed:
            self._scheduled(frame, family, ident, resource, args, timeout, heartbeat)
        if frame.task is None:
            frame.task = {"t": self.host.now_ms()}
        call = TaskCall(
            resource=resource,
            arguments=args,
            state_name=state.name,
            frame=frame,
            token=token,
            resumed=resumed,
            timeout_s=timeout,
            heartbeat_s=heartbeat,
            credentials=state.spec["credentials"],
            on_started=lambda worker=None: self.emit(
                frame, "ActivityStarted", {"workerName": worker} if worker else None
            ),
            on_submitted=lambda output: self.emit(
                frame, "TaskSubmitted", {**ident, "output": output}
            ),
            progress=frame.task,
            checkpoint=lambda: self.host.persist(frame),
        )
        if token is not None and frame.token is None:
            frame.token = token
            await self.host.persist(frame)  # the token is valid before anything carries it
        try:
            result = await self._call(call, state, frame)
            self.check_size(result, state.name)
        except StatesError as error:
            frame.token = frame.task = None
            timed_out = error.name in (TIMEOUT, HEARTBEAT_TIMEOUT)
            kind = family + ("TimedOut" if timed_out else "Failed")
            details = {**ident, "error": error.name, "cause": error.cause}
            self.emit(frame, kind, details)
            raise
        frame.token = frame.task = None
        self.emit(frame, family + "Succeeded", {**ident, "output": result})
        return result, ctx

    def _scheduled(
        self: Engine,
        frame: Frame,
        family: str,
        ident: dict[str, Any],
        resource: str,
        args: Any,
        timeout: Any,
        heartbeat: Any,
    ) -> None:
        limits: dict[str, Any] = {}
        if timeout is not None:
            limits["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            limits["heartbeatInSeconds"] = heartbeat
        if family == SERVICE:
            region = self.host.execution.get("Id", "::::").split(":")[3]
            details = {**ident, "region": region, "parameters": args, **limits}
            self.emit(frame, "TaskScheduled", details)
            self.emit(frame, "TaskStarted", dict(ident))
        elif family == LAMBDA:
            self.emit(
                frame, "LambdaFunctionScheduled", {"resource": resource, "input": args, **limits}
            )
            self.emit(frame, "LambdaFunctionStarted", None)
        else:
            self.emit(frame, "ActivityScheduled", {"resource": resource, "input": args, **limits})

    async def _call(self: Engine, call: TaskCall, state: State, frame: Frame) -> Any:
        """Run the task within its TimeoutSeconds and HeartbeatSeconds."""
        if not call.timeout_s and not call.heartbeat_s:
            return await self.host.run_task(call)
        task = asyncio.ensure_future(self.host.run_task(call))
        start = self.host.now_ms()
        began = call.progress.get("t", start)  # a resumed attempt keeps its deadline
        timeout_due = began + call.timeout_s * 1000 if call.timeout_s else None
        last_beat = start
        try:
            while True:
                dues = [
                    d
                    for d in (
                        timeout_due,
                        last_beat + call.heartbeat_s * 1000 if call.heartbeat_s else None,
                    )
                    if d
                ]
                due = min(dues)
                sleeper = asyncio.ensure_future(
                    self.host.sleep_until(frame, due, f"{frame.key}/{state.name}/deadline")
                )
                beat = asyncio.ensure_future(call.beat.wait())
                done, _ = await asyncio.wait(
                    {task, sleeper, beat}, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in (sleeper, beat):
                    if not waiter.done():
                        waiter.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await waiter
                if task in done:
                    return task.result()
                if beat in done:
                    call.beat.clear()
                    last_beat = self.host.now_ms()
                    continue
                if timeout_due is not None and due == timeout_due:
                    raise StatesError(TIMEOUT, "")
                raise StatesError(HEARTBEAT_TIMEOUT, "")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StatesError):
                    await task
