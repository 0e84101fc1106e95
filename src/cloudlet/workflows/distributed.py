"""Distributed Map states: a Map Run whose children are workflow executions of their own.

The engine evaluates what the state's input decides (the ItemReader's parameters and
ReaderConfig, ItemsPath/Items, ItemSelector, ItemBatcher, MaxConcurrency, the tolerated
failures, the ResultWriter's destination) and shapes the result; the host's `MapRuns` do what
needs the world: create the Map Run, read S3, start and watch the child executions, write the
result files. The history is AWS's: MapStateStarted, MapRunStarted, then MapRunSucceeded,
MapRunFailed (with the error) or MapRunAborted, then MapStateSucceeded or MapStateFailed.

The frame keeps the Map Run's ARN (`frame.sub["mapRun"]`) from the moment MapRunStarted is
persisted, so a resumed execution finds its Map Run again instead of starting another: the
children already recorded are adopted, not run twice. A Retry starts a new Map Run, as on
AWS. A redrive of the parent redrives the Map Run (`frame.sub["redrive"]`): the same ARN,
MapRunRedriven in the history, and only the children that did not succeed run again; a Map
Run whose items were never read (its ItemReader failed) is started afresh instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from cloudlet.workflows.errors import EXCEEDS_TOLERATED, RUNTIME, StatesError
from cloudlet.workflows.frame import Frame, MapRunOutcome, MapRunRequest, MapRuns, ReaderRequest
from cloudlet.workflows.items import MAX_ITEMS, batches, limit
from cloudlet.workflows.mapresults import result_files, transform
from cloudlet.workflows.mapspec import BatcherSpec, DistributedSpec, ReaderSpec
from cloudlet.workflows.templates import PathFailure

if TYPE_CHECKING:
    from cloudlet.workflows.engine import Engine
    from cloudlet.workflows.states import State

EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"


class DistributedStates:
    async def _distributed_map(self: Engine, state: State, frame: Frame) -> tuple[Any, str | None]:
        following = None if state.end else state.next
        runs = self.host.map_runs
        assert runs is not None
        result = await self.with_retry(state, frame, lambda: self._map_run(state, frame, runs))
        return self.finish(state, frame, result, following)

    async def _map_run(self: Engine, state: State, frame: Frame, runs: MapRuns) -> Any:
        spec: DistributedSpec = state.spec["distributed"]
        ctx = self.context(frame, state)
        source, variables = self._map_source(state, frame, ctx)
        frame.anchor = None  # children take real time: the parent's events use the clock
        items: list[Any] | None = None
        if frame.sub is not None and frame.sub.get("redrive"):  # the parent was redriven
            arn = frame.sub["mapRun"]
            count = await runs.redrive(frame, arn)
            self.emit(frame, "MapRunRedriven", {"mapRunArn": arn, "redriveCount": count})
            frame.sub = {"results": {}, "frames": {}, "failed": 0, "mapRun": arn}
            await self.host.persist(frame)
        if frame.sub is None or frame.sub.get("done"):
            request = self._run_request(state, source, variables, ctx)
            if spec.reader is None:
                items = self._map_items(state, frame, ctx, source, variables)
            self.emit(frame, "MapStateStarted", {"length": len(items or [])})
            arn = await runs.open(frame, request)
            self.emit(frame, "MapRunStarted", {"mapRunArn": arn})
            frame.sub = {"results": {}, "frames": {}, "failed": 0, "mapRun": arn}
            await self.host.persist(frame)
        arn = frame.sub["mapRun"]
        try:
            try:
                outcome = await self._run_children(state, frame, runs, arn, items, ctx)
                result = await self._map_result(spec, frame, runs, arn, outcome, ctx)
            except PathFailure as failure:
                raise self.runtime(
                    frame, state, f"Invalid path '{failure.path}' : {failure.detail}"
                ) from None
            if outcome.exceeded:
                raise StatesError(EXCEEDS_TOLERATED, EXCEEDED_CAUSE)
        except StatesError as error:
            runs.close(frame, arn, "FAILED", error.name, error.cause)
            self.emit(frame, "MapRunFailed", {"error": error.name, "cause": error.cause})
            self.emit(frame, "MapStateFailed")
            frame.sub["done"] = True  # a retry starts a new Map Run (a redrive resets this)
            raise
        except asyncio.CancelledError:
            runs.close(frame, arn, "ABORTED")
            self.emit(frame, "MapRunAborted")
            raise
        except Exception:  # a bug of ours: the execution fails, and so does its Map Run
            runs.close(frame, arn, "FAILED", RUNTIME, "An internal error occurred")
            raise
        runs.close(frame, arn, "SUCCEEDED")
        self.emit(frame, "MapRunSucceeded")
        self.emit(frame, "MapStateSucceeded")
        frame.sub = None
        return result

    async def _run_children(
        self: Engine,
        state: State,
        frame: Frame,
        runs: MapRuns,
        arn: str,
        items: list[Any] | None,
        ctx: dict[str, Any],
    ) -> MapRunOutcome:
        if runs.planned(arn):  # resumed after the children's inputs were recorded
            return await runs.run(frame, arn, None, None)
        spec: DistributedSpec = state.spec["distributed"]
        source, variables = self._map_source(state, frame, ctx)
        if spec.reader is not None:
            request = self._reader_request(spec.reader, source, variables, ctx)
            items = await runs.read(frame, request)
        elif items is None:
            items = self._map_items(state, frame, ctx, source, variables)
        inputs = [
            self._item_input(state, frame, ctx, source, variables, i, item)
            for i, item in enumerate(items)
        ]
        if spec.batcher is None:
            return await runs.run(frame, arn, inputs, [1] * len(inputs))
        grouped = self._batched(spec.batcher, inputs, source, variables, ctx)
        return await runs.run(frame, arn, grouped, [len(b["Items"]) for b in grouped])

    async def _map_result(
        self: Engine,
        spec: DistributedSpec,
        frame: Frame,
        runs: MapRuns,
        arn: str,
        outcome: MapRunOutcome,
        ctx: dict[str, Any],
    ) -> Any:
        """The state's result: the children's outputs, or where the ResultWriter put them."""
        writer = spec.writer
        if writer is None or writer.parameters is None:
            if outcome.exceeded:
                return None
            return transform(outcome.records, writer.transformation if writer else "COMPACT")
        state = frame.current
        source, variables = self._map_source(state, frame, ctx)
        parameters = writer.parameters(source, variables, ctx)
        if not isinstance(parameters, dict) or not isinstance(parameters.get("Bucket"), str):
            raise StatesError(RUNTIME, "The ResultWriter's parameters must name a Bucket")
        files = result_files(outcome.records, writer.transformation, writer.output_type)
        details = await runs.write(frame, arn, parameters, files)
        return {"MapRunArn": arn, "ResultWriterDetails": details}

    # -- settings evaluated from the input ------------------------------------------------
    def _run_request(
        self: Engine, state: State, source: Any, variables: Any, ctx: dict[str, Any]
    ) -> MapRunRequest:
        spec = state.spec
        count = spec["tolerated_count"](source, variables, ctx) if spec["tolerated_count"] else 0
        percentage = (
            spec["tolerated_percentage"](source, variables, ctx)
            if spec["tolerated_percentage"]
            else 0
        )
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise StatesError(RUNTIME, "ToleratedFailureCount must be a non-negative integer")
        if (
            isinstance(percentage, bool)
            or not isinstance(percentage, int | float)
            or not 0 <= percentage <= 100
        ):
            raise StatesError(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100")
        distributed: DistributedSpec = spec["distributed"]
        return MapRunRequest(
            state_name=state.name,
            label=distributed.label,
            execution_type=distributed.execution_type,
            max_concurrency=self._concurrency(spec, source, variables, ctx),
            tolerated_count=count,
            tolerated_percentage=float(percentage),
        )

    @staticmethod
    def _reader_request(
        reader: ReaderSpec, source: Any, variables: Any, ctx: dict[str, Any]
    ) -> ReaderRequest:
        parameters = reader.parameters(source, variables, ctx) if reader.parameters else {}
        config = reader.config(source, variables, ctx)
        if not isinstance(parameters, dict) or not isinstance(config, dict):
            raise StatesError(RUNTIME, "The ItemReader's parameters must be a JSON object")
        max_items = limit(
            reader.max_items(source, variables, ctx) if reader.max_items else None, "MaxItems"
        )
        if max_items is not None and max_items > MAX_ITEMS:
            max_items = MAX_ITEMS
        return ReaderRequest(reader.action, parameters, config, max_items or None)

    @staticmethod
    def _batched(
        batcher: BatcherSpec, inputs: list[Any], source: Any, variables: Any, ctx: Any
    ) -> list[dict[str, Any]]:
        max_items = limit(
            batcher.max_items(source, variables, ctx) if batcher.max_items else None,
            "MaxItemsPerBatch",
        )
        max_bytes = limit(
            batcher.max_bytes(source, variables, ctx) if batcher.max_bytes else None,
            "MaxInputBytesPerBatch",
        )
        batch_input = batcher.batch_input(source, variables, ctx) if batcher.batch_input else None
        return batches(inputs, max_items, max_bytes, batch_input)
