"""Events as AWS's matcher sees them: leaf values by dotted path.

`{"detail": {"state": "running", "tags": ["a", "b"]}}` becomes `{"detail.state": ["running"],
"detail.tags": ["a", "b"]}`. Arrays are "crushed out" (every element is a value of the same path), and
keys are joined with "." exactly as Event Ruler joins them, so `{"a.b": 1}` and `{"a": {"b": 1}}` are
the same field — AWS documents this caveat and SNS's message-body filtering shows it.

Array consistency: AWS refuses a match that takes two fields from objects in *different elements of
the same array* (`{"employees": {"first": ["Anna"], "last": ["Jones"]}}` does not match Anna Smith
and Peter Jones). So every leaf that lies inside an object (or array) within an array element carries
a trail of `(array id, element index)` pairs; two leaves are compatible when they agree on every array
they share. Leaves outside such elements — nearly all of them in practice — carry no trail, and then
`trails` has no entry for their path at all, which lets matching skip the consistency work entirely.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from cloudlet.core.patterns.values import FALSE, NULL, TRUE

Fields = dict[str, list[Any]]
Trail = tuple[tuple[int, int], ...]
Trails = dict[str, list[Trail]]


def flatten(doc: Mapping[str, Any], wanted: Container[str] | None = None) -> tuple[Fields, Trails]:
    """(leaf values by path, trails by path). `wanted` prunes: paths (and prefixes) not in it are skipped."""
    fields: Fields = {}
    trails: Trails = {}
    _walk_object(doc, "", (), fields, trails, wanted, [0])
    return fields, trails


def _walk_object(
    obj: Mapping[str, Any],
    prefix: str,
    trail: Trail,
    fields: Fields,
    trails: Trails,
    wanted: Container[str] | None,
    counter: list[int],
) -> None:
    for key, value in obj.items():
        path = prefix + key if prefix else key
        if wanted is not None and path not in wanted:
            continue
        cls = value.__class__
        if cls is dict:
            _walk_object(value, path + ".", trail, fields, trails, wanted, counter)
        elif cls is list:
            _walk_array(value, path, trail, fields, trails, wanted, counter)
        elif trail or trails or path in fields:
            _add(path, _leaf(value, cls), trail, fields, trails)
        else:  # the common case, inlined: a first value outside any array element
            fields[path] = [
                value if cls is str or cls is int or cls is float else _leaf(value, cls)
            ]


def _walk_array(
    items: list[Any],
    path: str,
    trail: Trail,
    fields: Fields,
    trails: Trails,
    wanted: Container[str] | None,
    counter: list[int],
) -> None:
    counter[0] += 1
    array_id = counter[0]
    for index, item in enumerate(items):
        cls = item.__class__
        if cls is dict:
            _walk_object(
                item, path + ".", (*trail, (array_id, index)), fields, trails, wanted, counter
            )
        elif cls is list:
            _walk_array(item, path, (*trail, (array_id, index)), fields, trails, wanted, counter)
        else:
            _add(path, _leaf(item, cls), trail, fields, trails)


def _leaf(value: Any, cls: type) -> Any:
    if cls is bool:
        return TRUE if value else FALSE
    if value is None:
        return NULL
    return value


def _add(path: str, value: Any, trail: Trail, fields: Fields, trails: Trails) -> None:
    values = fields.get(path)
    if values is None:
        values = fields[path] = []
    if trail:
        path_trails = trails.get(path)
        if path_trails is None:
            path_trails = trails[path] = [()] * len(values)
        path_trails.append(trail)
    elif path in trails:
        trails[path].append(())
    values.append(value)


def compatible(a: Trail, b: Trail) -> bool:
    """Whether two leaves may be used together: same element of every array both lie in."""
    if not a or not b:
        return True
    for array_id, index in a:
        for other_id, other_index in b:
            if array_id == other_id and index != other_index:
                return False
    return True


def merge(constraint: Trail, trail: Trail) -> Trail | None:
    """The combined constraint of a partial match and one more leaf, or None if they conflict."""
    if not trail:
        return constraint
    if not constraint:
        return trail
    if not compatible(constraint, trail):
        return None
    extra = tuple(t for t in trail if t not in constraint)
    return tuple(sorted(constraint + extra)) if extra else constraint


def wanted_paths(paths: list[str] | set[str] | frozenset[str]) -> set[str]:
    """Every path and every dotted prefix of it: what `flatten` must not prune."""
    wanted: set[str] = set()
    for path in paths:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            wanted.add(".".join(parts[:i]))
    return wanted
