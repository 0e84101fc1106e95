"""What every SNS module shares: document kinds, ARN parsing with SNS's error texts, small helpers.

Keys: topics are `account/region/name`; subscriptions `account/region/topic/uuid`, so a prefix
scan of `account/region/topic/` finds a topic's subscriptions and `account/region/` an account's.
"""

from __future__ import annotations

import re
import time
from typing import NamedTuple

from cloudlet.protocols.errors import AwsError

TOPIC = "sns.topic"
SUBSCRIPTION = "sns.sub"
TOKEN = "sns.token"  # confirmation tokens -> the subscription they confirm (or restore)
SMS = "sns.sms"  # recorded text messages
SMS_SETTINGS = "sns.sms-settings"  # per account/region: SMS attributes, opted-out numbers, sandbox
PUSH = "sns.push"  # recorded mobile push messages
PLATFORM_APP = "sns.platform-app"
PLATFORM_ENDPOINT = "sns.platform-endpoint"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ArnParts(NamedTuple):
    account: str
    region: str
    resource: str


def invalid(message: str) -> AwsError:
    """SNS's InvalidParameter; `message` is the text after "Invalid parameter: "."""
    return AwsError("InvalidParameter", f"Invalid parameter: {message}")


def topic_not_found() -> AwsError:
    return AwsError("NotFound", "Topic does not exist")


def subscription_not_found() -> AwsError:
    return AwsError("NotFound", "Subscription does not exist")


def split_arn(arn: str, member: str) -> ArnParts:
    """The account, region and resource of an SNS ARN, refused in AWS's words when malformed."""
    if not arn:
        raise invalid(f"{member} Reason: An ARN must have at least 6 elements, not 1")
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise invalid(f"{member} Reason: An ARN must have at least 6 elements, not {len(parts)}")
    if parts[0] != "arn" or parts[2] != "sns":
        raise invalid(member)
    return ArnParts(parts[4], parts[3], parts[5])


def topic_key(arn: str, region: str, member: str = "TopicArn") -> str:
    """The store key of the topic an ARN names, as seen from a request in `region`."""
    parts = split_arn(arn, member)
    if parts.region != region or ":" in parts.resource or not parts.resource:
        raise invalid(member)
    return f"{parts.account}/{parts.region}/{parts.resource}"


def subscription_key(arn: str, region: str, member: str = "SubscriptionArn") -> str:
    parts = split_arn(arn, member)
    topic, _, sub_id = parts.resource.partition(":")
    if parts.region != region or not topic or not _UUID.match(sub_id):
        raise invalid("SubscriptionId")
    return f"{parts.account}/{parts.region}/{topic}/{sub_id}"


def topic_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{name}"


def arn_of_key(key: str) -> str:
    """`account/region/topic[/uuid]` -> the topic's or subscription's ARN."""
    account, region, rest = key.split("/", 2)
    return f"arn:aws:sns:{region}:{account}:{rest.replace('/', ':')}"


def parse_bool(value: str | None) -> bool:
    return str(value).strip().lower() == "true"


def iso_ms(ms: int) -> str:
    """`2012-05-02T00:54:06.655Z`: SNS's timestamps, UTC with milliseconds (every message has one,
    so this avoids datetime's formatting)."""
    t = time.gmtime(ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
        f"{t.tm_sec:02d}.{ms % 1000:03d}Z"
    )
