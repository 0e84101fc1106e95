"""The Map Run API: DescribeMapRun, ListMapRuns, UpdateMapRun and ListExecutions by mapRunArn.

A Map Run running in this process answers from its live document (counts move as children
start and end); a finished one, or one of an execution that waits for the server to resume it,
from the store. UpdateMapRun changes MaxConcurrency and the tolerated failures of a running
Map Run: its scheduler starts more children, or fails the run, at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.services import RequestContext, committed
from cloudlet.services.stepfunctions.common import (
    EXECUTION,
    MAP_RUN,
    check_arn,
    execution_arn,
    page,
    resource_missing,
    seconds,
    validation,
)

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider


class MapRunOperations:
    def _map_run(self: StepFunctionsProvider, arn: str) -> dict[str, Any]:
        check_arn(arn, "mapRun")
        tracker = self.map_runs.get(arn)
        if tracker is not None:
            return tracker.doc
        doc = self.store.get(MAP_RUN, arn)
        if doc is None:
            raise resource_missing(arn)
        return doc

    def describe_map_run(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._map_run(params["mapRunArn"])
        out: dict[str, Any] = {
            "mapRunArn": doc["arn"],
            "executionArn": doc["executionArn"],
            "status": doc["status"],
            "startDate": seconds(doc["startDate"]),
            "maxConcurrency": doc["maxConcurrency"],
            "toleratedFailurePercentage": float(doc["toleratedFailurePercentage"]),
            "toleratedFailureCount": doc["toleratedFailureCount"],
            "itemCounts": dict(doc["itemCounts"]),
            "executionCounts": dict(doc["executionCounts"]),
            "redriveCount": doc.get("redriveCount", 0),
        }
        if doc.get("stopDate"):
            out["stopDate"] = seconds(doc["stopDate"])
        if doc.get("redriveDate"):
            out["redriveDate"] = seconds(doc["redriveDate"])
        return out

    def list_map_runs(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        execution = self._execution(params["executionArn"])
        parts = execution["machineArn"].split(":")
        prefix = f"arn:aws:states:{parts[3]}:{parts[4]}:mapRun:{parts[6]}/"
        runs = [
            self.map_runs[arn].doc if arn in self.map_runs else doc
            for arn, doc in self.store.scan(MAP_RUN, prefix)
            if doc["executionArn"] == execution["arn"]
        ]
        known = {doc["arn"] for doc in runs}
        runs.extend(  # opened, not yet stored with the execution's next persist
            t.doc
            for t in self.map_runs.values()
            if t.doc["executionArn"] == execution["arn"] and t.doc["arn"] not in known
        )
        runs.sort(key=lambda d: (d["startDate"], d.get("eventId", 0)))
        found, following = page(runs, params)
        out: dict[str, Any] = {"mapRuns": [_list_item(doc) for doc in found]}
        if following:
            out["nextToken"] = following
        return out

    @committed
    def update_map_run(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._map_run(params["mapRunArn"])
        changes: dict[str, Any] = {}
        tolerance = list(doc.get("tolerance") or [])
        if params.get("maxConcurrency") is not None:
            changes["maxConcurrency"] = params["maxConcurrency"]
        if params.get("toleratedFailureCount") is not None:
            changes["toleratedFailureCount"] = params["toleratedFailureCount"]
            tolerance.append("count")
        if params.get("toleratedFailurePercentage") is not None:
            changes["toleratedFailurePercentage"] = float(params["toleratedFailurePercentage"])
            tolerance.append("percentage")
        if not changes:
            raise validation(
                "At least one of the parameters maxConcurrency, toleratedFailurePercentage "
                "or toleratedFailureCount must be provided"
            )
        changes["tolerance"] = sorted(set(tolerance))
        tracker = self.map_runs.get(doc["arn"])
        if tracker is not None:
            tracker.update(changes)
            doc = tracker.doc
        else:
            doc = {**doc, **changes}
        self.store.put(MAP_RUN, doc["arn"], dict(doc))
        return {}

    def _map_run_executions(self: StepFunctionsProvider, params: dict[str, Any]) -> dict[str, Any]:
        """ListExecutions(mapRunArn): the Map Run's STANDARD child executions."""
        doc = self._map_run(params["mapRunArn"])
        prefix = execution_arn(doc["stateMachineArn"], "")
        wanted = params.get("statusFilter")
        redrive = params.get("redriveFilter")
        items = []
        for _, child in self.store.scan(EXECUTION, prefix):
            if child.get("mapRunArn") != doc["arn"]:
                continue
            if wanted and child["status"] != wanted:
                continue
            if redrive and (redrive == "REDRIVEN") != bool(child.get("redriveCount")):
                continue
            items.append(child)
        return self._executions_page(items, params)


def _list_item(doc: dict[str, Any]) -> dict[str, Any]:
    item = {
        "executionArn": doc["executionArn"],
        "mapRunArn": doc["arn"],
        "stateMachineArn": doc["stateMachineArn"],
        "startDate": seconds(doc["startDate"]),
    }
    if doc.get("stopDate"):
        item["stopDate"] = seconds(doc["stopDate"])
    return item
