"""What executions tell the world: CloudWatch Logs (the machine's loggingConfiguration) and
"Step Functions Execution Status Change" events on the default event bus.

Log records are AWS's: `{"id", "type", "details", "previous_event_id", "event_timestamp",
"execution_arn", "redrive_count"}`, with inputs and outputs only under includeExecutionData.
Level ALL logs every event, ERROR the failures, FATAL only the execution's own failure. A
standard execution's records are written in the commit that stores its events; an express
execution's when it ends. Status changes of standard executions are emitted after the commit
that made them durable.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.services.stepfunctions.common import EXPRESS

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider
    from cloudlet.services.stepfunctions.runner import Run

log = logging.getLogger("cloudlet.stepfunctions")
_FATAL = {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


def _is_error(kind: str) -> bool:
    return kind in _FATAL or kind.endswith(("Failed", "TimedOut", "Aborted"))


def _wanted(level: str, kind: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return _is_error(kind)
    return level == "FATAL" and kind in _FATAL


def log_group_name(arn: str) -> str | None:
    """`arn:aws:logs:<region>:<account>:log-group:<name>:*` -> name."""
    _, _, rest = arn.partition(":log-group:")
    return rest[:-2] if rest.endswith(":*") else rest or None


class Observer:
    def __init__(self, provider: StepFunctionsProvider) -> None:
        self.provider = provider
        self.app = provider.app
        self._pending: dict[str, list[tuple[int, str]]] = {}

    def _config(self, run: Run) -> dict[str, Any]:
        revision = self.provider.store.get("states.revision", run.doc["revisionId"]) or {}
        return revision.get("logging") or {}

    # -- logs -----------------------------------------------------------------------------
    def event(self, run: Run, event: dict[str, Any]) -> None:
        config = self._config(run)
        level = config.get("level", "OFF")
        if level == "OFF" or not _wanted(level, event["type"]):
            return
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if not config.get("includeExecutionData"):
            details = {
                k: v
                for k, v in details.items()
                if k not in ("input", "output", "parameters", "inputDetails", "outputDetails")
            }
        record = {
            "id": str(event["id"]),
            "type": event["type"],
            "details": details,
            "previous_event_id": str(event.get("previousEventId", 0)),
            "event_timestamp": str(int(event["timestamp"] * 1000)),
            "execution_arn": run.arn,
            "redrive_count": str(run.doc.get("redriveCount", 0)),
        }
        self._pending.setdefault(run.arn, []).append(
            (int(event["timestamp"] * 1000), orjson.dumps(record).decode())
        )

    def flush(self, run: Run) -> None:
        """Write the run's pending records (standard: inside the caller's commit)."""
        records = self._pending.pop(run.arn, None)
        if not records:
            return
        config = self._config(run)
        destinations = config.get("destinations") or []
        arn = ((destinations[0] if destinations else {}).get("cloudWatchLogsLogGroup") or {}).get(
            "logGroupArn", ""
        )
        group = log_group_name(arn)
        if not group:
            return
        parts = arn.split(":")
        stream = self._stream(run)
        logs = self.app.provider("logs")
        if run.doc["type"] == EXPRESS:
            self._spawn_write(logs, parts, group, stream, records)
        else:
            try:
                logs.append(parts[4], parts[3], group, stream, records)
            except ValueError:
                log.warning("cannot log execution %s to %s", run.arn, arn)

    def _spawn_write(
        self, logs: Any, parts: list[str], group: str, stream: str, records: list[tuple[int, str]]
    ) -> None:
        import asyncio

        async def write() -> None:
            try:
                await self.app.commit(logs.append, parts[4], parts[3], group, stream, records)
            except Exception:
                log.exception("cannot write execution logs to %s", group)

        task = asyncio.get_running_loop().create_task(write())
        self.provider.background.add(task)
        task.add_done_callback(self.provider.background.discard)

    @staticmethod
    def _stream(run: Run) -> str:
        start = datetime.fromtimestamp(run.doc["startDate"] / 1000, UTC).strftime("%Y-%m-%d-%H-%M")
        return f"states/{run.doc['machineArn'].split(':')[6]}/{start}/{run.doc['name']}"

    # -- EventBridge ----------------------------------------------------------------------
    def status_changed(self, run: Run) -> None:
        doc = run.doc
        if doc["type"] == EXPRESS:
            return
        detail = {
            "executionArn": run.arn,
            "stateMachineArn": doc["machineArn"],
            "name": doc["name"],
            "status": doc["status"],
            "startDate": doc["startDate"],
            "stopDate": doc.get("stopDate"),
            "input": doc["input"],
            "output": doc.get("output"),
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if "output" in doc else None,
        }
        if doc.get("error") is not None:
            detail["error"] = doc["error"]
        if doc.get("cause") is not None:
            detail["cause"] = doc["cause"]
        if doc.get("redriveCount"):
            detail["redriveCount"] = doc["redriveCount"]
        when = doc.get("stopDate") or doc.get("redriveDate") or doc["startDate"]
        event = {
            "version": "0",
            "id": ids.uuid4(),
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": run.account,
            "time": datetime.fromtimestamp(when / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": run.region,
            "resources": [run.arn],
            "detail": detail,
        }
        try:
            self.app.events.emit(run.account, run.region, event)
        except Exception:
            log.exception("could not emit the status change of %s", run.arn)

    def forget(self) -> None:
        self._pending.clear()
