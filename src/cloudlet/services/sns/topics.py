"""Topic attributes: what can be set, AWS's defaults, the default access policy and the effective
HTTP delivery policy.

A topic document keeps only what a user set (`attributes`); everything GetTopicAttributes shows
beyond that is derived here, so defaults never go stale in stored documents.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services.sns.common import invalid

TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")

#: the retry policy of HTTP/S deliveries unless a topic or subscription says otherwise
HEALTHY_RETRY_DEFAULT: dict[str, Any] = {
    "minDelayTarget": 20,
    "maxDelayTarget": 20,
    "numRetries": 3,
    "numMaxDelayRetries": 0,
    "numNoDelayRetries": 0,
    "numMinDelayRetries": 0,
    "backoffFunction": "linear",
}
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BACKOFF_FUNCTIONS = ("arithmetic", "exponential", "geometric", "linear")

_FEEDBACK = tuple(
    f"{protocol}{outcome}"
    for protocol in ("Application", "HTTP", "Lambda", "SQS", "Firehose")
    for outcome in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")
)
#: attributes SetTopicAttributes accepts on every topic, and on FIFO topics only
SETTABLE = frozenset(
    {"DeliveryPolicy", "DisplayName", "Policy", "SignatureVersion", "TracingConfig"}
    | {"KmsMasterKeyId", "DataProtectionPolicy", *_FEEDBACK}
)
FIFO_ONLY = frozenset({"ContentBasedDeduplication", "FifoThroughputScope", "ArchivePolicy"})
_CHOICES = {
    "SignatureVersion": ("1", "2"),
    "TracingConfig": ("PassThrough", "Active"),
    "FifoThroughputScope": ("Topic", "MessageGroup"),
    "ContentBasedDeduplication": ("true", "false"),
}
_JSON_ATTRIBUTES = ("Policy", "DeliveryPolicy", "ArchivePolicy", "DataProtectionPolicy")
_POLICY_ACTIONS = [
    "SNS:GetTopicAttributes",
    "SNS:SetTopicAttributes",
    "SNS:AddPermission",
    "SNS:RemovePermission",
    "SNS:DeleteTopic",
    "SNS:Subscribe",
    "SNS:ListSubscriptionsByTopic",
    "SNS:Publish",
]


def check_name(name: str, fifo: bool) -> None:
    if fifo:
        if not FIFO_TOPIC_NAME.match(name):
            raise invalid(
                "Fifo Topic names must end with .fifo and must be made up of only uppercase and "
                "lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 "
                "and 256 characters long."
            )
    elif not TOPIC_NAME.match(name):
        raise invalid("Topic Name")


def check_attributes(
    attributes: dict[str, str], *, fifo: bool, creating: bool, prefix: str = ""
) -> dict[str, str]:
    """Validate attributes to set; returns them. `prefix` is how CreateTopic words the reason
    ("Attributes Reason: "); SetTopicAttributes has none."""
    for name, value in attributes.items():
        if name == "FifoTopic" and creating:
            continue
        if name not in SETTABLE and name not in FIFO_ONLY:
            raise invalid(f"{prefix}AttributeName" if not creating else f"{prefix}{name}")
        if name in FIFO_ONLY and not fifo:
            if name == "ContentBasedDeduplication":
                raise invalid(
                    f"{prefix}ContentBasedDeduplication Reason: Content based deduplication can "
                    "only be set for FIFO topics"
                )
            raise invalid(f"{prefix}{name}")
        choices = _CHOICES.get(name)
        if choices is not None and value not in choices:
            raise invalid(f"{prefix}{name}")
        if name in _JSON_ATTRIBUTES and value:
            _json_object(value, f"{prefix}{name}")
        if name == "DeliveryPolicy" and value:
            check_delivery_policy(orjson.loads(value), f"{prefix}DeliveryPolicy")
    return attributes


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise invalid(f"{what}: failed to parse JSON.") from None
    if not isinstance(value, dict):
        raise invalid(f"{what}: must be a JSON object.")
    return value


def check_delivery_policy(policy: dict[str, Any], what: str) -> None:
    """A topic's DeliveryPolicy ({"http": {...}}) or a subscription's ({"healthyRetryPolicy": ...})."""
    section = policy.get("http", policy)
    if not isinstance(section, dict):
        raise invalid(what)
    retry = section.get("defaultHealthyRetryPolicy", section.get("healthyRetryPolicy"))
    if retry is None:
        return
    if not isinstance(retry, dict):
        raise invalid(what)
    merged = {**HEALTHY_RETRY_DEFAULT, **retry}
    for key in ("minDelayTarget", "maxDelayTarget"):
        if not isinstance(merged[key], int) or not 1 <= merged[key] <= 3600:
            raise invalid(f"{what}: {key} must be between 1 and 3600")
    if merged["minDelayTarget"] > merged["maxDelayTarget"]:
        raise invalid(f"{what}: minDelayTarget must be less than or equal to maxDelayTarget")
    for key in ("numRetries", "numMaxDelayRetries", "numNoDelayRetries", "numMinDelayRetries"):
        if not isinstance(merged[key], int) or not 0 <= merged[key] <= 100:
            raise invalid(f"{what}: {key} must be between 0 and 100")
    phases = merged["numNoDelayRetries"] + merged["numMinDelayRetries"]
    if phases + merged["numMaxDelayRetries"] > merged["numRetries"]:
        raise invalid(f"{what}: numRetries must be at least the sum of the phase retries")
    if merged["backoffFunction"] not in BACKOFF_FUNCTIONS:
        raise invalid(f"{what}: backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")


def default_policy(arn: str, account: str) -> dict[str, Any]:
    """The access policy AWS gives every new topic."""
    return {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": list(_POLICY_ACTIONS),
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
            }
        ],
    }


def policy_of(doc: dict[str, Any]) -> dict[str, Any]:
    text = doc["attributes"].get("Policy")
    return orjson.loads(text) if text else default_policy(doc["arn"], doc["account"])


def with_statement(doc: dict[str, Any], params: dict[str, Any]) -> str:
    """AddPermission: the topic's policy with one more statement, as JSON text."""
    policy = policy_of(doc)
    label = params["Label"]
    if any(s.get("Sid") == label for s in policy.get("Statement", [])):
        raise invalid("Statement already exists")
    accounts = params.get("AWSAccountId") or []
    actions = params.get("ActionName") or []
    if not accounts or not actions:
        raise invalid("AWSAccountId and ActionName are required")
    principals = [a if a.startswith("arn:") else f"arn:aws:iam::{a}:root" for a in accounts]
    names = [f"SNS:{a}" for a in actions]
    policy.setdefault("Statement", []).append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": names[0] if len(names) == 1 else names,
            "Resource": doc["arn"],
        }
    )
    return orjson.dumps(policy).decode()


def without_statement(doc: dict[str, Any], label: str) -> str:
    policy = policy_of(doc)
    policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") != label]
    return orjson.dumps(policy).decode()


def effective_delivery_policy(doc: dict[str, Any]) -> dict[str, Any]:
    """The topic's HTTP delivery policy with AWS's defaults filled in."""
    given = orjson.loads(doc["attributes"].get("DeliveryPolicy") or "{}").get("http") or {}
    retry = given.get("defaultHealthyRetryPolicy") or {}
    http: dict[str, Any] = {
        "defaultHealthyRetryPolicy": {**HEALTHY_RETRY_DEFAULT, **retry},
        "disableSubscriptionOverrides": bool(given.get("disableSubscriptionOverrides", False)),
    }
    if given.get("defaultThrottlePolicy"):
        http["defaultThrottlePolicy"] = given["defaultThrottlePolicy"]
    request = given.get("defaultRequestPolicy") or {}
    http["defaultRequestPolicy"] = {
        "headerContentType": request.get("headerContentType") or DEFAULT_CONTENT_TYPE
    }
    return {"http": http}


def attributes_of(doc: dict[str, Any], counts: tuple[int, int]) -> dict[str, str]:
    """GetTopicAttributes: everything set, plus what AWS derives. `counts` are the confirmed and
    pending subscriptions."""
    confirmed, pending = counts
    set_ = doc["attributes"]
    out: dict[str, str] = {
        "Policy": orjson.dumps(policy_of(doc)).decode(),
        "Owner": doc["account"],
        "SubscriptionsPending": str(pending),
        "TopicArn": doc["arn"],
        "EffectiveDeliveryPolicy": orjson.dumps(effective_delivery_policy(doc)).decode(),
        "SubscriptionsConfirmed": str(confirmed),
        "DisplayName": set_.get("DisplayName", ""),
        "SubscriptionsDeleted": str(doc.get("deleted_subs", 0)),
    }
    if doc["fifo"]:
        out["FifoTopic"] = "true"
        out["ContentBasedDeduplication"] = set_.get("ContentBasedDeduplication", "false")
    for name, value in set_.items():
        if name not in out and name != "DataProtectionPolicy" and value != "":
            out[name] = value
    return out


def changed_attributes(current: dict[str, str], name: str, value: str) -> dict[str, str]:
    """SetTopicAttributes: an empty value removes what can be removed."""
    out = dict(current)
    if value == "" and name in ("Policy", "DeliveryPolicy", "KmsMasterKeyId", "ArchivePolicy"):
        out.pop(name, None)
    else:
        out[name] = value
    return out


def tags_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def check_tags(tags: list[dict[str, str]]) -> dict[str, str]:
    """Tags from a request as a dict, refusing duplicated keys as AWS does."""
    out: dict[str, str] = {}
    for tag in tags:
        if tag["Key"] in out:
            raise invalid("Duplicated keys are not allowed.")
        out[tag["Key"]] = tag["Value"]
    return out


def too_many_tags() -> AwsError:
    return AwsError(
        "TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded"
    )
