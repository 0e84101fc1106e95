"""Many patterns matched at once, at a cost that does not grow with their number.

The idea is Event Ruler's (a state machine over field names whose transitions are value indexes);
the implementation is ours. Every branch of every rule is a sequence of conditions sorted the same way
(hashable kinds first, then by path), and the index is a trie over those sequences: rules that begin
with the same conditions share nodes. A node keeps, per field path, a `_FieldIndex` from values to
child nodes:

- exact values: one dictionary lookup per event value (numbers by value, so 5 finds 5.0);
- prefix / suffix (and their ignore-case forms): one lookup per distinct prefix length in use;
- equals-ignore-case: one lookup of the lower-cased value;
- anything-but values: all such children except those excluding this value (cost = answers);
- exists / absent: lists; everything else (numeric, wildcard, cidr, anything-but prefix/suffix/...):
  tested one by one, but only at the nodes an event actually reaches, i.e. for rules whose cheaper
  conditions already matched.

Matching walks from the root only along transitions the event's values take. Thousands of rules that
share `source` and differ in `detail-type` cost two lookups, not thousands of tests.

Array consistency (see `flatten`) is honoured by carrying, with each reached node, the array elements
the leaves used so far came from; events with no objects inside arrays take a faster walk without it.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from typing import Any

from cloudlet.core.patterns.flatten import Fields, Trails, flatten, merge, wanted_paths
from cloudlet.core.patterns.matchers import (
    AnythingBut,
    EqualsIgnoreCase,
    Exact,
    Matcher,
    Prefix,
    Suffix,
)
from cloudlet.core.patterns.pattern import Condition, Pattern


class _Node:
    __slots__ = ("children", "edges", "refs", "rules")

    def __init__(self) -> None:
        self.children: dict[Any, _Node] = {}  # condition key -> child (to insert and remove)
        self.edges: dict[str, _FieldIndex] = {}  # path -> value index (to match)
        self.rules: dict[Hashable, int] = {}  # rule id -> branches of it ending here
        self.refs = 0  # branches passing through this node


class _Affix:
    """Prefixes (or suffixes) of one path: a dictionary per string, probed once per length in use."""

    __slots__ = ("counts", "fold", "lengths", "suffix", "table")

    def __init__(self, suffix: bool, fold: bool) -> None:
        self.suffix = suffix
        self.fold = fold
        self.table: dict[str, list[_Node]] = {}
        self.counts: dict[int, int] = {}
        self.lengths: tuple[int, ...] = ()

    def add(self, text: str, child: _Node) -> None:
        self.table.setdefault(text, []).append(child)
        self.counts[len(text)] = self.counts.get(len(text), 0) + 1
        self.lengths = tuple(sorted(self.counts))

    def remove(self, text: str, child: _Node) -> None:
        _discard(self.table, text, child)
        self.counts[len(text)] -= 1
        if not self.counts[len(text)]:
            del self.counts[len(text)]
        self.lengths = tuple(sorted(self.counts))

    def collect(self, value: str, out: list[_Node]) -> None:
        if self.fold:
            value = value.lower()
        n = len(value)
        table = self.table
        for length in self.lengths:
            if length > n:
                break
            found = table.get(value[n - length :] if self.suffix else value[:length])
            if found:
                out += found


class _AnythingButs:
    """anything-but value lists of one path: every child whose list does not contain the value."""

    __slots__ = ("all", "entries", "excluded", "ids")

    def __init__(self) -> None:
        self.entries: dict[int, tuple[AnythingBut, _Node]] = {}
        self.excluded: dict[Any, set[int]] = {}
        self.all: list[_Node] = []
        self.ids = itertools.count()

    def add(self, matcher: AnythingBut, child: _Node) -> None:
        entry = next(self.ids)
        self.entries[entry] = (matcher, child)
        for value in matcher.excluded:
            self.excluded.setdefault(value, set()).add(entry)
        self.all = [c for _, c in self.entries.values()]

    def remove(self, matcher: AnythingBut, child: _Node) -> None:
        for entry, (m, c) in list(self.entries.items()):
            if c is child and m.key == matcher.key:
                del self.entries[entry]
                for value in m.excluded:
                    ids = self.excluded[value]
                    ids.discard(entry)
                    if not ids:
                        del self.excluded[value]
                break
        self.all = [c for _, c in self.entries.values()]

    def collect(self, value: Any, out: list[_Node]) -> None:
        excluded = self.excluded.get(value)
        if not excluded:
            out += self.all
            return
        out += [c for entry, (_, c) in self.entries.items() if entry not in excluded]


class _FieldIndex:
    """The conditions on one field path at one node, indexed by value."""

    __slots__ = ("absent", "abut", "affixes", "eic", "exact", "exists", "general", "simple", "size")

    def __init__(self) -> None:
        self.exact: dict[Any, list[_Node]] = {}
        self.eic: dict[str, list[_Node]] = {}
        self.affixes: dict[str, _Affix] = {}
        self.abut: _AnythingButs | None = None
        self.exists: list[_Node] = []
        self.absent: list[_Node] = []
        self.general: list[tuple[Matcher, _Node]] = []
        self.size = 0
        self.simple = True  # only exact values (and absence): matching is one dictionary lookup

    def _update(self) -> None:
        self.simple = not (self.eic or self.affixes or self.abut or self.exists or self.general)

    def add(self, matcher: Matcher, child: _Node) -> None:
        self.size += 1
        kind = matcher.kind
        if isinstance(matcher, Exact):
            self.exact.setdefault(matcher.value, []).append(child)
        elif isinstance(matcher, EqualsIgnoreCase):
            self.eic.setdefault(matcher.folded, []).append(child)
        elif isinstance(matcher, (Prefix, Suffix)):
            affix = self.affixes.get(kind)
            if affix is None:
                affix = self.affixes[kind] = _Affix(isinstance(matcher, Suffix), matcher.folded)
            affix.add(_affix_text(matcher), child)
        elif isinstance(matcher, AnythingBut):
            if self.abut is None:
                self.abut = _AnythingButs()
            self.abut.add(matcher, child)
        elif kind == "exists":
            self.exists.append(child)
        elif kind == "absent":
            self.absent.append(child)
        else:
            self.general.append((matcher, child))
        self._update()

    def remove(self, matcher: Matcher, child: _Node) -> None:
        self.size -= 1
        kind = matcher.kind
        if isinstance(matcher, Exact):
            _discard(self.exact, matcher.value, child)
        elif isinstance(matcher, EqualsIgnoreCase):
            _discard(self.eic, matcher.folded, child)
        elif isinstance(matcher, (Prefix, Suffix)):
            affix = self.affixes[kind]
            affix.remove(_affix_text(matcher), child)
            if not affix.table:
                del self.affixes[kind]
        elif isinstance(matcher, AnythingBut):
            assert self.abut is not None
            self.abut.remove(matcher, child)
            if not self.abut.entries:
                self.abut = None
        elif kind == "exists":
            self.exists.remove(child)
        elif kind == "absent":
            self.absent.remove(child)
        else:
            self.general.remove((matcher, child))
        self._update()

    def collect(self, value: Any, out: list[_Node]) -> None:
        """Appends the children whose condition accepts `value` (possibly more than once)."""
        if self.exact:
            found = self.exact.get(value)
            if found:
                out += found
        if value.__class__ is str:
            if self.eic:
                found = self.eic.get(value.lower())
                if found:
                    out += found
            for affix in self.affixes.values():
                affix.collect(value, out)
        if self.abut is not None:
            self.abut.collect(value, out)
        if self.exists:
            out += self.exists
        for matcher, child in self.general:
            if matcher.test(value):
                out.append(child)


def _affix_text(matcher: Prefix | Suffix) -> str:
    return matcher.prefix if isinstance(matcher, Prefix) else matcher.suffix


def _discard(table: dict[Any, list[_Node]], key: Any, child: _Node) -> None:
    found = table[key]
    found.remove(child)
    if not found:
        del table[key]


class PatternIndex:
    """Rules by id; `match(event)` returns the ids of the rules whose pattern matches the event.

    Not thread-safe; cloudlet keeps one per event bus (or topic) on the event loop. Adding a rule id
    that is present replaces its pattern.
    """

    def __init__(self) -> None:
        self._root = _Node()
        self._patterns: dict[Hashable, Pattern] = {}
        self._path_counts: dict[str, int] = {}
        self._wanted: frozenset[str] | None = frozenset()

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def get(self, rule_id: Hashable) -> Pattern | None:
        return self._patterns.get(rule_id)

    def add(self, rule_id: Hashable, pattern: Pattern) -> None:
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = pattern
        for branch in pattern.branches:
            self._insert(rule_id, branch)
        for path in pattern.paths:
            self._path_counts[path] = self._path_counts.get(path, 0) + 1
        self._wanted = None

    def remove(self, rule_id: Hashable) -> bool:
        pattern = self._patterns.pop(rule_id, None)
        if pattern is None:
            return False
        for branch in pattern.branches:
            self._delete(rule_id, branch)
        for path in pattern.paths:
            self._path_counts[path] -= 1
            if not self._path_counts[path]:
                del self._path_counts[path]
        self._wanted = None
        return True

    def _insert(self, rule_id: Hashable, branch: tuple[Condition, ...]) -> None:
        node = self._root
        for condition in branch:
            child = node.children.get(condition.key)
            if child is None:
                child = node.children[condition.key] = _Node()
                field = node.edges.get(condition.path)
                if field is None:
                    field = node.edges[condition.path] = _FieldIndex()
                for matcher in condition.matchers:
                    field.add(matcher, child)
            child.refs += 1
            node = child
        node.rules[rule_id] = node.rules.get(rule_id, 0) + 1

    def _delete(self, rule_id: Hashable, branch: tuple[Condition, ...]) -> None:
        trail = [self._root]
        for condition in branch:
            trail.append(trail[-1].children[condition.key])
        end = trail[-1]
        end.rules[rule_id] -= 1
        if not end.rules[rule_id]:
            del end.rules[rule_id]
        for parent, child, condition in zip(trail, trail[1:], branch, strict=False):
            child.refs -= 1
            if not child.refs:
                field = parent.edges[condition.path]
                for matcher in condition.matchers:
                    field.remove(matcher, child)
                if not field.size:
                    del parent.edges[condition.path]
                del parent.children[condition.key]
                return  # the rest of the path hung only from this child

    # ------------------------------------------------------------------ matching
    @property
    def wanted(self) -> frozenset[str]:
        if self._wanted is None:
            self._wanted = frozenset(wanted_paths(set(self._path_counts)))
        return self._wanted

    def match(self, event: Mapping[str, Any]) -> set[Hashable]:
        """The ids of the rules matching a parsed JSON event."""
        fields, trails = flatten(event, self.wanted)
        return self.match_flat(fields, trails)

    def match_flat(self, fields: Fields, trails: Trails) -> set[Hashable]:
        out: set[Hashable] = set()
        if trails:
            self._walk_with_trails(fields, trails, out)
        else:
            self._walk(fields, out)
        return out

    def _walk(self, fields: Fields, out: set[Hashable]) -> None:
        root = self._root
        stack = [root]
        seen = {root}
        children: list[_Node] | tuple[()] = []
        while stack:
            node = stack.pop()
            if node.rules:
                out.update(node.rules)
            for path, field in node.edges.items():
                values = fields.get(path)
                if values is None:
                    children = field.absent
                elif field.simple:
                    if len(values) == 1:
                        children = field.exact.get(values[0]) or ()
                    else:
                        exact = field.exact
                        children = [c for v in values for c in exact.get(v, ())]
                else:
                    children = []
                    for value in values:
                        field.collect(value, children)
                for child in children:
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)

    def _walk_with_trails(self, fields: Fields, trails: Trails, out: set[Hashable]) -> None:
        start: tuple[_Node, tuple[tuple[int, int], ...]] = (self._root, ())
        stack = [start]
        seen = {start}
        while stack:
            node, constraint = stack.pop()
            if node.rules:
                out.update(node.rules)
            for path, field in node.edges.items():
                values = fields.get(path)
                if values is None:
                    reached = [(child, constraint) for child in field.absent]
                else:
                    reached = []
                    path_trails = trails.get(path)
                    for i, value in enumerate(values):
                        children: list[_Node] = []
                        field.collect(value, children)
                        if not children:
                            continue
                        merged = merge(constraint, path_trails[i]) if path_trails else constraint
                        if merged is not None:
                            reached += [(child, merged) for child in children]
                for state in reached:
                    if state not in seen:
                        seen.add(state)
                        stack.append(state)
