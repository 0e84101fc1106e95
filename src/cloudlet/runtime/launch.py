"""What to execute for a function, and the environment it sees.

`python3.x` runs cloudlet's Python bootstrap on the local interpreter, `nodejs<N>.x` its Node.js
bootstrap on the local `node`, `provided*` the deployment package's `bootstrap` executable (or a
layer's, as `/opt/bootstrap`). A runtime whose version differs from the local one still runs, after
one warning.

The environment is built from nothing, never copied from the server's own (which may hold
secrets): the variables Lambda sets, the role's credentials, `AWS_ENDPOINT_URL` pointing at this
cloudlet so SDKs in handlers reach it, then the function's own variables, except the ones Lambda
reserves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import site
import sys
from dataclasses import dataclass, field

from cloudlet.runtime import FunctionSpec

log = logging.getLogger("cloudlet.runtime")

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstraps")
PYTHON_BOOTSTRAP = os.path.join(BOOTSTRAP_DIR, "python_bootstrap.py")
NODE_BOOTSTRAP = os.path.join(BOOTSTRAP_DIR, "node_bootstrap.js")

#: variables a function's configuration cannot set (Lambda rejects them; we ignore them)
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


@dataclass(slots=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    #: paths the environment must be able to reach (interpreter, code, layers, temp dir)
    needed: list[str] = field(default_factory=list)
    #: (errorType, message) when there is nothing to execute
    entry_error: tuple[str, str] | None = None
    #: argv is cloudlet's Python bootstrap: the zygote may run it in a forked interpreter
    python: bool = False


class Launcher:
    """Builds the command line and environment of new environments."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._node: str | None = None
        self._node_major: int | None = None
        self._site_dirs = [p for p in site.getsitepackages() if os.path.isdir(p)]
        self._python_prefixes = sorted({sys.base_prefix, sys.prefix})

    async def prepare(
        self, spec: FunctionSpec, *, port: int, tmp_dir: str, stream: str, endpoint: str
    ) -> Launch:
        env = base_environment(spec, port=port, tmp_dir=tmp_dir, stream=stream, endpoint=endpoint)
        needed = [spec.code_dir, *spec.layer_dirs, tmp_dir, BOOTSTRAP_DIR]
        needed += self._python_prefixes + self._site_dirs
        node = self._node or shutil.which("node")
        if node:
            self._node = node
            needed.append(os.path.dirname(os.path.dirname(os.path.realpath(node))))
        runtime = spec.runtime
        if runtime.startswith("python"):
            return Launch(self._python(spec, env), env, needed, python=True)
        if runtime.startswith("nodejs"):
            if not node:
                return Launch([], env, needed, ("Runtime.InvalidEntrypoint", "node is not on PATH"))
            argv = await self._nodejs(spec, env, node)
        elif runtime.startswith("provided"):
            return _provided(spec, env, needed)
        else:
            return Launch([], env, needed, ("Runtime.InvalidRuntime", f"unknown runtime {runtime}"))
        return Launch(argv, env, needed)

    def _python(self, spec: FunctionSpec, env: dict[str, str]) -> list[str]:
        local = f"python{sys.version_info.major}.{sys.version_info.minor}"
        self._warn_once(spec.runtime, local)
        paths = [spec.code_dir, *_layer_paths(spec.layer_dirs, "python", local)]
        env.setdefault("PYTHONPATH", os.pathsep.join(paths))
        env["PATH"] = _path(spec, os.path.dirname(sys.executable))
        # -S: site's .pth hooks can cost tens of ms; the bootstrap adds site-packages itself.
        # The code and layer paths also go on the command line, so a function's own
        # PYTHONPATH extends them instead of hiding them.
        sites = os.pathsep.join(self._site_dirs)
        return [sys.executable, "-S", PYTHON_BOOTSTRAP, os.pathsep.join(paths), sites]

    async def _nodejs(self, spec: FunctionSpec, env: dict[str, str], node: str) -> list[str]:
        if self._node_major is None:
            self._node_major = await _node_major(node)
        self._warn_once(spec.runtime, f"nodejs{self._node_major}.x")
        wanted = spec.runtime.removeprefix("nodejs").removesuffix(".x")
        paths = []
        for layer in reversed(spec.layer_dirs):
            paths += [os.path.join(layer, "nodejs", f"node{wanted}", "node_modules")]
            paths += [os.path.join(layer, "nodejs", "node_modules")]
        env.setdefault("NODE_PATH", os.pathsep.join([*paths, spec.code_dir]))
        env["PATH"] = _path(spec, os.path.dirname(node))
        heap = max(32, spec.memory_mb * 9 // 10)
        return [node, f"--max-old-space-size={heap}", NODE_BOOTSTRAP]

    def _warn_once(self, wanted: str, local: str) -> None:
        if wanted != local and wanted not in self._warned:
            self._warned.add(wanted)
            log.warning("functions of runtime %s run on the local %s", wanted, local)


def base_environment(
    spec: FunctionSpec, *, port: int, tmp_dir: str, stream: str, endpoint: str
) -> dict[str, str]:
    group = spec.log_group or f"/aws/lambda/{spec.function_name}"
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "LAMBDA_TASK_ROOT": spec.code_dir,
        "LAMBDA_RUNTIME_DIR": BOOTSTRAP_DIR,
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": _path(spec),
        "LD_LIBRARY_PATH": _library_path(spec),
        "TMPDIR": tmp_dir,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": spec.account,  # cloudlet picks the account from a 12-digit key
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    if not spec.runtime.startswith("provided"):
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
    if spec.log_format.upper() == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
    env.update(spec.credentials)
    for name, value in spec.environment:
        if name not in RESERVED:
            env[name] = value
    return env


def _path(spec: FunctionSpec, *first: str) -> str:
    layer_bins = [os.path.join(layer, "bin") for layer in reversed(spec.layer_dirs)]
    entries = [*first, *SYSTEM_PATH, *layer_bins]
    return os.pathsep.join(dict.fromkeys(entries))


def _library_path(spec: FunctionSpec) -> str:
    layer_libs = [os.path.join(layer, "lib") for layer in reversed(spec.layer_dirs)]
    entries = ["/lib64", "/usr/lib64", spec.code_dir, os.path.join(spec.code_dir, "lib")]
    return os.pathsep.join([*entries, *layer_libs])


def _layer_paths(layers: tuple[str, ...], language: str, version: str) -> list[str]:
    """Layer paths in Lambda's order: later layers overlay earlier ones in /opt, so they win."""
    ordered = list(reversed(layers))
    deep = [os.path.join(layer, language, "lib", version, "site-packages") for layer in ordered]
    return deep + [os.path.join(layer, language) for layer in ordered]


def _provided(spec: FunctionSpec, env: dict[str, str], needed: list[str]) -> Launch:
    candidates = [os.path.join(spec.code_dir, "bootstrap")]
    candidates += [os.path.join(layer, "bootstrap") for layer in reversed(spec.layer_dirs)]
    env["PATH"] = _path(spec, os.path.dirname(sys.executable))
    for path in candidates:
        if os.path.isfile(path):
            if not os.access(path, os.X_OK):
                error = ("Runtime.InvalidEntrypoint", f"fork/exec {path}: permission denied")
                return Launch([], env, needed, error)
            return Launch([path], env, needed)
    message = f"Couldn't find valid bootstrap(s): [{spec.code_dir}/bootstrap /opt/bootstrap]"
    return Launch([], env, needed, ("Runtime.InvalidEntrypoint", message))


async def _node_major(node: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        node, "--version", stdout=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin:/bin"}
    )
    out, _ = await proc.communicate()
    try:
        return int(out.decode().strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0
