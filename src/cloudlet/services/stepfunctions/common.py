"""What the Step Functions modules share: document kinds, ARNs, names, errors, paging, time.

Documents (all JSON in the store):

- `states.machine`  key = machine ARN: the state machine (current definition, settings, tags)
- `states.revision` key = revisionId: a definition as an execution or a version uses it
- `states.version`  key = version ARN;  `states.alias` key = alias ARN
- `states.execution` key = execution ARN: status, input/output, the frame tree, event counter
- `states.token`    key = task token: the execution waiting for it, and its outcome
- `states.activity` key = activity ARN
- `states.maprun`   key = Map Run ARN: a distributed Map's run (settings, status, counts)
- `states.maprun.plan` key = Map Run ARN: the children's inputs, recorded before the first starts
- `states.maprun.result` key = `<Map Run ARN>#<index>`: an EXPRESS child's outcome
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import orjson

from cloudlet.protocols.errors import AwsError

MACHINE = "states.machine"
REVISION = "states.revision"
VERSION = "states.version"
ALIAS = "states.alias"
EXECUTION = "states.execution"
TOKEN = "states.token"
ACTIVITY = "states.activity"
MAP_RUN = "states.maprun"
MAP_PLAN = "states.maprun.plan"
MAP_RESULT = "states.maprun.result"

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"
MAX_INPUT_BYTES = 256 * 1024
_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")


def machine_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


def execution_arn(machine: str, name: str, express: bool = False, run: str = "") -> str:
    """The execution ARN of a machine ARN (standard) or its express form."""
    parts = machine.split(":")
    kind = "express" if express else "execution"
    base = f"arn:aws:states:{parts[3]}:{parts[4]}:{kind}:{parts[6]}:{name}"
    return f"{base}:{run}" if express else base


def map_run_arn(machine: str, label: str, run_id: str) -> str:
    """`arn:aws:states:<region>:<account>:mapRun:<machine name>/<label>:<id>`."""
    parts = machine.split(":")
    return f"arn:aws:states:{parts[3]}:{parts[4]}:mapRun:{parts[6]}/{label}:{run_id}"


def activity_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:states:{region}:{account}:activity:{name}"


def split_machine_arn(arn: str) -> tuple[str, str | None]:
    """(unqualified machine ARN, qualifier: version number, alias name or None)."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "stateMachine":
        kind = parts[5] if len(parts) > 5 else ""
        raise invalid_arn(arn, kind)
    if len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    if len(parts) != 7:
        raise invalid_arn(arn)
    return arn, None


def check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise AwsError("InvalidName", f"Invalid Name: '{name}'")


def invalid_arn(arn: str, kind: str = "") -> AwsError:
    if kind and kind not in ("stateMachine",):
        return AwsError(
            "InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {kind}'"
        )
    return AwsError("InvalidArn", f"Invalid Arn: '{arn}'")


def check_arn(arn: str, kind: str) -> list[str]:
    parts = arn.split(":")
    if len(parts) < 7 or parts[:3] != ["arn", "aws", "states"]:
        raise AwsError("InvalidArn", f"Invalid Arn: '{arn}'")
    if parts[5] != kind and not (kind == "execution" and parts[5] == "express"):
        raise invalid_arn(arn, parts[5])
    return parts


def machine_missing(arn: str) -> AwsError:
    return AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def execution_missing(arn: str) -> AwsError:
    return AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def resource_missing(arn: str) -> AwsError:
    return AwsError("ResourceNotFound", f"Resource not found: '{arn}'")


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def parse_input(text: str | None, code: str = "InvalidExecutionInput") -> Any:
    """Execution input: JSON text (default `{}`), at most 256 KiB."""
    if text is None or text == "":
        return {}
    if len(text.encode()) > MAX_INPUT_BYTES:
        raise AwsError(code, "Invalid State Machine Execution Input: 'Input exceeds 262144 bytes'")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise AwsError(code, f"Invalid State Machine Execution Input: '{error}'") from None


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def revision_of(definition: str, role: str, extra: Any = None) -> str:
    digest = hashlib.sha256(orjson.dumps([definition, role, extra])).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def page(
    items: list[Any], params: dict[str, Any], default: int = 100
) -> tuple[list[Any], str | None]:
    """A page of `items` and the token of the next one (an opaque offset)."""
    token = params.get("nextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidToken", f"Invalid Token: '{token}'") from None
    size = params.get("maxResults") or default
    end = start + size
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following
