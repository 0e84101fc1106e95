"""Map Runs: the host side of distributed Maps (`workflows.frame.MapRuns` for one execution).

A Map Run is a document (`states.maprun`, keyed by its ARN) with the settings the Map state
evaluated, its status and the counts DescribeMapRun reports. While it runs in this process a
`Tracker` holds the live document and wakes its scheduler (a child ended, UpdateMapRun changed
the concurrency or the tolerance); DescribeMapRun reads the live document when there is one.

Durability follows the parent execution's: the Map Run document is written with the
MapRunStarted event; the children's inputs (`states.maprun.plan`) are recorded before the first
child starts, so a resumed parent never reads its items again and never starts a child twice
(children are named from the Map Run and their index, see `mapchildren`). When the server
stops, nothing is closed: the Map Run stays RUNNING and the resumed parent picks it up.

A redriven parent redrives its Map Run: the document is RUNNING again with its redriveCount
and redriveDate, and lists the children that did not succeed (`redriving`); each leaves the
list in the commit that redrives (STANDARD) or restarts (EXPRESS) it, so a restart in the
middle of a redrive neither skips one nor runs one twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.services.stepfunctions import s3io
from cloudlet.services.stepfunctions.common import MAP_PLAN, MAP_RUN, map_run_arn
from cloudlet.workflows.frame import Frame, MapRunOutcome, MapRunRequest, ReaderRequest

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider
    from cloudlet.services.stepfunctions.runner import Run

log = logging.getLogger("cloudlet.stepfunctions")
COUNT_FIELDS = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "timedOut",
    "aborted",
    "total",
    "resultsWritten",
    "failuresNotRedrivable",
    "pendingRedrive",
)


def zero_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


class Tracker:
    """A Map Run running in this process: its live document and its scheduler's wake-up."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.wake = asyncio.Event()
        #: True once a ResultWriter exported the results (they count as written even on failure)
        self.written = False

    def update(self, changes: dict[str, Any]) -> None:
        """UpdateMapRun: new settings take effect at the scheduler's next turn."""
        self.doc.update(changes)
        self.wake.set()


class MapRunHost:
    """The Map Runs of one execution (standard or express)."""

    def __init__(self, run: Run) -> None:
        #: the execution whose Map states these are
        self.owner = run
        self.provider: StepFunctionsProvider = run.provider
        self.app = run.provider.app

    @property
    def quiet(self) -> bool:
        """The server stops (or wipes its state): leave every durable thing as it is."""
        return self.provider.closing or self.owner.halted

    # -- MapRuns --------------------------------------------------------------------------
    async def open(self, frame: Frame, request: MapRunRequest) -> str:
        doc = self.owner.doc
        label = request.label or ids.uuid4()[:8]
        arn = map_run_arn(doc["machineArn"], label, ids.uuid4())
        now = self.app.clock.now_ms()
        tolerance = []
        if request.tolerated_count:
            tolerance.append("count")
        if request.tolerated_percentage:
            tolerance.append("percentage")
        record = {
            "arn": arn,
            "executionArn": self.owner.arn,
            "machineArn": doc["machineArn"],
            "stateMachineArn": f"{doc['machineArn']}/{label}",
            "label": label,
            "mapState": request.state_name,
            "revisionId": doc["revisionId"],
            "roleArn": doc["roleArn"],
            "executionType": request.execution_type,
            "status": "RUNNING",
            "startDate": now,
            "eventId": self.owner.next_id,  # orders the Map Runs of one execution
            "maxConcurrency": request.max_concurrency,
            "toleratedFailureCount": request.tolerated_count,
            "toleratedFailurePercentage": request.tolerated_percentage,
            "tolerance": tolerance,
            "executionCounts": zero_counts(),
            "itemCounts": zero_counts(),
        }
        self.provider.map_runs[arn] = Tracker(record)
        self.owner.host.stage(MAP_RUN, arn, record)
        return arn

    def planned(self, arn: str) -> bool:
        return self.provider.store.get(MAP_PLAN, arn) is not None

    async def redrive(self, frame: Frame, arn: str) -> int:
        from cloudlet.services.stepfunctions.mapchildren import unsuccessful

        tracker = self.tracker(arn)
        doc = tracker.doc
        plan = self.provider.store.get(MAP_PLAN, arn) or {"inputs": [], "items": []}
        doc["redriveCount"] = doc.get("redriveCount", 0) + 1
        doc["redriveDate"] = self.app.clock.now_ms()
        doc["status"] = "RUNNING"
        for key in ("stopDate", "error", "cause"):
            doc.pop(key, None)
        #: the children to run again: they leave this list in the commit that restarts them
        doc["redriving"] = unsuccessful(self.provider, doc, len(plan["inputs"]))
        tracker.written = False
        self.owner.host.stage(MAP_RUN, arn, doc)
        return int(doc["redriveCount"])

    async def read(self, frame: Frame, request: ReaderRequest) -> list[Any]:
        return await s3io.read_items(self.provider.integrations, self.owner, request)

    async def run(
        self, frame: Frame, arn: str, inputs: list[Any] | None, item_counts: list[int] | None
    ) -> MapRunOutcome:
        from cloudlet.services.stepfunctions.mapchildren import Children

        tracker = self.tracker(arn)
        if inputs is not None and item_counts is not None:
            plan = {"inputs": inputs, "items": item_counts}
            await self.app.commit(self._record_plan, tracker, plan)
            fresh = True
        else:
            plan = self.provider.store.get(MAP_PLAN, arn) or {"inputs": [], "items": []}
            fresh = False
        return await Children(self, tracker, plan, fresh).run()

    async def write(
        self, frame: Frame, arn: str, parameters: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        details = await s3io.write_results(
            self.provider.integrations, self.owner, arn, parameters, files
        )
        self.tracker(arn).written = True
        return details

    def close(self, frame: Frame, arn: str, status: str, error: str = "", cause: str = "") -> None:
        if self.quiet:
            return
        tracker = self.tracker(arn)
        doc = tracker.doc
        doc.update(status=status, stopDate=self.app.clock.now_ms())
        if status == "SUCCEEDED" or tracker.written:
            for counts in (doc["executionCounts"], doc["itemCounts"]):
                counts["resultsWritten"] = counts["total"] - counts["pending"] - counts["running"]
        self.owner.host.stage(MAP_RUN, arn, doc)
        self.provider.map_runs.pop(arn, None)

    # -- documents ------------------------------------------------------------------------
    def tracker(self, arn: str) -> Tracker:
        """The live Map Run, loaded from the store when a resumed parent picks it up again."""
        tracker = self.provider.map_runs.get(arn)
        if tracker is None:
            doc = self.provider.store.get(MAP_RUN, arn)
            if doc is None:  # its MapRunStarted was persisted, so it was too: a wiped store
                raise RuntimeError(f"the Map Run {arn} is gone")
            tracker = self.provider.map_runs[arn] = Tracker(doc)
        return tracker

    def _record_plan(self, tracker: Tracker, plan: dict[str, Any]) -> None:
        doc = tracker.doc
        total, items = len(plan["inputs"]), sum(plan["items"])
        doc["executionCounts"].update(total=total, pending=total)
        doc["itemCounts"].update(total=items, pending=items)
        self.provider.store.put(MAP_PLAN, doc["arn"], plan)
        self.provider.store.put(MAP_RUN, doc["arn"], dict(doc))

    def save(self, tracker: Tracker) -> None:
        """Store the live document (inside a commit)."""
        self.provider.store.put(MAP_RUN, tracker.doc["arn"], dict(tracker.doc))
