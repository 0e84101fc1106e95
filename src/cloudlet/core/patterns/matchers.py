"""One matcher per kind of value in a pattern: `["a", {"prefix": "b"}, {"numeric": [">", 0]}]`.

A matcher answers `test(leaf)` for one leaf value of the event (see `values.leaf`). Its `key` is a
hashable identity, so that equal conditions of different rules share one node of the index, and its
`rank` orders conditions inside a rule for the index: hashable kinds first (they narrow the candidates
at the cost of one dictionary lookup), general ones last (they run only for rules whose cheaper
conditions already matched).

AWS's type rules, kept here: prefix, suffix, equals-ignore-case and wildcard match strings only;
numeric and cidr match numbers and IP address strings only; anything-but matches every present value
that is not excluded — numbers, literals and strings alike — which is why `{"anything-but": {"prefix":
"x"}}` matches the number 5.
"""

from __future__ import annotations

from re import Pattern as Regex
from typing import Any

from cloudlet.core.patterns.values import NumberRules, parse_ip

RANK_EXACT = 0
RANK_STRING = 1
RANK_ANYTHING_BUT = 2
RANK_GENERAL = 3
RANK_EXISTS = 4
RANK_ABSENT = 5


class Matcher:
    """Base class: a predicate on one leaf value."""

    __slots__ = ("key",)
    kind = "matcher"
    rank = RANK_GENERAL

    def test(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Matcher) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.key[1:]!r}"


class Exact(Matcher):
    """An exact string, number (compared by value), true, false or null."""

    __slots__ = ("value",)
    kind = "exact"
    rank = RANK_EXACT

    def __init__(self, value: Any) -> None:
        self.value = value
        self.key = ("exact", value.__class__ is str, value)

    def test(self, value: Any) -> bool:
        return value == self.value and (value.__class__ is str) == (self.value.__class__ is str)


class Prefix(Matcher):
    __slots__ = ("folded", "kind", "prefix")
    rank = RANK_STRING

    def __init__(self, prefix: str, ignore_case: bool = False) -> None:
        self.prefix = prefix.lower() if ignore_case else prefix
        self.folded = ignore_case
        self.kind = "prefix_ic" if ignore_case else "prefix"
        self.key = (self.kind, self.prefix)

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        return (value.lower() if self.folded else value).startswith(self.prefix)


class Suffix(Matcher):
    __slots__ = ("folded", "kind", "suffix")
    rank = RANK_STRING

    def __init__(self, suffix: str, ignore_case: bool = False) -> None:
        self.suffix = suffix.lower() if ignore_case else suffix
        self.folded = ignore_case
        self.kind = "suffix_ic" if ignore_case else "suffix"
        self.key = (self.kind, self.suffix)

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        return (value.lower() if self.folded else value).endswith(self.suffix)


class EqualsIgnoreCase(Matcher):
    __slots__ = ("folded",)
    kind = "eic"
    rank = RANK_STRING

    def __init__(self, text: str) -> None:
        self.folded = text.lower()
        self.key = ("eic", self.folded)

    def test(self, value: Any) -> bool:
        return value.__class__ is str and value.lower() == self.folded


class Wildcard(Matcher):
    __slots__ = ("regex", "text")
    kind = "wildcard"

    def __init__(self, text: str, regex: Regex[str]) -> None:
        self.text = text
        self.regex = regex
        self.key = ("wildcard", text)

    def test(self, value: Any) -> bool:
        return value.__class__ is str and self.regex.fullmatch(value) is not None


class AnythingBut(Matcher):
    """Any present value except the listed strings, or except the listed numbers (by value)."""

    __slots__ = ("excluded",)
    kind = "abut"
    rank = RANK_ANYTHING_BUT

    def __init__(self, excluded: frozenset[Any]) -> None:
        self.excluded = excluded
        self.key = ("abut", frozenset((v.__class__ is str, v) for v in excluded))

    def test(self, value: Any) -> bool:
        # the excluded values are all strings or all numbers; strings never equal numbers or literals,
        # and numbers compare by value (100 excludes 100.0)
        return value not in self.excluded


class AnythingButText(Matcher):
    """anything-but with prefix, suffix, equals-ignore-case or wildcard: non-strings always match."""

    __slots__ = ("kind", "mode", "regexes", "texts")

    def __init__(
        self, mode: str, texts: tuple[str, ...], regexes: tuple[Regex[str], ...] = ()
    ) -> None:
        self.mode = mode
        self.texts = tuple(t.lower() for t in texts) if mode == "equals-ignore-case" else texts
        self.regexes = regexes
        self.kind = "abut_" + mode
        self.key = (self.kind, frozenset(self.texts))

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return True
        mode = self.mode
        if mode == "prefix":
            return not any(value.startswith(t) for t in self.texts)
        if mode == "suffix":
            return not any(value.endswith(t) for t in self.texts)
        if mode == "equals-ignore-case":
            return value.lower() not in self.texts
        return not any(r.fullmatch(value) for r in self.regexes)


class Numeric(Matcher):
    """A numeric range (or "=", a range of one value) over comparable event numbers."""

    __slots__ = ("high", "high_open", "low", "low_open", "rules")
    kind = "numeric"

    def __init__(
        self, low: float, low_open: bool, high: float, high_open: bool, rules: NumberRules
    ) -> None:
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open
        self.rules = rules
        self.key = ("numeric", low, low_open, high, high_open)

    def test(self, value: Any) -> bool:
        cls = value.__class__
        if cls is not int and cls is not float:
            return False
        if value < self.low or (self.low_open and value == self.low):
            return False
        if value > self.high or (self.high_open and value == self.high):
            return False
        # within bounds (so within AWS's range): a float must also have few enough decimals
        return cls is int or self.rules.comparable(value)


class Cidr(Matcher):
    __slots__ = ("high", "low", "version")
    kind = "cidr"

    def __init__(self, text: str, version: int, low: int, high: int) -> None:
        self.version, self.low, self.high = version, low, high
        self.key = ("cidr", version, low, high)

    def test(self, value: Any) -> bool:
        if value.__class__ is not str:
            return False
        parsed = parse_ip(value)
        return (
            parsed is not None and parsed[0] == self.version and self.low <= parsed[1] <= self.high
        )


class Exists(Matcher):
    """{"exists": true}: the field has at least one leaf value (null counts; objects do not)."""

    __slots__ = ()
    kind = "exists"
    rank = RANK_EXISTS

    def __init__(self) -> None:
        self.key = ("exists",)

    def test(self, value: Any) -> bool:
        return True


class Absent(Matcher):
    """{"exists": false}: the field has no leaf value (missing, an object, or an empty array)."""

    __slots__ = ()
    kind = "absent"
    rank = RANK_ABSENT

    def __init__(self) -> None:
        self.key = ("absent",)

    def test(self, value: Any) -> bool:
        return False
