"""Scheduled rules: one durable timer per enabled rule with a ScheduleExpression.

The timer (kind `events:schedule`, id `events:schedule:<rule key>`) fires inside the group commit
together with its own deletion; its handler delivers AWS's "Scheduled Event" to the rule's targets
and sets the timer again for the next tick, so each tick fires exactly once, across restarts too.
A `rate()` counts from when the rule's schedule was set; `cron()` is evaluated in UTC.

Ticks missed while the server was down: AWS never replays missed invocations, and neither does
cloudlet — but a tick that was due while the server was stopped fires *once* when it starts again
(standing for the latest missed tick, with that tick's time), and the schedule continues from the
next tick after now. One catch-up means a daily job whose tick fell into a restart still runs
today, without a burst of stale runs after a long stop. Ticks that fall due while the server runs
— also when the clock is moved forward — all fire, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.core.schedules import ScheduleError, latest_at_or_before, parse_expression
from cloudlet.core.store import Timer
from cloudlet.services.events.common import RULE, iso_seconds, key
from cloudlet.services.events.rules import enabled

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.core.timers import Timers

SCHEDULE_TIMER = "events:schedule"


def timer_id(rule_key: str) -> str:
    return f"{SCHEDULE_TIMER}:{rule_key}"


def scheduled_event(rule: dict[str, Any], tick_ms: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": ids.uuid4(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule["account"],
        "time": iso_seconds(tick_ms),
        "region": rule["region"],
        "resources": [rule["arn"]],
        "detail": {},
    }


class ScheduleOperations:
    store: Store
    clock: Clock
    timers: Timers
    #: cloudlet time when this provider started: timers due before it were missed while down
    started_ms: int

    def arm_schedule(self, rule: dict[str, Any]) -> None:
        """Set the rule's timer to its next tick (in the caller's transaction)."""
        rule_key = key(rule["account"], rule["region"], rule["bus"], rule["name"])
        try:
            schedule = parse_expression(rule["schedule"])
        except ScheduleError:
            return
        due = schedule.next_after(self.clock.now_ms(), rule["anchor"])
        if due is None:
            self.timers.cancel(timer_id(rule_key))
            return
        self.timers.set(timer_id(rule_key), due, SCHEDULE_TIMER, {"rule": rule_key})

    def disarm_schedule(self, rule_key: str) -> None:
        self.timers.cancel(timer_id(rule_key))

    def on_schedule_timer(self, timer: Timer) -> None:
        """A tick: deliver the Scheduled Event, set the next tick (inside the timer's commit)."""
        rule_key = self.timers.payload(timer)["rule"]
        rule = self.store.get(RULE, rule_key)
        if rule is None or not rule.get("schedule") or not enabled(rule):
            return
        schedule = parse_expression(rule["schedule"])
        now = self.clock.now_ms()
        if timer.due < self.started_ms:  # missed while the server was down: one catch-up
            tick = latest_at_or_before(schedule, now, timer.due, rule["anchor"])
            following = schedule.next_after(now, rule["anchor"])
        else:
            tick = timer.due
            following = schedule.next_after(timer.due, rule["anchor"])
        event = scheduled_event(rule, tick)
        self.deliver_to_targets(rule, event, orjson.dumps(event).decode())
        if following is not None:
            self.timers.set(timer.timer_id, following, SCHEDULE_TIMER, timer.payload)
