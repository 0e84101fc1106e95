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

Each shape's checks are compiled once into closures (limits, enum set, compiled pattern, with
Java's \\p{L}, \\p{N}, \\p{Z} widened to \\w and \\s); valid input then costs a few comparisons
per value and builds no message text.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Collection, Iterable
from functools import cache
from itertools import count
from typing import Any, TypeVar

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


_CAMELS: dict[str, str] = {}


def _camel(name: str) -> str:
    camel = _CAMELS.get(name)
    if camel is None:
        camel = _CAMELS[name] = name[:1].lower() + name[1:]
    return camel


def validate(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise ParamValidationError describing every violation of `shape` by `params`."""
    if shape is None:
        return
    problems: list[Problem] = []
    children = _children(shape)
    if children is not None:
        children(params, "", problems)
    if not problems:
        return
    kind = "missing" if all(k == "missing" for k, _, _ in problems) else "invalid"
    total = len(problems)
    noun = "error" if total == 1 else "errors"
    text = "; ".join(msg for _, _, msg in problems[:_MAX_REPORTED])
    raise ParamValidationError(
        kind, f"{total} validation {noun} detected: {text}", member=problems[0][1]
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


# -- per-shape compiled checks -------------------------------------------------------------------
#
# Each model shape gets its checks built once: closures holding its limits, compiled pattern and
# enum set, so validating a value costs a few comparisons. The caches are keyed by the identity of
# the shape's raw dict and keep that dict alive, so an identity is never reused.

T = TypeVar("T")
#: (value) -> the constraints of the shape (not of its children) the value breaks
Violations = Callable[[Any], tuple[str, ...]]
#: (value, path, problems) -> appends what is wrong with the value and everything it holds
Checker = Callable[[Any, str, list[Problem]], None]

_NUMBERS = frozenset(("integer", "long", "float", "double"))
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


def _memo(cache: dict[int, tuple[Any, T]], shape: Shape, build: Callable[[Shape], T]) -> T:
    entry = cache.get(id(shape.raw))
    if entry is None:
        entry = cache[id(shape.raw)] = (shape.raw, build(shape))
    return entry[1]


def _wrong_type(kind: str, types: tuple[type, ...], value: Any) -> bool:
    if value.__class__ is bool:
        return kind != "boolean"
    return not isinstance(value, types) and not (kind == "blob" and hasattr(value, "read"))


def _checks_enums(shape: Shape) -> bool:
    from cloudlet.protocols.quirks import NO_ENUM_VALIDATION

    service = shape.model.name
    return service not in NO_ENUM_VALIDATION and f"{service}:{shape.name}" not in NO_ENUM_VALIDATION


def _rule_texts(shape: Shape) -> tuple[str, str, str, str]:
    """AWS's text of the shape's max, min, pattern and enum constraints ("" when absent)."""
    raw = shape.raw
    noun = "value" if shape.type in _NUMBERS else "length"
    high, low, pattern, enum = raw.get("max"), raw.get("min"), raw.get("pattern"), raw.get("enum")
    is_string = shape.type == "string"
    return (
        f"Member must have {noun} less than or equal to {high}" if high is not None else "",
        f"Member must have {noun} greater than or equal to {low}" if low is not None else "",
        f"Member must satisfy regular expression pattern: {pattern}"
        if pattern and is_string
        else "",
        f"Member must satisfy enum value set: [{', '.join(enum)}]"
        if enum and is_string and _checks_enums(shape)
        else "",
    )


_RULES: dict[int, tuple[Any, str]] = {}


def _rules(shape: Shape) -> str:
    """Every constraint of a shape, in the order AWS lists them for collection items."""
    return _memo(_RULES, shape, lambda s: ", ".join(t for t in _rule_texts(s) if t))


_VIOLATIONS: dict[int, tuple[Any, Violations | None]] = {}


def _violations(shape: Shape) -> Violations | None:
    return _memo(_VIOLATIONS, shape, _build_violations)


def _build_violations(shape: Shape) -> Violations | None:
    """None when the shape has no constraint of its own."""
    raw = shape.raw
    low, high = raw.get("min"), raw.get("max")
    too_big, too_small, pattern_text, enum_text = _rule_texts(shape)
    is_string = shape.type == "string"
    enum = (
        frozenset(raw["enum"]) if is_string and raw.get("enum") and _checks_enums(shape) else None
    )
    rx = _compiled(raw["pattern"]) if is_string and raw.get("pattern") else None
    if low is None and high is None and enum is None and rx is None:
        return None
    numeric = shape.type in _NUMBERS

    def violations(value: Any) -> tuple[str, ...]:
        try:
            size = value if numeric else len(value)
        except TypeError:  # a streaming blob: its length is not known up front
            return ()
        found: tuple[str, ...] = ()  # grows only when something is broken
        if low is not None and size < low:
            found += (too_small,)
        if high is not None and size > high:
            found += (too_big,)
        if enum is not None and value not in enum:
            found += (enum_text,)
        if rx is not None and rx.fullmatch(value) is None:
            found += (pattern_text,)
        return found

    return violations


_CHECKERS: dict[int, tuple[Any, Checker]] = {}
_CHILDREN: dict[int, tuple[Any, Checker | None]] = {}


def _checker(shape: Shape) -> Checker:
    return _memo(_CHECKERS, shape, _build_checker)


def _children(shape: Shape) -> Checker | None:
    """The check of what a structure, list or map holds; None for other shapes."""
    return _memo(_CHILDREN, shape, _build_children)


def _build_checker(shape: Shape) -> Checker:
    kind = shape.type
    types = _TYPES.get(kind, (object,))
    # the classes a value usually has, tested with one set lookup before the full type test
    usual = frozenset(types) - {bool} if kind != "boolean" else frozenset((bool,))
    violations = _violations(shape)
    children = _children(shape)

    def check(value: Any, path: str, out: list[Problem]) -> None:
        if value.__class__ not in usual and _wrong_type(kind, types, value):
            _fail(out, shape, value, path, f"Member must be a {kind}")
            return
        if violations is not None:
            for constraint in violations(value):
                _fail(out, shape, value, path, constraint)
        if children is not None:
            children(value, path, out)

    return check


def _build_children(shape: Shape) -> Checker | None:
    kind = shape.type
    if kind == "structure" and not shape.is_document:
        return _structure_children(shape)
    if kind == "list":
        member = shape.member
        return lambda value, path, out: _check_items(
            member, value, None, value, path, out, "Member must satisfy constraint"
        )
    if kind == "map":
        key, item = shape.key, shape.value

        def check_map(value: dict[str, Any], path: str, out: list[Problem]) -> None:
            _check_items(
                key, value.keys(), None, value, path, out, "Map keys must satisfy constraint"
            )
            _check_items(item, value.values(), value.keys(), value, path, out, _MAP_VALUE)

        return check_map
    return None


_MAP_VALUE = "Map value must satisfy constraint"


def _structure_children(shape: Shape) -> Checker:
    # Required members in the model's order, so messages list them as the model does.
    required = tuple((name, _camel(name)) for name in shape.raw.get("required", ()))
    table: dict[str, tuple[str, Checker]] = {}  # filled on first use: shapes may be recursive

    def check_structure(value: dict[str, Any], path: str, out: list[Problem]) -> None:
        if not table:
            table.update({n: (_camel(n), _checker(m)) for n, m in shape.members.items()})
        prefix = f"{path}." if path else ""
        for name, camel in required:
            if value.get(name) is None:
                where = prefix + camel
                message = (
                    f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
                )
                out.append(("missing", where, message))
        for name, item in value.items():
            entry = table.get(name)
            if entry is not None and item is not None:
                entry[1](item, prefix + entry[0], out)

    return check_structure


_PLAIN: dict[int, tuple[Any, tuple[tuple[str, ...], dict[str, frozenset[type]]] | None]] = {}


def _plain_members(shape: Shape) -> tuple[tuple[str, ...], dict[str, frozenset[type]]] | None:
    """(required members, {member: its usual classes}) of a structure whose members have no
    constraint but their type (a batch entry's Id and ReceiptHandle); None for others."""
    return _memo(_PLAIN, shape, _build_plain_members)


def _build_plain_members(shape: Shape) -> tuple[tuple[str, ...], dict[str, frozenset[type]]] | None:
    if shape.is_document or _violations(shape) is not None:
        return None
    types = {}
    for name, member in shape.members.items():
        kind = member.type
        if kind == "boolean" or _violations(member) is not None or _children(member) is not None:
            return None
        types[name] = frozenset(_TYPES.get(kind, (object,))) - {bool}
    return tuple(shape.raw.get("required", ())), types


def _plainly_valid(plain: tuple[tuple[str, ...], dict[str, frozenset[type]]], item: Any) -> bool:
    """Whether a structure of `_plain_members` is valid, tested without building paths; when
    it is not (or may not be), the full check runs and says why."""
    required, types = plain
    if item.__class__ is not dict:
        return False
    for name in required:
        if item.get(name) is None:
            return False
    for name, value in item.items():
        usual = types.get(name)
        if usual is None or (value is not None and value.__class__ not in usual):
            return False
    return True


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
    kind = item_shape.type
    if kind == "structure":
        check = _checker(item_shape)
        plain = _plain_members(item_shape)
        for tag, item in zip(labels or count(1), items, strict=False):
            if item is not None and not (plain is not None and _plainly_valid(plain, item)):
                check(item, f"{path}.{tag}.member", out)
        return
    types = _TYPES.get(kind, (object,))
    for item in items:
        if item is not None and _wrong_type(kind, types, item):
            _fail(out, item_shape, whole, path, f"{label}: [Member must be a {kind}]")
            return
    violations = _violations(item_shape)
    if violations is not None and any(item is not None and violations(item) for item in items):
        _fail(out, item_shape, whole, path, f"{label}: [{_rules(item_shape)}]")
    children = _children(item_shape)
    if children is not None:
        for tag, item in zip(labels or count(1), items, strict=False):
            if item:
                children(item, f"{path}.{tag}.member", out)
