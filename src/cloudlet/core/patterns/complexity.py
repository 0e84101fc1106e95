"""AWS's "Rule is too complex" check for wildcard patterns.

Wildcards make matching non-deterministic: after reading part of a value, several positions of
several wildcard patterns can be live at once, and matching slows with their number. AWS measures a
rule's complexity as the largest number of wildcard-pattern positions a worst-case value can keep live
at the same time (per field, maximum over fields), and refuses rules above a limit.

We compute the same quantity by exploring the subset automaton of the field's wildcard patterns over
the characters they mention (plus one character none of them mentions). AWS does not publish the
limit; `LIMIT` is calibrated on rules reported as accepted and refused (see the tests), e.g. three
`"*:stack/<name>/*"` patterns on one field are accepted and four are refused.
"""

from __future__ import annotations

from collections.abc import Iterable

LIMIT = 17  # accepted rules measured up to 15 here, refused ones from 20
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
_MAX_SUBSETS = 20_000  # exploration budget: beyond it the rule is reported as too complex

Tokens = tuple[str | None, ...]  # None is a wildcard


def _closure(
    patterns: list[Tokens], states: Iterable[tuple[int, int]]
) -> frozenset[tuple[int, int]]:
    """Adds the positions reachable by letting wildcards match nothing."""
    out: set[tuple[int, int]] = set()
    for which, pos in states:
        tokens = patterns[which]
        out.add((which, pos))
        while pos < len(tokens) and tokens[pos] is None:
            pos += 1
            out.add((which, pos))
    return frozenset(out)


def _step(
    patterns: list[Tokens], live: frozenset[tuple[int, int]], ch: str
) -> frozenset[tuple[int, int]]:
    moved: list[tuple[int, int]] = []
    for which, pos in live:
        tokens = patterns[which]
        if pos < len(tokens):
            token = tokens[pos]
            if token is None:
                moved.append((which, pos))
            elif token == ch:
                moved.append((which, pos + 1))
        elif pos > 0 and tokens[pos - 1] is None:
            moved.append((which, pos))  # a trailing wildcard keeps matching
    return _closure(patterns, moved)


def field_complexity(patterns: list[Tokens], limit: int = LIMIT) -> int:
    """Largest number of live pattern positions over all inputs (capped at `limit`)."""
    if not patterns:
        return 0
    alphabet = {t for tokens in patterns for t in tokens if t is not None}
    alphabet.add("\0")
    start = _closure(patterns, [(i, 0) for i in range(len(patterns))])
    seen = {start}
    frontier = [start]
    worst = 0
    while frontier:
        live = frontier.pop()
        size = sum(1 for which, pos in live if patterns[which].count(None) > 0)
        worst = max(worst, size)
        if worst >= limit or len(seen) > _MAX_SUBSETS:
            return limit
        for ch in alphabet:
            following = _step(patterns, live, ch)
            if following and following not in seen:
                seen.add(following)
                frontier.append(following)
    return worst


def too_complex(fields: dict[str, list[Tokens]], limit: int = LIMIT) -> bool:
    return any(field_complexity(patterns, limit + 1) > limit for patterns in fields.values())
