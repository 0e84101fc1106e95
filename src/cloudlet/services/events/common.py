"""What the EventBridge modules share: document kinds and keys, ARNs, errors, paging, tags."""

from __future__ import annotations

import base64
import time
from typing import Any

from cloudlet.protocols.errors import AwsError

BUS = "events.bus"
RULE = "events.rule"
CONNECTION = "events.connection"
DESTINATION = "events.api-destination"
ARCHIVE = "events.archive"
REPLAY = "events.replay"
DEFAULT_BUS = "default"
#: the core/queue queue holding deliveries that wait: retries, slow targets (HTTP, SNS ...)
DELIVERY_QUEUE = "events/deliveries"


def key(account: str, region: str, *names: str) -> str:
    return "/".join((account, region, *names))


def arn(region: str, account: str, resource: str) -> str:
    return f"arn:aws:events:{region}:{account}:{resource}"


def bus_arn(region: str, account: str, bus: str) -> str:
    return arn(region, account, f"event-bus/{bus}")


def rule_arn(region: str, account: str, bus: str, name: str) -> str:
    """Rules of the default bus are `rule/<name>`, of other buses `rule/<bus>/<name>`."""
    return arn(region, account, f"rule/{name}" if bus == DEFAULT_BUS else f"rule/{bus}/{name}")


def iso_seconds(ms: int) -> str:
    """An event's `time`: ISO 8601 in UTC to the second, as AWS writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def bus_name_of(value: str | None) -> tuple[str | None, str]:
    """(account or None, name) of an EventBusName that may be a name or an event-bus ARN."""
    if not value:
        return None, DEFAULT_BUS
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("event-bus/"):
            return parts[4], parts[5][len("event-bus/") :]
    return None, value


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def bus_not_found(name: str) -> AwsError:
    return not_found(f"Event bus {name} does not exist.")


def rule_not_found(name: str, bus: str) -> AwsError:
    return not_found(f"Rule {name} does not exist on EventBus {bus}.")


def page(items: list[Any], params: dict[str, Any], limit_key: str = "Limit") -> tuple[list, str]:
    """One page of `items` and the NextToken of the next one ("" when this is the last)."""
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise validation("The NextToken provided is invalid.") from None
    limit = params.get(limit_key) or 100
    end = start + limit
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
    return items[start:end], following


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}
