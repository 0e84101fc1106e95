"""Durable deliveries to HTTP/S endpoints and Lambda functions, with retries and dead-letter queues.

A delivery is a row of one core/queue queue (`sns/deliveries`), written in the same commit as the
Publish (or Subscribe, Unsubscribe) that caused it, so an acknowledged publish survives a crash. The
row carries the rendered payload and everything the attempt needs (endpoint, headers, retry policy,
dead-letter queue), so a delivery never depends on documents that may change or vanish meanwhile.

One consumer claims rows and runs each attempt in a task. A claimed row is leased for longer than an
attempt can take; after a crash the lease runs out and the attempt runs again (at least once, as on
AWS). A retry puts the row back with its due time (delete + send in one commit), so moving cloudlet's
clock makes due retries run at once. Outcomes follow AWS:

- HTTP/S: 2xx delivers; 5xx, 429 and unreachable endpoints are retried by the subscription's
  healthyRetryPolicy (default: 3 retries, 20 s apart); other statuses are client errors. A message
  that exhausts its retries, or meets a client error, goes to the subscription's dead-letter queue
  when it has one, and is dropped otherwise.
- Lambda: the event is handed to Lambda's asynchronous invocation (which has its own retries); a
  missing function is a client error.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.arns import parse_arn
from cloudlet.core.queue import Consumer
from cloudlet.core.store import NewRow, QueueRow
from cloudlet.protocols.errors import AwsError
from cloudlet.services.sns import webhook
from cloudlet.services.sns.topics import HEALTHY_RETRY_DEFAULT
from cloudlet.services.sns.webhook import Outcome

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.sns")

QUEUE = "sns/deliveries"
#: SenderId of messages SNS puts on SQS queues (AWS's SNS service principal)
SNS_SENDER = "AIDAIT2UOQQY3AUEKVGXU"
_PARALLEL = 64
_WAIT_S = 20.0
_LEASE_MS = int((webhook.TIMEOUT_S + 45) * 1000)
_RETENTION_MS = 14 * 86_400_000
_MAX_RETRY_TIME_S = 3600  # AWS's hard limit on an HTTP/S delivery policy's total retry time


def retry_delay(policy: dict[str, Any], retry: int) -> float | None:
    """Seconds to wait before retry number `retry` (1-based); None when the policy is exhausted.

    The phases of AWS's delivery policy, in order: numNoDelayRetries at once, numMinDelayRetries
    minDelayTarget apart, the backoff phase from minDelayTarget to maxDelayTarget by
    backoffFunction, then numMaxDelayRetries maxDelayTarget apart.
    """
    p = {**HEALTHY_RETRY_DEFAULT, **policy}
    if retry > p["numRetries"]:
        return None
    low, high = float(p["minDelayTarget"]), float(p["maxDelayTarget"])
    if retry <= p["numNoDelayRetries"]:
        return 0.0
    retry -= p["numNoDelayRetries"]
    if retry <= p["numMinDelayRetries"]:
        return low
    retry -= p["numMinDelayRetries"]
    steps = p["numRetries"] - p["numNoDelayRetries"] - p["numMinDelayRetries"]
    steps -= p["numMaxDelayRetries"]
    if retry > steps:
        return high
    share = (retry - 1) / (steps - 1) if steps > 1 else 1.0
    function = p["backoffFunction"]
    if function == "geometric" and low > 0:
        return low * (high / low) ** share
    if function == "exponential":
        return low + (high - low) * (2 ** (share * 10) - 1) / (2**10 - 1)
    if function == "arithmetic":
        return low + (high - low) * share * share
    return low + (high - low) * share


class Outbound:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.queues = app.queues
        self.worker = Consumer(
            self.queues,
            QUEUE,
            self._attempt,
            lease_ms=_LEASE_MS,
            parallel=_PARALLEL,
            wait_s=_WAIT_S,
            name="cloudlet-sns-deliveries",
        )

    # -- writing (inside the caller's commit) ----------------------------------------------------
    def enqueue(self, message_id: str, body: str, meta: dict[str, Any]) -> None:
        now = self.clock.now_ms()
        meta.setdefault("attempt", 0)
        meta.setdefault("first", now)
        row = NewRow(
            message_id=message_id,
            body=body,
            meta=orjson.dumps(meta),
            sent_at=now,
            visible_at=now,
            expires_at=now + _RETENTION_MS,
        )
        self.queues.send(QUEUE, [row])
        self.start()

    def dead_letter(self, dlq_arn: str | None, body: str, meta: dict[str, Any]) -> bool:
        """Put an undeliverable message on a subscription's dead-letter queue (or drop it)."""
        if not dlq_arn:
            log.info("SNS message %s to %s dropped", meta.get("message_id"), meta.get("sub"))
            return False
        sqs = self.app.provider("sqs")
        queue = sqs.queue_by_arn(dlq_arn)  # type: ignore[attr-defined]
        if queue is None:
            log.warning("SNS dead-letter queue %s does not exist; message dropped", dlq_arn)
            return False
        params: dict[str, Any] = {"MessageBody": body}
        if meta.get("attrs"):
            from cloudlet.services.sns.messages import sqs_attributes

            params["MessageAttributes"] = sqs_attributes(meta["attrs"])
        if queue.fifo:
            params["MessageGroupId"] = meta.get("group") or "default"
            params["MessageDeduplicationId"] = meta.get("dedup") or ids.token()
        try:
            sqs.send_internal(queue, params, SNS_SENDER)  # type: ignore[attr-defined]
        except AwsError as error:
            log.warning("SNS could not dead-letter to %s: %s", dlq_arn, error.message)
            return False
        return True

    # -- consuming -------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the consumer (idempotent); after a restart, the start hook calls this."""
        self.worker.start()

    async def _attempt(self, row: QueueRow) -> None:
        meta = orjson.loads(row.meta)
        if meta["kind"] == "lambda":
            outcome = await self._invoke(meta, row.body)
        else:
            outcome = webhook.classify(
                await webhook.post(meta["endpoint"], row.body.encode(), meta["headers"])
            )
        await self.app.commit(self._settle, row, meta, outcome)

    def _settle(self, row: QueueRow, meta: dict[str, Any], outcome: str) -> None:
        """Acknowledge, retry later, or dead-letter — in one commit with the row's removal."""
        receipt = self.worker.receipt(row)
        if not self.queues.delete(QUEUE, row.seq, receipt):
            return  # the lease ran out and another attempt owns the row now
        if outcome == Outcome.DELIVERED:
            return
        retry = meta["attempt"] + 1
        delay = retry_delay(meta.get("retry") or {}, retry) if outcome == Outcome.RETRY else None
        elapsed = (self.clock.now_ms() - meta["first"]) / 1000
        if delay is not None and elapsed + delay <= _MAX_RETRY_TIME_S:
            meta["attempt"] = retry
            now = self.clock.now_ms()
            again = NewRow(
                message_id=row.message_id,
                body=row.body,
                meta=orjson.dumps(meta),
                sent_at=row.sent_at,
                visible_at=now + int(delay * 1000),
                expires_at=row.expires_at,
            )
            self.queues.send(QUEUE, [again])
            return
        log.info("SNS delivery %s to %s failed (%s)", row.message_id, meta.get("endpoint"), outcome)
        if meta.get("type") == "Notification":
            self.dead_letter(meta.get("dlq"), meta.get("dlq_body") or row.body, meta)

    async def _invoke(self, meta: dict[str, Any], payload: str) -> str:
        """Run the function once (used only when Lambda has no asynchronous engine to hand the
        event to; see `lambda_enqueuer`)."""
        ref = function_ref(meta["endpoint"])
        if ref is None:
            return Outcome.REFUSED
        invoker = self.app.provider("lambda").invoker  # type: ignore[attr-defined]
        try:
            target = invoker.target(ref)
        except AwsError:
            return Outcome.REFUSED
        from cloudlet.runtime import Invocation

        invocation = Invocation(
            request_id=ids.request_id(), payload=payload.encode(), invoked_arn=target.invoked_arn
        )
        try:
            await invoker.run(await invoker.spec(target), invocation)
        except AwsError as error:
            log.warning("SNS could not invoke %s: %s", meta["endpoint"], error.message)
            return Outcome.RETRY
        return Outcome.DELIVERED

    # -- lifecycle -------------------------------------------------------------------------------
    def pending(self) -> bool:
        counts = self.store.counts(QUEUE, self.clock.now_ms())
        return bool(counts.visible or counts.in_flight or counts.delayed)

    def close(self) -> None:
        self.worker.close()


def function_ref(arn: str) -> Any:
    """The Lambda `Ref` of a function ARN (with its qualifier), or None when it names none."""
    from cloudlet.services.awslambda.functions import Ref

    parsed = parse_arn(arn)
    if parsed is None or not parsed.resource.startswith("function:"):
        return None
    name, _, qualifier = parsed.resource.removeprefix("function:").partition(":")
    return Ref(parsed.account, parsed.region, name, qualifier or None)


def lambda_enqueuer(app: App) -> Any:
    """Lambda's entry point for asynchronous invocations from inside cloudlet, which stores the
    event in the caller's transaction (`enqueue_now(ref, payload)`); None when it has none."""
    events = getattr(app.provider("lambda"), "events", None)
    return getattr(events, "enqueue_now", None)
