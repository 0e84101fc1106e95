"""Schedules really fire: one durable timer per enabled schedule, on core/timers.

The timer (kind `scheduler:fire`, id `scheduler:<account>/<region>/<group>/<name>`) carries the
nominal tick it stands for. Its handler runs inside the group commit with the timer's deletion:
it hands the target's input to EventBridge's delivery engine (synchronous targets are delivered in
that very commit; the rest, and retries, wait on the durable delivery queue), then sets the timer
for the next tick — or, after a one-time `at()` or the last tick before EndDate, deletes the
schedule when its ActionAfterCompletion is DELETE.

- `rate()` fires first at StartDate if there is one (else one period after the schedule was
  created or its expression changed); `cron()` and `at()` are read in ScheduleExpressionTimezone
  (UTC by default).
- FlexibleTimeWindow FLEXIBLE: each tick fires at a point of its window chosen from a hash of the
  schedule and the tick, so schedules sharing a tick spread out, deterministically.
- Missed ticks (the server was down when they were due): one catch-up, as for EventBridge rules
  (see services/events/schedule.py), then the schedule continues from the next tick after now.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.schedules import (
    Schedule,
    ScheduleError,
    latest_at_or_before,
    parse_expression,
    zone,
)
from cloudlet.core.store import Timer
from cloudlet.services.events.delivery import delivery

if TYPE_CHECKING:
    from cloudlet.app import App

SCHEDULE = "scheduler.schedule"
FIRE_TIMER = "scheduler:fire"
_CONTEXT = (
    "<aws.scheduler.schedule-arn>",
    "<aws.scheduler.scheduled-time>",
    "<aws.scheduler.execution-id>",
    "<aws.scheduler.attempt-number>",
)


def timer_id(schedule_key: str) -> str:
    return f"scheduler:{schedule_key}"


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


class Firing:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.timers = app.timers
        self.started_ms = app.clock.now_ms()
        self.timers.handle(FIRE_TIMER, self.on_timer)

    @staticmethod
    def expression(doc: dict[str, Any]) -> Schedule:
        return parse_expression(doc["expression"], allow_at=True)

    def next_tick(self, doc: dict[str, Any], after_ms: int) -> int | None:
        """The first nominal tick after `after_ms` within StartDate / EndDate, or None."""
        try:
            expression = self.expression(doc)
            tz = zone(doc.get("timezone"))
        except ScheduleError:
            return None
        start, end = doc.get("start"), doc.get("end")
        if start is not None:
            after_ms = max(after_ms, start - 1)
        tick = expression.next_after(after_ms, doc["anchor"], tz)
        if tick is None or (end is not None and tick > end):
            return None
        return tick

    def arm(self, schedule_key: str, doc: dict[str, Any]) -> None:
        """Set (or clear) the schedule's timer (in the caller's transaction)."""
        tick = self.next_tick(doc, self.clock.now_ms()) if doc["state"] == "ENABLED" else None
        if tick is None:
            self.timers.cancel(timer_id(schedule_key))
            return
        self._set(schedule_key, doc, tick)

    def _set(self, schedule_key: str, doc: dict[str, Any], tick: int) -> None:
        self.timers.set(
            timer_id(schedule_key),
            tick + _flex_offset_ms(doc, tick),
            FIRE_TIMER,
            {"schedule": schedule_key, "tick": tick},
        )

    def disarm(self, schedule_key: str) -> None:
        self.timers.cancel(timer_id(schedule_key))

    def on_timer(self, timer: Timer) -> None:
        payload = self.timers.payload(timer)
        schedule_key, tick = payload["schedule"], payload["tick"]
        doc = self.store.get(SCHEDULE, schedule_key)
        if doc is None or doc["state"] != "ENABLED":
            return
        now = self.clock.now_ms()
        following_after = tick
        if timer.due < self.started_ms:  # missed while the server was down: one catch-up
            expression = self.expression(doc)
            tz = zone(doc.get("timezone"))
            tick = latest_at_or_before(expression, now, tick, doc["anchor"], tz)
            following_after = now
        self.fire(doc, tick)
        following = self.next_tick(doc, following_after)
        if following is not None:
            self._set(schedule_key, doc, following)
        elif doc.get("action_after") == "DELETE":
            self.store.delete(SCHEDULE, schedule_key)

    def fire(self, doc: dict[str, Any], tick: int) -> None:
        """Hand one invocation of the schedule's target to the delivery engine."""
        target = doc["target"]
        execution_id = ids.uuid4()
        body = _with_context(target.get("Input") or "{}", doc["arn"], iso(tick), execution_id)
        if target.get("EventBridgeParameters"):
            body = self._event(doc, tick, body)
        meta = delivery("schedule", doc["arn"], doc["account"], doc["region"], target, execution_id)
        meta["extra"] = {"scheduled_time": iso(tick), "execution_id": execution_id}
        events = self.app.provider("events")
        events.deliveries.dispatch(meta, body)  # type: ignore[attr-defined]

    def _event(self, doc: dict[str, Any], tick: int, body: str) -> str:
        """EventBridge PutEvents targets get an event: the Input is its detail."""
        parameters = doc["target"]["EventBridgeParameters"]
        try:
            detail = orjson.loads(body)
        except orjson.JSONDecodeError:
            detail = {}
        event = {
            "version": "0",
            "id": ids.uuid4(),
            "detail-type": parameters["DetailType"],
            "source": parameters["Source"],
            "account": doc["account"],
            "time": iso(tick),
            "region": doc["region"],
            "resources": [doc["arn"]],
            "detail": detail if isinstance(detail, dict) else {},
        }
        return orjson.dumps(event).decode()


def _with_context(text: str, arn: str, scheduled: str, execution_id: str) -> str:
    """Scheduler's context attributes, filled into the Input."""
    if "<aws.scheduler." not in text:
        return text
    for placeholder, value in zip(_CONTEXT, (arn, scheduled, execution_id, "1"), strict=True):
        text = text.replace(placeholder, value)
    return text


def _flex_offset_ms(doc: dict[str, Any], tick: int) -> int:
    window = doc.get("flex") or {}
    minutes = window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None
    if not minutes:
        return 0
    digest = hashlib.sha256(f"{doc['arn']}@{tick}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (minutes * 60) * 1000
