"""Delivery of inputs to targets: at once when cheap, durably when not, retried, dead-lettered.

`dispatch` runs in the caller's transaction (PutEvents, a schedule's timer). A synchronous target
(see `targets`) is delivered right there, so PutEvents → rule → SQS costs no second commit and no
queue hop. Anything else — slow targets, and every retry — becomes a row of the durable delivery
queue (core/queue, `events/deliveries`), visible now or after its back-off; one consumer task
claims rows (leased, so a crash hands them out again), delivers, and acknowledges or reschedules
in one commit. Rows survive a restart; moving cloudlet's clock makes waiting retries due at once.

Retries follow the target's RetryPolicy (default 185 retries within 86,400 s): failures AWS
retries (throttling, 5xx, unreachable endpoints) wait 1 s, 2 s, 4 s ... at most 5 minutes (no
jitter, so tests can move the clock exactly); other failures are final at once. A final failure
goes to the target's DeadLetterConfig queue with AWS's message attributes (for rules RULE_ARN,
TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS; for schedules
Scheduler's own set), or is dropped and logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.queue import Consumer
from cloudlet.core.store import NewRow, QueueRow
from cloudlet.services.events import targets
from cloudlet.services.events.common import DELIVERY_QUEUE
from cloudlet.services.events.targets import TargetError

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.events.provider import EventsProvider

log = logging.getLogger("cloudlet.events")

DEFAULT_RETRIES = 185
DEFAULT_MAX_AGE_S = 86_400
_MAX_BACKOFF_S = 300
_LEASE_MS = 60_000
_PARALLEL = 32
_WAIT_S = 20.0
_RETENTION_MS = 2 * DEFAULT_MAX_AGE_S * 1000


def delivery(
    origin: str, origin_arn: str, account: str, region: str, target: dict[str, Any], event_id: str
) -> dict[str, Any]:
    """The description of one delivery, kept with it while it waits (the row's meta)."""
    return {
        "origin": origin,  # "rule" | "schedule"
        "source_arn": origin_arn,
        "account": account,
        "region": region,
        "target": target,
        "event_id": event_id,
        "attempts": 0,
    }


class Deliveries:
    def __init__(self, provider: EventsProvider) -> None:
        self.provider = provider
        self.app: App = provider.app
        self.store = provider.app.store
        self.clock = provider.app.clock
        self.queues = provider.app.queues
        self.worker = Consumer(
            self.queues,
            DELIVERY_QUEUE,
            self._attempt,
            lease_ms=_LEASE_MS,
            parallel=_PARALLEL,
            wait_s=_WAIT_S,
            name="cloudlet-events-deliveries",
        )

    # -- accepting (inside the caller's transaction) -----------------------------------------------
    def dispatch(self, meta: dict[str, Any], body: str) -> None:
        """Deliver now if the target is synchronous, otherwise queue it."""
        meta.setdefault("first", self.clock.now_ms())
        deliver = targets.SYNC.get(targets.kind_of(meta["target"]["Arn"]))
        if deliver is None:
            self._enqueue(meta, body, 0)
            return
        meta["attempts"] += 1
        try:
            if deliver in targets.ATOMIC:  # fails before it writes: no savepoint needed
                deliver(self, meta, body)
            else:
                with self.store.transaction():  # a failed delivery rolls back alone
                    deliver(self, meta, body)
        except TargetError as error:
            self._failed(meta, body, error)

    def _enqueue(self, meta: dict[str, Any], body: str, delay_ms: int) -> None:
        now = self.clock.now_ms()
        row = NewRow(
            message_id=ids.uuid4(),
            body=body,
            meta=orjson.dumps(meta),
            sent_at=now,
            visible_at=now + delay_ms,
            expires_at=now + _RETENTION_MS,
        )
        self.queues.send(DELIVERY_QUEUE, [row])
        self.start()

    def _failed(self, meta: dict[str, Any], body: str, error: TargetError) -> None:
        """After a failed attempt: a retry after its back-off, or the dead-letter queue."""
        policy = meta["target"].get("RetryPolicy") or {}
        retries = policy.get("MaximumRetryAttempts", DEFAULT_RETRIES)
        max_age_ms = (policy.get("MaximumEventAgeInSeconds") or DEFAULT_MAX_AGE_S) * 1000
        made = meta["attempts"] - 1
        delay_ms = min(2**made, _MAX_BACKOFF_S) * 1000
        if not error.retryable:
            self.dead_letter(meta, body, error, None)
        elif made >= retries:
            self.dead_letter(meta, body, error, "MaximumRetryAttempts")
        elif self.clock.now_ms() + delay_ms - meta["first"] > max_age_ms:
            self.dead_letter(meta, body, error, "MaximumEventAgeInSeconds")
        else:
            self._enqueue(meta, body, delay_ms)

    def dead_letter(
        self, meta: dict[str, Any], body: str, error: TargetError, exhausted: str | None
    ) -> None:
        arn = (meta["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            log.info(
                "dropped a delivery to %s (%s: %s)",
                meta["target"]["Arn"],
                error.code,
                error.message,
            )
            return
        sqs = self.app.provider("sqs")
        queue = sqs.queue_by_arn(arn)  # type: ignore[attr-defined]
        if queue is None:
            log.warning("dead-letter queue %s does not exist; delivery dropped", arn)
            return
        attributes = _dead_letter_attributes(meta, error, exhausted)
        content = meta.get("original") or body
        params = {"MessageBody": content, "MessageAttributes": attributes}
        try:
            with self.store.transaction():
                sqs.send_internal(queue, params, sender=meta["account"])  # type: ignore[attr-defined]
        except Exception as failure:  # an unusable queue (FIFO ...) must not undo the caller
            log.warning("could not dead-letter a delivery to %s: %s", arn, failure)

    # -- consuming the queue -----------------------------------------------------------------------
    def start(self) -> None:
        """Run the consumer (idempotent; needs the event loop)."""
        self.worker.start()

    async def _attempt(self, row: QueueRow) -> None:
        meta = orjson.loads(row.meta)
        meta["attempts"] += 1
        kind = targets.kind_of(meta["target"]["Arn"])
        if kind in targets.SYNC:
            await self.app.commit(self._sync_attempt, row, meta, kind)
            return
        deliver = targets.ASYNC.get(kind)
        try:
            if deliver is None:
                raise TargetError("NO_RESOURCE", f"cloudlet cannot deliver to {kind or 'it'}.")
            await deliver(self, meta, row.body)
        except TargetError as error:
            await self.app.commit(self._settle, row, meta, error)
        else:
            await self.app.commit(self._settle, row, meta, None)

    def _sync_attempt(self, row: QueueRow, meta: dict[str, Any], kind: str) -> None:
        try:
            with self.store.transaction():
                targets.SYNC[kind](self, meta, row.body)
        except TargetError as error:
            self._settle(row, meta, error)
        else:
            self._settle(row, meta, None)

    def _settle(self, row: QueueRow, meta: dict[str, Any], error: TargetError | None) -> None:
        """Acknowledge an attempt, and after a failure queue its retry or dead-letter it — in the
        same commit, so a crash leaves all of it undone or all done."""
        if not self.queues.delete(DELIVERY_QUEUE, row.seq, self.worker.receipt(row)):
            return  # the lease ran out and someone else has the row now
        if error is not None:
            self._failed(meta, row.body, error)

    def close(self) -> None:
        self.worker.close()


def _dead_letter_attributes(
    meta: dict[str, Any], error: TargetError, exhausted: str | None
) -> dict[str, Any]:
    def text(value: Any) -> dict[str, str]:
        return {"DataType": "String", "StringValue": str(value)[:1024] or "-"}

    target_arn = meta["target"]["Arn"]
    if meta["origin"] == "schedule":
        extra = meta.get("extra") or {}
        attributes = {
            "ERROR_CODE": text(error.code),
            "ERROR_MESSAGE": text(error.message),
            "EXECUTION_ID": text(extra.get("execution_id", meta["event_id"])),
            "SCHEDULE_ARN": text(meta["source_arn"]),
            "SCHEDULED_TIME": text(extra.get("scheduled_time", "")),
            "TARGET_ARN": text(target_arn),
        }
    else:
        attributes = {
            "RULE_ARN": text(meta["source_arn"]),
            "TARGET_ARN": text(target_arn),
            "ERROR_CODE": text(error.code),
            "ERROR_MESSAGE": text(error.message),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = text(exhausted)
    attributes["RETRY_ATTEMPTS"] = text(max(meta["attempts"] - 1, 0))
    return attributes
