"""What EventBridge and EventBridge Scheduler resume when a server starts.

Imported on every start, so it imports nothing of either provider: the checks are scans of
document kinds the store keeps in memory and one count of the delivery queue. EventBridge is
loaded when a rule exists (it must hear AWS services' own events from the start, and its
scheduled rules must know when the server started), or when deliveries wait; Scheduler when a
schedule exists. Neither is imported otherwise, so `cloudlet start` pays nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.app import App

#: the kinds and queue of services/events/common.py and services/scheduler (not imported here)
_RULE = "events.rule"
_REPLAY = "events.replay"
_SCHEDULE = "scheduler.schedule"
_DELIVERY_QUEUE = "events/deliveries"


def resume(app: App) -> None:
    store = app.store
    counts = store.counts(_DELIVERY_QUEUE, app.clock.now_ms())
    waiting = counts.visible or counts.in_flight or counts.delayed
    if waiting or store.scan(_RULE) or store.scan(_REPLAY):
        app.provider("events").resume()  # type: ignore[attr-defined]
    if store.scan(_SCHEDULE):
        app.provider("scheduler")
