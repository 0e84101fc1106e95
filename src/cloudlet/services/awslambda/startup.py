"""What the Lambda service resumes when a server starts: pending asynchronous invocations and
enabled event source mappings.

This module is imported on every start, so it imports nothing of the Lambda provider: the check is
a scan of two document kinds the store keeps in memory, and only when it finds work is the
provider loaded (its imports and models cost tens of milliseconds, which `cloudlet start` must
not pay when there is nothing to resume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlet.app import App

#: one document per function whose asynchronous-invocation queue holds events
#: (`<account>/<region>/<name>`), written with the first event and removed once the queue drained
ASYNC_PENDING = "lambda.async-pending"
#: event source mappings, by UUID
MAPPING = "lambda.esm"


def resume(app: App) -> None:
    """Restart the consumers of pending asynchronous events and the pollers of mappings."""
    store = app.store
    mappings = store.scan(MAPPING)
    if not store.scan(ASYNC_PENDING) and not any(_needs_poller(doc) for _, doc in mappings):
        return
    provider = app.provider("lambda")
    provider.resume()  # type: ignore[attr-defined]


def _needs_poller(doc: dict[str, Any]) -> bool:
    """An enabled mapping polls; one caught in a change (a restart interrupted it) settles."""
    return bool(doc.get("enabled")) or doc["config"]["State"] not in ("Enabled", "Disabled")
