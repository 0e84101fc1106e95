"""Wake-ups inside a process: whoever waits on a topic is woken when it is notified.

Long polls wait here instead of polling the store. With several nodes (PostgreSQL), the store's
LISTEN/NOTIFY feeds the same interface.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Notifier:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)

    async def wait(self, topic: str, timeout: float) -> bool:
        """Wait until `topic` is notified or `timeout` seconds pass; True if notified."""
        if timeout <= 0:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[topic]
        waiters.add(future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiters.discard(future)
            if not waiters:
                self._waiters.pop(topic, None)

    def notify(self, topic: str, count: int | None = None) -> None:
        """Wake up to `count` waiters of `topic` (all when None)."""
        waiters = self._waiters.get(topic)
        if not waiters:
            return
        for future in list(waiters)[: count if count is not None else len(waiters)]:
            if not future.done():
                future.set_result(None)

    def notify_all(self) -> None:
        """Wake everybody, e.g. after the clock moved forward."""
        for topic in list(self._waiters):
            self.notify(topic)

    def waiting(self, topic: str) -> int:
        return len(self._waiters.get(topic, ()))
