"""Executions: start (standard, express, synchronous), describe, list, stop, history, redrive.

A standard execution's document is written in the same commit as its ExecutionStarted event,
before StartExecution answers; its run starts right after that commit, and every transition
after it is persisted by `runner.StandardHost`. Outcomes (ExecutionSucceeded / Failed /
Aborted / TimedOut) are stored with the final event in one commit; the snapshot of a failed
execution is kept, so RedriveExecution continues from the states that did not succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.stepfunctions import history
from cloudlet.services.stepfunctions.common import (
    EXECUTION,
    EXPRESS,
    MAP_PLAN,
    check_arn,
    check_name,
    dumps,
    execution_arn,
    execution_missing,
    page,
    parse_input,
    seconds,
    split_machine_arn,
)
from cloudlet.services.stepfunctions.runner import Run, engine_for
from cloudlet.workflows.engine import start_frame
from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.frame import Frame

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider

log = logging.getLogger("cloudlet.stepfunctions")
REDRIVE_WINDOW_MS = 14 * 24 * 3600 * 1000
_FINAL_EVENT = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "ABORTED": "ExecutionAborted",
    "TIMED_OUT": "ExecutionTimedOut",
}


class ExecutionOperations:
    # -- starting -------------------------------------------------------------------------
    def _new_doc(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any], express: bool
    ) -> tuple[dict[str, Any], Any]:
        machine, revision_id, version_arn, alias_arn = self.resolve(params["stateMachineArn"])
        if (machine["type"] == EXPRESS) != express:
            return machine, None
        name = params.get("name") or ids.uuid4()
        check_name(name)
        data = parse_input(params.get("input"))
        revision = self.revision(revision_id)
        doc = {
            "arn": execution_arn(machine["arn"], name, express, ids.uuid4()),
            "machineArn": machine["arn"],
            "name": name,
            "status": "RUNNING",
            "type": machine["type"],
            "startDate": self.clock.now_ms(),
            "input": params.get("input") or "{}",
            "revisionId": revision_id,
            "roleArn": revision["roleArn"],
        }
        for key, value in (
            ("versionArn", version_arn),
            ("aliasArn", alias_arn),
            ("traceHeader", params.get("traceHeader")),
        ):
            if value:
                doc[key] = value
        return doc, data

    def _started(self: StepFunctionsProvider, run: Run, data: Any) -> None:
        details: dict[str, Any] = {"input": data, "roleArn": run.doc["roleArn"]}
        if run.doc.get("aliasArn"):
            details["stateMachineAliasArn"] = run.doc["aliasArn"]
        if run.doc.get("versionArn"):
            details["stateMachineVersionArn"] = run.doc["versionArn"]
        run.record(None, "ExecutionStarted", details, run.doc["startDate"])

    @committed
    def start_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        express = self.resolve(params["stateMachineArn"])[0]["type"] == EXPRESS
        doc, data = self._new_doc(ctx, params, express)
        if express:
            run = self._spawn(doc, data, express=True)
            return {"executionArn": run.arn, "startDate": seconds(doc["startDate"])}
        existing = self.store.get(EXECUTION, doc["arn"])
        if existing is not None:
            if existing["status"] == "RUNNING" and existing["input"] == doc["input"]:
                return {
                    "executionArn": existing["arn"],
                    "startDate": seconds(existing["startDate"]),
                }
            raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{doc['arn']}'")
        run = self._spawn(doc, data, express=False)
        run.host.write()  # in this request's commit: answered only once it is durable
        return {"executionArn": run.arn, "startDate": seconds(doc["startDate"])}

    def _spawn(
        self: StepFunctionsProvider,
        doc: dict[str, Any],
        data: Any,
        express: bool,
        frame: Frame | None = None,
    ) -> Run:
        run = Run(self, doc, self.machine_for(doc))
        run.engine, run.host = engine_for(run, express)
        if frame is None:
            self._started(run, data)
            frame = start_frame(run.machine, data)
            frame.last_event = run.next_id - 1
            run.host._dirty = True
            run.announce = True
        run.frame = frame
        self.runs[run.arn] = run
        run.task = asyncio.get_running_loop().create_task(self._drive(run, express))
        return run

    def spawn(self: StepFunctionsProvider, doc: dict[str, Any], data: Any, express: bool) -> Run:
        """Start an execution whose document is ready (a distributed Map's child)."""
        return self._spawn(doc, data, express)

    def adopt(self: StepFunctionsProvider, doc: dict[str, Any]) -> Run:
        """The run of a RUNNING standard execution: live, or resumed from its snapshot."""
        run = self.runs.get(doc["arn"])
        if run is not None:
            return run
        frame = Frame.restore(doc["snapshot"], self.machine_for(doc))
        return self._spawn(dict(doc), orjson.loads(doc["input"]), express=False, frame=frame)

    async def start_sync_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc, data = self._new_doc(ctx, params, express=True)
        if data is None:
            raise AwsError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        run = self._spawn(doc, data, express=True)
        await run.done.wait()
        out = self.summary(run.doc)
        out["billingDetails"] = {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(
                100, (doc["stopDate"] - doc["startDate"] + 99) // 100 * 100
            ),
        }
        return out

    # -- running --------------------------------------------------------------------------
    async def _drive(self: StepFunctionsProvider, run: Run, express: bool) -> None:
        if run.announce:  # started or redriven: the commit that said so is done
            self.observe.status_changed(run)
        watchdog = self._watchdog(run)
        try:
            output = await run.engine.run(run.frame)
            outcome: tuple[str, Any, str | None, str | None] = ("SUCCEEDED", output, None, None)
        except StatesError as error:
            outcome = ("FAILED", None, error.name, error.cause)
        except asyncio.CancelledError:
            if run.stop_reason is None:  # the server is stopping: resume after the restart
                raise
            reason = run.stop_reason
            outcome = (reason["status"], None, reason.get("error"), reason.get("cause"))
        except Exception:
            log.exception("execution %s failed in cloudlet", run.arn)
            outcome = ("FAILED", None, "States.Runtime", "An internal error occurred in cloudlet")
        finally:
            if watchdog is not None:
                watchdog.cancel()
        try:
            if express:
                self._finish(run, *outcome)
            else:
                await self.app.commit(self._finish, run, *outcome)
        finally:
            self.runs.pop(run.arn, None)
            run.done.set()
        self.observe.status_changed(run)

    def _watchdog(self: StepFunctionsProvider, run: Run) -> asyncio.Task[None] | None:
        limit = run.machine.timeout_seconds
        if not limit:
            return None
        due = run.doc["startDate"] + limit * 1000

        async def watch() -> None:
            assert run.frame is not None
            await run.host.sleep_until(run.frame, due, "execution-timeout")
            if run.task is not None and not run.task.done():
                run.stop_reason = {"status": "TIMED_OUT", "error": "States.Timeout", "cause": ""}
                run.task.cancel()

        return asyncio.get_running_loop().create_task(watch())

    def _finish(
        self: StepFunctionsProvider,
        run: Run,
        status: str,
        output: Any,
        error: str | None,
        cause: str | None,
    ) -> None:
        anchor = run.frame.anchor if run.frame is not None and status == "SUCCEEDED" else None
        now = anchor if anchor is not None else self.clock.now_ms()
        details: dict[str, Any] = {"output": output} if status == "SUCCEEDED" else {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        run.record(run.frame, _FINAL_EVENT[status], details, now)
        doc = run.doc
        if status != "SUCCEEDED" and run.frame is not None:
            doc["snapshot"] = run.frame.snapshot()
        else:
            doc.pop("snapshot", None)
        doc.update(status=status, stopDate=now)
        for key, value in (
            ("output", dumps(output) if status == "SUCCEEDED" else None),
            ("error", error),
            ("cause", cause),
        ):
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        if doc["type"] != EXPRESS:
            run.host._dirty = True
            run.host.write()
        else:
            self.observe.flush(run)

    # -- reading --------------------------------------------------------------------------
    def _execution(self: StepFunctionsProvider, arn: str) -> dict[str, Any]:
        check_arn(arn, "execution")
        doc = self.store.get(EXECUTION, arn)
        if doc is None:
            run = self.runs.get(arn)
            if run is None:
                raise execution_missing(arn)
            doc = run.doc
        return doc

    def summary(self: StepFunctionsProvider, doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "executionArn": doc["arn"],
            "stateMachineArn": doc["machineArn"],
            "name": doc["name"],
            "status": doc["status"],
            "startDate": seconds(doc["startDate"]),
            "input": doc["input"],
            "inputDetails": {"included": True},
        }
        if doc.get("stopDate"):
            out["stopDate"] = seconds(doc["stopDate"])
        if "output" in doc:
            out["output"] = doc["output"]
            out["outputDetails"] = {"included": True}
        for key in ("error", "cause", "traceHeader"):
            if doc.get(key) is not None:
                out[key] = doc[key]
        return out

    def describe_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._execution(params["executionArn"])
        out = self.summary(doc)
        if doc.get("mapRunArn"):
            out["mapRunArn"] = doc["mapRunArn"]
        if doc.get("versionArn"):
            out["stateMachineVersionArn"] = doc["versionArn"]
        if doc.get("aliasArn"):
            out["stateMachineAliasArn"] = doc["aliasArn"]
        out["redriveCount"] = doc.get("redriveCount", 0)
        if doc.get("redriveDate"):
            out["redriveDate"] = seconds(doc["redriveDate"])
        status, reason = self._redrivable(doc)
        out["redriveStatus"] = status
        if reason:
            out["redriveStatusReason"] = reason
        return out

    def redrive_status(self: StepFunctionsProvider, doc: dict[str, Any]) -> tuple[str, str | None]:
        """(redriveStatus, redriveStatusReason) of an execution document."""
        return self._redrivable(doc)

    def _redrivable(self: StepFunctionsProvider, doc: dict[str, Any]) -> tuple[str, str | None]:
        if doc["status"] == "RUNNING":
            return "NOT_REDRIVABLE", "Execution is RUNNING and cannot be redriven"
        if doc["status"] == "SUCCEEDED":
            return "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
        if doc["type"] == EXPRESS:
            return "NOT_REDRIVABLE", "Express executions cannot be redriven"
        if self.clock.now_ms() - doc["stopDate"] > REDRIVE_WINDOW_MS:
            return (
                "NOT_REDRIVABLE",
                "Execution can only be redriven within 14 days of its stop date",
            )
        return "REDRIVABLE", None

    def describe_state_machine_for_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._execution(params["executionArn"])
        revision = self.revision(doc["revisionId"])
        out = {
            "stateMachineArn": doc.get("versionArn") or doc["machineArn"],
            "name": doc["machineArn"].split(":")[6],
            "definition": revision["definition"],
            "roleArn": revision["roleArn"],
            "updateDate": seconds(revision["updateDate"]),
            "loggingConfiguration": revision["logging"],
            "tracingConfiguration": revision["tracing"],
            "revisionId": doc["revisionId"],
        }
        if doc.get("mapRunArn"):  # a distributed Map's child runs the Map's processor
            out["definition"] = dumps(self.machine_for(doc).raw)
            out["mapRunArn"] = doc["mapRunArn"]
            out["label"] = doc["machineArn"].rsplit("/", 1)[-1]
        return out

    def list_executions(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params.get("stateMachineArn")
        if arn and params.get("mapRunArn"):
            raise AwsError(
                "ValidationException", "Must provide only one of StateMachine ARN or MapRun ARN"
            )
        if params.get("mapRunArn"):
            return self._map_run_executions(params)
        if not arn:
            raise AwsError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
        base, qualifier = split_machine_arn(arn)
        machine = self.machine_doc(base)
        if machine["type"] == EXPRESS:
            raise AwsError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        wanted = params.get("statusFilter")
        redrive = params.get("redriveFilter")
        prefix = execution_arn(base, "")
        items = []
        for _, doc in self.store.scan(EXECUTION, prefix):
            if wanted and doc["status"] != wanted:
                continue
            if qualifier and arn not in (doc.get("versionArn"), doc.get("aliasArn")):
                continue
            if redrive and (redrive == "REDRIVEN") != bool(doc.get("redriveCount")):
                continue
            items.append(doc)
        return self._executions_page(items, params)

    def _executions_page(
        self: StepFunctionsProvider, items: list[dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        items.sort(key=lambda d: (-d["startDate"], d["name"]))
        found, following = page(items, params)
        out: dict[str, Any] = {"executions": [self._list_item(d) for d in found]}
        if following:
            out["nextToken"] = following
        return out

    @staticmethod
    def _list_item(doc: dict[str, Any]) -> dict[str, Any]:
        item = {
            "executionArn": doc["arn"],
            "stateMachineArn": doc["machineArn"],
            "name": doc["name"],
            "status": doc["status"],
            "startDate": seconds(doc["startDate"]),
        }
        if doc.get("stopDate"):
            item["stopDate"] = seconds(doc["stopDate"])
        for key, name in (
            ("versionArn", "stateMachineVersionArn"),
            ("aliasArn", "stateMachineAliasArn"),
        ):
            if doc.get(key):
                item[name] = doc[key]
        if doc.get("redriveCount"):
            item["redriveCount"] = doc["redriveCount"]
            item["redriveDate"] = seconds(doc["redriveDate"])
        if doc.get("mapRunArn"):
            item["mapRunArn"] = doc["mapRunArn"]
            item["itemCount"] = doc.get("itemCount", 1)
        return item

    def get_execution_history(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._execution(params["executionArn"])
        events = history.read_all(self.store, doc["arn"])
        run = self.runs.get(doc["arn"])
        if run is not None and run.events:
            known = {e["id"] for e in events}
            events.extend(e for e in run.events if e["id"] not in known)
        if params.get("reverseOrder"):
            events.reverse()
        if params.get("includeExecutionData") is False:
            events = [history.strip_data(e) for e in events]
        found, following = page(events, params, default=1000)
        out: dict[str, Any] = {"events": found}
        if following:
            out["nextToken"] = following
        return out

    # -- stopping and redriving ------------------------------------------------------------
    async def stop_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["executionArn"]
        doc = self._execution(arn)
        run = self.runs.get(arn)
        if doc["status"] != "RUNNING" or run is None or run.task is None:
            return {"stopDate": seconds(doc.get("stopDate") or self.clock.now_ms())}
        run.stop_reason = {
            "status": "ABORTED",
            "error": params.get("error"),
            "cause": params.get("cause"),
        }
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run.done.wait()
        return {"stopDate": seconds(run.doc["stopDate"])}

    @committed
    def redrive_execution(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["executionArn"]
        doc = self._execution(arn)
        status, reason = self._redrivable(doc)
        if status != "REDRIVABLE" or not doc.get("snapshot"):
            raise AwsError(
                "ExecutionNotRedrivable",
                f"Execution with ARN '{arn}' cannot be redriven: {reason or 'no state to resume'}",
            )
        run = self.redrive_run(doc)
        return {"redriveDate": run.doc["redriveDate"] / 1000}

    def redrive_run(self: StepFunctionsProvider, doc: dict[str, Any]) -> Run:
        """Redrive a redrivable execution (inside a commit): its run, started again."""
        doc = dict(doc)
        now = self.clock.now_ms()
        doc["redriveCount"] = doc.get("redriveCount", 0) + 1
        doc["redriveDate"] = now
        doc["status"] = "RUNNING"
        for key in ("stopDate", "error", "cause", "output"):
            doc.pop(key, None)
        machine = self.machine_for(doc)
        planned = self.store.get
        snapshot = reset_for_redrive(
            doc["snapshot"], lambda arn: planned(MAP_PLAN, arn) is not None
        )
        frame = Frame.restore(snapshot, machine)
        run = Run(self, doc, machine)
        run.engine, run.host = engine_for(run, False)
        run.record(None, "ExecutionRedriven", {"redriveCount": doc["redriveCount"]}, now)
        frame.last_event = run.next_id - 1
        run.frame = frame
        self.runs[doc["arn"]] = run
        run.host._dirty = True
        run.host.write()
        run.announce = True
        run.task = asyncio.get_running_loop().create_task(self._drive(run, False))
        return run

    # -- restart --------------------------------------------------------------------------
    def resume(self: StepFunctionsProvider) -> None:
        """After a restart: every standard execution still RUNNING continues where it was."""
        for arn, doc in self.store.scan(EXECUTION):
            if doc["status"] != "RUNNING" or arn in self.runs or not doc.get("snapshot"):
                continue
            try:
                machine = self.machine_for(doc)
                frame = Frame.restore(doc["snapshot"], machine)
            except Exception:
                log.exception("cannot resume execution %s", arn)
                continue
            self._spawn(dict(doc), orjson.loads(doc["input"]), express=False, frame=frame)


def reset_for_redrive(
    snapshot: dict[str, Any], planned: Callable[[str], bool] = lambda arn: False
) -> dict[str, Any]:
    """The snapshot of a failed execution, with the failed states set to be entered again.

    A distributed Map whose children were planned (`planned(mapRunArn)`) redrives its Map Run;
    one whose items were never read starts a new Map Run.
    """
    out = dict(snapshot)
    for key in ("p", "tk", "tc", "d", "r"):
        out.pop(key, None)
    sub = out.get("sub")
    if sub is not None and "mapRun" in sub:
        if planned(sub["mapRun"]):
            out["sub"] = {**sub, "done": False, "redrive": True}
        else:
            out.pop("sub")
    elif sub is not None:
        out["sub"] = {
            **sub,
            "done": False,
            "frames": {k: reset_for_redrive(f, planned) for k, f in sub["frames"].items()},
        }
    return out
