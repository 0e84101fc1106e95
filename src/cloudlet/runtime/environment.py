"""One execution environment: a subprocess, its own Runtime API listener, its log stream.

An environment serves one invocation at a time and stays warm between them: the process, its
module globals and its temp dir survive until the pool retires it. The invocation lifecycle is
the Runtime API's: the invocation is handed over on `next` (START is logged then, so init output
comes first, as on AWS), and ends with `response` or `error` from the runtime, or when the
platform ends it - a timeout (the environment is killed), the process exiting (Runtime.ExitError,
or Runtime.OutOfMemory when the memory cgroup killed it), or an init error.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.runtime import FunctionSpec, Invocation, InvocationResult
from cloudlet.runtime import logs as L
from cloudlet.runtime.api import (
    ACCEPTED,
    INVALID_REQUEST_ID,
    ApiConnection,
    ApiRequest,
    Reply,
    error_body,
    invalid_state,
    serve_api,
)
from cloudlet.runtime.launch import Launch
from cloudlet.runtime.memory import EnvMemory
from cloudlet.runtime.output import OutputPipe
from cloudlet.runtime.sandbox import MountPlan, tcp_peer_uid
from cloudlet.runtime.spawner import Child

if TYPE_CHECKING:
    from cloudlet.runtime.pool import Pool, Runtime

log = logging.getLogger("cloudlet.runtime")

#: Lambda gives the INIT phase 10 s; longer inits continue against the function timeout
INIT_LIMIT_S = 10.0
TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


@dataclass(slots=True)
class Call:
    """One invocation while an environment works on it."""

    invocation: Invocation
    future: asyncio.Future[InvocationResult]
    assigned_at: float
    cold: bool
    delivered_at: float | None = None
    timer: asyncio.TimerHandle | None = None
    tail: L.TailBuffer | None = None  # kept only when the caller wants the log tail


class Environment:
    def __init__(self, runtime: Runtime, pool: Pool, spec: FunctionSpec) -> None:
        self.runtime = runtime
        self.pool = pool
        self.spec = spec
        self.id = os.urandom(8).hex()
        self.group = L.log_group_name(spec.function_name, spec.log_group)
        self.stream = L.log_stream_name(spec.version)
        self.state = "new"  # new -> starting -> idle | busy -> dead
        self.uid = runtime.sandbox.uid_for(spec.function_arn)
        self.proc: Child | None = None
        self.server: asyncio.Server | None = None
        self.port = 0
        self.conn: ApiConnection | None = None  # a parked `next`
        self.current: Call | None = None
        self.init_done = False
        self.init_ms: float | None = None
        self.init_error: tuple[bytes, str] | None = None
        self.doomed = False  # retire after the current invocation
        self.memory: EnvMemory | None = None
        self.tmp_dir: str | None = None
        self.output: OutputPipe | None = None
        self.idle_since = 0.0
        self.idle_handle: asyncio.TimerHandle | None = None
        self.invocations = 0
        self.max_memory_mb = 0
        self._spawned_at = 0.0
        self._events: list[L.LogEvent] = []
        self._loop = asyncio.get_running_loop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    # -- invoking

    async def run(self, invocation: Invocation) -> InvocationResult:
        """Serve one invocation (starting the environment first when it is new)."""
        loop = self._loop
        call = Call(invocation, loop.create_future(), time.monotonic(), cold=not self.init_done)
        if invocation.want_log_tail:
            call.tail = L.TailBuffer()
        new = self.state == "new"
        self.current = call
        self.state = "busy"
        if new:
            limit = INIT_LIMIT_S + self.spec.timeout_s
            call.timer = loop.call_later(limit, self._on_timeout, call)
            self.runtime.track(self._start())  # not cancelled with the caller
        elif self.conn is not None:
            self._deliver(call)
        else:  # the runtime has not asked for it yet: its time runs all the same
            call.timer = loop.call_later(self.spec.timeout_s, self._on_timeout, call)
        return await asyncio.shield(call.future)

    def _deliver(self, call: Call) -> None:
        conn, self.conn = self.conn, None
        assert conn is not None
        if not conn.can_send():
            return  # the client went away: the invocation waits for its next `next`
        if self.output is not None:
            self.output.drain()  # what init (or the last invocation) printed comes before START
        inv = call.invocation
        self._log(L.start_line(inv.request_id, self.spec.version))
        deadline = int((time.time() + self.spec.timeout_s) * 1000)
        conn.send_invocation(self._headers(inv, deadline), inv.payload)
        call.delivered_at = time.monotonic()
        if call.timer is not None:
            call.timer.cancel()
        call.timer = self._loop.call_later(self.spec.timeout_s, self._on_timeout, call)

    def _headers(self, inv: Invocation, deadline_ms: int) -> bytes:
        lines = [
            b"Content-Type: application/json",
            b"Lambda-Runtime-Aws-Request-Id: " + inv.request_id.encode(),
            b"Lambda-Runtime-Deadline-Ms: %d" % deadline_ms,
            b"Lambda-Runtime-Invoked-Function-Arn: " + inv.invoked_arn.encode(),
            b"Lambda-Runtime-Trace-Id: " + (inv.trace_id or _trace_id()).encode(),
        ]
        if inv.client_context:
            lines.append(b"Lambda-Runtime-Client-Context: " + _client_context(inv.client_context))
        if inv.cognito_identity:
            lines.append(b"Lambda-Runtime-Cognito-Identity: " + inv.cognito_identity.encode())
        return b"\r\n".join(lines) + b"\r\n"

    # -- starting

    async def _start(self) -> None:
        self.state = "starting"
        self._spawned_at = time.monotonic()
        runtime, spec = self.runtime, self.spec
        self._log(L.init_start_line(spec.runtime, spec.region))
        try:
            await runtime.secure(spec, self.uid)
            self.memory = runtime.limits.create(self.id, spec.memory_mb)
            self.tmp_dir = runtime.sandbox.make_tmp_dir(self.uid)
            self.server, self.port = await serve_api(self)
            launch = await runtime.launcher.prepare(
                spec, port=self.port, tmp_dir=self.tmp_dir, stream=self.stream,
                endpoint=runtime.endpoint_url(),
            )  # fmt: skip
            entry_error = launch.entry_error
            if entry_error is None:
                await self._spawn(launch)
        except EntryError as error:
            entry_error = (error.error_type, error.message)
        except Exception as error:  # a bug of ours or a host problem: report it, do not hang
            log.exception("could not start an environment of %s", spec.function_arn)
            entry_error = (
                "Runtime.Unknown",
                f"cloudlet could not start it: {type(error).__name__}",
            )
        if entry_error is not None:
            self._entry_failed(*entry_error)
        elif self.state == "dead" and self not in self.pool.envs:  # retired while starting
            self.kill()
            self.release()
        elif self.state == "starting":
            self.state = "busy" if self.current is not None else "idle"

    async def _spawn(self, launch: Launch) -> None:
        """Start the process; when the host refuses part of the isolation, step down (and say
        so) rather than fail every function."""
        sandbox = self.runtime.sandbox
        while True:
            plan = sandbox.mount_plan(launch.needed)
            try:
                await self._exec(launch, plan)
                return
            except subprocess.SubprocessError as error:  # the pre-exec steps failed
                if plan:
                    log.warning("private mounts failed (%s); functions see the host's", error)
                    sandbox.mounts_usable = False
                    continue
                if self.uid is None:
                    raise
                self._drop_isolation(error)
            except PermissionError as error:  # the unprivileged uid cannot reach the runtime
                if self.uid is None:
                    raise EntryError(launch.argv[0], error) from error
                self._drop_isolation(error)
            except OSError as error:
                raise EntryError(launch.argv[0], error) from error

    def _drop_isolation(self, error: BaseException) -> None:
        log.warning("cannot run functions under their own uid here (%s); running unisolated", error)
        self.runtime.sandbox.isolate = False
        self.uid = None

    async def _exec(self, launch: Launch, plan: MountPlan) -> None:
        assert self.memory is not None
        output = self.output = OutputPipe(self._on_output)  # drainable before the spawn returns
        try:
            self.proc = await self.runtime.spawner.spawn(
                launch.argv,
                launch.env,
                cwd=self.spec.code_dir,
                out_fd=output.write_fd,
                python=launch.python,
                uid=self.uid,
                cgroup_procs=self.memory.procs_file,
                plan=plan,
                rlimit_data=self.memory.rlimit_data,
            )
        except BaseException:
            output.close()
            self.output = None
            raise
        output.start(self._loop)
        self.runtime.track(self._watch(self.proc))

    def _entry_failed(self, error_type: str, message: str) -> None:
        self.state = "dead"
        self.doomed = True
        call = self.current
        if call is None:
            return
        text = f"RequestId: {call.invocation.request_id} Error: {message}"
        self._log(L.init_report_line(0.0, "init", "error", error_type))
        body = orjson.dumps({"errorType": error_type, "errorMessage": text})
        note = f"{text}\n{error_type}"
        self._finish(call, body, "Unhandled", status="error", error_type=error_type, note=note)

    # -- the Runtime API (see api.ApiHandler)

    def api_accept(self, peer_port: int, local_port: int) -> bool:
        if self.uid is None:
            return True
        owner = tcp_peer_uid(peer_port, local_port)
        if owner is not None and owner != self.uid:
            log.warning(
                "refused a Runtime API connection of uid %s to %s", owner, self.spec.function_name
            )
            return False
        return True

    def api_next(self, conn: ApiConnection) -> None:
        if self.state == "dead":
            conn.close()
            return
        if not self.init_done:
            self.init_done = True
            self.init_ms = (time.monotonic() - self._spawned_at) * 1000
        call = self.current
        if call is not None and call.delivered_at is not None and not call.future.done():
            conn.refuse(*invalid_state("InvocationResponse", "InvocationNext"))
            return
        self.conn = conn
        if call is not None and not call.future.done():
            self._deliver(call)

    def api_next_abandoned(self, conn: ApiConnection) -> None:
        if self.conn is conn:
            self.conn = None

    def _answerable(self, request_id: str) -> Call | None:
        call = self.current
        if call is None or call.delivered_at is None or call.future.done():
            return None
        return call if call.invocation.request_id == request_id else None

    def api_response(self, request_id: str, request: ApiRequest) -> Reply:
        call = self._answerable(request_id)
        if call is None:
            return INVALID_REQUEST_ID
        if request.too_large:
            self._finish(call, orjson.dumps(TOO_LARGE), "Unhandled")
            return 413, error_body(
                "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes)."
            )
        self._finish(call, request.body, None)
        return ACCEPTED

    def api_error(self, request_id: str, request: ApiRequest) -> Reply:
        call = self._answerable(request_id)
        if call is None:
            return INVALID_REQUEST_ID
        body = request.body or orjson.dumps(
            error_body(request.headers.get("lambda-runtime-function-error-type", "Unknown"), "")
        )
        self._finish(call, body[: 6 * 1024 * 1024], "Unhandled")
        return ACCEPTED

    def api_init_error(self, request: ApiRequest) -> Reply:
        if self.init_done:
            return invalid_state("Ready", "InitError")
        error_type = request.headers.get("lambda-runtime-function-error-type", "")
        body = request.body or orjson.dumps(error_body(error_type or "Runtime.Unknown", ""))
        if not error_type:
            error_type = _error_type_of(body)
        self.init_error = (body, error_type)
        self.doomed = True
        init_ms = (time.monotonic() - self._spawned_at) * 1000
        self._log(L.init_report_line(init_ms, "init", "error", error_type))
        call = self.current
        if call is not None and not call.future.done():
            note = f"Unknown application error occurred\n{error_type}"
            self._finish(call, body, "Unhandled", status="error", error_type=error_type, note=note)
        return ACCEPTED

    # -- the platform ending an invocation

    def _on_timeout(self, call: Call) -> None:
        if call.future.done():
            return
        started = call.delivered_at if call.delivered_at is not None else call.assigned_at
        elapsed = time.monotonic() - started
        self.doomed = True
        self._peak_memory()  # while the process is still there to ask
        self.kill()
        message = L.timeout_message(call.invocation.request_id, elapsed)
        if not self.init_done:
            init_ms = (time.monotonic() - self._spawned_at) * 1000
            self._log(L.init_report_line(init_ms, "invoke", "timeout", None))
        body = orjson.dumps({"errorMessage": message})
        self._finish(call, body, "Unhandled", status="timeout", note=message)

    async def _watch(self, proc: Child) -> None:
        returncode = await proc.wait()
        if self.output is not None:
            self.output.drain()
        was = self.state
        self.state = "dead"
        call = self.current
        if call is not None and not call.future.done():
            self._exited(call, returncode)
        elif was != "dead" and not self.doomed:
            log.info("an environment of %s exited (%s)", self.spec.function_name, returncode)
        if self in self.pool.envs:
            self.pool.retire(self)
        else:  # retired already: what it held can go now that the process is gone
            self.release()

    def _exited(self, call: Call, returncode: int) -> None:
        oom = self.memory is not None and self.memory.oom_killed()
        error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
        message = L.exit_message(call.invocation.request_id, L.exit_description(returncode))
        if not self.init_done:
            init_ms = (time.monotonic() - self._spawned_at) * 1000
            self._log(L.init_report_line(init_ms, "init", "error", error_type))
        body = orjson.dumps({"errorType": error_type, "errorMessage": message})
        note = f"{message}\n{error_type}"
        self._finish(call, body, "Unhandled", status="error", error_type=error_type, note=note)

    # -- finishing an invocation

    def _finish(
        self,
        call: Call,
        payload: bytes,
        function_error: str | None,
        status: str | None = None,
        error_type: str | None = None,
        note: str | None = None,
    ) -> None:
        """End an invocation: END and REPORT (after START and the platform's `note`, when
        the runtime never took the invocation), the result, and the environment back to the
        pool or out of it."""
        if call.future.done():
            return
        if self.output is not None:
            self.output.drain()  # the runtime flushed before answering: its lines come first
        if call.timer is not None:
            call.timer.cancel()
        started = call.delivered_at if call.delivered_at is not None else call.assigned_at
        duration = (time.monotonic() - started) * 1000
        init_ms = self.init_ms if call.cold else None
        memory_used = self._peak_memory()
        request_id = call.invocation.request_id
        if call.delivered_at is None:  # ended before the runtime took it (init failed, timed out)
            self._log(L.start_line(request_id, self.spec.version))
        if note:
            self._log(note)
        self._log(L.end_line(request_id))
        self._log(
            L.report_line(
                request_id, duration, self.spec.memory_mb, memory_used, init_ms, status, error_type
            )
        )
        self._flush()
        result = InvocationResult(
            payload=payload,
            function_error=function_error,
            log_tail=call.tail.text() if call.tail is not None else "",
            duration_ms=duration,
            billed_duration_ms=L.billed_ms(duration, init_ms),
            init_duration_ms=init_ms if init_ms is not None or not call.cold else duration,
            max_memory_used_mb=memory_used,
            executed_version=self.spec.version,
        )
        self.current = None
        self.invocations += 1
        call.future.set_result(result)
        if self.state != "dead" and not self.doomed:
            self.state = "idle"
            self.pool.on_idle(self)
        elif self.proc is not None and self.proc.returncode is None:
            self.kill()  # _watch retires it once it has exited
        else:
            self.pool.retire(self)

    def _peak_memory(self) -> int:
        """Max Memory Used so far (remembered: a killed process can no longer be asked)."""
        if self.memory is not None:
            alive = self.proc is not None and self.proc.returncode is None
            self.max_memory_mb = max(
                self.max_memory_mb, self.memory.peak_mb(self.pid if alive else None)
            )
        return self.max_memory_mb

    # -- logs

    def _log(self, line: str) -> None:
        self._events.append((self.runtime.clock.now_ms(), line))
        if self.current is not None and self.current.tail is not None:
            self.current.tail.add(line)

    def _on_output(self, lines: list[str]) -> None:
        now = self.runtime.clock.now_ms()
        self._events.extend((now, line) for line in lines)
        if self.current is not None and self.current.tail is not None:
            for line in lines:
                self.current.tail.add(line)
        self._flush()

    def _flush(self) -> None:
        if not self._events:
            return
        events, self._events = self._events, []
        try:
            self.runtime.log_sink(
                self.spec.account, self.spec.region, self.group, self.stream, events
            )
        except Exception:
            log.exception("the log sink failed; %d events of %s lost", len(events), self.group)

    # -- ending

    def kill(self) -> None:
        """SIGKILL the environment's processes (its session, and its cgroup when it has one)."""
        pid = self.pid
        if pid is not None and self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        if self.memory is not None:
            self.memory.kill_all()

    async def stop(self) -> None:
        """Kill the process, wait for it, and release the listener, cgroup and temp dir."""
        self.doomed = True
        self.kill()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.proc.wait(), 5)
        tmp_dir, self.tmp_dir = self.tmp_dir, None
        self.release()
        if tmp_dir is not None:  # a function may leave gigabytes in its /tmp: not on the loop
            await asyncio.to_thread(shutil.rmtree, tmp_dir, True)

    def release(self) -> None:
        """Free what the environment holds; synchronous so App.close() can call it."""
        self.state = "dead"
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.close()
            self.server = None
        if self.output is not None:
            with contextlib.suppress(Exception):
                self.output.close()
        if self.idle_handle is not None:
            self.idle_handle.cancel()
            self.idle_handle = None
        if self.memory is not None and self.memory.remove():
            self.memory = None
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
        self._flush()


class EntryError(Exception):
    """Nothing could be executed: Lambda's Runtime.InvalidEntrypoint."""

    def __init__(self, path: str, error: OSError) -> None:
        reason = (error.strerror or str(error)).lower()
        self.error_type = "Runtime.InvalidEntrypoint"
        self.message = f"fork/exec {path}: {reason}"
        super().__init__(self.message)


def _trace_id() -> str:
    """An X-Ray trace header like the one Lambda passes when the caller sent none."""
    random = os.urandom(24).hex()
    root = f"1-{int(time.time()):08x}-{random[:24]}"
    return f"Root={root};Parent={random[24:40]};Sampled=0;Lineage=1:{random[40:]}:0"


def _client_context(value: str) -> bytes:
    """X-Amz-Client-Context is base64 JSON; the Runtime API passes the JSON itself."""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return value.encode()


def _error_type_of(body: bytes) -> str:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "Runtime.Unknown"
    if isinstance(parsed, dict) and isinstance(parsed.get("errorType"), str):
        return parsed["errorType"]
    return "Runtime.Unknown"
