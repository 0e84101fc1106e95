"""The one clock of a cloudlet server.

Every timestamp and due time comes from here, so moving the clock forward (tests, `cloudlet clock
advance`) moves all of cloudlet consistently: message delays, visibility timeouts, retention,
and later Wait states and schedules. The offset is durable: the store keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Wall-clock time plus a forward-only offset."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """Seconds since the epoch, as cloudlet sees them."""
        return time.time() + self.offset

    def now_ms(self) -> int:
        return int((time.time() + self.offset) * 1000)

    def advance(self, seconds: float) -> float:
        """Move time forward and wake whoever waits for a due time; returns the new offset."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        for listener in list(self._listeners):
            listener()
        return self.offset

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)
