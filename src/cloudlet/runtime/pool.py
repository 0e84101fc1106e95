"""The Runtime: warm pools of execution environments, concurrency limits, idle retirement.

A pool holds the environments of one `FunctionSpec.identity` (one version of a function with one
code and configuration). It grows on demand - an invocation takes an idle environment or starts a
new one - up to the function's reserved concurrency or the account's unreserved share, beyond which
`invoke` raises `TooManyRequests`. An environment idle for `idle_timeout_s` is retired by a timer
of the event loop (no sweeper thread); moving cloudlet's clock forward retires the ones whose idle
time has then passed. When a function's identity changes (new code or configuration), new
invocations go to the new identity's pool and the old pool is retired as its environments become
idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from cloudlet.runtime import FunctionSpec, Invocation, InvocationResult, TooManyRequests
from cloudlet.runtime.environment import Environment
from cloudlet.runtime.launch import Launcher
from cloudlet.runtime.logs import LogSink, MemoryLogSink
from cloudlet.runtime.memory import MemoryLimits
from cloudlet.runtime.sandbox import Sandbox
from cloudlet.runtime.spawner import Spawner

if TYPE_CHECKING:
    from cloudlet.app import App

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"


class Pool:
    """The environments of one function identity."""

    def __init__(self, runtime: Runtime, spec: FunctionSpec) -> None:
        self.runtime = runtime
        self.spec = spec
        self.identity = spec.identity
        self.envs: set[Environment] = set()
        self.idle: list[Environment] = []  # most recently used last: reused first
        self.stale = False

    def acquire(self) -> Environment:
        while self.idle:
            env = self.idle.pop()
            if env.idle_handle is not None:
                env.idle_handle.cancel()
                env.idle_handle = None
            if env.state == "idle":
                return env
        env = Environment(self.runtime, self, self.spec)
        self.envs.add(env)
        return env

    def on_idle(self, env: Environment) -> None:
        """An environment finished an invocation and can take the next one."""
        runtime = self.runtime
        if self.stale or runtime.closed or env not in self.envs:
            self.retire(env)
            return
        env.idle_since = runtime.clock.now()
        self.idle.append(env)
        loop = asyncio.get_running_loop()
        env.idle_handle = loop.call_later(runtime.idle_timeout_s, self._idle_expired, env)

    def _idle_expired(self, env: Environment) -> None:
        env.idle_handle = None
        if env in self.idle:
            self.retire(env)

    def retire(self, env: Environment) -> None:
        """Stop an environment (now if idle or dead; busy ones are never passed here)."""
        if env not in self.envs:
            return
        self.envs.discard(env)
        with contextlib.suppress(ValueError):
            self.idle.remove(env)
        self.runtime._stop_later(env)
        if self.stale and not self.envs:
            self.runtime._drop_pool(self)

    def make_stale(self) -> None:
        """A newer identity took over: retire the idle environments now, busy ones when done."""
        self.stale = True
        for env in list(self.idle):
            self.retire(env)
        if not self.envs:
            self.runtime._drop_pool(self)

    def sweep(self, now: float, idle_timeout: float) -> None:
        for env in list(self.idle):
            if now - env.idle_since >= idle_timeout:
                self.retire(env)


class Runtime:
    """Function execution for one App. The Lambda service calls `invoke`.

    `log_sink(account, region, group, stream, events)` receives every log event; `account_concurrency` is the
    account's concurrent executions limit; `idle_timeout_s` is how long a warm environment waits
    for its next invocation. All three may be changed on a live Runtime. `isolate` forces the
    per-function uid on or off (default: on when running as root); `memory_mode` forces
    "cgroup2", "cgroup1" or "rlimit" (default: the best available, see runtime.memory);
    `zygote=False` spawns every environment directly from the server (see runtime.zygote).
    """

    def __init__(
        self,
        app: App,
        *,
        log_sink: LogSink | None = None,
        account_concurrency: int = 1000,
        idle_timeout_s: float = 300.0,
        isolate: bool | None = None,
        memory_mode: str | None = None,
        zygote: bool = True,
    ) -> None:
        self.app = app
        self.clock = app.clock
        self.log_sink: LogSink = log_sink if log_sink is not None else MemoryLogSink()
        self.account_concurrency = account_concurrency
        self.idle_timeout_s = idle_timeout_s
        self.sandbox = Sandbox(app.config.data_dir, isolate)
        self.limits = MemoryLimits(f"{os.getpid()}-{os.urandom(4).hex()}", mode=memory_mode)
        self.launcher = Launcher()
        self.spawner = Spawner(use_zygote=zygote)
        self.closed = False
        self._pools: dict[str, Pool] = {}
        self._latest: dict[tuple[str, str], str] = {}
        self._in_flight: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._unreserved_in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._secured: set[tuple[str, int | None, tuple[str, ...]]] = set()
        app.clock.on_advance(self._clock_moved)
        with contextlib.suppress(RuntimeError):  # created on the server's loop: warm up now
            self._loop = asyncio.get_running_loop()
            self.spawner.prestart()

    # -- the interface of the Lambda service

    async def invoke(self, spec: FunctionSpec, invocation: Invocation) -> InvocationResult:
        """Run one invocation in a warm (or new) environment of `spec`; raise TooManyRequests
        when the function or the account is at its concurrency limit."""
        if self.closed:
            raise RuntimeError("the runtime is closed")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        reserved = self._admit(spec)
        try:
            env = self._pool_for(spec).acquire()
            return await env.run(invocation)
        finally:
            self._release(spec.function_arn, reserved)

    def new_code_dir(self) -> str:
        """A fresh directory under `<data_dir>/functions/` (mode 0711, unguessable name) for
        unpacked code. One function's versions may share one; two functions never may (as root
        it is handed to the function's own gid)."""
        return self.sandbox.new_code_dir()

    def retire_function(self, function_arn: str) -> None:
        """Retire every environment of a function (deleted or reconfigured): idle ones now,
        busy ones when their invocation ends."""
        for pool in list(self._pools.values()):
            if pool.spec.function_arn == function_arn:
                pool.make_stale()
        for key in [key for key in self._latest if key[0] == function_arn]:
            del self._latest[key]

    def environments(self, function_arn: str | None = None) -> list[Environment]:
        return [
            env
            for pool in self._pools.values()
            for env in pool.envs
            if function_arn is None or pool.spec.function_arn == function_arn
        ]

    def concurrent_executions(self, function_arn: str) -> int:
        return self._in_flight.get(function_arn, 0)

    def endpoint_url(self) -> str:
        config = self.app.config
        host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
        return f"http://{host}:{config.port}"

    # -- concurrency

    def _admit(self, spec: FunctionSpec) -> bool:
        """Count the invocation in; True when it runs on the function's reserved concurrency."""
        arn = spec.function_arn
        reserved = spec.reserved_concurrency
        if reserved is None:
            self._reserved.pop(arn, None)
        else:
            self._reserved[arn] = reserved
        running = self._in_flight.get(arn, 0)
        if reserved is not None:
            if running >= reserved:
                raise TooManyRequests(RESERVED_LIMIT)
        else:
            unreserved = self.account_concurrency - sum(self._reserved.values())
            if self._unreserved_in_flight >= unreserved:
                raise TooManyRequests(ACCOUNT_LIMIT)
            self._unreserved_in_flight += 1
        self._in_flight[arn] = running + 1
        return reserved is not None

    def _release(self, arn: str, reserved: bool) -> None:
        left = self._in_flight.get(arn, 1) - 1
        if left > 0:
            self._in_flight[arn] = left
        else:
            self._in_flight.pop(arn, None)
        if not reserved:
            self._unreserved_in_flight -= 1

    # -- pools

    def _pool_for(self, spec: FunctionSpec) -> Pool:
        identity = spec.identity
        key = (spec.function_arn, spec.version)
        previous = self._latest.get(key)
        if previous != identity:
            self._latest[key] = identity
            old = self._pools.get(previous) if previous else None
            if old is not None:
                old.make_stale()
        pool = self._pools.get(identity)
        if pool is None:
            pool = self._pools[identity] = Pool(self, spec)
        return pool

    def _drop_pool(self, pool: Pool) -> None:
        if self._pools.get(pool.identity) is pool:
            del self._pools[pool.identity]

    async def secure(self, spec: FunctionSpec, uid: int | None) -> None:
        """Prepare the code and layer directories for the function's uid, once (in a thread:
        a large package means many files)."""
        key = (spec.code_dir, uid, spec.layer_dirs)
        if key in self._secured:
            return
        sandbox = self.sandbox

        def prepare() -> None:
            sandbox.setup()
            sandbox.secure_code(spec.code_dir, spec.layer_dirs, uid)

        await asyncio.to_thread(prepare)
        self._secured.add(key)

    def _stop_later(self, env: Environment) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # called from outside the loop (another thread, or none running)
            loop = self._loop
            if loop is not None and not loop.is_closed() and loop.is_running():
                loop.call_soon_threadsafe(self._stop_later, env)
            else:
                env.kill()
                env.release()
            return
        self.track(env.stop())

    def track(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background task of the runtime; aclose() waits for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- time

    def _clock_moved(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed() or self.closed:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._sweep_idle)

    def _sweep_idle(self) -> None:
        now = self.clock.now()
        for pool in list(self._pools.values()):
            pool.sweep(now, self.idle_timeout_s)

    # -- shutting down

    async def aclose(self) -> None:
        """Stop every environment and wait until they are gone."""
        self.closed = True
        envs = self.environments()
        self._pools.clear()
        await asyncio.gather(*(env.stop() for env in envs))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self.spawner.close()
        self.limits.close()

    def close(self) -> None:
        """Kill every environment now; callable from any thread (App.close())."""
        if self.closed and not self._pools:
            return
        self.closed = True
        envs = self.environments()
        self._pools.clear()
        for env in envs:
            env.kill()
        loop = self._loop
        in_loop = loop is None or loop.is_closed() or not loop.is_running() or _on_loop(loop)
        for env in envs:
            if in_loop:
                env.release()
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(env.release)  # type: ignore[union-attr]
        if in_loop:
            self.spawner.close()
        elif loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.spawner.close)
        self.limits.close()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
