"""`cloudlet start` that kills itself (SIGKILL) at one point of a Task state's call: crash tests.

CLOUDLET_CRASH_AT="<Operation>:before|after" names the API operation a Task calls through
Step Functions' integrations (StartExecution, SendMessage ...) or "ScheduleActivity"; the
process dies right before that call, or right after it returned (its writes committed) and
before the execution recorded anything more. Nothing of cloudlet changes otherwise.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from cloudlet.cli import main
from cloudlet.services.stepfunctions.integrations import Integrations
from cloudlet.services.stepfunctions.tokens import TokenOperations

OPERATION, _, WHEN = os.environ.get("CLOUDLET_CRASH_AT", "").partition(":")


def crash(operation: str, when: str) -> None:
    if operation == OPERATION and when == WHEN:
        os.kill(os.getpid(), signal.SIGKILL)


original_call = Integrations.call_provider
original_schedule = TokenOperations.schedule_activity


async def call_provider(self: Any, run: Any, service: str, operation: str, *args: Any) -> Any:
    crash(operation, "before")
    result = await original_call(self, run, service, operation, *args)
    crash(operation, "after")
    return result


def schedule_activity(self: Any, *args: Any) -> None:
    crash("ScheduleActivity", "before")
    original_schedule(self, *args)


Integrations.call_provider = call_provider  # type: ignore[method-assign]
TokenOperations.schedule_activity = schedule_activity  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
