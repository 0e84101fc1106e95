"""Choice rules of the JSONPath mode, compiled into predicates.

Every comparison operator of the States Language, their `...Path` variants (the right side
read from the input, the context or a variable), the type tests (IsPresent, IsNull, IsNumeric,
IsString, IsBoolean, IsTimestamp), StringMatches with `*` wildcards and `\\*` escapes, and
And/Or/Not. A comparison whose operand has the wrong type is simply false, as on AWS; a
Variable that does not exist is a `States.Runtime` error, except for IsPresent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cloudlet.workflows.errors import RUNTIME, StatesError
from cloudlet.workflows.templates import PathFailure, compile_reader

Predicate = Callable[[Any, Any, Any], bool]
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

KINDS = ("String", "Numeric", "Boolean", "Timestamp")
RELATIONS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
COMPARISONS = tuple(
    f"{kind}{relation}{suffix}"
    for kind in KINDS
    for relation in RELATIONS
    if not (kind == "Boolean" and relation != "Equals")
    for suffix in ("", "Path")
)
OPERATORS = (*COMPARISONS, "StringMatches", *TYPE_TESTS)

_RELATE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(kind: str, value: Any) -> Any:
    """The operand as its kind, or None when it is not of that kind."""
    if kind == "String":
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    if kind == "Boolean":
        return value if isinstance(value, bool) else None
    return parse_timestamp(value)


def string_matcher(pattern: str) -> Callable[[str], bool]:
    """StringMatches: `*` matches any run of characters; `\\*` and `\\\\` are literal."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda text: regex.fullmatch(text) is not None


def compile_rule(rule: dict[str, Any]) -> Predicate:
    """A Choice rule (data test or And/Or/Not) as a predicate over (input, context, vars)."""
    if "And" in rule:
        parts = [compile_rule(r) for r in rule["And"]]
        return lambda d, c, v: all(p(d, c, v) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(r) for r in rule["Or"]]
        return lambda d, c, v: any(p(d, c, v) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda d, c, v: not inner(d, c, v)
    variable = rule["Variable"]
    operator = next(op for op in OPERATORS if op in rule)
    return _data_test(variable, operator, rule[operator])


def _data_test(variable: str, operator: str, operand: Any) -> Predicate:
    read = compile_reader(variable)
    if operator == "IsPresent":
        return _presence(read, bool(operand))
    test = _test(operator, operand)

    def check(data: Any, ctx: Any, variables: Any) -> bool:
        try:
            value = read(data, ctx, variables)
        except PathFailure:
            raise StatesError(
                RUNTIME,
                f"Invalid path '{variable}': The choice state's condition path references an "
                "invalid value.",
            ) from None
        return test(value, data, ctx, variables)

    return check


def _presence(read: Callable[[Any, Any, Any], Any], wanted: bool) -> Predicate:
    def check(data: Any, ctx: Any, variables: Any) -> bool:
        try:
            read(data, ctx, variables)
        except (PathFailure, StatesError):
            return not wanted
        return wanted

    return check


def _test(operator: str, operand: Any) -> Callable[[Any, Any, Any, Any], bool]:
    if operator in TYPE_TESTS:
        kind_test = {
            "IsNull": lambda x: x is None,
            "IsNumeric": _is_number,
            "IsString": lambda x: isinstance(x, str),
            "IsBoolean": lambda x: isinstance(x, bool),
            "IsTimestamp": lambda x: parse_timestamp(x) is not None,
        }[operator]
        wanted = bool(operand)
        return lambda value, d, c, v: kind_test(value) == wanted
    if operator == "StringMatches":
        matcher = string_matcher(operand)
        return lambda value, d, c, v: isinstance(value, str) and matcher(value)
    by_path = operator.endswith("Path")
    name = operator[:-4] if by_path else operator
    kind = next(k for k in KINDS if name.startswith(k))
    relate = _RELATE[name[len(kind) :]]
    if by_path:
        read_other = compile_reader(operand)

        def compare_path(value: Any, data: Any, ctx: Any, variables: Any) -> bool:
            try:
                other = _coerce(kind, read_other(data, ctx, variables))
            except PathFailure:
                raise StatesError(
                    RUNTIME,
                    f"Invalid path '{operand}': The choice state's condition path references an "
                    "invalid value.",
                ) from None
            left = _coerce(kind, value)
            return left is not None and other is not None and relate(left, other)

        return compare_path
    fixed = _coerce(kind, operand)

    def compare(value: Any, data: Any, ctx: Any, variables: Any) -> bool:
        left = _coerce(kind, value)
        return left is not None and fixed is not None and relate(left, fixed)

    return compare
