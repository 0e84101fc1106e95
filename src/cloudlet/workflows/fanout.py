"""Parallel and Map states: child frames run concurrently and their outputs are collected.

Each branch (Parallel) or iteration (Map) is a child frame run by the same engine. Progress is
kept in the parent frame (`frame.sub`: the outputs of finished children and the frames still
running), so a durable host that persists the tree resumes a Map after a restart with only the
unfinished iterations. A failing branch fails the Parallel and cancels its siblings; a Map
tolerates failures up to ToleratedFailureCount / ToleratedFailurePercentage, then fails with
`States.ExceedToleratedFailureThreshold`. MaxConcurrency bounds the iterations running at once
(0: no bound); iterations start in index order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cloudlet.workflows import query
from cloudlet.workflows.errors import (
    BRANCH_FAILED,
    EXCEEDS_TOLERATED,
    ITEM_READER,
    RUNTIME,
    StatesError,
)
from cloudlet.workflows.frame import Frame
from cloudlet.workflows.templates import apply_filter

if TYPE_CHECKING:
    from cloudlet.workflows.engine import Engine
    from cloudlet.workflows.states import Machine, State


class FanoutStates:
    # -- Parallel -------------------------------------------------------------------------
    async def _parallel(self: Engine, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next

        async def attempt() -> list[Any]:
            data = self._branch_input(state, frame)
            if frame.sub is None or frame.sub.get("done"):
                frame.sub = {"results": {}, "frames": {}, "failed": 0}
                self.emit(frame, "ParallelStateStarted")
            branches: list[Machine] = state.spec["branches"]
            try:
                outputs = await self._children(frame, branches, [data] * len(branches), 0, None)
            except StatesError:
                self.emit(frame, "ParallelStateFailed")
                frame.sub["done"] = True  # kept for a redrive; a retry starts afresh
                raise
            self.emit(frame, "ParallelStateSucceeded")
            frame.sub = None
            return outputs

        result = await self.with_retry(state, frame, attempt)
        return self.finish(state, frame, result, following)

    def _branch_input(self: Engine, state: State, frame: Frame) -> Any:
        if state.jsonata:
            if state.arguments is None:
                return frame.input
            return query.evaluate_top(
                state.arguments, self.states_var(frame, state), frame.variables.merged()
            )
        ctx = self.context(frame, state) if state.parameters is not None else None
        data = self.effective_input(state, frame, ctx)
        return state.parameters(data, ctx, frame.variables) if state.parameters else data

    # -- Map ------------------------------------------------------------------------------
    async def _map(self: Engine, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next
        if state.spec["distributed"] is not None and self.host.map_runs is not None:
            return await self._distributed_map(state, frame)

        async def attempt() -> list[Any]:
            inputs, limits = self._map_inputs(state, frame)
            if frame.sub is None or frame.sub.get("done"):
                frame.sub = {"results": {}, "frames": {}, "failed": 0}
                self.emit(frame, "MapStateStarted", {"length": len(inputs)})
            processor: Machine = state.spec["processor"]
            try:
                outputs = await self._children(frame, [processor] * len(inputs), inputs, *limits)
            except StatesError:
                self.emit(frame, "MapStateFailed")
                frame.sub["done"] = True  # kept for a redrive; a retry starts afresh
                raise
            self.emit(frame, "MapStateSucceeded")
            frame.sub = None
            return outputs

        result = await self.with_retry(state, frame, attempt)
        return self.finish(state, frame, result, following)

    def _map_inputs(self: Engine, state: State, frame: Frame) -> tuple[list[Any], tuple[int, Any]]:
        """The iterations' inputs, and (MaxConcurrency, tolerated failures).

        A DISTRIBUTED Map on a host without Map Runs (in memory) runs here too, inline, with
        its ItemBatcher applied; it cannot read items from S3.
        """
        spec = state.spec
        ctx = self.context(frame, state)
        source, variables = self._map_source(state, frame, ctx)
        distributed = spec["distributed"]
        if distributed is not None and distributed.reader is not None:
            raise StatesError(ITEM_READER, "An ItemReader needs a cloudlet server's S3")
        items = self._map_items(state, frame, ctx, source, variables)
        inputs = [
            self._item_input(state, frame, ctx, source, variables, i, item)
            for i, item in enumerate(items)
        ]
        if distributed is not None and distributed.batcher is not None:
            inputs = self._batched(distributed.batcher, inputs, source, variables, ctx)
        concurrency = self._concurrency(spec, source, variables, ctx)
        return inputs, (concurrency, self._tolerated(spec, source, variables, ctx, len(items)))

    def _map_source(self: Engine, state: State, frame: Frame, ctx: Any) -> tuple[Any, Any]:
        """What the Map's settings are evaluated on: (input or `$states`, variables)."""
        if state.jsonata:
            return self.states_var(frame, state, ctx), frame.variables.merged()
        return self.effective_input(state, frame, ctx), frame.variables

    def _map_items(
        self: Engine, state: State, frame: Frame, ctx: Any, source: Any, variables: Any
    ) -> list[Any]:
        """The items of ItemsPath (JSONPath) or Items (JSONata)."""
        spec = state.spec
        if state.jsonata:
            items = (
                query.evaluate_top(spec["items"], source, variables)
                if spec["items"]
                else frame.input
            )
        else:
            items = apply_filter(spec["items_path"], source, ctx, variables)
        if not isinstance(items, list):
            raise StatesError(RUNTIME, "Map state's items must be a JSON array")
        return items

    @staticmethod
    def _concurrency(spec: dict[str, Any], source: Any, variables: Any, ctx: Any) -> int:
        concurrency = (
            spec["max_concurrency"](source, variables, ctx) if spec["max_concurrency"] else 0
        )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
            raise StatesError(RUNTIME, "MaxConcurrency must be a non-negative integer")
        return concurrency

    def _item_input(
        self: Engine,
        state: State,
        frame: Frame,
        ctx: dict[str, Any],
        source: Any,
        variables: Any,
        index: int,
        item: Any,
    ) -> Any:
        selector = state.spec["selector"]
        if selector is None:
            return item
        item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
        if state.jsonata:
            states = {**source, "context": item_ctx}
            return query.evaluate_top(selector, states, variables)
        return selector(source, item_ctx, variables)

    @staticmethod
    def _tolerated(
        spec: dict[str, Any], source: Any, variables: Any, ctx: Any, total: int
    ) -> int | None:
        """How many failed iterations the Map accepts; None when it sets no tolerance."""
        count = spec["tolerated_count"](source, variables, ctx) if spec["tolerated_count"] else None
        percentage = (
            spec["tolerated_percentage"](source, variables, ctx)
            if spec["tolerated_percentage"]
            else None
        )
        if count is None and percentage is None:
            return None
        limits = []
        if count is not None:
            limits.append(int(count))
        if percentage is not None:
            limits.append(math.floor(total * float(percentage) / 100))
        return max(limits)

    # -- children -------------------------------------------------------------------------
    async def _children(
        self: Engine,
        frame: Frame,
        machines: list[Machine],
        inputs: list[Any],
        concurrency: int,
        tolerated: int | None,
    ) -> list[Any]:
        """Run one child frame per input (resuming those of a restored frame)."""
        sub = frame.sub
        assert sub is not None
        is_map = frame.current.type == "Map"
        results: dict[int, Any] = sub["results"]
        gate = asyncio.Semaphore(concurrency) if concurrency else None
        failure: list[StatesError] = []
        tasks: list[asyncio.Task[None]] = []
        ends: list[int | None] = []

        async def one(index: int) -> None:
            child = sub["frames"].get(index)
            async with gate if gate is not None else contextlib.nullcontext():
                if child is None:
                    child = frame.child(machines[index], index, inputs[index])
                    child.last_event = frame.last_event
                    if is_map:
                        child.last_event = self.emit(
                            child, "MapIterationStarted", {"name": frame.state, "index": index}
                        )
                    sub["frames"][index] = child
                try:
                    output = await self.run(child)
                except StatesError as error:
                    if is_map:
                        self.emit(
                            child, "MapIterationFailed", {"name": frame.state, "index": index}
                        )
                    self._child_failed(frame, index, error, tolerated, failure, results)
                    return
                except asyncio.CancelledError:
                    if is_map:
                        self.emit(
                            child, "MapIterationAborted", {"name": frame.state, "index": index}
                        )
                    raise
                if is_map:
                    self.emit(child, "MapIterationSucceeded", {"name": frame.state, "index": index})
                ends.append(child.anchor)
                results[index] = output
                del sub["frames"][index]
                await self.host.persist(frame)

        for index in range(len(inputs)):
            if index not in results:
                tasks.append(asyncio.ensure_future(one(index)))
        await _gather_or_fail(tasks, lambda: bool(failure))
        if frame.anchor is not None:  # the children's logical time moves the parent's on
            frame.anchor = None if None in ends else max([frame.anchor, *ends])  # type: ignore[list-item]
        if failure:
            raise failure[0]
        return [results[i] for i in range(len(inputs))]

    def _child_failed(
        self: Engine,
        frame: Frame,
        index: int,
        error: StatesError,
        tolerated: int | None,
        failure: list[StatesError],
        results: dict[int, Any],
    ) -> None:
        sub = frame.sub
        assert sub is not None
        sub["frames"].pop(index, None)
        sub["failed"] = sub.get("failed", 0) + 1
        if tolerated is not None and sub["failed"] <= tolerated:
            results[index] = error.output()
            return
        if not failure:
            if tolerated is not None:
                failure.append(
                    StatesError(
                        EXCEEDS_TOLERATED, "The specified tolerated failure threshold was exceeded"
                    )
                )
            else:
                failure.append(error if error.name else StatesError(BRANCH_FAILED, error.cause))


async def _gather_or_fail(tasks: list[asyncio.Task[None]], failed: Callable[[], bool]) -> None:
    """Wait for all tasks, cancelling the rest as soon as one failure is final."""
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            if failed():
                await _cancel_all(pending)
                return
    except BaseException:
        await _cancel_all(pending)
        raise


async def _cancel_all(pending: set[asyncio.Task[None]] | Awaitable[Any]) -> None:
    tasks = list(pending)  # type: ignore[arg-type]
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, StatesError):
            await task
