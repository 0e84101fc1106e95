"""Function execution environments: subprocesses that speak the AWS Lambda Runtime API.

services/awslambda decides *what* runs (which version, which alias weight, sync or async);
runtime/ decides *how*: a pool of warm environments per function version, grown on demand up to
the concurrency limit, retired when idle, killed on timeout. User code never runs in the server
process.

The interface between the two is this module's dataclasses and `Runtime.invoke`
(`cloudlet.runtime.pool.Runtime`, also importable from here; the App creates one lazily as
`app.runtime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """Everything needed to start an environment for one function version.

    Two specs with equal `identity` share environments; any change of code or configuration
    gives a new identity, so a new version never serves stale code.
    """

    function_name: str
    function_arn: str  # unqualified ARN
    version: str  # "$LATEST" or "1", "2", ...
    runtime: str  # "python3.12", "nodejs20.x", "provided.al2023", ...
    handler: str  # "app.handler"; ignored by provided runtimes
    code_dir: str  # the unpacked deployment package (read-only for the function)
    code_sha256: str
    layer_dirs: tuple[str, ...] = ()  # unpacked layers, in order: their union is /opt
    memory_mb: int = 128
    timeout_s: int = 3
    environment: tuple[tuple[str, str], ...] = ()
    account: str = "000000000000"
    region: str = "us-east-1"
    role_arn: str = ""
    log_group: str = ""  # "/aws/lambda/<name>" unless LoggingConfig says otherwise
    log_format: str = "Text"  # or "JSON" (LoggingConfig.LogFormat)
    tracing_mode: str = "PassThrough"
    ephemeral_storage_mb: int = 512
    architectures: tuple[str, ...] = ("x86_64",)
    reserved_concurrency: int | None = None  # None: share the account's unreserved pool
    credentials: tuple[tuple[str, str], ...] = ()  # AWS_ACCESS_KEY_ID etc. of the execution role
    config_sha: str = ""  # a digest of everything above that is configuration

    @property
    def identity(self) -> str:
        return f"{self.function_arn}:{self.version}:{self.code_sha256}:{self.config_sha}"


@dataclass(slots=True)
class Invocation:
    request_id: str
    payload: bytes
    invoked_arn: str  # the ARN the caller used, qualified if it was
    trace_id: str | None = None
    client_context: str | None = None  # base64 JSON, as in X-Amz-Client-Context
    cognito_identity: str | None = None
    want_log_tail: bool = False


@dataclass(slots=True)
class InvocationResult:
    payload: bytes
    #: None on success; "Unhandled" when the function raised / crashed / timed out
    function_error: str | None = None
    log_tail: str = ""  # the last 4 KB of this invocation's log, when asked for
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None  # set on a cold start
    max_memory_used_mb: int = 0
    executed_version: str = "$LATEST"
    extra: dict[str, str] = field(default_factory=dict)


class TooManyRequests(Exception):
    """The function (or the account) is at its concurrency limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "ReservedFunctionConcurrentInvocationLimitExceeded" | "ConcurrentInvocationLimitExceeded"


def __getattr__(name: str) -> object:
    """`from cloudlet.runtime import Runtime` without importing the pool machinery up front."""
    if name == "Runtime":
        from cloudlet.runtime.pool import Runtime

        return Runtime
    raise AttributeError(name)
