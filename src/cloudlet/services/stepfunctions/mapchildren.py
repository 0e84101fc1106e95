"""The child workflow executions of one Map Run: started in item order, at most MaxConcurrency
at a time, watched until they end, aborted when the failures exceed what the Map tolerates.

A child is named from its Map Run and its index (a name-based UUID, like the names AWS gives
children), so its ARN is known before it exists: a resumed Map Run looks each child up instead
of starting it again. STANDARD children are real executions in the store (their own history,
ListExecutions with the mapRunArn, DescribeExecution), started in one commit per scheduling
turn and resumed by the server on their own after a restart. EXPRESS children run in memory as
express executions do; their outcomes are recorded (`states.maprun.result`) as they end, and
one that was running when the server stopped runs again.

Failures count in items (a failed batch fails all its items): the Map Run fails once they
exceed ToleratedFailureCount or ToleratedFailurePercentage (when neither is set, the first
failure does). Running children are then aborted and the rest stay PENDING.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from cloudlet.services.stepfunctions.common import (
    EXECUTION,
    EXPRESS,
    MAP_RESULT,
    dumps,
    execution_arn,
)
from cloudlet.workflows.engine import iso
from cloudlet.workflows.frame import MapRunOutcome

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.mapruns import MapRunHost, Tracker
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider
    from cloudlet.services.stepfunctions.runner import Run

FAILURES = ("FAILED", "TIMED_OUT", "ABORTED")
#: children running at once when MaxConcurrency is 0 (or not set), as on AWS
MAX_CONCURRENCY = 10_000
_COUNTERS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")
_COUNTED = {
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timedOut",
    "ABORTED": "aborted",
}


def child_name(map_run_arn: str, index: int | str) -> str:
    return str(uuid.uuid3(uuid.NAMESPACE_URL, f"{map_run_arn}#{index}"))


def unsuccessful(provider: StepFunctionsProvider, doc: dict[str, Any], count: int) -> list[int]:
    """The children of a Map Run that did not succeed (or never started): a redrive's work."""
    store = provider.store
    out = []
    for index in range(count):
        if doc["executionType"] == EXPRESS:
            found = store.get(MAP_RESULT, f"{doc['arn']}#{index:09d}")
        else:
            name = child_name(doc["arn"], index)
            found = store.get(EXECUTION, execution_arn(doc["stateMachineArn"], name))
            found = found and {"Status": found["status"]}
        if found is None or found.get("Status") != "SUCCEEDED":
            out.append(index)
    return out


class Children:
    def __init__(
        self, host: MapRunHost, tracker: Tracker, plan: dict[str, Any], fresh: bool
    ) -> None:
        self.host = host
        self.provider = host.provider
        self.tracker = tracker
        self.doc = tracker.doc
        self.inputs: list[Any] = plan["inputs"]
        self.items: list[int] = plan["items"]
        self.express = self.doc["executionType"] == EXPRESS
        self.fresh = fresh
        self.records: dict[int, dict[str, Any]] = {}
        self.running: dict[int, Run] = {}
        self.pending: deque[int] = deque()
        self.ended: list[int] = []
        self.watchers: set[asyncio.Task[None]] = set()
        #: each child's counter: pending, running, succeeded, failed, timedOut or aborted
        self.where: dict[int, str] = {}
        #: items of the children that failed, timed out or were aborted
        self.failed_items = 0
        #: set when the loop ends: no child starts any more
        self.stopped = False
        #: a redriven Map Run's children that run again (and have not started yet)
        self.redriving: set[int] = set(self.doc.get("redriving") or ())

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> MapRunOutcome:
        self._recover()
        exceeded = False
        try:
            while True:
                exceeded = self._exceeded()
                if exceeded:
                    break
                await self._fill()
                if not self.running and not self.pending:
                    break
                await self.tracker.wake.wait()
                self.tracker.wake.clear()
                await self._collect()
            if exceeded:
                await self._abort_running()
        except asyncio.CancelledError:
            self.stopped = True
            if not self.host.quiet:
                await self._abort_running()
            raise
        finally:
            self.stopped = True
            for watcher in self.watchers:
                watcher.cancel()
        return MapRunOutcome([self._record_of(i) for i in range(len(self.inputs))], exceeded)

    def _exceeded(self) -> bool:
        failed = self.failed_items
        if not failed:
            return False
        doc = self.doc
        tolerance = doc.get("tolerance") or []
        total = self.doc["itemCounts"]["total"] or 1
        if not tolerance:
            return True
        over_count = "count" in tolerance and failed > doc["toleratedFailureCount"]
        over_percentage = (
            "percentage" in tolerance and failed * 100 / total > doc["toleratedFailurePercentage"]
        )
        return over_count or over_percentage

    # -- starting -------------------------------------------------------------------------
    def _recover(self) -> None:
        """Which children ended, run or wait (all wait in a fresh Map Run)."""
        store = self.provider.store
        for counts in (self.doc["executionCounts"], self.doc["itemCounts"]):
            counts.update(dict.fromkeys(_COUNTERS, 0))
            counts.update(total=0, pendingRedrive=0, failuresNotRedrivable=0)
        for weight in self.items:
            self.doc["executionCounts"]["total"] += 1
            self.doc["itemCounts"]["total"] += weight
        for index in range(len(self.inputs)):
            self._place(index, "pending")
            if self.fresh:
                self.pending.append(index)
                continue
            if index in self.redriving and self._waits_redrive(index):
                continue
            if self.express:
                found = store.get(MAP_RESULT, self._result_key(index))
                if found is None:
                    self.pending.append(index)
                else:
                    self._ended(index, found)
                continue
            doc = store.get(EXECUTION, self._arn(index))
            if doc is None:
                self.pending.append(index)
            elif doc["status"] == "RUNNING":
                self._watch(index, self.provider.adopt(doc))
            else:
                self._ended(index, self._record(doc))

    def _waits_redrive(self, index: int) -> bool:
        """True: the redrive runs this child again (it waits); False: it is taken as it is."""
        if not self.express:
            doc = self.provider.store.get(EXECUTION, self._arn(index))
            if doc is not None and doc["status"] == "RUNNING":
                self._redriven(index)
                return False
            if doc is not None and not (
                doc.get("snapshot") and self.provider.redrive_status(doc)[0] == "REDRIVABLE"
            ):
                self.doc["executionCounts"]["failuresNotRedrivable"] += 1
                self.doc["itemCounts"]["failuresNotRedrivable"] += self.items[index]
                self._redriven(index)
                return False
        self.pending.append(index)
        self._pending_redrive(index, 1)
        return True

    def _pending_redrive(self, index: int, sign: int) -> None:
        self.doc["executionCounts"]["pendingRedrive"] += sign
        self.doc["itemCounts"]["pendingRedrive"] += sign * self.items[index]

    def _redriven(self, index: int) -> None:
        """The child left the redrive's list (saved with the commit that restarted it)."""
        self.redriving.discard(index)
        self.doc["redriving"] = sorted(self.redriving)

    async def _fill(self) -> None:
        limit = self.doc.get("maxConcurrency") or MAX_CONCURRENCY
        room = limit - len(self.running)
        batch = [self.pending.popleft() for _ in range(max(0, min(room, len(self.pending))))]
        if not batch:
            return
        if self.express:
            for index in batch:
                if index in self.redriving:
                    self._pending_redrive(index, -1)
                doc = self._child_doc(index)
                self._watch(index, self.provider.spawn(doc, self.inputs[index], express=True))
        else:
            await self.host.app.commit(self._start, batch)
        await self.host.app.commit(self.host.save, self.tracker)

    def _start(self, batch: list[int]) -> None:
        """Write the children and their ExecutionStarted events (inside one commit).

        They are watched from here, not after the commit: the Map Run may be cancelled while
        it waits for the commit, and must still know (and abort) every child that started.
        """
        for index in batch:
            if self.stopped:  # cancelled before this commit ran: these never start
                self.pending.appendleft(index)
                continue
            if index in self.redriving:
                self._pending_redrive(index, -1)
                self._redriven(index)
                found = self.provider.store.get(EXECUTION, self._arn(index))
                if found is not None:  # the same execution, redriven
                    self._watch(index, self.provider.redrive_run(found))
                    continue
            run = self.provider.spawn(self._child_doc(index), self.inputs[index], express=False)
            run.host.write()
            self._watch(index, run)
        self.host.save(self.tracker)

    def _child_doc(self, index: int) -> dict[str, Any]:
        doc = self.doc
        name = child_name(doc["arn"], index)
        return {
            "arn": self._arn(index),
            "machineArn": doc["stateMachineArn"],
            "name": name,
            "status": "RUNNING",
            "type": doc["executionType"],
            "startDate": self.host.app.clock.now_ms(),
            "input": dumps(self.inputs[index]),
            "revisionId": doc["revisionId"],
            "roleArn": doc["roleArn"],
            "mapRunArn": doc["arn"],
            "mapState": doc["mapState"],
            "itemCount": self.items[index],
            "parentArn": doc["executionArn"],
        }

    def _arn(self, index: int) -> str:
        name = child_name(self.doc["arn"], index)
        if self.express:
            attempt = self.doc.get("redriveCount", 0)
            run = child_name(name, f"{index}/{attempt}" if attempt else index)
            return execution_arn(self.doc["stateMachineArn"], name, True, run)
        return execution_arn(self.doc["stateMachineArn"], name)

    def _result_key(self, index: int) -> str:
        return f"{self.doc['arn']}#{index:09d}"

    # -- watching -------------------------------------------------------------------------
    def _watch(self, index: int, run: Run) -> None:
        self.running[index] = run
        self._place(index, "running")

        async def watch() -> None:
            await run.done.wait()
            self.ended.append(index)
            self.tracker.wake.set()

        task = asyncio.ensure_future(watch())
        self.watchers.add(task)
        task.add_done_callback(self.watchers.discard)

    async def _collect(self) -> None:
        """Record the children that ended since the last turn."""
        ended, self.ended = self.ended, []
        results = []
        for index in ended:
            run = self.running.pop(index, None)
            if run is None:
                continue
            record = self._record(run.doc)
            self._ended(index, record)
            if self.express:
                results.append((self._result_key(index), record))
                self._redriven(index)
        await self.host.app.commit(self._save, results)

    def _save(self, results: list[tuple[str, dict[str, Any]]]) -> None:
        for key, record in results:
            self.provider.store.put(MAP_RESULT, key, record)
        self.host.save(self.tracker)

    async def _abort_running(self) -> None:
        """Stop the children still running; they end ABORTED."""
        runs = list(self.running.values())
        for run in runs:
            if run.task is not None and not run.task.done():
                run.stop_reason = {"status": "ABORTED", "error": None, "cause": None}
                run.task.cancel()
        for run in runs:
            with contextlib.suppress(asyncio.CancelledError):
                await run.done.wait()
        self.ended.extend(self.running)
        await self._collect()

    # -- records and counts ---------------------------------------------------------------
    def _record(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A child as AWS exports it (ResultWriter with Transformation NONE)."""
        status = doc["status"]
        record: dict[str, Any] = {
            "ExecutionArn": doc["arn"],
            "Input": doc["input"],
            "InputDetails": {"Included": True},
            "Name": doc["name"],
        }
        if status == "SUCCEEDED":
            record["Output"] = doc.get("output", "null")
            record["OutputDetails"] = {"Included": True}
        for key, name in (("error", "Error"), ("cause", "Cause")):
            if doc.get(key) is not None:
                record[name] = doc[key]
        redrive, reason = self.provider.redrive_status(doc)
        record.update(RedriveCount=doc.get("redriveCount", 0), RedriveStatus=redrive)
        if reason:
            record["RedriveStatusReason"] = reason
        record.update(
            StartDate=iso(doc["startDate"]),
            StateMachineArn=doc["machineArn"],
            Status=status,
        )
        if doc.get("stopDate"):
            record["StopDate"] = iso(doc["stopDate"])
        return record

    def _ended(self, index: int, record: dict[str, Any]) -> None:
        self.records[index] = record
        if record.get("Status") in FAILURES:
            self.failed_items += self.items[index]
        self._place(index, _COUNTED.get(record.get("Status", ""), "failed"))

    def _record_of(self, index: int) -> dict[str, Any]:
        found = self.records.get(index)
        if found is not None:
            return found
        return {
            "Input": dumps(self.inputs[index]),
            "InputDetails": {"Included": True},
            "Status": "PENDING",
        }

    def _place(self, index: int, key: str) -> None:
        """Move a child between DescribeMapRun's counters (executionCounts and itemCounts)."""
        before = self.where.get(index)
        if before == key:
            return
        runs, items = self.doc["executionCounts"], self.doc["itemCounts"]
        weight = self.items[index]
        if before is not None:
            runs[before] -= 1
            items[before] -= weight
        runs[key] += 1
        items[key] += weight
        self.where[index] = key
