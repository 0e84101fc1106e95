"""The zygote: a small single-threaded process that starts execution environments.

Why: on a VM, fork() costs milliseconds, more the bigger the process (the cloudlet server holds
hundreds of MB of page tables and runs threads, so it must not fork with Python code in the
child), and a fresh Python interpreter costs ~20 ms before the bootstrap even runs. The zygote is
started once per Runtime with `python -S` and a clean environment, pre-imports the Python
bootstrap, and for every new environment forks a child that applies the pre-exec steps
(`make_preexec`: session, memory cgroup, private mounts, rlimit, uid, cwd) and then either
executes the runtime (Node.js, `provided`) or, for Python functions, runs the bootstrap right
away in the forked interpreter: a Python cold start then costs a fork of a small process instead
of a new interpreter. The child closes the zygote's control socket before anything of the
function runs; exit statuses are reported back to the server, which is not the parent.

Standard library only: the server imports `make_preexec` from here, and the zygote runs this file
as a script. Protocol (AF_UNIX SOCK_SEQPACKET, one JSON message per packet): the server sends
`{"id", "mode": "exec"|"python", "argv", "env", "cwd", "uid", "cgroup", "plan", "rlimit"}` with
the output pipe's write end as SCM_RIGHTS; the zygote answers `{"id", "pid"}` or
`{"id", "error", "errno", "stage"}`, and later `{"exit": pid, "code": returncode}`.
"""

# ruff: noqa: SIM105  (contextlib would add its imports to every cold start)

import json
import os
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 20


def make_preexec(*, uid, cwd, cgroup_procs=None, plan=None, rlimit_data=None):
    """The steps a new environment takes between fork and exec, in order: own session (a
    timeout kills its process group), join its memory cgroup, private mounts, rlimit, drop to the
    function's uid/gid, die with its parent, enter the code directory."""
    libc = _libc()
    cwd_bytes = os.fsencode(cwd)

    def preexec():
        os.setsid()
        if cgroup_procs:
            fd = os.open(cgroup_procs, os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        if plan:
            apply_mounts(libc, plan)
        if rlimit_data:
            resource.setrlimit(resource.RLIMIT_DATA, (rlimit_data, rlimit_data))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # (a uid change clears it)
        os.chdir(cwd_bytes)

    return preexec


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def apply_mounts(libc, plan):
    """Cover each planned directory with an empty tmpfs and bind back only the needed entries
    (opened before the cover, bound through /proc/self/fd)."""
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make-private")
    for directory, children in plan:
        directory = os.fsencode(directory)
        kept = []
        for child in children:
            source = directory + b"/" + os.fsencode(child)
            try:
                fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            kept.append((source, fd, os.path.isdir(source)))
        flags = MS_NOSUID | MS_NODEV
        _check(libc.mount(b"tmpfs", directory, b"tmpfs", flags, b"mode=0711,size=16k"), "tmpfs")
        for target, fd, is_dir in kept:
            if is_dir:
                os.mkdir(target, 0o711)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
            source = b"/proc/self/fd/%d" % fd
            _check(libc.mount(source, target, None, MS_BIND | MS_REC, None), "bind")
            os.close(fd)


# -- the zygote process


class Zygote:
    def __init__(self, control_fd, bootstrap_path):
        import socket

        self.sock = socket.socket(fileno=control_fd)
        self.stdlib = [p for p in sys.path[1:]]
        self.bootstrap = _load_bootstrap(bootstrap_path)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def send(self, message):
        self.sock.send(json.dumps(message).encode())

    def serve(self):
        import select

        self.send({"ready": True, "pid": os.getpid()})
        while True:
            try:
                readable, _, _ = select.select([self.sock, self.wake_r], [], [])
            except InterruptedError:
                continue
            try:
                if self.wake_r in readable:
                    self.reap()
                if self.sock in readable and not self.receive():
                    return
            except (ConnectionResetError, BrokenPipeError):
                return  # the server went away mid-exchange (killed or stopping)

    def receive(self):
        import socket

        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 4)
        except InterruptedError:
            return True
        if not data:
            return False  # the server is gone
        try:
            request = json.loads(data)
            self.send(self.spawn(request, fds[0] if fds else -1))
        finally:
            for fd in fds:
                _close(fd)
        return True

    def reap(self):
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def spawn(self, request, out_fd):
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:
            _close(err_r)
            self.child(request, out_fd, err_w)  # never returns
        _close(err_w)
        report = b""
        while True:
            chunk = os.read(err_r, 4096)
            if not chunk:
                break
            report += chunk
        _close(err_r)
        if not report:
            return {"id": request["id"], "pid": pid}
        os.waitpid(pid, 0)
        stage, _, rest = report.decode("utf-8", "replace").partition(":")
        number, _, message = rest.partition(":")
        return {"id": request["id"], "error": message, "errno": int(number), "stage": stage}

    def child(self, request, out_fd, err_w):
        stage = "pre"
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.sock.close()
            _close(self.wake_r)
            _close(self.wake_w)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            _close_inherited(keep=err_w)
            make_preexec(
                uid=request.get("uid"),
                cwd=request["cwd"],
                cgroup_procs=request.get("cgroup"),
                plan=request.get("plan"),
                rlimit_data=request.get("rlimit"),
            )()
            argv, env = request["argv"], request["env"]
            if request.get("mode") != "python":
                stage = "exec"
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)
                os.execve(argv[0], argv, env)
            os.environ.clear()
            os.environ.update(env)
            _close(err_w)
            err_w = -1
            self.run_python(argv)
        except BaseException as error:
            if err_w >= 0:
                number = getattr(error, "errno", None) or 0
                text = f"{stage}:{number}:{type(error).__name__}: {error}"
                os.write(err_w, text.encode("utf-8", "replace"))
            os._exit(127)
        os._exit(0)

    def run_python(self, argv):
        """Become the Python bootstrap, as `python -S bootstrap.py <args>` would."""
        import io

        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        for fd, name in ((1, "stdout"), (2, "stderr")):
            raw = io.FileIO(fd, "w", closefd=False)
            errors = "backslashreplace" if fd == 2 else "strict"
            stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors=errors)
            setattr(sys, name, stream)
        sys.argv = list(argv[2:])
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = extra + self.stdlib
        sys.path_importer_cache.clear()
        try:
            self.bootstrap.main()
        except SystemExit as done:
            code = done.code
            if code is not None and not isinstance(code, int):
                sys.stderr.write(str(code) + "\n")
                code = 1
            _flush()
            os._exit(code or 0)
        except BaseException:
            import traceback

            traceback.print_exc()
            _flush()
            os._exit(1)
        _flush()
        os._exit(0)


def _load_bootstrap(path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("python_bootstrap", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["python_bootstrap"] = module
    import json as _json  # noqa: F401  (the bootstrap's first invocation needs it)

    return module


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _close_inherited(keep):
    """Close every descriptor above stderr except `keep`: nothing of the zygote (least of all
    its control socket) may reach the function."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, 1024)
    for fd in fds:
        if fd > 2 and fd != keep:
            _close(fd)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def main():
    control_fd, bootstrap_path = int(sys.argv[1]), sys.argv[2]
    os.chdir("/")
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    Zygote(control_fd, bootstrap_path).serve()


if __name__ == "__main__":
    main()
