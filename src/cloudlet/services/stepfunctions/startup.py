"""Resuming at server start, checked without importing the provider when nothing runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudlet.services.stepfunctions.common import EXECUTION

if TYPE_CHECKING:
    from cloudlet.app import App


def resume(app: App) -> None:
    """Standard executions that were RUNNING continue; their timers are already durable."""
    if any(doc.get("status") == "RUNNING" for _, doc in app.store.scan(EXECUTION)):
        app.provider("stepfunctions").resume()  # type: ignore[attr-defined]
