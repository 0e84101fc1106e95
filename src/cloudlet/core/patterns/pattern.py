"""A compiled pattern, and its direct evaluation against one event.

`Pattern.matches` evaluates one pattern on its own; it is the reference semantics. `PatternIndex`
(see `index`) answers the same question for many patterns at once without looking at each, and the
tests check that both always agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from cloudlet.core.patterns.compiler import Branch, compile_branches
from cloudlet.core.patterns.complexity import TOO_COMPLEX, too_complex
from cloudlet.core.patterns.errors import PatternError, RulerError
from cloudlet.core.patterns.flatten import Fields, Trail, Trails, flatten, merge, wanted_paths
from cloudlet.core.patterns.matchers import AnythingButText, Matcher, Wildcard
from cloudlet.core.patterns.values import EVENTBRIDGE_NUMBERS, wildcard_tokens

EVENT_PATTERN_PREFIX = "Event pattern is not valid. Reason: "


class Condition:
    """One field of one branch: the field must have a value some matcher accepts (or be absent,
    if `{"exists": false}` is among them)."""

    __slots__ = ("absent_ok", "key", "matchers", "path", "rank", "value_matchers")

    def __init__(self, path: str, matchers: Iterable[Matcher]) -> None:
        unique = tuple(dict.fromkeys(matchers))
        self.path = path
        self.matchers = unique
        self.absent_ok = any(m.kind == "absent" for m in unique)
        self.value_matchers = tuple(m for m in unique if m.kind != "absent")
        self.rank = max(m.rank for m in unique)
        self.key = (path, frozenset(m.key for m in unique))

    def accepts(self, value: Any) -> bool:
        return any(m.test(value) for m in self.value_matchers)

    def __repr__(self) -> str:
        return f"Condition({self.path!r}, {list(self.matchers)!r})"


def make_branch(branch: Branch) -> tuple[Condition, ...]:
    """A branch's conditions, in the order the index walks them: cheap kinds first, then by path."""
    conditions = [Condition(path, matchers) for path, matchers in branch.items()]
    conditions.sort(key=lambda c: (c.rank, c.path))
    return tuple(conditions)


class Pattern:
    """A compiled event pattern (or filter policy / filter): immutable, safe to share and to cache.

    `text` is the JSON it was compiled from; `branches` are its `$or`s multiplied out, each a tuple of
    `Condition`s that must all hold.
    """

    __slots__ = ("branches", "paths", "text", "wanted")

    def __init__(self, text: str, branches: list[Branch]) -> None:
        self.text = text
        unique = {tuple(c.key for c in b): b for b in (make_branch(b) for b in branches)}
        self.branches: tuple[tuple[Condition, ...], ...] = tuple(unique.values())
        self.paths = frozenset(c.path for b in self.branches for c in b)
        self.wanted = frozenset(wanted_paths(self.paths))

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the event (a parsed JSON object) matches."""
        fields, trails = flatten(event, self.wanted)
        return self.matches_flat(fields, trails)

    def matches_json(self, raw: str | bytes) -> bool:
        """Whether a JSON text matches; a text that is not a JSON object never matches."""
        document = parse_json(raw)
        return isinstance(document, dict) and self.matches(document)

    def matches_flat(self, fields: Fields, trails: Trails) -> bool:
        return any(branch_matches(branch, fields, trails) for branch in self.branches)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self.branches_key() == other.branches_key()

    def __hash__(self) -> int:
        return hash(self.branches_key())

    def branches_key(self) -> frozenset[tuple[Any, ...]]:
        return frozenset(tuple(c.key for c in branch) for branch in self.branches)

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"


def branch_matches(branch: tuple[Condition, ...], fields: Fields, trails: Trails) -> bool:
    """All conditions hold, with the leaves used drawn from the same element of every shared array."""
    choices: list[list[Trail]] = []
    for condition in branch:
        values = fields.get(condition.path)
        if values is None:
            if condition.absent_ok:
                continue
            return False
        path_trails = trails.get(condition.path)
        if path_trails is None:
            if not any(condition.accepts(v) for v in values):
                return False
            continue
        options: dict[Trail, None] = {}
        for value, trail in zip(values, path_trails, strict=True):
            if condition.accepts(value):
                if not trail:
                    break  # satisfied by a leaf outside any array element: no constraint
                options[trail] = None
        else:
            if not options:
                return False
            choices.append(list(options))
    return _consistent(choices, ())


def _consistent(choices: list[list[Trail]], constraint: Trail) -> bool:
    if not choices:
        return True
    first, rest = choices[0], choices[1:]
    for trail in first:
        merged = merge(constraint, trail)
        if merged is not None and _consistent(rest, merged):
            return True
    return False


def parse_json(raw: str | bytes) -> Any:
    """A JSON document, or None when the text is not JSON (big integers and NaN are accepted)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except ValueError:
            return None


def pattern_text(text_or_dict: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(text_or_dict, str):
        return text_or_dict
    if isinstance(text_or_dict, bytes):
        return text_or_dict.decode("utf-8")
    return json.dumps(text_or_dict, separators=(",", ":"), ensure_ascii=False)


def wildcard_fields(branches: list[Branch]) -> dict[str, list[tuple[str | None, ...]]]:
    """The wildcard values of every field (plain and anything-but), for the complexity check."""
    fields: dict[str, dict[str, None]] = {}
    for branch in branches:
        for path, matchers in branch.items():
            for m in matchers:
                if isinstance(m, Wildcard):
                    fields.setdefault(path, {})[m.text] = None
                elif isinstance(m, AnythingButText) and m.mode == "wildcard":
                    for text in m.texts:
                        fields.setdefault(path, {})[text] = None
    return {path: [tuple(wildcard_tokens(t)) for t in texts] for path, texts in fields.items()}


def compile_event_pattern(text_or_dict: str | bytes | Mapping[str, Any]) -> Pattern:
    """An EventBridge event pattern, or PatternError with InvalidEventPatternException's message."""
    text = pattern_text(text_or_dict)
    try:
        branches = compile_branches(text, EVENTBRIDGE_NUMBERS)
        if too_complex(wildcard_fields(branches)):
            raise RulerError(TOO_COMPLEX, located=False)
    except RulerError as error:
        raise PatternError(
            EVENT_PATTERN_PREFIX + error.reason, reason=error.reason, prefix=EVENT_PATTERN_PREFIX
        ) from None
    return Pattern(text, branches)
