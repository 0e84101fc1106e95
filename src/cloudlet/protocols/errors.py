"""Errors as AWS answers them.

A provider raises `AwsError(code, message)`; `code` is the name of an error shape of the service's
model (e.g. "QueueDoesNotExist") or a code that is not in the model but that AWS returns (e.g.
"InvalidParameterValue"). The codec of the request's protocol looks the shape up to find the code
on the wire and the HTTP status, so providers never think about either.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error answered to the client with AWS's code, status and message."""

    #: default code for subclasses; an instance may override it
    code: str = "InternalFailure"
    #: used only when the model has no shape for the code
    status: int = 400
    sender_fault: bool = True

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        *,
        status: int | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
            self.sender_fault = status < 500
        self.message = message
        #: extra members of the error shape (S3's BucketName, Lambda's Type, ...)
        self.fields = fields or {}
        #: extra response headers (e.g. Retry-After)
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ParamValidationError(Exception):
    """Input that does not satisfy the operation's input shape.

    `kind` is "missing" (a required member is absent), "invalid" (a value breaks a constraint) or
    "malformed" (the body cannot be parsed at all). Each protocol family turns it into the error
    AWS uses for it (see `protocols.validation_error`).
    """

    def __init__(self, kind: str, message: str, *, member: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.member = member


class UnknownOperation(Exception):
    """The request names no operation of the service's model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def not_implemented(service: str, operation: str) -> AwsError:
    """The answer for an operation the model has but cloudlet does not implement (yet)."""
    return AwsError(
        "NotImplemented",
        f"cloudlet does not implement {service}.{operation} yet",
        status=501,
    )


def internal_failure(request_id: str) -> AwsError:
    """A bug of ours: the client learns the request id, never the exception text."""
    return AwsError(
        "InternalFailure",
        f"The request processing has failed because of an unknown error (request {request_id}).",
        status=500,
    )
