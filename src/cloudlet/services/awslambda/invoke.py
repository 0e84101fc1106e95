"""Invoking: which version runs, the FunctionSpec the runtime gets, and the API's answer.

`Invoker.target` resolves a name (plain, partial ARN or ARN, with `:qualifier` or a Qualifier)
to the version that runs, applying an alias's weighted routing; `Invoker.spec` builds the
runtime's FunctionSpec (cached per version revision, so an update gives a new identity and warm
environments never serve stale code); `Invoker.run` calls the runtime. The asynchronous engine,
event source mappings and function URLs use these three and never the HTTP API.

`invoke_async` hands `Event` invocations to the durable asynchronous engine (`async_invoke`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.runtime import FunctionSpec, Invocation, InvocationResult, TooManyRequests
from cloudlet.services import RequestContext
from cloudlet.services.awslambda.aliases import Aliases, pick_version
from cloudlet.services.awslambda.code import CodeStore
from cloudlet.services.awslambda.errors import function_not_found, throttled, too_large
from cloudlet.services.awslambda.functions import LATEST, Functions, Ref, owner, parse_ref

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.lambda")

#: the largest synchronous request payload, and the largest asynchronous one
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 1024 * 1024
_SPEC_CACHE = 4096


@dataclass(slots=True)
class Target:
    """One invocation's function: as called (`ref`), and the version that runs."""

    ref: Ref
    function: dict[str, Any]
    version: dict[str, Any]
    executed: str  # "$LATEST" or "7"

    @property
    def invoked_arn(self) -> str:
        return self.ref.qualified() if self.ref.qualifier else self.ref.arn


def role_credentials(
    app: App, account: str, role_arn: str, function: str
) -> tuple[tuple[str, str], ...]:
    """The execution role's temporary credentials, as Lambda assumes it for the function: the
    session is named after the function, so the function's calls act as
    `assumed-role/<role>/<function>` in the role's account."""
    creds = app.provider("sts").role_credentials(account, role_arn, session_name=function)
    return (
        ("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", creds.get("SessionToken", "")),
    )


def invalid_json(payload: bytes) -> AwsError | None:
    """Lambda refuses payloads that are not JSON, with Jackson's words."""
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError:
        token = payload.split(None, 1)[0][:40].decode("utf-8", "replace") if payload.strip() else ""
        return AwsError(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json: "
            f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or "
            "token 'null', 'true' or 'false')",
            fields={"Type": "User"},
        )
    return None


class Invoker:
    def __init__(self, app: App, functions: Functions, aliases: Aliases, code: CodeStore) -> None:
        self.app = app
        self.functions = functions
        self.aliases = aliases
        self.code = code
        self._specs: dict[tuple[str, str, str], FunctionSpec] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- resolving -------------------------------------------------------------------------------
    def target(self, ref: Ref) -> Target:
        """The version an invocation of `ref` runs (an alias picks by its weights each time)."""
        function = self.functions.function(ref)
        qualifier = ref.qualifier or LATEST
        if qualifier == LATEST or qualifier.isdigit():
            executed = qualifier
        else:
            alias = self.aliases.find(ref, qualifier)
            if alias is None:
                raise function_not_found(ref.qualified())
            executed = pick_version(alias)
        version = self.functions.find_version(ref, executed)
        if version is None:
            raise function_not_found(ref.qualified(executed) if executed != LATEST else ref.arn)
        return Target(ref, function, version, executed)

    async def spec(self, target: Target) -> FunctionSpec:
        """The runtime's description of the version (built once per revision of it)."""
        config = target.version["config"]
        cache_key = (
            config["FunctionArn"],
            config["RevisionId"],
            str(target.function.get("reserved")),
        )
        spec = self._specs.get(cache_key)
        if spec is not None:
            return spec
        function = target.function
        code_dir = await self.code.unpack(owner(function), target.version["code"]["sha"])
        layer_dirs = [
            await self.code.unpack("layer", sha) for sha in target.version.get("layers") or []
        ]
        logging_config = config.get("LoggingConfig") or {}
        spec = FunctionSpec(
            function_name=function["name"],
            function_arn=function["arn"],
            version=config["Version"],
            runtime=config["Runtime"],
            handler=config.get("Handler") or "",
            code_dir=code_dir,
            code_sha256=config["CodeSha256"],
            layer_dirs=tuple(layer_dirs),
            memory_mb=config["MemorySize"],
            timeout_s=config["Timeout"],
            environment=tuple(((config.get("Environment") or {}).get("Variables") or {}).items()),
            account=function["account"],
            region=function["region"],
            role_arn=config.get("Role") or "",
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{function['name']}",
            log_format=logging_config.get("LogFormat") or "Text",
            tracing_mode=(config.get("TracingConfig") or {}).get("Mode") or "PassThrough",
            ephemeral_storage_mb=(config.get("EphemeralStorage") or {}).get("Size") or 512,
            architectures=tuple(config.get("Architectures") or ("x86_64",)),
            reserved_concurrency=function.get("reserved"),
            credentials=role_credentials(
                self.app, function["account"], config.get("Role") or "", function["name"]
            ),
            config_sha=target.version["digest"],
        )
        if len(self._specs) >= _SPEC_CACHE:
            self._specs.clear()
        self._specs[cache_key] = spec
        return spec

    async def run(self, spec: FunctionSpec, invocation: Invocation) -> InvocationResult:
        """Run one invocation in the runtime; a throttle becomes AWS's 429."""
        runtime = getattr(self.app, "runtime", None)
        if runtime is None:
            raise AwsError(
                "ServiceException", "cloudlet's function runtime is not available.", status=500
            )
        try:
            return await runtime.invoke(spec, invocation)
        except TooManyRequests as exc:
            raise throttled(exc.reason) from None

    # -- the Invoke API --------------------------------------------------------------------------
    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("InvocationType") or "RequestResponse"
        payload = params.get("Payload") or b""
        limit = MAX_EVENT_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            if kind == "Event":
                raise too_large(
                    f"{len(payload)} byte payload is too large for the Event invocation type (limit {limit} bytes)"
                )
            raise too_large(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        if payload:
            error = invalid_json(payload)
            if error is not None:
                raise error
        target = self.target(parse_ref(ctx, params["FunctionName"], params.get("Qualifier")))
        if kind == "DryRun":
            return {"StatusCode": 204}
        invocation = Invocation(
            request_id=ctx.request_id,
            payload=payload or b"{}",
            invoked_arn=target.invoked_arn,
            trace_id=ctx.trace_id,
            client_context=params.get("ClientContext") if kind != "Event" else None,
            want_log_tail=kind != "Event" and params.get("LogType") == "Tail",
        )
        if kind == "Event":
            await invoke_async(self, target, invocation)
            return {"StatusCode": 202}
        if target.function.get("reserved") == 0:
            raise throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
        result = await self.run(await self.spec(target), invocation)
        answer: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": result.payload,
            "ExecutedVersion": target.executed,
        }
        if result.function_error:
            answer["FunctionError"] = result.function_error
        if invocation.want_log_tail:
            answer["LogResult"] = base64.b64encode(result.log_tail.encode()).decode()
        return answer

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a background task until it ends (the loop keeps only weak references)."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def forget(self) -> None:
        self._specs.clear()

    def close(self) -> None:
        for task in self._background:
            task.cancel()
        self._background.clear()


async def invoke_async(invoker: Invoker, target: Target, invocation: Invocation) -> None:
    """Accept an `Event` invocation: stored durably, then run (and retried, and reported to its
    destinations) by the asynchronous engine, `async_invoke`."""
    await invoker.app.provider("lambda").events.accept(target, invocation)  # type: ignore[attr-defined]
