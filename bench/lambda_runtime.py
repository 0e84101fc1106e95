"""Function execution speed: warm invoke round trip and cold start, driven in-process.

Drives `app.runtime.invoke` of a real App on uvloop (as the server runs it) with a no-op Python
handler, and a no-op Node.js handler when node is installed:
- warm: one warm environment, invocations back to back (the Runtime API round trip: `next` is
  answered, the runtime posts its response, END/REPORT are written);
- cold: a new environment per invocation (each one gets a new configuration); "init" is Lambda's
  Init Duration (spawn to the runtime's first `next`), "invoke" the whole cold invocation.

Targets (issue): warm p50 well under 1 ms; cold start overhead under 60 ms p50.
Prints figures; never fails because a machine is slow. `--loop asyncio` uses the stdlib loop;
`--direct` spawns without the zygote (a fresh interpreter per Python environment).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time

from cloudlet.app import App, Config
from cloudlet.core import ids
from cloudlet.runtime import FunctionSpec, Invocation

PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(label: str, values: list[float]) -> None:
    print(
        f"{label:<28} p50 {statistics.median(values):8.3f} ms   p90 {percentile(values, 0.9):8.3f} ms"
        f"   p99 {percentile(values, 0.99):8.3f} ms   (n={len(values)})"
    )


def make_spec(app: App, runtime: str, handler: str, files: dict[str, str]) -> FunctionSpec:
    code_dir = app.runtime.new_code_dir()
    for name, text in files.items():
        with open(os.path.join(code_dir, name), "w") as fh:
            fh.write(text)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:bench-{runtime}"
    return FunctionSpec(f"bench-{runtime}", arn, "$LATEST", runtime, handler, code_dir, "sha")


async def warm(app: App, spec: FunctionSpec, count: int) -> list[float]:
    invoke = app.runtime.invoke
    for _ in range(20):
        await invoke(spec, Invocation(ids.request_id(), b"{}", spec.function_arn))
    times = []
    for _ in range(count):
        invocation = Invocation(ids.request_id(), b"{}", spec.function_arn)
        started = time.perf_counter()
        await invoke(spec, invocation)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def cold(app: App, spec: FunctionSpec, count: int) -> tuple[list[float], list[float]]:
    await app.runtime.invoke(spec, Invocation(ids.request_id(), b"{}", spec.function_arn))
    inits, totals = [], []
    for index in range(count):
        fresh = dataclasses.replace(spec, config_sha=f"cold-{index}")
        started = time.perf_counter()
        result = await app.runtime.invoke(
            fresh, Invocation(ids.request_id(), b"{}", spec.function_arn)
        )
        totals.append((time.perf_counter() - started) * 1000)
        assert result.function_error is None, result.payload
        inits.append(result.init_duration_ms or 0.0)
    return inits, totals


async def main(args: argparse.Namespace) -> None:
    data_dir = tempfile.mkdtemp(prefix="cloudlet-bench-")
    app = App(Config(port=0, data_dir=data_dir, log_level="warning"))
    if args.direct:  # every environment spawned from this process, each a new interpreter
        from cloudlet.runtime.pool import Runtime

        app._runtime = Runtime(app, zygote=False)
    runtime = app.runtime
    try:
        python = make_spec(
            app, PYTHON, "app.handler", {"app.py": "def handler(e, c):\n    return None\n"}
        )
        describe("python warm invoke", await warm(app, python, args.warm))
        inits, totals = await cold(app, python, args.cold)
        describe("python cold: init", inits)
        describe("python cold: whole invoke", totals)
        if shutil.which("node") and not args.no_node:
            node = make_spec(
                app,
                "nodejs20.x",
                "index.handler",
                {"index.js": "exports.handler = async () => null;\n"},
            )
            describe("node warm invoke", await warm(app, node, args.warm))
            inits, totals = await cold(app, node, max(5, args.cold // 4))
            describe("node cold: init", inits)
            describe("node cold: whole invoke", totals)
        print(
            f"memory bound: {runtime.limits.mode}; per-function uid: {runtime.sandbox.isolate};"
            f" zygote: {runtime.spawner.use_zygote}; loop: {args.loop}"
        )
    finally:
        await runtime.aclose()
        app.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations")
    parser.add_argument("--cold", type=int, default=40, help="cold starts")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--direct", action="store_true", help="no zygote")
    arguments = parser.parse_args()
    if arguments.loop == "uvloop":
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
