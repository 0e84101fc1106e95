"""Log groups and streams as store documents, their ARNs, errors and list pagination.

A log group is a document of kind "logs.group" keyed "account/region/name"; that key also names
the group's events in the store's log_events table. A stream is a "logs.stream" document keyed
"<group key>:<stream name>" (':' cannot occur in a group name, so a group's streams are exactly
the keys with its prefix). Metric and subscription filters are keyed the same way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from cloudlet.core.arns import make_arn, parse_arn
from cloudlet.core.store import Store
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.logs.patterns import Pattern, PatternError, compile_pattern

GROUP = "logs.group"
STREAM = "logs.stream"
METRIC_FILTER = "logs.metric_filter"
SUBSCRIPTION_FILTER = "logs.subscription_filter"

DAY_MS = 86_400_000
#: The retention settings PutRetentionPolicy accepts, in days.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def checked_pattern(text: str | None) -> Pattern:
    """The compiled filter pattern, or the InvalidParameterException AWS answers for bad syntax."""
    try:
        return compile_pattern(text)
    except PatternError as error:
        message = str(error)
        if not message.startswith("Invalid filter pattern"):
            message = f"Invalid filter pattern: {message}"
        raise invalid(message) from None


def group_not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log group does not exist.")


def stream_not_found() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log stream does not exist.")


def group_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def group_arn(account: str, region: str, name: str) -> str:
    """The ARN tagging APIs and logGroupIdentifier take (`logGroupArn`, no trailing `:*`)."""
    return make_arn("logs", region, account, f"log-group:{name}")


@dataclass(slots=True)
class Group:
    key: str
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.doc["name"]

    @property
    def arn(self) -> str:
        return group_arn(self.doc["account"], self.doc["region"], self.name)

    def stream_key(self, stream: str) -> str:
        return f"{self.key}:{stream}"

    def retention_cutoff(self, now: int) -> int | None:
        """Events older than this are past the group's retention: gone from every read."""
        days = self.doc.get("retention")
        return now - days * DAY_MS if days else None

    def describe(self, *, brief: bool = False) -> dict[str, Any]:
        """The LogGroup shape. With `brief` (logGroupNamePattern) AWS answers only three members."""
        doc = self.doc
        out: dict[str, Any] = {
            "logGroupName": self.name,
            "creationTime": doc["created"],
            "arn": self.arn + ":*",
        }
        if brief:
            return out
        out.update(
            metricFilterCount=doc.get("metric_filters", 0),
            storedBytes=max(doc.get("stored_bytes", 0), 0),
            logGroupClass=doc.get("class", "STANDARD"),
            logGroupArn=self.arn,
            deletionProtectionEnabled=doc.get("deletion_protection", False),
        )
        if doc.get("retention"):
            out["retentionInDays"] = doc["retention"]
        if doc.get("kms_key_id"):
            out["kmsKeyId"] = doc["kms_key_id"]
        return out


def find_group(store: Store, account: str, region: str, name: str) -> Group:
    key = group_key(account, region, name)
    doc = store.get(GROUP, key)
    if doc is None:
        raise group_not_found()
    return Group(key, doc)


def group_of(store: Store, ctx: RequestContext, params: dict[str, Any]) -> Group:
    """The group a request names by `logGroupName` or `logGroupIdentifier` (a name or an ARN)."""
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if name and identifier:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        return group_by_identifier(store, ctx, identifier)
    if not name:
        raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
    return find_group(store, ctx.account, ctx.region, name)


def group_by_identifier(store: Store, ctx: RequestContext, identifier: str) -> Group:
    if not identifier.startswith("arn:"):
        return find_group(store, ctx.account, ctx.region, identifier)
    parsed = parse_arn(identifier.removesuffix(":*"))
    if parsed is None or parsed.service != "logs" or not parsed.resource.startswith("log-group:"):
        raise group_not_found()
    return find_group(store, parsed.account, parsed.region, parsed.resource[len("log-group:") :])


def stream_doc(store: Store, group: Group, stream: str) -> dict[str, Any]:
    doc = store.get(STREAM, group.stream_key(stream))
    if doc is None:
        raise stream_not_found()
    return doc


def describe_stream(group: Group, doc: dict[str, Any]) -> dict[str, Any]:
    """The LogStream shape. storedBytes is always 0 for streams on AWS since 2019."""
    out: dict[str, Any] = {
        "logStreamName": doc["name"],
        "creationTime": doc["created"],
        "arn": f"{group.arn}:log-stream:{doc['name']}",
        "storedBytes": 0,
    }
    if doc.get("first_ts") is not None:
        out["firstEventTimestamp"] = doc["first_ts"]
        out["lastEventTimestamp"] = doc["last_ts"]
        out["lastIngestionTime"] = doc["last_ingested"]
        out["uploadSequenceToken"] = sequence_token(doc.get("last_seq", 0))
    return out


def sequence_token(seq: int) -> str:
    """A sequence token as AWS spells them (56 digits). PutLogEvents ignores tokens it is given."""
    return f"49{seq:054d}"


# -- pagination of listings ---------------------------------------------------------------------


def page(
    items: list[tuple[Any, dict[str, Any]]],
    params: dict[str, Any],
    *,
    descending: bool = False,
    default_limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `(sort key, item)` pairs, sorted here, resuming after the key in `nextToken`.

    The token names the last key returned rather than an offset, so a page boundary stays right
    while resources are created and deleted between calls.
    """
    items = sorted(items, key=lambda pair: pair[0], reverse=descending)
    token = params.get("nextToken")
    if token:
        last = _decode_token(token)
        try:
            items = [p for p in items if (p[0] < last if descending else p[0] > last)]
        except TypeError:  # a token of another listing
            raise invalid("The specified nextToken is invalid.") from None
    limit = params.get("limit") or default_limit
    chosen = items[:limit]
    next_token = _encode_token(chosen[-1][0]) if len(items) > limit else None
    return [item for _, item in chosen], next_token


def _encode_token(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def _decode_token(token: str) -> Any:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise invalid("The specified nextToken is invalid.") from None
    return tuple(value) if isinstance(value, list) else value
