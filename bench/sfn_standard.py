"""Durable STANDARD executions: transitions/s with SQLite, and start-to-finish latency.

Runs the server's own App (SQLite store, group commit, timers) without HTTP, so the figures
are the engine plus persistence at every transition: many executions of a 5-state machine
started at once (throughput), then one at a time (how long after StartExecution it is
SUCCEEDED). Targets: at least 2,000 transitions/s, and within 10 ms.

    python bench/sfn_standard.py [--executions 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import orjson

from cloudlet.app import App, Config
from cloudlet.services import RequestContext

DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"count": 3}, "ResultPath": "$.job", "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.job.count", "NumericGreaterThan": 2, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Parameters": {"size.$": "$.job.count"}, "Next": "Done"},
        "Small": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
STATES_PER_EXECUTION = 4


def context(operation: str) -> RequestContext:
    return RequestContext("stepfunctions", operation, "000000000000", "us-east-1", "bench")


async def start(sfn, arn: str) -> str:
    out = await sfn.start_execution(
        context("StartExecution"), {"stateMachineArn": arn, "input": "{}"}
    )
    return out["executionArn"]


async def finished(sfn, arn: str) -> None:
    run = sfn.runs.get(arn)
    if run is not None:
        await run.done.wait()


async def main(executions: int) -> None:
    app = App(Config(port=0, data_dir=tempfile.mkdtemp(prefix="sfn-bench-")))
    sfn = app.provider("stepfunctions")
    created = await sfn.create_state_machine(
        context("CreateStateMachine"),
        {
            "name": "bench",
            "definition": orjson.dumps(DEFINITION).decode(),
            "roleArn": "arn:aws:iam::000000000000:role/r",
        },
    )
    arn = created["stateMachineArn"]
    began = time.perf_counter()
    arns = await asyncio.gather(*(start(sfn, arn) for _ in range(executions)))
    await asyncio.gather(*(finished(sfn, a) for a in arns))
    elapsed = time.perf_counter() - began
    transitions = executions * STATES_PER_EXECUTION
    print(
        f"{executions} concurrent executions in {elapsed:.3f} s: {transitions / elapsed:,.0f} transitions/s (persisted)"
    )
    latencies = []
    for _ in range(100):
        t0 = time.perf_counter()
        await finished(sfn, await start(sfn, arn))
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    print(
        f"StartExecution -> SUCCEEDED, one at a time: p50 {statistics.median(latencies):.2f} ms, p95 {latencies[94]:.2f} ms"
    )
    app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=500)
    asyncio.run(main(parser.parse_args().executions))
