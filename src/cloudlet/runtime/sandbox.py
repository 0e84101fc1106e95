"""Isolation: user code never runs in the server process, and one function cannot read another's.

**As root** (as in CI and containers), each function's environments run under a dedicated
unprivileged uid/gid derived from the function ARN (`uid_for`). Its code directory is made
`root:<gid>` with no access for others (read and execute for the function, no writes, like
Lambda's read-only /var/task) and each environment's private temp dir (TMPDIR) belongs to its uid.
Paths the function must reach may lie under directories an unprivileged user cannot traverse
(`/root/.pyenv` for the interpreter, a 0700 data directory); the child then enters a private
mount namespace before dropping privileges and covers each such directory with an empty tmpfs
(mode 0711) into which only the needed entries are bind-mounted. The data directory is always
covered that way, so a function never sees the store, the other functions' code or their temp
dirs. The Runtime API listener also checks, from /proc/net/tcp, that a connection comes from the
environment's uid.

**Not root**, functions run as the server's user. Code directories then live under
`<data_dir>/functions/` (mode 0711: traversable, not listable) with unguessable 128-bit names, as
do the temp dirs; that keeps functions from finding each other's files, but not from reading
anything else the server's user can read. Run cloudlet as root (or in a container) when functions
are not trusted.

All of this happens in the child between fork and exec (`zygote.make_preexec`), with plain system
calls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Iterable

log = logging.getLogger("cloudlet.runtime")

UID_BASE = 1 << 29  # far above any uid a distribution hands out
UID_SPAN = 1 << 29

MountPlan = list[tuple[str, list[str]]]


class Sandbox:
    """Directories, uids and the pre-exec steps of the environments of one Runtime."""

    def __init__(self, data_dir: str, isolate: bool | None = None) -> None:
        self.data_dir = os.path.realpath(data_dir)
        self.isolate = (os.geteuid() == 0) if isolate is None else isolate
        self.functions_dir = os.path.join(self.data_dir, "functions")
        self.tmp_root = os.path.join(self.data_dir, "runtime-tmp")
        self.mounts_usable = True  # turned off when the host refuses mount namespaces
        self._uids: dict[str, int] = {}
        self._taken: dict[int, str] = {}
        self._secured: dict[str, int] = {}
        self._public: set[str] = set()
        self._ready = False

    def setup(self) -> None:
        """Create the 0711 parents; remove temp dirs left by a previous run."""
        if self._ready:
            return
        self._ready = True
        for path in (self.functions_dir, self.tmp_root):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o711)
        for entry in os.scandir(self.tmp_root):
            shutil.rmtree(entry.path, ignore_errors=True)

    def new_code_dir(self) -> str:
        """A fresh, unguessable directory for one function's unpacked code."""
        self.setup()
        path = os.path.join(self.functions_dir, os.urandom(16).hex())
        os.mkdir(path, 0o700)
        return path

    def uid_for(self, function_arn: str) -> int | None:
        """The uid (and gid) a function's environments run as; None when not isolating."""
        if not self.isolate:
            return None
        uid = self._uids.get(function_arn)
        if uid is None:
            digest = int.from_bytes(hashlib.sha256(function_arn.encode()).digest()[:8], "big")
            uid = UID_BASE + digest % UID_SPAN
            while uid in self._taken:  # a collision: probe on, within this server
                uid = UID_BASE + (uid - UID_BASE + 1) % UID_SPAN
            self._uids[function_arn] = uid
            self._taken[uid] = function_arn
        return uid

    def secure_code(self, code_dir: str, layer_dirs: Iterable[str], uid: int | None) -> None:
        """Give the function (and only it) read access to its code; layers are readable by all.

        Blocking file-system work: call it in a thread.
        """
        if uid is not None and self._secured.get(code_dir) != uid:
            if code_dir in self._secured:
                log.warning("code dir %s is shared by two functions; last one wins", code_dir)
            _chown_tree(code_dir, uid)
            self._secured[code_dir] = uid
        for layer in layer_dirs:
            if layer not in self._public:
                _publish_tree(layer)
                self._public.add(layer)

    def make_tmp_dir(self, uid: int | None) -> str:
        self.setup()
        path = os.path.join(self.tmp_root, os.urandom(16).hex())
        os.mkdir(path, 0o700)
        if uid is not None:
            os.chown(path, uid, uid)
        return path

    def mount_plan(self, needed: Iterable[str]) -> MountPlan:
        """Which directories to cover with a tmpfs, and what to bind back into each, so that
        an unprivileged uid reaches `needed` (and the data directory shows nothing else)."""
        if not self.isolate or not self.mounts_usable:
            return []
        return build_mount_plan(needed, {self.data_dir})


def build_mount_plan(needed: Iterable[str], masked: set[str]) -> MountPlan:
    entries: dict[str, set[str]] = {}
    for path in needed:
        parts = os.path.realpath(path).split("/")
        for depth in range(1, len(parts) - 1):
            ancestor = "/".join(parts[: depth + 1])
            if ancestor in masked or not _traversable(ancestor):
                entries.setdefault(ancestor, set()).add(parts[depth + 1])
    ordered = sorted(entries, key=lambda name: name.count("/"))
    return [(name, sorted(entries[name])) for name in ordered]


def _traversable(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & stat.S_IXOTH)
    except OSError:
        return True  # not there: nothing to cover


def _chown_tree(root: str, gid: int) -> None:
    """root:<gid>, group read (and execute where the owner could), nothing for others."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, 0, gid)
        os.chmod(dirpath, 0o750)
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                os.lchown(path, 0, gid)
                continue
            os.chown(path, 0, gid)
            os.chmod(path, 0o750 if mode & 0o111 else 0o640)
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                os.lchown(path, 0, gid)


def _publish_tree(root: str) -> None:
    """Layers are shared between functions: readable (and traversable) by everyone."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o555)
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode | (0o555 if mode & 0o111 else 0o444))


def tcp_peer_uid(peer_port: int, local_port: int) -> int | None:
    """The uid owning the 127.0.0.1 socket that connected from `peer_port` to `local_port`."""
    want_local = f"0100007F:{peer_port:04X}"
    want_remote = f"0100007F:{local_port:04X}"
    try:
        with open("/proc/net/tcp") as fh:
            next(fh)
            for line in fh:
                fields = line.split()
                if fields[1] == want_local and fields[2] == want_remote:
                    return int(fields[7])
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return None
