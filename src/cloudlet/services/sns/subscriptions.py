"""Subscriptions: endpoint rules per protocol, attribute validation and the attributes AWS shows.

A subscription document keeps the user's attributes as given (`attributes`); the filter policy
is compiled when it is set (so an invalid one is refused with AWS's text) and again, once, when a
topic's fan-out is built.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from cloudlet.core.arns import parse_arn
from cloudlet.core.patterns import PatternError, compile_filter_policy
from cloudlet.protocols.errors import AwsError
from cloudlet.services.sns import topics
from cloudlet.services.sns.common import invalid

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda")
PROTOCOLS += ("firehose",)
#: confirmed at once: endpoints AWS trusts because the subscriber owns them through IAM
AUTO_CONFIRMED = frozenset({"sqs", "lambda", "sms", "application", "firehose"})
RAW_CAPABLE = frozenset({"sqs", "http", "https", "firehose"})
SETTABLE = frozenset(
    {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery"}
    | {"RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"}
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{1,20}$")
_LAMBDA = re.compile(r"^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$")


def check_endpoint(protocol: str, endpoint: str, fifo_topic: bool) -> str:
    """Validate a Subscribe endpoint for its protocol; returns it as stored."""
    if protocol not in PROTOCOLS:
        raise invalid(f"Amazon SNS does not support this protocol string: {protocol}")
    if fifo_topic and protocol != "sqs":
        raise invalid(f"Invalid protocol type: {protocol}")
    if protocol in ("http", "https"):
        if not endpoint.lower().startswith(protocol + "://"):
            raise invalid("Endpoint must match the specified protocol")
    elif protocol in ("email", "email-json"):
        if not _EMAIL.match(endpoint):
            raise invalid("Email address")
    elif protocol == "sms":
        if not _PHONE.match(endpoint) or sum(c.isdigit() for c in endpoint) < 3:
            raise AwsError("InvalidParameter", f"Invalid SMS endpoint: {endpoint}")
    elif protocol == "sqs":
        parsed = parse_arn(endpoint)
        if parsed is None or parsed.service != "sqs" or not parsed.resource:
            raise invalid("SQS endpoint ARN")
        if parsed.resource.endswith(".fifo") and not fifo_topic:
            raise invalid(
                "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to "
                "standard SNS topics"
            )
    elif protocol == "lambda":
        if not _LAMBDA.match(endpoint):
            raise invalid("Lambda endpoint ARN")
    elif protocol == "application":
        parsed = parse_arn(endpoint)
        if parsed is None or parsed.service != "sns" or not parsed.resource.startswith("endpoint/"):
            raise invalid("ApplicationEndpoint ARN")
    elif protocol == "firehose":
        parsed = parse_arn(endpoint)
        if parsed is None or parsed.service != "firehose":
            raise invalid("Firehose endpoint ARN")
    return endpoint


def check_attribute(
    name: str, value: str, *, protocol: str, fifo_topic: bool, subscribing: bool
) -> None:
    """Validate one attribute as Subscribe (`subscribing`) or SetSubscriptionAttributes words it."""
    prefix = "Attributes Reason: " if subscribing else ""
    if name not in SETTABLE:
        raise invalid(f"{prefix}Unknown attribute: {name}" if subscribing else "AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise invalid(
                f"{prefix}RawMessageDelivery: Invalid value [{value}]. Must be true or false."
            )
        if value.lower() == "true" and protocol not in RAW_CAPABLE:
            raise invalid(
                f"{prefix}Delivery protocol [{protocol}] does not support raw message delivery."
            )
    elif name == "FilterPolicyScope":
        if value not in ("MessageAttributes", "MessageBody"):
            raise invalid(
                f"{prefix}FilterPolicyScope: Invalid value [{value}]. Please use either "
                "MessageBody or MessageAttributes"
            )
    elif name == "RedrivePolicy" and value:
        check_redrive_policy(value, prefix, fifo_topic)
    elif name == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise invalid(
                f"{prefix}DeliveryPolicy: only HTTP/S subscriptions take a delivery policy"
            )
        policy = _json(value, f"{prefix}DeliveryPolicy")
        topics.check_delivery_policy(policy, f"{prefix}DeliveryPolicy")


def check_filter(attributes: dict[str, str], subscribing: bool) -> None:
    """Compile the filter policy the attributes describe; AWS's text when it is invalid."""
    text = attributes.get("FilterPolicy")
    if not text:
        return
    try:
        compile_filter_policy(text, attributes.get("FilterPolicyScope") or "MessageAttributes")
    except PatternError as error:
        message = error.subscribe_message() if subscribing else error.message
        raise AwsError("InvalidParameter", message) from None


def check_redrive_policy(value: str, prefix: str, fifo_topic: bool) -> str:
    """The dead-letter queue ARN a RedrivePolicy names."""
    policy = _json(value, f"{prefix}RedrivePolicy")
    target = policy.get("deadLetterTargetArn")
    parsed = parse_arn(target) if isinstance(target, str) else None
    if parsed is None or parsed.service != "sqs" or not parsed.resource:
        raise invalid(f"{prefix}RedrivePolicy: deadLetterTargetArn is an invalid arn")
    if fifo_topic and not parsed.resource.endswith(".fifo"):
        raise invalid(
            f"{prefix}RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a "
            "FIFO Topic."
        )
    return target


def _json(text: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise invalid(f"{what}: failed to parse JSON. {error}") from None
    if not isinstance(value, dict):
        raise invalid(f"{what}: failed to parse JSON.")
    return value


def dead_letter_arn(doc: dict[str, Any]) -> str | None:
    text = doc["attributes"].get("RedrivePolicy")
    return orjson.loads(text).get("deadLetterTargetArn") if text else None


def is_raw(doc: dict[str, Any]) -> bool:
    return doc["attributes"].get("RawMessageDelivery", "false").lower() == "true"


def delivery_policy(sub: dict[str, Any], topic: dict[str, Any] | None) -> dict[str, Any]:
    """The retry policy and content type an HTTP/S delivery follows: the subscription's own unless
    the topic disables overrides, then the topic's, then AWS's defaults."""
    effective = topics.effective_delivery_policy(topic) if topic else None
    http = effective["http"] if effective else {}
    retry = dict(http.get("defaultHealthyRetryPolicy") or topics.HEALTHY_RETRY_DEFAULT)
    content_type = (http.get("defaultRequestPolicy") or {}).get("headerContentType")
    own = orjson.loads(sub["attributes"].get("DeliveryPolicy") or "{}")
    if not http.get("disableSubscriptionOverrides"):
        if own.get("healthyRetryPolicy"):
            retry = {**topics.HEALTHY_RETRY_DEFAULT, **own["healthyRetryPolicy"]}
        content_type = (own.get("requestPolicy") or {}).get("headerContentType") or content_type
    return {"retry": retry, "content_type": content_type or topics.DEFAULT_CONTENT_TYPE}


def _shown_delivery_policy(own: dict[str, Any], effective: dict[str, Any] | None) -> dict[str, Any]:
    retry = own.get("healthyRetryPolicy")
    return {
        "healthyRetryPolicy": {**topics.HEALTHY_RETRY_DEFAULT, **retry} if retry else None,
        "sicklyRetryPolicy": own.get("sicklyRetryPolicy"),
        "throttlePolicy": own.get("throttlePolicy"),
        "requestPolicy": own.get("requestPolicy") if effective is None else effective,
        "guaranteed": bool(own.get("guaranteed", False)),
    }


def attributes_of(doc: dict[str, Any], topic: dict[str, Any] | None) -> dict[str, str]:
    """GetSubscriptionAttributes."""
    set_ = doc["attributes"]
    out = {
        "ConfirmationWasAuthenticated": "true" if doc.get("authenticated") else "false",
        "Endpoint": doc["endpoint"],
        "Owner": doc["owner"],
        "PendingConfirmation": "false" if doc["confirmed"] else "true",
        "Protocol": doc["protocol"],
        "RawMessageDelivery": "true" if is_raw(doc) else "false",
        "SubscriptionArn": doc["arn"],
        "SubscriptionPrincipal": doc["principal"],
        "TopicArn": doc["topic_arn"],
    }
    if set_.get("FilterPolicy"):
        out["FilterPolicy"] = set_["FilterPolicy"]
        out["FilterPolicyScope"] = set_.get("FilterPolicyScope") or "MessageAttributes"
    for name in ("RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"):
        if set_.get(name):
            out[name] = set_[name]
    if doc["protocol"] in ("http", "https"):
        own = orjson.loads(set_.get("DeliveryPolicy") or "{}")
        if own:
            out["DeliveryPolicy"] = orjson.dumps(_shown_delivery_policy(own, None)).decode()
        policy = delivery_policy(doc, topic)
        shown = _shown_delivery_policy(
            {**own, "healthyRetryPolicy": policy["retry"]},
            {"headerContentType": policy["content_type"]},
        )
        out["EffectiveDeliveryPolicy"] = orjson.dumps(shown).decode()
    return out


def listed(doc: dict[str, Any]) -> dict[str, str]:
    """A subscription as ListSubscriptions shows it."""
    return {
        "SubscriptionArn": doc["arn"] if doc["confirmed"] else "PendingConfirmation",
        "Owner": doc["owner"],
        "Protocol": doc["protocol"],
        "Endpoint": doc["endpoint"],
        "TopicArn": doc["topic_arn"],
    }


def same_attributes(doc: dict[str, Any], wanted: dict[str, str]) -> bool:
    """Subscribe again with attributes: the same subscription, unless a named one differs."""
    current = doc["attributes"]
    for name, value in wanted.items():
        have = current.get(name)
        if name == "RawMessageDelivery":
            if (have or "false").lower() != value.lower():
                return False
        elif name == "FilterPolicyScope":
            if (have or "MessageAttributes") != value:
                return False
        elif (have or "") != value:
            return False
    return True
