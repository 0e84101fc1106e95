"""Starting environment processes without blocking (or forking) the server.

Normally through the zygote (see runtime.zygote): it is started once with
`asyncio.create_subprocess_exec`, and spawn requests and exit reports travel over a
SOCK_SEQPACKET socket watched by the event loop. If the zygote cannot start, environments are
spawned directly with `asyncio.create_subprocess_exec` and the same pre-exec steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from cloudlet.runtime.launch import PYTHON_BOOTSTRAP
from cloudlet.runtime.zygote import make_preexec

log = logging.getLogger("cloudlet.runtime")

ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote.py")
MAX_MESSAGE = 1 << 20


class Child:
    """A started environment process: its pid and, once it has exited, its return code."""

    def __init__(self, pid: int, exited: asyncio.Future[int]) -> None:
        self.pid = pid
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


class Spawner:
    """Starts environment processes, through the zygote when it runs."""

    def __init__(self, use_zygote: bool = True) -> None:
        self.use_zygote = use_zygote
        self._zygote: ZygoteClient | None = None
        self._starting: asyncio.Task[ZygoteClient | None] | None = None

    async def spawn(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        cwd: str,
        out_fd: int,
        python: bool = False,
        uid: int | None = None,
        cgroup_procs: str | None = None,
        plan: list[Any] | None = None,
        rlimit_data: int | None = None,
    ) -> Child:
        request = {
            "mode": "python" if python else "exec",
            "argv": list(argv),
            "env": env,
            "cwd": cwd,
            "uid": uid,
            "cgroup": cgroup_procs,
            "plan": plan or None,
            "rlimit": rlimit_data,
        }
        zygote = await self._get_zygote()
        if zygote is not None:
            return await zygote.spawn(request, out_fd)
        return await _spawn_directly(request, out_fd)

    def prestart(self) -> None:
        """Start the zygote in the background, so the first cold start does not wait for it."""
        idle = self._starting is None or self._starting.done()
        if self.use_zygote and idle and (self._zygote is None or not self._zygote.alive):
            self._starting = asyncio.get_running_loop().create_task(self._start_zygote())

    async def _get_zygote(self) -> ZygoteClient | None:
        if not self.use_zygote:
            return None
        if self._zygote is not None and self._zygote.alive:
            return self._zygote
        self.prestart()
        assert self._starting is not None
        self._zygote = await asyncio.shield(self._starting)
        return self._zygote

    async def _start_zygote(self) -> ZygoteClient | None:
        client = ZygoteClient()
        try:
            await client.start()
        except Exception as error:
            log.warning("the zygote did not start (%s); spawning environments directly", error)
            client.close()
            self.use_zygote = False
            return None
        return client

    def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None


class ZygoteClient:
    """The server's end of the zygote's control socket."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.sock: socket.socket | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.alive = False
        self._ready: asyncio.Future[None] = self.loop.create_future()
        self._pending: dict[int, asyncio.Future[Child]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._next_id = 0

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-S", "-B", ZYGOTE, str(theirs.fileno()), PYTHON_BOOTSTRAP,
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                cwd="/",
            )  # fmt: skip
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.alive = True
        self.loop.add_reader(ours.fileno(), self._readable)
        await asyncio.wait_for(asyncio.shield(self._ready), 30)

    async def spawn(self, request: dict[str, Any], out_fd: int) -> Child:
        if not self.alive or self.sock is None:
            raise ConnectionError("the zygote is gone")
        self._next_id += 1
        request["id"] = self._next_id
        future: asyncio.Future[Child] = self.loop.create_future()
        self._pending[self._next_id] = future
        data = orjson.dumps(request)
        while True:
            try:
                socket.send_fds(self.sock, [data], [out_fd])
                break
            except BlockingIOError:
                writable: asyncio.Future[None] = self.loop.create_future()
                self.loop.add_writer(self.sock.fileno(), writable.set_result, None)
                try:
                    await writable
                finally:
                    self.loop.remove_writer(self.sock.fileno())
        return await future

    def _readable(self) -> None:
        while self.sock is not None:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            self._dispatch(orjson.loads(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "exit" in message:
            exited = self._exits.pop(message["exit"], None)
            if exited is not None and not exited.done():
                exited.set_result(message["code"])
            return
        if "ready" in message:
            if not self._ready.done():
                self._ready.set_result(None)
            return
        future = self._pending.pop(message.get("id", -1), None)
        if future is None or future.done():
            return
        if "pid" in message:
            exited = self._exits[message["pid"]] = self.loop.create_future()
            future.set_result(Child(message["pid"], exited))
        elif message.get("stage") == "pre":
            future.set_exception(subprocess.SubprocessError(message.get("error", "")))
        else:
            future.set_exception(OSError(message.get("errno") or 0, message.get("error", "")))

    def _lost(self) -> None:
        if self.alive:
            log.warning("the zygote exited; ending the environments it started")
        self.close()

    def close(self) -> None:
        """Stop the zygote. Its environments can no longer be watched, so they end too."""
        self.alive = False
        if self.sock is not None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(Exception):  # gone already, or its loop is closed
                self.proc.kill()
        pending, self._pending = self._pending, {}
        exits, self._exits = self._exits, {}
        for pid in exits:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            for future in pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the zygote is gone"))
            for exited in exits.values():
                if not exited.done():
                    exited.set_result(-signal.SIGKILL)
            if not self._ready.done():
                self._ready.set_exception(ConnectionError("the zygote exited while starting"))


async def _spawn_directly(request: dict[str, Any], out_fd: int) -> Child:
    preexec = make_preexec(
        uid=request["uid"],
        cwd=request["cwd"],
        cgroup_procs=request["cgroup"],
        plan=request["plan"],
        rlimit_data=request["rlimit"],
    )
    proc = await asyncio.create_subprocess_exec(
        *request["argv"],
        stdin=subprocess.DEVNULL,
        stdout=out_fd,
        stderr=out_fd,
        env=request["env"],
        preexec_fn=preexec,
    )
    exited = asyncio.get_running_loop().create_task(proc.wait())
    return Child(proc.pid, exited)
