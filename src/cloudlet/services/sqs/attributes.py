"""SQS queue attributes: AWS's defaults, limits and error texts, as data."""

from __future__ import annotations

import re
from typing import Any

import orjson

from cloudlet.protocols.errors import AwsError

#: settable attribute -> (default for a new queue or None, validator)
_INT_RANGES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}

DEFAULTS: dict[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}

FIFO_DEFAULTS: dict[str, str] = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}

_BOOLEANS = ("SqsManagedSseEnabled", "ContentBasedDeduplication", "FifoQueue")
_CHOICES = {
    "DeduplicationScope": ("queue", "messageGroup"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
_FREE_TEXT = ("Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId")
_FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")

SETTABLE = frozenset((*_INT_RANGES, *_BOOLEANS, *_CHOICES, *_FREE_TEXT))
READ_ONLY = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "QueueArn",
    }
)
ALL_NAMES = SETTABLE | READ_ONLY

_SQS_ARN = re.compile(r"^arn:[a-z-]+:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,80}$")
_MAX_REDRIVE_SOURCES = 10
#: KmsDataKeyReusePeriodSeconds of a queue with KMS encryption that did not set it
KMS_DATA_KEY_REUSE_DEFAULT = "300"

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
FIFO_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")


def invalid_value(name: str) -> AwsError:
    return AwsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")


def unknown_attribute(name: str) -> AwsError:
    return AwsError("InvalidAttributeName", f"Unknown Attribute {name}.")


def check_settable(attributes: dict[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Validate attributes a caller sets; returns them normalised (booleans lower case)."""
    out: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in SETTABLE:
            raise unknown_attribute(name)
        if name == "FifoQueue":
            if creating:
                continue
            if not fifo:  # a standard queue has no such attribute
                raise unknown_attribute(name)
            if str(value).lower() != "true":
                raise AwsError(
                    "InvalidAttributeValue",
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
                )
            continue
        if name in _FIFO_ONLY and not fifo:
            raise unknown_attribute(name)
        out[name] = _check_value(name, value)
    if out.get("KmsMasterKeyId") and out.get("SqsManagedSseEnabled") == "true":
        raise AwsError(
            "InvalidAttributeName",
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE "
            "or SQS SSE.",
        )
    return out


def _check_value(name: str, value: str) -> str:
    if name in _INT_RANGES:
        low, high = _INT_RANGES[name]
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid_value(name) from None
        if not low <= number <= high:
            raise invalid_value(name)
        return str(number)
    if name in _BOOLEANS:
        if str(value).lower() not in ("true", "false"):
            raise invalid_value(name)
        return str(value).lower()
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise invalid_value(name)
        return value
    if name in ("Policy", "RedriveAllowPolicy") and value:
        _json_object(name, value)
    return value


def _json_object(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise invalid_value(name) from None
    if not isinstance(parsed, dict):
        raise invalid_value(name)
    return parsed


def redrive_policy_error(value: str, reason: str) -> AwsError:
    return AwsError(
        "InvalidParameterValue",
        f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}",
    )


def parse_redrive_policy(value: str) -> tuple[str, int]:
    """(deadLetterTargetArn, maxReceiveCount) from a RedrivePolicy, with AWS's error texts."""
    policy = _json_object("RedrivePolicy", value)
    target = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if target is not None and not (isinstance(target, str) and _SQS_ARN.match(target)):
        raise redrive_policy_error(value, "Invalid value for deadLetterTargetArn.")
    if not target or count is None:
        raise AwsError(
            "InvalidParameterValue",
            "Value "
            + value
            + " for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: "
            + ("deadLetterTargetArn." if not target else "maxReceiveCount."),
        )
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1000:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: "
            f"{policy.get('maxReceiveCount')}, valid values are from 1 to 1000 both inclusive.",
        )
    return target, count


def parse_redrive_allow_policy(value: str) -> dict[str, Any]:
    policy = _json_object("RedriveAllowPolicy", value)
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Invalid value for "
            "redrivePermission. Valid values are allowAll, denyAll, byQueue.",
        )
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue" and not sources:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns must "
            "be specified when redrivePermission is byQueue.",
        )
    if permission != "byQueue" and sources is not None:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: sourceQueueArns can be "
            "specified only when redrivePermission is byQueue.",
        )
    if sources is not None and (
        not isinstance(sources, list) or len(sources) > _MAX_REDRIVE_SOURCES
    ):
        raise AwsError(
            "InvalidParameterValue",
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Up to "
            f"{_MAX_REDRIVE_SOURCES} sourceQueueArns can be specified.",
        )
    return policy


def redrive_allowed(allow_policy: str | None, source_arn: str) -> bool:
    """Whether a dead-letter queue's RedriveAllowPolicy lets `source_arn` name it as its DLQ."""
    if not allow_policy:
        return True
    policy = orjson.loads(allow_policy)
    permission = policy.get("redrivePermission")
    if permission == "denyAll":
        return False
    if permission == "byQueue":
        return source_arn in policy.get("sourceQueueArns", [])
    return True
