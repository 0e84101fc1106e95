"""Helpers of the runtime tests: a real App, its Runtime driven on an event loop of the test's own,
and functions written to code directories the way the Lambda service will write them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from cloudlet.app import App, Config
from cloudlet.core import ids
from cloudlet.runtime import FunctionSpec, Invocation, InvocationResult
from cloudlet.runtime.pool import Runtime
from cloudlet.server import BackgroundServer

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
LOCAL_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


class Harness:
    """One App and its Runtime, run on a private event loop."""

    def __init__(
        self, data_dir: str, serve: bool = False, uvloop: bool = False, **runtime_options: Any
    ) -> None:
        self.app = App(Config(port=0, data_dir=data_dir, log_level="warning"))
        if uvloop:
            import uvloop as uv

            self.loop = uv.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.runtime = Runtime(self.app, **runtime_options)
        self.app._runtime = self.runtime
        self.server = BackgroundServer(self.app).start() if serve else None

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def function(
        self,
        files: dict[str, str],
        *,
        runtime: str = LOCAL_PYTHON,
        handler: str = "app.handler",
        name: str | None = None,
        executable: tuple[str, ...] = ("bootstrap",),
        **options: Any,
    ) -> FunctionSpec:
        """Write a function's files to a fresh code directory and describe it."""
        code_dir = self.runtime.new_code_dir()
        write_files(code_dir, files, executable)
        name = name or f"fn-{uuid.uuid4().hex[:8]}"
        arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        return FunctionSpec(
            function_name=name,
            function_arn=arn,
            version=options.pop("version", "$LATEST"),
            runtime=runtime,
            handler=handler,
            code_dir=code_dir,
            code_sha256=uuid.uuid4().hex,
            **options,
        )

    def layer(self, files: dict[str, str]) -> str:
        layer_dir = self.runtime.new_code_dir()
        write_files(layer_dir, files, ())
        return layer_dir

    async def ainvoke(
        self, spec: FunctionSpec, payload: bytes = b"{}", **kw: Any
    ) -> InvocationResult:
        request_id = kw.pop("request_id", None) or ids.request_id()
        invoked = kw.pop("invoked_arn", spec.function_arn)
        return await self.runtime.invoke(spec, Invocation(request_id, payload, invoked, **kw))

    def invoke(self, spec: FunctionSpec, payload: bytes = b"{}", **kw: Any) -> InvocationResult:
        return self.run(self.ainvoke(spec, payload, **kw))

    def logs(self, spec: FunctionSpec) -> list[str]:
        return self.runtime.log_sink.messages(f"/aws/lambda/{spec.function_name}")  # type: ignore[attr-defined]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run the loop until `condition()` is truthy (the loop must turn for timers to fire)."""

        async def poll() -> Any:
            deadline = time.monotonic() + timeout
            while True:
                result = condition()
                if result:
                    return result
                if time.monotonic() > deadline:
                    raise AssertionError(f"condition not met within {timeout} s")
                await asyncio.sleep(0.01)

        return self.run(poll())

    def close(self) -> None:
        self.run(self.runtime.aclose())
        if self.server is not None:
            self.server.stop()  # closes the App
        else:
            self.app.close()
        self.loop.close()


def write_files(root: str, files: dict[str, str], executable: tuple[str, ...]) -> None:
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(textwrap.dedent(text).lstrip("\n"))
        if os.path.basename(relative) in executable:
            os.chmod(path, 0o755)


@pytest.fixture
def make_harness(tmp_path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        harness = Harness(str(tmp_path / f"data{len(made)}"), **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def harness(make_harness) -> Harness:
    return make_harness()


def payload_of(result: InvocationResult) -> Any:
    import json

    return json.loads(result.payload)
