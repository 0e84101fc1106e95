"""Lambda's errors, with the texts AWS answers.

Lambda's error bodies carry `"Type": "User"` next to the message (AWS's own answers do), so
every constructor here adds it.
"""

from __future__ import annotations

from cloudlet.protocols.errors import AwsError

_USER = {"Type": "User"}


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, fields=dict(_USER))


def validation(value: object, path: str, constraint: str) -> AwsError:
    """A constraint AWS checks beyond the model (MemorySize <= 10240, Timeout <= 900)."""
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
        f"{constraint}",
        status=400,
    )


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, fields=dict(_USER))


def function_not_found(arn: str) -> AwsError:
    return not_found(f"Function not found: {arn}")


def resource_missing() -> AwsError:
    """What AWS answers for a policy, layer version or URL config that is not there."""
    return not_found("The resource you requested does not exist.")


def conflict(message: str) -> AwsError:
    return AwsError("ResourceConflictException", message, fields=dict(_USER))


def precondition_failed() -> AwsError:
    return AwsError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        fields=dict(_USER),
    )


def too_large(message: str) -> AwsError:
    """AWS answers oversized requests with this code, which the model does not list."""
    return AwsError("RequestEntityTooLargeException", message, status=413, fields=dict(_USER))


def throttled(reason: str) -> AwsError:
    return AwsError(
        "TooManyRequestsException", "Rate Exceeded.", fields={"Reason": reason, **_USER}
    )


def not_available(what: str) -> AwsError:
    """A feature cloudlet does not offer (yet): said plainly rather than half-pretended."""
    return invalid_parameter(f"{what} is not available in cloudlet yet.")
