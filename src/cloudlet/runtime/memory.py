"""Memory bounds of execution environments, and the "Max Memory Used" they report.

The choice, in order of preference:

1. **cgroup v2** (`/sys/fs/cgroup/cgroup.controllers` lists `memory` and the tree is writable, as
   when cloudlet runs as root on a modern host): one cgroup per environment under
   `/sys/fs/cgroup/cloudlet/<server>/`, `memory.max` = MemorySize and `memory.swap.max` = 0. The
   kernel's OOM killer ends an environment that goes over, exactly like Lambda's sandbox; the
   `oom_kill` counter of `memory.events` tells an out-of-memory kill from any other SIGKILL.
   Max Memory Used is the cgroup's `memory.peak` (every process of the environment), plus the
   pages a Python environment shares with the zygote it was forked from (see `peak_mb`).
2. **cgroup v1** (the `memory` hierarchy at `/sys/fs/cgroup/memory`, as on older hosts and some
   VMs): the same with `memory.limit_in_bytes`, `memory.oom_control` and
   `memory.max_usage_in_bytes`.
3. **rlimit** otherwise (not root, no delegated cgroup): `RLIMIT_DATA` of MemorySize plus a small
   allowance for the interpreter. It bounds the heap rather than resident memory, so a function
   that allocates past its size fails with its language's out-of-memory error (MemoryError,
   a V8 heap error) instead of being killed; RLIMIT_AS is not used because V8 reserves far more
   address space than it ever touches. Max Memory Used is then the peak RSS (VmHWM) of the
   environment's main process.

The child joins its cgroup itself, before it executes anything (see `sandbox.make_preexec`), so no
allocation of user code escapes the limit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

log = logging.getLogger("cloudlet.runtime")

MB = 1024 * 1024
#: what an interpreter needs besides the function's own heap, under the rlimit fallback
RLIMIT_ALLOWANCE = 48 * MB


class EnvMemory:
    """The memory bound of one environment."""

    def __init__(self, limit_mb: int, cgroup: str | None = None, version: int = 0) -> None:
        self.limit_mb = limit_mb
        self.cgroup = cgroup
        self.version = version
        self._peak_fd = -1
        self._shared: int | None = None

    @property
    def procs_file(self) -> str | None:
        """The file the child writes its pid to, to join the cgroup; None without cgroups."""
        return os.path.join(self.cgroup, "cgroup.procs") if self.cgroup else None

    @property
    def rlimit_data(self) -> int | None:
        return None if self.cgroup else self.limit_mb * MB + RLIMIT_ALLOWANCE

    def peak_mb(self, pid: int | None) -> int:
        """The largest memory use so far, in MB (rounded up, as Lambda reports it).

        With a cgroup: its peak (a pread of an open file, every invocation) plus the pages the
        process shares with the zygote it was forked from, which the cgroup is not charged for
        (measured once, from the process's peak RSS). Without: the peak RSS (VmHWM)."""
        if not self.cgroup:
            return -(-(_vm_hwm(pid) if pid else 0) // MB)
        if self._peak_fd < 0:
            name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
            try:
                self._peak_fd = os.open(os.path.join(self.cgroup, name), os.O_RDONLY)
            except OSError:
                return -(-(_vm_hwm(pid) if pid else 0) // MB)
        try:
            peak = int(os.pread(self._peak_fd, 64, 0))
        except (OSError, ValueError):
            peak = 0
        if self._shared is None and pid:
            current = "memory.current" if self.version == 2 else "memory.usage_in_bytes"
            usage = _read_int(os.path.join(self.cgroup, current))
            self._shared = max(0, _vm_hwm(pid) - usage)
        return -(-(peak + (self._shared or 0)) // MB)

    def oom_killed(self) -> bool:
        if not self.cgroup:
            return False
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            with open(os.path.join(self.cgroup, name)) as fh:
                for line in fh:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value) > 0
        except OSError:
            pass
        return False

    def kill_all(self) -> None:
        """SIGKILL every process of the environment, including ones that left its session."""
        if not self.cgroup:
            return
        if self.version == 2 and _write(os.path.join(self.cgroup, "cgroup.kill"), "1"):
            return
        try:
            with open(os.path.join(self.cgroup, "cgroup.procs")) as fh:
                pids = [int(line) for line in fh if line.strip()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> bool:
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1
        if not self.cgroup:
            return True
        try:
            os.rmdir(self.cgroup)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


class MemoryLimits:
    """Creates the per-environment bounds, with the best mechanism this host offers."""

    def __init__(self, token: str, root: str = "/sys/fs/cgroup", mode: str | None = None) -> None:
        self.token = token
        self.root = root
        self.version = 0
        self.base: str | None = None
        self.mode = mode or "auto"
        self._detected = False

    def _detect(self) -> None:
        self._detected = True
        if self.mode in ("auto", "cgroup2") and self._setup_v2():
            self.version = 2
        elif self.mode in ("auto", "cgroup1") and self._setup_v1():
            self.version = 1
        self.mode = {2: "cgroup2", 1: "cgroup1"}.get(self.version, "rlimit")
        log.debug("function memory bounded by %s", self.mode)

    def _setup_v2(self) -> bool:
        try:
            with open(os.path.join(self.root, "cgroup.controllers")) as fh:
                if "memory" not in fh.read().split():
                    return False
            top = os.path.join(self.root, "cloudlet")
            os.makedirs(top, exist_ok=True)
            if not _enable_memory(self.root) or not _enable_memory(top):
                return False
            _sweep_stale(top)
            base = os.path.join(top, self.token)
            os.makedirs(base, exist_ok=True)
            if not _enable_memory(base):
                return False
        except OSError:
            return False
        self.base = base
        return True

    def _setup_v1(self) -> bool:
        hierarchy = os.path.join(self.root, "memory")
        if not os.path.exists(os.path.join(hierarchy, "memory.limit_in_bytes")):
            return False
        try:
            top = os.path.join(hierarchy, "cloudlet")
            os.makedirs(top, exist_ok=True)
            _sweep_stale(top)
            base = os.path.join(top, self.token)
            os.makedirs(base, exist_ok=True)
        except OSError:
            return False
        self.base = base
        return True

    def create(self, env_id: str, limit_mb: int) -> EnvMemory:
        if not self._detected:
            self._detect()
        if self.base is None:
            return EnvMemory(limit_mb)
        path = os.path.join(self.base, env_id)
        try:
            os.mkdir(path)
            limit = str(limit_mb * MB)
            if self.version == 2:
                ok = _write(os.path.join(path, "memory.max"), limit)
                _write(os.path.join(path, "memory.swap.max"), "0")
            else:
                ok = _write(os.path.join(path, "memory.limit_in_bytes"), limit)
                _write(os.path.join(path, "memory.memsw.limit_in_bytes"), limit)
        except OSError:
            ok = False
        if not ok:
            log.warning("could not create memory cgroup %s; using an rlimit", path)
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return EnvMemory(limit_mb)
        return EnvMemory(limit_mb, path, self.version)

    def close(self) -> None:
        if self.base is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.base)


def _enable_memory(group: str) -> bool:
    control = os.path.join(group, "cgroup.subtree_control")
    try:
        with open(control) as fh:
            if "memory" in fh.read().split():
                return True
    except OSError:
        return False
    return _write(control, "+memory")


def _sweep_stale(top: str) -> None:
    """Remove the cgroups a crashed cloudlet left behind (named `<pid>-<token>`)."""
    try:
        names = os.listdir(top)
    except OSError:
        return
    for name in names:
        pid, _, _ = name.partition("-")
        if not pid.isdigit() or _alive(int(pid)):
            continue
        base = os.path.join(top, name)
        for child in _subdirs(base):
            with contextlib.suppress(OSError):
                os.rmdir(child)
        with contextlib.suppress(OSError):
            os.rmdir(base)


def _subdirs(path: str) -> list[str]:
    try:
        return [entry.path for entry in os.scandir(path) if entry.is_dir()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w") as fh:
            fh.write(value)
    except OSError:
        return False
    return True


def _read_int(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0
