"""The two kinds of failure of the States Language: a definition that is not valid, and an
error raised while an execution runs.

A runtime error is a `StatesError(name, cause)`: `name` is what Retry and Catch match
(`States.TaskFailed`, `Lambda.ServiceException`, a function's own errorType ...), `cause` is
free text. Both end up verbatim in the execution history and in DescribeExecution, so the
texts follow AWS's.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
DATA_LIMIT = "States.DataLimitExceeded"
NO_CHOICE = "States.NoChoiceMatched"
PERMISSIONS = "States.Permissions"
RESULT_PATH = "States.ResultPathMatchFailure"
PARAMETER_PATH = "States.ParameterPathFailure"
INTRINSIC = "States.IntrinsicFailure"
BRANCH_FAILED = "States.BranchFailed"
ITEM_READER = "States.ItemReaderFailed"
RESULT_WRITER = "States.ResultWriterFailed"
EXCEEDS_TOLERATED = "States.ExceedToleratedFailureThreshold"
QUERY_EVALUATION = "States.QueryEvaluationError"

#: errors that `States.ALL` does not catch or retry, as on AWS
NOT_MATCHED_BY_ALL = frozenset({RUNTIME, DATA_LIMIT})
#: errors that States.TaskFailed stands for: every error of a task except a timeout
_NOT_TASK_FAILED = frozenset({TIMEOUT, HEARTBEAT_TIMEOUT, RUNTIME, DATA_LIMIT})

#: 256 KiB: the largest input, output or result a state may pass on
MAX_PAYLOAD_BYTES = 256 * 1024


class StatesError(Exception):
    """An error of a running state: what Retry/Catch see and the history reports."""

    def __init__(self, name: str, cause: str = "") -> None:
        super().__init__(f"{name}: {cause}")
        self.name = name
        self.cause = cause

    def output(self) -> dict[str, str]:
        """The error output a Catch hands on (`{"Error": ..., "Cause": ...}`)."""
        return {"Error": self.name, "Cause": self.cause}


def matches(error_name: str, error_equals: list[str] | tuple[str, ...]) -> bool:
    """Does a Retrier's or Catcher's ErrorEquals cover this error?"""
    for wanted in error_equals:
        if wanted == error_name:
            return True
        if wanted == ALL and error_name not in NOT_MATCHED_BY_ALL:
            return True
        if wanted == TASK_FAILED and error_name not in _NOT_TASK_FAILED:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of definition validation (ValidateStateMachineDefinition's shape)."""

    severity: str  # "ERROR" | "WARNING"
    code: str  # "SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET", ...
    message: str
    location: str = ""

    def text(self) -> str:
        """As it appears inside AWS's InvalidDefinition message."""
        return f"{self.code}: {self.message}" + (f" at {self.location}" if self.location else "")

    def as_dict(self) -> dict[str, str]:
        out = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.location:
            out["location"] = self.location
        return out


class DefinitionError(Exception):
    """A definition that cannot be run; `message` is AWS's InvalidDefinition text."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "ERROR"]
        self.message = (
            "Invalid State Machine Definition: '" + ", ".join(d.text() for d in errors) + "'"
        )
        super().__init__(self.message)
