"""SNS subscription filter policies: the event-pattern language with SNS's scopes, limits and texts.

SNS reads the policy as JSON, writes it back compactly and hands that text to the same rule compiler
as EventBridge — so its error messages carry a location in the *compact* text, as AWS's do — then
applies its own limits:

- MessageAttributes scope (the default) refuses nested objects;
- at most 5 keys at the top level (a nested policy counts only its top-level keys);
- at most 150 combinations: the product, over the value arrays, of (number of values x nesting
  depth), where an `$or` adds up its alternatives (AWS's documented example: 3x4 x 2x3 x 1x3 = 216).

Numbers follow SNS's documented rules (-1e9..1e9, five decimals) rather than EventBridge's, and SNS's
compiler is an older one (recorded against AWS): it knows no `wildcard`, and anything-but takes values
or `{"prefix": ...}` only ("Unsupported anything-but pattern: suffix").

Matching: in MessageAttributes scope the document is the message's attributes, one field per
attribute: String as a string, Number as a number, String.Array / Number.Array as the array it
encodes, Binary ignored. In MessageBody scope the document is the message body, which must be a JSON
object (anything else never matches).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cloudlet.core.patterns.compiler import Branch, compile_branches
from cloudlet.core.patterns.errors import PatternError, RulerError
from cloudlet.core.patterns.pattern import Pattern, parse_json, pattern_text
from cloudlet.core.patterns.values import SNS_NUMBERS

ATTRIBUTES = "MessageAttributes"
BODY = "MessageBody"
PREFIX = "Invalid parameter: "
MAX_KEYS = 5
MAX_COMBINATIONS = 150


def _error(detail: str) -> PatternError:
    return PatternError(PREFIX + detail, reason=detail, prefix=PREFIX)


class FilterPolicy(Pattern):
    """A compiled filter policy: a `Pattern` (so it can join a `PatternIndex`) that knows its scope.

    `{}` compiles to a policy with one empty branch, which accepts every message.
    """

    __slots__ = ("scope",)

    def __init__(self, text: str, scope: str, branches: list[Branch]) -> None:
        super().__init__(text, branches)
        self.scope = scope

    def matches_message(self, message: str | bytes, attributes: Mapping[str, Any] | None) -> bool:
        """The subscription's verdict on a published message, by the policy's scope."""
        if self.scope == BODY:
            return self.matches_body(message)
        return self.matches_attributes(attributes or {})

    def matches_attributes(self, attributes: Mapping[str, Any]) -> bool:
        """`attributes` as Publish takes them ({name: {"DataType", "StringValue"}}) or as SNS
        delivers them ({name: {"Type", "Value"}})."""
        return self.matches(attributes_document(attributes))

    def matches_body(self, body: str | bytes) -> bool:
        return self.matches_json(body)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FilterPolicy) and other.scope == self.scope and super().__eq__(other)
        )

    def __hash__(self) -> int:
        return hash((self.scope, self.branches_key()))

    def __repr__(self) -> str:
        return f"FilterPolicy({self.text!r}, scope={self.scope!r})"


def compile_filter_policy(
    text_or_dict: str | bytes | Mapping[str, Any], scope: str = ATTRIBUTES
) -> FilterPolicy:
    """A filter policy, or PatternError with SNS's InvalidParameter message.

    The message is SetSubscriptionAttributes' wording; Subscribe's is `error.subscribe_message()`.
    """
    if scope not in (ATTRIBUTES, BODY):
        raise _error(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or MessageAttributes"
        )
    policy = _parse(text_or_dict)
    compact = json.dumps(policy, separators=(",", ":"), ensure_ascii=False)
    if policy == {}:
        return FilterPolicy(compact, scope, [{}])
    try:
        branches = compile_branches(compact, SNS_NUMBERS, legacy=True)
    except RulerError as error:
        raise _error("FilterPolicy: " + error.reason) from None
    if scope == ATTRIBUTES and _nested(policy):
        raise _error("Filter policy scope MessageAttributes does not support nested filter policy")
    if len(policy) > MAX_KEYS:
        raise _error(f"FilterPolicy: Filter policy can not have more than {MAX_KEYS} keys")
    if combinations(policy) > MAX_COMBINATIONS:
        raise _error("FilterPolicy: Filter policy is too complex")
    return FilterPolicy(compact, scope, branches)


def _parse(text_or_dict: str | bytes | Mapping[str, Any]) -> Any:
    if isinstance(text_or_dict, Mapping):
        return dict(text_or_dict)
    try:
        return json.loads(pattern_text(text_or_dict))
    except ValueError:
        raise _error("FilterPolicy: failed to parse JSON.") from None


def _nested(policy: Mapping[str, Any]) -> bool:
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            if any(isinstance(v, Mapping) and _nested(v) for v in value):
                return True
        elif isinstance(value, Mapping):
            return True
    return False


def combinations(policy: Mapping[str, Any], depth: int = 1, carried: int = 1) -> int:
    """SNS's complexity measure (see the module docstring)."""
    total = carried
    for key, value in policy.items():
        if isinstance(value, Mapping):
            total = combinations(value, depth + 1, total)
        elif key == "$or" and isinstance(value, list):
            total = sum(combinations(v, depth, total) for v in value if isinstance(v, Mapping))
        elif isinstance(value, list):
            total *= len(value) * depth
    return total


def attributes_document(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The document a MessageAttributes-scope policy is matched against."""
    document: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if not isinstance(attribute, Mapping):
            continue
        kind = str(attribute.get("DataType") or attribute.get("Type") or "String")
        text = attribute.get("StringValue", attribute.get("Value"))
        if text is None or kind.startswith("Binary"):
            continue
        base = kind.split(".", 1)[0]
        if kind in ("String.Array", "Number.Array"):
            parsed = parse_json(text)
            if isinstance(parsed, list):
                document[name] = parsed
        elif base == "Number":
            number = _number(str(text))
            if number is not None:
                document[name] = number
        else:
            document[name] = str(text)
    return document


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
