"""A function's configuration: checked as AWS checks it, stored as AWS reports it.

The stored configuration of a version *is* its `FunctionConfiguration` answer (AWS's member names
and defaults), so reads serialize it as is. What the model cannot check (MemorySize up to 10240,
Timeout up to 900, the 4 KB environment, reserved variable names, retired runtimes) is checked
here, with AWS's texts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from cloudlet.runtime.launch import RESERVED
from cloudlet.services.awslambda.errors import invalid_parameter, not_available, validation

MAX_MEMORY = 10240
MAX_TIMEOUT = 900
MAX_ENVIRONMENT = 4096
MAX_LAYERS = 5

#: runtimes AWS no longer lets anyone create or update functions with
RETIRED_RUNTIMES = frozenset(
    {
        "nodejs",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "python2.7",
        "python3.6",
        "python3.7",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "ruby2.5",
        "ruby2.7",
        "go1.x",
        "java8",
        "provided",
    }
)

#: variables Lambda sets itself; a function's configuration may not set them. The runtime's list,
#: less AWS_DEFAULT_REGION, which a configuration may name (the runtime sets its own anyway)
RESERVED_VARIABLES = RESERVED - {"AWS_DEFAULT_REGION"}

#: members of the configuration that change what runs (their digest is part of a spec identity)
_DIGESTED = (
    "Runtime",
    "Handler",
    "MemorySize",
    "Timeout",
    "Environment",
    "Role",
    "Layers",
    "TracingConfig",
    "EphemeralStorage",
    "Architectures",
    "LoggingConfig",
    "VpcConfig",
)


def supported_runtimes() -> list[str]:
    from cloudlet.protocols.model import load_service_model

    values = load_service_model("lambda").raw_shape("Runtime")["enum"]
    return [r for r in values if r not in RETIRED_RUNTIMES]


def check_runtime(runtime: str) -> None:
    if runtime in RETIRED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            "AWS Lambda functions. We recommend you use a supported runtime while creating or "
            "updating functions."
        )
    known = supported_runtimes()
    if runtime not in known:
        raise invalid_parameter(
            f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum "
            f"value set: [{', '.join(known)}] or be a valid ARN"
        )


def _environment(params: dict[str, Any]) -> dict[str, Any]:
    variables = dict((params.get("Environment") or {}).get("Variables") or {})
    reserved = sorted(RESERVED_VARIABLES.intersection(variables))
    if reserved:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = orjson.dumps(variables).decode()
    if len(measured.encode()) > MAX_ENVIRONMENT:
        raise invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )
    return {"Variables": variables}


def _vpc(params: dict[str, Any]) -> dict[str, Any]:
    """VPCs are accepted and reported (with a VpcId derived from the first subnet, since cloudlet
    has no EC2 to ask); functions still reach everything, as networking is not simulated."""
    vpc = params["VpcConfig"] or {}
    subnets = list(vpc.get("SubnetIds") or [])
    groups = list(vpc.get("SecurityGroupIds") or [])
    vpc_id = ""
    if subnets:
        vpc_id = "vpc-" + hashlib.sha256(subnets[0].encode()).hexdigest()[:17]
    return {
        "SubnetIds": subnets,
        "SecurityGroupIds": groups,
        "VpcId": vpc_id,
        "Ipv6AllowedForDualStack": bool(vpc.get("Ipv6AllowedForDualStack", False)),
    }


def _logging(params: dict[str, Any], name: str, current: dict[str, Any] | None) -> dict[str, Any]:
    wanted = {**(current or {}), **(params.get("LoggingConfig") or {})}
    fmt = wanted.get("LogFormat") or "Text"
    out: dict[str, Any] = {
        "LogFormat": fmt,
        "LogGroup": wanted.get("LogGroup") or f"/aws/lambda/{name}",
    }
    if fmt == "JSON":
        out["ApplicationLogLevel"] = wanted.get("ApplicationLogLevel") or "INFO"
        out["SystemLogLevel"] = wanted.get("SystemLogLevel") or "INFO"
    return out


def _limits(params: dict[str, Any]) -> None:
    memory = params.get("MemorySize")
    if memory is not None and memory > MAX_MEMORY:
        raise validation(
            memory, "memorySize", f"Member must have value less than or equal to {MAX_MEMORY}"
        )
    timeout = params.get("Timeout")
    if timeout is not None and timeout > MAX_TIMEOUT:
        raise validation(
            timeout, "timeout", f"Member must have value less than or equal to {MAX_TIMEOUT}"
        )


def refuse_unsupported(params: dict[str, Any]) -> None:
    """Settings cloudlet cannot honour are refused, never silently dropped."""
    if (
        params.get("PackageType") == "Image"
        or params.get("ImageConfig")
        or (params.get("Code") or {}).get("ImageUri")
    ):
        raise not_available("Container image functions (PackageType Image)")
    if params.get("FileSystemConfigs"):
        raise not_available("EFS file systems (FileSystemConfigs)")
    for name in (
        "CodeSigningConfigArn",
        "CapacityProviderConfig",
        "DurableConfig",
        "TenancyConfig",
    ):
        if params.get(name):
            raise not_available(name)


def apply_settings(config: dict[str, Any], params: dict[str, Any], name: str) -> dict[str, Any]:
    """A new configuration: `config` with the settings of a Create/UpdateFunctionConfiguration
    request applied. Layers are resolved by the caller (they must exist)."""
    refuse_unsupported(params)
    _limits(params)
    out = dict(config)
    if "Runtime" in params:
        check_runtime(params["Runtime"])
        out["Runtime"] = params["Runtime"]
    for member in ("Role", "Handler", "Description", "Timeout", "MemorySize", "KMSKeyArn"):
        if member in params:
            out[member] = params[member]
    if "Environment" in params:
        out["Environment"] = _environment(params)
    if "VpcConfig" in params:
        out["VpcConfig"] = _vpc(params)
    if "TracingConfig" in params:
        out["TracingConfig"] = {
            "Mode": (params["TracingConfig"] or {}).get("Mode") or "PassThrough"
        }
    if "EphemeralStorage" in params:
        out["EphemeralStorage"] = {"Size": params["EphemeralStorage"]["Size"]}
    if "DeadLetterConfig" in params:
        target = (params["DeadLetterConfig"] or {}).get("TargetArn")
        out["DeadLetterConfig"] = {"TargetArn": target} if target else {}
    if "Architectures" in params:
        out["Architectures"] = list(params["Architectures"])
    out["LoggingConfig"] = _logging(params, name, config.get("LoggingConfig"))
    if not out.get("Runtime") or (
        not out.get("Handler") and not out["Runtime"].startswith("provided")
    ):
        raise invalid_parameter(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages."
        )
    return out


def defaults(name: str, arn: str) -> dict[str, Any]:
    """What a new function's configuration starts from (AWS's defaults)."""
    return {
        "FunctionName": name,
        "FunctionArn": arn,
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
    }


def runtime_version_arn(runtime: str, region: str) -> str:
    """A stable runtime version ARN per runtime (the runtime's own INIT_START line names the
    same one)."""
    return f"arn:aws:lambda:{region}::runtime:{hashlib.sha256(runtime.encode()).hexdigest()}"


def digest(config: dict[str, Any]) -> str:
    """A digest of everything in a configuration that changes what runs."""
    picked = {k: config.get(k) for k in _DIGESTED}
    return hashlib.sha256(orjson.dumps(picked, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
