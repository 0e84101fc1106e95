"""The interpreter: advances a frame state by state until it ends, fails or is cancelled.

`Engine.run(frame)` returns the frame's output or raises the `StatesError` it failed with. Each
state is entered (an Entered event), run by its type's handler, and exited (an Exited event);
then the frame moves to the next state and the host persists it. Retry wraps the attempts of
Task, Parallel and Map states (back-offs sleep on the host's timers); Catch turns an error into
a transition. Pass, Choice, Wait, Succeed and Fail live here; Task in `tasks.py`; Parallel and
Map in `fanout.py`.

A resumed frame (restored from a snapshot) re-enters the loop at its state: phase "in" means
the Entered event was already recorded, and the handler picks up what the frame says (a Wait's
due time, an awaited token, finished iterations).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from cloudlet.workflows import query
from cloudlet.workflows.distributed import DistributedStates
from cloudlet.workflows.errors import (
    DATA_LIMIT,
    MAX_PAYLOAD_BYTES,
    NO_CHOICE,
    QUERY_EVALUATION,
    RUNTIME,
    StatesError,
    matches,
)
from cloudlet.workflows.fanout import FanoutStates
from cloudlet.workflows.frame import Frame, Host
from cloudlet.workflows.states import State
from cloudlet.workflows.tasks import TaskStates
from cloudlet.workflows.templates import PathFailure, Variables, apply_filter

Handler = Callable[[State, Frame], Awaitable[tuple[Any, str | None]]]


def iso(ms: int) -> str:
    """AWS's context-object timestamps: ISO 8601 with milliseconds and Z."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Engine(TaskStates, FanoutStates, DistributedStates):
    def __init__(self, host: Host, rand: Callable[[], float] = random.random) -> None:
        self.host = host
        self.rand = rand
        self._handlers: dict[str, Handler] = {
            "Pass": self._pass,
            "Choice": self._choice,
            "Wait": self._wait,
            "Succeed": self._succeed,
            "Fail": self._fail,
            "Task": self._task,
            "Parallel": self._parallel,
            "Map": self._map,
        }

    # -- the loop -------------------------------------------------------------------------
    async def run(self, frame: Frame) -> Any:
        """Run `frame` from its current state to its end; its output, or StatesError."""
        states = frame.machine.states
        persist = self.host.persist
        while True:
            state = states[frame.state]
            try:
                output, following = await self._step(state, frame)
            except StatesError as error:
                caught = self._catch(state, frame, error)
                if caught is None:
                    raise
                output, following = caught
            if following is None:
                return output
            frame.state = following
            frame.input = output
            frame.phase = None
            frame.retries = None
            frame.due = None
            frame.token = None
            frame.task = None
            frame.sub = None
            await persist(frame)

    async def _step(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        if frame.phase is None:
            frame.phase = "in"
            frame.entered_at = self.now(frame)
            details = {"name": state.name, "input": frame.input}
            frame.entered_id = self.emit(frame, state.type + "StateEntered", details)
        try:
            return await self._handlers[state.type](state, frame)
        except PathFailure as failure:  # a path of InputPath & co. found nothing
            raise self.runtime(
                frame, state, f"Invalid path '{failure.path}' : {failure.detail}"
            ) from None
        except StatesError as error:
            if error.name == RUNTIME and not error.cause.startswith("An error occurred"):
                raise self.runtime(frame, state, error.cause) from None
            raise
        except asyncio.CancelledError:
            if state.type in ("Task", "Wait", "Map", "Parallel"):
                self.emit(frame, state.type + "StateAborted", {"name": state.name})
            raise

    def runtime(self, frame: Frame, state: State, detail: str) -> StatesError:
        return StatesError(
            RUNTIME,
            f"An error occurred while executing the state '{state.name}' (entered at the event "
            f"id #{self._entered_id(frame)}). {detail}",
        )

    def _entered_id(self, frame: Frame) -> int:
        return frame.entered_id or frame.last_event or 1

    # -- shared helpers ------------------------------------------------------------------
    def now(self, frame: Frame) -> int:
        """The frame's time: the due time of the timer that last woke it, else the clock."""
        return frame.anchor if frame.anchor is not None else self.host.now_ms()

    def emit(self, frame: Frame, kind: str, details: dict[str, Any] | None = None) -> int:
        return self.host.event(frame, kind, details, self.now(frame))

    def context(self, frame: Frame, state: State, token: str | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.host.execution,
            "StateMachine": self.host.state_machine,
            "State": {
                "EnteredTime": iso(frame.entered_at),
                "Name": state.name,
                "RetryCount": sum(frame.retries.values()) if frame.retries else 0,
            },
        }
        if token is not None:
            ctx["Task"] = {"Token": token}
        return ctx

    def states_var(
        self, frame: Frame, state: State, ctx: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """JSONata's `$states`."""
        out = {"input": frame.input, "context": ctx or self.context(frame, state)}
        out.update(extra)
        return out

    def effective_input(self, state: State, frame: Frame, ctx: Any = None) -> Any:
        """JSONPath: the raw input through InputPath."""
        if not state.has_input_path:
            return frame.input
        return apply_filter(state.input_path, frame.input, ctx, frame.variables)

    def finish(
        self,
        state: State,
        frame: Frame,
        result: Any,
        following: str | None,
        assign_source: Any = None,
        ctx: Any = None,
        jsonata_result: bool = True,
    ) -> tuple[Any, str | None]:
        """The state's output from its result (ResultSelector/ResultPath/OutputPath, or
        JSONata's Output), its variable assignments, and its Exited event."""
        if state.jsonata:
            variables = frame.variables.merged()
            states = self.states_var(
                frame, state, ctx, **({"result": result} if jsonata_result else {})
            )
            assigned = self._assign_jsonata(state.assign, states, variables)
            output = query.evaluate_top(state.output, states, variables) if state.output else result
        else:
            if state.result_selector is not None:
                result = state.result_selector(
                    result, ctx or self.context(frame, state), frame.variables
                )
            source = result if assign_source is None else assign_source
            assigned = self._assign_path(state.assign, source, frame, state, ctx)
            merged = state.result_path(frame.input, result) if state.result_path else result
            output = merged
            if state.has_output_path:
                output = apply_filter(state.output_path, merged, ctx, frame.variables)
        return self.exit(state, frame, output, following, assigned)

    def exit(
        self,
        state: State,
        frame: Frame,
        output: Any,
        following: str | None,
        assigned: dict[str, Any] | None,
    ) -> tuple[Any, str | None]:
        self.check_size(output, state.name)
        details: dict[str, Any] = {"name": state.name, "output": output}
        if assigned:
            frame.variables.values.update(assigned)
            details["assignedVariables"] = assigned
        self.emit(frame, state.type + "StateExited", details)
        return output, following

    def _assign_path(
        self, assign: Any, source: Any, frame: Frame, state: State, ctx: Any
    ) -> dict[str, Any] | None:
        if assign is None:
            return None
        return assign(source, ctx or self.context(frame, state), frame.variables)

    @staticmethod
    def _assign_jsonata(
        assign: Any, states: dict[str, Any], variables: dict[str, Any]
    ) -> dict[str, Any] | None:
        if assign is None:
            return None
        value = query.evaluate_top(assign, states, variables)
        if not isinstance(value, dict):
            raise StatesError(QUERY_EVALUATION, "The value of 'Assign' must be an object")
        return value

    @staticmethod
    def check_size(value: Any, what: str) -> None:
        if isinstance(value, str | dict | list) and len(dumps(value)) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                DATA_LIMIT,
                f"The state/task '{what}' returned a result with a size exceeding the maximum "
                f"number of bytes service limit.",
            )

    # -- Retry / Catch -------------------------------------------------------------------
    async def with_retry(
        self, state: State, frame: Frame, attempt: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Run attempts until one succeeds or no Retrier allows another."""
        while True:
            if frame.due is not None:  # resumed in a back-off
                frame.anchor = await self.host.sleep_until(
                    frame, frame.due, f"{frame.key}/{state.name}/retry"
                )
                frame.due = None
            try:
                return await attempt()
            except StatesError as error:
                delay = self._retry_delay(state, frame, error)
                if delay is None:
                    raise
                frame.due = self.now(frame) + int(delay * 1000)

    def _retry_delay(self, state: State, frame: Frame, error: StatesError) -> float | None:
        for index, retrier in enumerate(state.retry):
            if matches(error.name, retrier.errors):
                used = (frame.retries or {}).get(index, 0)
                if used >= retrier.max_attempts:
                    return None
                frame.retries = {**(frame.retries or {}), index: used + 1}
                return retrier.delay(used, self.rand)
        return None

    def _catch(self, state: State, frame: Frame, error: StatesError) -> tuple[Any, str] | None:
        for catcher in state.catch:
            if not matches(error.name, catcher.errors):
                continue
            error_output = error.output()
            if state.jsonata:
                variables = frame.variables.merged()
                states = self.states_var(frame, state, errorOutput=error_output)
                assigned = self._assign_jsonata(catcher.assign, states, variables)
                output = (
                    query.evaluate_top(catcher.output, states, variables)
                    if catcher.output
                    else error_output
                )
            else:
                assigned = self._assign_path(catcher.assign, error_output, frame, state, None)
                output = (
                    catcher.result_path(frame.input, error_output)
                    if catcher.result_path
                    else error_output
                )
            return self.exit(state, frame, output, catcher.next, assigned)
        return None

    # -- Pass, Choice, Wait, Succeed, Fail ------------------------------------------------
    async def _pass(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next
        if state.jsonata:
            return self.finish(state, frame, frame.input, following, jsonata_result=False)
        ctx = self.context(frame, state) if state.parameters is not None else None
        data = self.effective_input(state, frame, ctx)
        if state.spec["has_result"]:
            result = state.spec["result"]
        elif state.parameters is not None:
            result = state.parameters(data, ctx, frame.variables)
        else:
            result = data
        return self.finish(state, frame, result, following, ctx=ctx)

    async def _choice(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        spec = state.spec
        if state.jsonata:
            return self._choice_jsonata(state, frame)
        ctx = self.context(frame, state)
        data = self.effective_input(state, frame, ctx)
        variables = frame.variables
        for rule in spec["rules"]:
            if rule.test(data, ctx, variables):
                assigned = self._assign_path(rule.assign or state.assign, data, frame, state, ctx)
                output = (
                    apply_filter(state.output_path, data, ctx, variables)
                    if state.has_output_path
                    else data
                )
                return self.exit(state, frame, output, rule.next, assigned)
        if spec["default"] is None:
            raise StatesError(NO_CHOICE, "No Matches!")
        assigned = self._assign_path(state.assign, data, frame, state, ctx)
        output = (
            apply_filter(state.output_path, data, ctx, variables) if state.has_output_path else data
        )
        return self.exit(state, frame, output, spec["default"], assigned)

    def _choice_jsonata(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        variables = frame.variables.merged()
        states = self.states_var(frame, state)
        for rule in state.spec["rules"]:
            verdict = rule.test(states, variables)
            if not isinstance(verdict, bool):
                raise StatesError(
                    QUERY_EVALUATION, "The Condition of a choice rule must evaluate to a boolean"
                )
            if verdict:
                assigned = self._assign_jsonata(rule.assign or state.assign, states, variables)
                evaluator = rule.output or state.output
                output = (
                    query.evaluate_top(evaluator, states, variables) if evaluator else frame.input
                )
                return self.exit(state, frame, output, rule.next, assigned)
        if state.spec["default"] is None:
            raise StatesError(NO_CHOICE, "No Matches!")
        assigned = self._assign_jsonata(state.assign, states, variables)
        output = (
            query.evaluate_top(state.output, states, variables) if state.output else frame.input
        )
        return self.exit(state, frame, output, state.spec["default"], assigned)

    async def _wait(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next
        if frame.due is None:
            frame.due = self._due(state, frame)
        frame.anchor = await self.host.sleep_until(
            frame, frame.due, f"{frame.key}/{state.name}/wait"
        )
        frame.due = None
        if state.jsonata:
            return self.finish(state, frame, frame.input, following, jsonata_result=False)
        data = self.effective_input(state, frame)
        return self.finish(state, frame, data, following)

    def _due(self, state: State, frame: Frame) -> int:
        spec = state.spec
        if state.jsonata:
            source, variables = self.states_var(frame, state), frame.variables.merged()
        else:
            source, variables = self.effective_input(state, frame), frame.variables
        ctx = self.context(frame, state)
        if spec["seconds"] is not None:
            seconds = spec["seconds"](source, variables, ctx)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise StatesError(
                    RUNTIME,
                    f"The value of Seconds must be a non-negative integer, not {dumps(seconds)}",
                )
            return self.now(frame) + int(seconds * 1000)
        stamp = spec["timestamp"](source, variables, ctx)
        from cloudlet.workflows.choice import parse_timestamp

        moment = parse_timestamp(stamp)
        if moment is None:
            raise StatesError(
                RUNTIME, f"The value of Timestamp is not a valid timestamp: {dumps(stamp)}"
            )
        return int(moment.timestamp() * 1000)

    async def _succeed(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        if state.jsonata:
            return self.finish(state, frame, frame.input, None, jsonata_result=False)
        data = self.effective_input(state, frame)
        output = (
            apply_filter(state.output_path, data, None, frame.variables)
            if state.has_output_path
            else data
        )
        return self.exit(state, frame, output, None, None)

    async def _fail(self, state: State, frame: Frame) -> tuple[Any, str | None]:
        spec = state.spec
        if state.jsonata:
            source: Any = self.states_var(frame, state)
            variables: Any = frame.variables.merged()
        else:
            source, variables = frame.input, frame.variables
        ctx = self.context(frame, state)
        error = spec["error"](source, variables, ctx) if spec["error"] else None
        cause = spec["cause"](source, variables, ctx) if spec["cause"] else None
        for value, name in ((error, "Error"), (cause, "Cause")):
            if value is not None and not isinstance(value, str):
                raise StatesError(
                    RUNTIME, f"The value of {name} must be a string, not {dumps(value)}"
                )
        raise StatesError(error or "", cause or "")


def start_frame(machine: Any, data: Any, variables: dict[str, Any] | None = None) -> Frame:
    """The top-level frame of a new execution."""
    return Frame(machine, machine.start_at, data, Variables(variables or {}))
