"""What every EC2 describe call shares: ids, errors, filters with wildcards, page tokens, tags.

EC2 answers one family of errors for every resource type (`InvalidXxxID.NotFound`,
`InvalidXxxID.Malformed`, `InvalidParameterValue`), and every Describe call takes the same
`Filters` (AND across filters, OR across values, `*` / `?` wildcards, `tag:<key>`) and the same
`MaxResults` / `NextToken` paging, so they are written once here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

from cloudlet.protocols.errors import AwsError

T = TypeVar("T")

#: a resource's values for one filter name (several for lists: security groups, tags ...)
Getter = Callable[[Any], Iterable[Any]]


def new_id(prefix: str) -> str:
    """A fresh id as AWS formats current ones: prefix, dash, 17 hex digits."""
    return f"{prefix}-{os.urandom(9).hex()[:17]}"


def stable_id(prefix: str, *parts: str) -> str:
    """An id derived from its owner, for resources every account has (the default VPC ...): the
    same after a restart or a reset, different per account and region."""
    digest = hashlib.sha256("/".join((prefix, *parts)).encode()).hexdigest()
    return f"{prefix}-{digest[:17]}"


def looks_like(resource_id: str, prefix: str) -> bool:
    """AWS ids are the prefix and 8 (older) or 17 hex digits."""
    return (
        re.fullmatch(rf"{re.escape(prefix)}-([0-9a-f]{{8}}|[0-9a-f]{{17}})", resource_id)
        is not None
    )


def malformed(code: str, resource_id: str) -> AwsError:
    return AwsError(code, f'Invalid id: "{resource_id}"')


def invalid_value(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


def check_dry_run(params: dict[str, Any]) -> None:
    """EC2's permission check without effect: a DryRun that would succeed answers this error."""
    if params.get("DryRun"):
        raise AwsError(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", status=412
        )


# -- filters ------------------------------------------------------------------------------------


def _wildcard(pattern: str) -> re.Pattern[str]:
    """EC2's filter values: `*` any run, `?` one character, a backslash escapes either."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FilterSet:
    """The `Filters` of a request compiled against the filter names a resource type knows.

    `tags(resource)` gives the resource's tags for `tag:<key>`, `tag-key` and `tag-value`.
    Unknown filter names are refused up front, even when nothing would be compared, as AWS does.
    """

    def __init__(
        self,
        filters: list[dict[str, Any]] | None,
        getters: dict[str, Getter],
        tags: Callable[[Any], dict[str, str]] | None = None,
    ) -> None:
        self._checks: list[tuple[Callable[[Any], Iterable[str]], list[re.Pattern[str]]]] = []
        for spec in filters or []:
            name = spec.get("Name", "")
            values = [_wildcard(v) for v in spec.get("Values") or []]
            self._checks.append((self._getter(name, getters, tags), values))

    @staticmethod
    def _getter(
        name: str, getters: dict[str, Getter], tags: Callable[[Any], dict[str, str]] | None
    ) -> Callable[[Any], Iterable[str]]:
        if name in getters:
            get = getters[name]
            return lambda resource: (_text(v) for v in get(resource) if v is not None)
        if tags is not None:
            if name.startswith("tag:"):
                key = name[4:]
                return lambda resource: [tags(resource)[key]] if key in tags(resource) else []
            if name == "tag-key":
                return lambda resource: list(tags(resource))
            if name == "tag-value":
                return lambda resource: list(tags(resource).values())
        raise invalid_value(f"The filter '{name}' is invalid")

    def __call__(self, resource: Any) -> bool:
        for get, patterns in self._checks:
            have = list(get(resource))
            if not any(p.fullmatch(v) for p in patterns for v in have):
                return False
        return True


# -- paging -------------------------------------------------------------------------------------


def page(
    items: list[T], params: dict[str, Any], *, minimum: int = 5, maximum: int = 1000
) -> tuple[list[T], str | None]:
    """One page of `items` by `MaxResults` / `NextToken` (an opaque offset)."""
    limit = params.get("MaxResults")
    if limit is not None and not minimum <= limit <= maximum:
        raise invalid_value(
            f"Value ( {limit} ) for parameter maxResults is invalid. "
            f"Expecting a value {'greater' if limit < minimum else 'less'} than "
            f"{minimum if limit < minimum else maximum}."
        )
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(orjson.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            raise invalid_value(f"Invalid value '{token}' for nextToken.") from None
    end = start + limit if limit is not None else len(items)
    following = None
    if end < len(items):
        following = base64.urlsafe_b64encode(orjson.dumps({"o": end})).decode()
    return items[start:end], following


# -- tags ---------------------------------------------------------------------------------------


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def checked_tags(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """Tags of a request as a dict, with the checks AWS applies to keys."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key")
        if key is None or key == "":
            raise invalid_value("Tag key must not be empty.")  # boto3 allows it, EC2 does not
        if key.lower().startswith("aws:"):
            raise invalid_value("Tag keys starting with 'aws:' are reserved for internal use")
        out[key] = tag.get("Value") or ""
    if len(out) > 50:
        raise AwsError("TagLimitExceeded", "The maximum number of tags per resource is 50.")
    return out


def view_tags(resource: dict[str, Any]) -> dict[str, str]:
    """The tags of an API structure (its `Tags` list) as a dict, for `tag:` filters."""
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags") or ()}


def select(
    items: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    ids: tuple[str, str],
    missing: Callable[[str], AwsError],
    getters: dict[str, Getter],
) -> list[dict[str, Any]]:
    """The items a Describe call asks for: by id (`ids` = (parameter, field); an unknown id
    answers `missing(id)`), then by `Filters`."""
    parameter, field = ids
    wanted = params.get(parameter) or []
    if wanted:
        known = {item[field]: item for item in items}
        for item_id in wanted:
            if item_id not in known:
                raise missing(item_id)
        items = [known[i] for i in dict.fromkeys(wanted)]
    matches = FilterSet(params.get("Filters"), getters, view_tags)
    return [item for item in items if matches(item)]


def _member(member: str) -> Getter:
    return lambda item: [item.get(member)]


def fields(*pairs: tuple[str, str]) -> dict[str, Getter]:
    """Filter getters that read one member each: fields(("vpc-id", "VpcId"), ...)."""
    return {name: _member(member) for name, member in pairs}
