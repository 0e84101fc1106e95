"""The States Language engine alone: state transitions per second of a Pass/Choice machine.

No server, no store: the in-memory host of `cloudlet.workflows.local` with history recording
on, as an express execution runs. The target is at least 20,000 transitions/s on one core.

    python bench/sfn_engine.py [--executions 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from cloudlet.workflows import load
from cloudlet.workflows.engine import Engine
from cloudlet.workflows.local import LocalHost, execute

DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"count": 3}, "ResultPath": "$.job", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.job.count", "NumericGreaterThan": 2, "Next": "Big"},
                {"Variable": "$.kind", "StringEquals": "small", "Next": "Small"},
            ],
            "Default": "Small",
        },
        "Big": {
            "Type": "Pass",
            "Parameters": {"size.$": "$.job.count", "label": "big"},
            "Next": "Done",
        },
        "Small": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
TRANSITIONS_PER_EXECUTION = 4  # Prepare -> Route -> Big -> Done, then the end


async def run(executions: int) -> float:
    machine = load(DEFINITION)
    start = time.perf_counter()
    for _ in range(executions):
        host = LocalHost()
        outcome = await execute(Engine(host), host, machine, {"kind": "small"})
        assert outcome.status == "SUCCEEDED", outcome
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=4000)
    args = parser.parse_args()
    asyncio.run(run(200))  # warm up
    elapsed = asyncio.run(run(args.executions))
    transitions = args.executions * TRANSITIONS_PER_EXECUTION
    states = args.executions * 4
    print(f"{args.executions} executions of a 5-state Pass/Choice machine in {elapsed:.3f} s")
    print(f"{transitions / elapsed:,.0f} state transitions/s, {states / elapsed:,.0f} states/s")
    print(f"{elapsed / args.executions * 1e6:.1f} us per execution (history recorded)")


if __name__ == "__main__":
    main()
