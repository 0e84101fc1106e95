"""Task tokens (`.waitForTaskToken`, activities) and activity workers.

A token is a document naming the execution that waits for it. SendTaskSuccess/Failure store
the outcome on the token (in the request's commit, so an answered token survives a crash) and
wake the waiting task; a resumed execution finds an outcome already stored. Activities hand
their tasks to workers through core/queue (one queue per activity): a task waits durably until a
worker's GetActivityTask long poll takes it.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.queue import ReceivePolicy
from cloudlet.core.store import NewRow
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.stepfunctions.common import (
    ACTIVITY,
    EXECUTION,
    TOKEN,
    activity_arn,
    check_arn,
    check_name,
    page,
    seconds,
)
from cloudlet.workflows.errors import StatesError

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider

_TOKEN_BYTES = 96
_LONG_POLL_S = 60.0
_YEAR_MS = 366 * 24 * 3600 * 1000


def activity_queue(arn: str) -> str:
    return "states-activity/" + arn


class Tokens:
    """Live waiters of tokens (this process) over the durable token documents."""

    def __init__(self) -> None:
        self.waiters: dict[str, asyncio.Future[tuple[str, Any, Any]]] = {}

    @staticmethod
    def new_token() -> str:
        return base64.urlsafe_b64encode(os.urandom(_TOKEN_BYTES)).decode()

    @staticmethod
    def well_formed(token: str) -> bool:
        try:
            return len(base64.urlsafe_b64decode(token.encode())) == _TOKEN_BYTES
        except (ValueError, UnicodeEncodeError):
            return False

    async def wait(self, provider: StepFunctionsProvider, token: str) -> Any:
        """The outcome of a token: its output, or StatesError for a failure."""
        doc = provider.store.get(TOKEN, token) or {}
        if doc.get("status") == "done":
            return _outcome(doc["outcome"])
        future = self.waiters[token] = asyncio.get_running_loop().create_future()
        try:
            return _outcome(await future)
        finally:
            if self.waiters.get(token) is future:
                del self.waiters[token]


def _outcome(outcome: Any) -> Any:
    kind, first, second = outcome
    if kind == "failure":
        raise StatesError(first or "", second or "")
    return first


class TokenOperations:
    # -- callbacks ------------------------------------------------------------------------
    def _open_token(self: StepFunctionsProvider, token: str) -> dict[str, Any]:
        if not Tokens.well_formed(token):
            raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
        doc = self.store.get(TOKEN, token)
        if doc is None:
            live = self.live_tokens.get(token)
            if live is None:
                raise AwsError(
                    "TaskDoesNotExist",
                    "Task Does Not Exist: 'Provided task does not exist anymore'",
                )
            return {"execution": live, "status": "waiting", "live": True}
        execution = self.store.get(EXECUTION, doc["execution"]) or {}
        if doc.get("status") != "waiting" or execution.get("status") != "RUNNING":
            raise AwsError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
        return doc

    def _answer(self: StepFunctionsProvider, token: str, outcome: list[Any]) -> dict[str, Any]:
        doc = self._open_token(token)
        if not doc.get("live"):
            self.store.put(TOKEN, token, {**doc, "status": "done", "outcome": outcome})
        future = self.tokens.waiters.get(token)
        if future is not None and not future.done():
            future.set_result(tuple(outcome))
        return {}

    @committed
    def send_task_success(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            output = orjson.loads(params["output"])
        except orjson.JSONDecodeError as error:
            raise AwsError("InvalidOutput", f"Invalid Output: '{error}'") from None
        return self._answer(params["taskToken"], ["success", output, None])

    @committed
    def send_task_failure(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._answer(
            params["taskToken"], ["failure", params.get("error"), params.get("cause")]
        )

    def send_task_heartbeat(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        token = params["taskToken"]
        doc = self._open_token(token)
        run = self.runs.get(doc["execution"])
        call = run.calls.get(token) if run is not None else None
        if call is not None:
            call.beat.set()
        return {}

    # -- activities -----------------------------------------------------------------------
    @committed
    def create_activity(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["name"]
        check_name(name)
        arn = activity_arn(ctx.region, ctx.account, name)
        existing = self.store.get(ACTIVITY, arn)
        if existing is None:
            existing = {
                "arn": arn,
                "name": name,
                "creationDate": self.clock.now_ms(),
                "tags": {t["key"]: t["value"] for t in params.get("tags") or []},
            }
            self.store.put(ACTIVITY, arn, existing)
        return {"activityArn": arn, "creationDate": seconds(existing["creationDate"])}

    def _activity(self: StepFunctionsProvider, arn: str) -> dict[str, Any]:
        check_arn(arn, "activity")
        doc = self.store.get(ACTIVITY, arn)
        if doc is None:
            raise AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return doc

    def describe_activity(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._activity(params["activityArn"])
        return {
            "activityArn": doc["arn"],
            "name": doc["name"],
            "creationDate": seconds(doc["creationDate"]),
        }

    @committed
    def delete_activity(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["activityArn"]
        check_arn(arn, "activity")
        self.store.delete(ACTIVITY, arn)
        self.app.queues.drop(activity_queue(arn))
        return {}

    def list_activities(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = activity_arn(ctx.region, ctx.account, "")
        items = [
            {"activityArn": d["arn"], "name": d["name"], "creationDate": seconds(d["creationDate"])}
            for _, d in self.store.scan(ACTIVITY, prefix)
        ]
        found, following = page(items, params)
        return {"activities": found, **({"nextToken": following} if following else {})}

    def schedule_activity(self: StepFunctionsProvider, arn: str, token: str, data: Any) -> None:
        """Queue an activity task for workers (in the caller's transaction)."""
        if self.store.get(ACTIVITY, arn) is None:
            raise StatesError("States.Runtime", f"Activity Does Not Exist: '{arn}'")
        now = self.clock.now_ms()
        body = orjson.dumps({"token": token, "input": data}).decode()
        row = NewRow(ids.uuid4(), body, b"{}", now, now, now + _YEAR_MS)
        self.app.queues.send(activity_queue(arn), [row])

    async def get_activity_task(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["activityArn"]
        self._activity(arn)
        queue = activity_queue(arn)
        policy = ReceivePolicy(visibility_ms=_YEAR_MS)
        while True:
            rows = await self.app.queues.receive(queue, 1, policy, _LONG_POLL_S)
            if not rows:
                return {}
            row = rows[0]
            await self.app.commit(self.app.queues.delete, queue, row.seq, row.receipt or "")
            task = orjson.loads(row.body)
            token = task["token"]
            if not self._still_waiting(token):
                continue  # the execution stopped waiting (stopped, timed out)
            self._activity_started(token, params.get("workerName"))
            return {"taskToken": token, "input": orjson.dumps(task["input"]).decode()}

    def _still_waiting(self: StepFunctionsProvider, token: str) -> bool:
        doc = self.store.get(TOKEN, token) or {}
        execution = self.store.get(EXECUTION, doc.get("execution", "")) or {}
        return doc.get("status") == "waiting" and execution.get("status") == "RUNNING"

    def _activity_started(self: StepFunctionsProvider, token: str, worker: str | None) -> None:
        doc = self.store.get(TOKEN, token) or {}
        run = self.runs.get(doc.get("execution", ""))
        call = run.calls.get(token) if run is not None else None
        if call is not None and call.on_started is not None:
            call.on_started(worker)
