"""Events that services raise about their own resources, for EventBridge to route.

AWS services announce changes on the default event bus of the account and region (EC2 instance
state changes, and later S3 object events, Step Functions execution status ...). A service calls
`app.events.emit(account, region, event)` with the event exactly as AWS writes it; EventBridge
subscribes once and routes every event through its rules. The hub does not know either side, so
services can emit before EventBridge exists and EventBridge needs no per-service code.

The hub also keeps the most recent events in a small ring: tests (and debugging) can see what was
emitted even when nobody subscribed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("cloudlet.events")

#: callback(account, region, event); runs on the event loop, so it must not block
Subscriber = Callable[[str, str, dict[str, Any]], None]


class EventHub:
    """Fan-out of service events to subscribers, plus a ring of the latest ones."""

    def __init__(self, capacity: int = 1000) -> None:
        self._subscribers: list[Subscriber] = []
        self._recent: deque[tuple[str, str, dict[str, Any]]] = deque(maxlen=capacity)
        # Emitted on the server's loop, read by tests on another thread: copying a deque while
        # it is appended to raises, so both sides take the lock.
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(account, region, event)` for every event from now on; returns a
        function that unsubscribes it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, account: str, region: str, event: dict[str, Any]) -> None:
        """Publish an event (AWS's envelope: version, id, detail-type, source, account, time,
        region, resources, detail). A failing subscriber is logged and does not stop the others:
        the change the event reports has already happened."""
        with self._lock:
            self._recent.append((account, region, event))
        for callback in list(self._subscribers):
            try:
                callback(account, region, event)
            except Exception:
                log.exception("an event subscriber failed on %s", event.get("detail-type"))

    def recent(
        self, source: str | None = None, account: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest emitted events, oldest first, optionally of one source/account/region."""
        with self._lock:
            entries = list(self._recent)
        return [
            event
            for acct, reg, event in entries
            if (source is None or event.get("source") == source)
            and (account is None or acct == account)
            and (region is None or reg == region)
        ]

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
