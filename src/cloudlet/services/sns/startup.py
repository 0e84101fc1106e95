"""What SNS resumes when a server starts: deliveries still on the durable delivery queue.

Imported on every start, so it imports nothing of the provider: the check is one indexed count of
the delivery queue, and only when it finds work is the provider loaded and its consumer started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.app import App

#: the core/queue queue of HTTP/S and Lambda deliveries (outbound.QUEUE)
DELIVERY_QUEUE = "sns/deliveries"


def resume(app: App) -> None:
    counts = app.store.counts(DELIVERY_QUEUE, app.clock.now_ms())
    if counts.visible or counts.in_flight or counts.delayed:
        app.provider("sns").resume()  # type: ignore[attr-defined]
