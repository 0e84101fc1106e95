"""Input validation against an operation's input shape, with AWS's message text.

AWS's front end validates every request against the same model botocore ships and reports all
violations in one message:

    2 validation errors detected: Value null at 'queueUrl' failed to satisfy constraint: Member
    must not be null; Value '0' at 'maxResults' failed to satisfy constraint: Member must have
    value greater than or equal to 1

What AWS prints, and so what this module reproduces:

- The path is the lowerCamelCase member name, dotted; a structure inside a list is reached
  through its 1-based index: `tags.1.member.value`.
- Each broken constraint of a member is its own error: an empty name can report both its
  length and its pattern.
- Patterns must match the whole value (Java's `Pattern.matches`), empty values included.
- Items of a list and keys/values of a map that are not structures are checked as a group and
  reported once at the collection's path, listing every constraint of the item shape whichever
  one failed: `Value '[a, ]' at 'names' failed to satisfy constraint: Member must satisfy
  constraint: [Member must have length less than or equal to 8, Member must have length greater
  than or equal to 1]`; maps say `Map keys must satisfy constraint: [...]` and `Map value must
  satisfy constraint: [...]`, keys first.
- Values print as Java's `toString` does (`[a, b]`, `{k=v}`, `true`); members the model marks
  sensitive print no value at all (`Value at 'password'`).

Patterns compile once (Java's \\p{L}, \\p{N}, \\p{Z} widened to \\w and \\s); the constraint list
of a collection's item shape is built once.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Collection, Iterable
from functools import cache
from itertools import count
from typing import Any

from cloudlet.protocols.errors import ParamValidationError
from cloudlet.protocols.model import Shape

_MAX_REPORTED = 10

#: (kind, path, message) of one violation; kind is "missing" or "invalid".
Problem = tuple[str, str, str]


#: Java's Unicode classes that Python's `re` lacks, each mapped to a class that contains it (\w
#: holds every letter and number, \s every separator), so a translated pattern never rejects
#: what AWS accepts; it may accept a little more (an underscore or a tab).
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s"}


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern for Python, or None when it cannot be checked faithfully."""
    if "\\p{" in pattern or "\\P{" in pattern:
        if "[^" in pattern or "\\P{" in pattern:
            return None  # inside a negation the wider classes would reject valid input
        for java, python in _JAVA_CLASSES.items():
            pattern = pattern.replace(java, python)
        if "\\p{" in pattern:
            return None  # another Unicode class (\p{S}, \p{Alnum}...): not reproduced
    try:
        return re.compile(pattern)
    except re.error:  # another Java-only construct; AWS's own check is then not reproduced
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def validate(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise ParamValidationError describing every violation of `shape` by `params`."""
    if shape is None:
        return
    problems: list[Problem] = []
    _check_structure(shape, params, "", problems)
    if not problems:
        return
    kind = "missing" if all(k == "missing" for k, _, _ in problems) else "invalid"
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    text = "; ".join(msg for _, _, msg in problems[:_MAX_REPORTED])
    raise ParamValidationError(
        kind, f"{count} validation {noun} detected: {text}", member=problems[0][1]
    )


# -- value text ----------------------------------------------------------------------------------


def _java(value: Any) -> str:
    """A value as Java's toString prints it, which is what AWS quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, list):
        return "[" + ", ".join(_java(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_java(k)}={_java(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return str(value)


def _fail(out: list[Problem], shape: Shape, value: Any, path: str, constraint: str) -> None:
    shown = "Value" if shape.raw.get("sensitive") else f"Value '{_java(value)}'"
    out.append(("invalid", path, f"{shown} at '{path}' failed to satisfy constraint: {constraint}"))


# -- constraints of one shape --------------------------------------------------------------------


def _length_rules(raw: dict[str, Any], noun: str) -> list[str]:
    rules = []
    if raw.get("max") is not None:
        rules.append(f"Member must have {noun} less than or equal to {raw['max']}")
    if raw.get("min") is not None:
        rules.append(f"Member must have {noun} greater than or equal to {raw['min']}")
    return rules


_RULES: dict[tuple[str, str], tuple[str, ...]] = {}


def _rules(shape: Shape) -> tuple[str, ...]:
    """Every constraint of a shape, in the order AWS lists them for collection items."""
    key = (shape.model.name, shape.name)
    rules = _RULES.get(key)
    if rules is None:
        rules = _RULES[key] = _list_rules(shape)
    return rules


def _list_rules(shape: Shape) -> tuple[str, ...]:
    raw = shape.raw
    kind = shape.type
    if kind in ("integer", "long", "float", "double"):
        return tuple(_length_rules(raw, "value"))
    rules = _length_rules(raw, "length") if kind in ("string", "list", "map", "blob") else []
    if kind == "string":
        if raw.get("pattern"):
            rules.append(f"Member must satisfy regular expression pattern: {raw['pattern']}")
        if raw.get("enum"):
            rules.append(f"Member must satisfy enum value set: [{', '.join(raw['enum'])}]")
    return tuple(rules)


def _broken(shape: Shape, value: Any) -> tuple[str, ...]:
    """The constraints of `shape` (not of its children) that `value` breaks."""
    raw = shape.raw
    kind = shape.type
    if kind in ("integer", "long", "float", "double"):
        size: Any = value
        noun = "value"
    elif isinstance(value, str | bytes | bytearray | list | dict):
        size = len(value)
        noun = "length"
    else:
        return ()
    broken: tuple[str, ...] = ()  # grows only when something is broken
    low, high = raw.get("min"), raw.get("max")
    if low is not None and size < low:
        broken += (f"Member must have {noun} greater than or equal to {low}",)
    if high is not None and size > high:
        broken += (f"Member must have {noun} less than or equal to {high}",)
    if kind == "string":
        enum = raw.get("enum")
        if enum and value not in enum:
            broken += (f"Member must satisfy enum value set: [{', '.join(enum)}]",)
        pattern = raw.get("pattern")
        if pattern:
            rx = _compiled(pattern)
            if rx is not None and rx.fullmatch(value) is None:
                broken += (f"Member must satisfy regular expression pattern: {pattern}",)
    return broken


# -- the walk ------------------------------------------------------------------------------------


def _check_structure(shape: Shape, value: dict[str, Any], path: str, out: list[Problem]) -> None:
    for name in shape.required:
        if value.get(name) is None:
            where = f"{path}{_camel(name)}"
            message = (
                f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
            )
            out.append(("missing", where, message))
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        _check(member, item, f"{path}{_camel(name)}", out)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "structure": (dict,),
    "list": (list,),
    "map": (dict,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (bytes, bytearray, memoryview),
    "timestamp": (_dt.datetime, int, float),
}


def _wrong_type(shape: Shape, value: Any) -> bool:
    kind = shape.type
    expected = _TYPES.get(kind)
    if expected is None:
        return False
    if isinstance(value, bool) and kind != "boolean":
        return True
    return not isinstance(value, expected) and not (kind == "blob" and hasattr(value, "read"))


def _check(shape: Shape, value: Any, path: str, out: list[Problem]) -> None:
    """Check `value` against its shape's own constraints, then what it holds."""
    if _wrong_type(shape, value):
        _fail(out, shape, value, path, f"Member must be a {shape.type}")
        return
    for constraint in _broken(shape, value):
        _fail(out, shape, value, path, constraint)
    _check_children(shape, value, path, out)


def _check_children(shape: Shape, value: Any, path: str, out: list[Problem]) -> None:
    kind = shape.type
    if kind == "structure" and not shape.is_document:
        _check_structure(shape, value, path + ".", out)
    elif kind == "list":
        _check_items(shape.member, value, None, value, path, out, "Member must satisfy constraint")
    elif kind == "map":
        _check_items(
            shape.key, value.keys(), None, value, path, out, "Map keys must satisfy constraint"
        )
        _check_items(
            shape.value,
            value.values(),
            value.keys(),
            value,
            path,
            out,
            "Map value must satisfy constraint",
        )


def _check_items(
    item_shape: Shape,
    items: Collection[Any],
    labels: Iterable[Any] | None,
    whole: Any,
    path: str,
    out: list[Problem],
    label: str,
) -> None:
    """Check a collection's items: structures one by one, anything else as one group.

    An item reached on its own is at `<path>.<label>.member`, the label being the 1-based list
    index or the map key; paths are only built for items that are walked into.
    """
    if item_shape.type == "structure":
        for tag, item in zip(labels or count(1), items, strict=False):
            if item is not None:
                _check(item_shape, item, f"{path}.{tag}.member", out)
        return
    for item in items:
        if item is not None and _wrong_type(item_shape, item):
            _fail(out, item_shape, whole, path, f"{label}: [Member must be a {item_shape.type}]")
            return
    rules = _rules(item_shape)
    if rules and any(item is not None and _broken(item_shape, item) for item in items):
        _fail(out, item_shape, whole, path, f"{label}: [{', '.join(rules)}]")
    if item_shape.type in ("list", "map"):
        for tag, item in zip(labels or count(1), items, strict=False):
            if item:
                _check_children(item_shape, item, f"{path}.{tag}.member", out)
