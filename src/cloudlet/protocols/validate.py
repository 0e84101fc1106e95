"""Input validation against an operation's input shape, with AWS's message text.

AWS's front end validates every request against the same model botocore ships and reports all
violations in one message:

    2 validation errors detected: Value null at 'queueUrl' failed to satisfy constraint: Member
    must not be null; Value '0' at 'maxResults' failed to satisfy constraint: Member must have
    value greater than or equal to 1

The member path is the lowerCamelCase member name, dotted and 1-based for list items. The result of
one validation is cached per compiled pattern; the walk itself allocates nothing for valid input.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import cache
from typing import Any

from cloudlet.protocols.errors import ParamValidationError
from cloudlet.protocols.model import Shape

_MAX_REPORTED = 10


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct; AWS's own check is then not reproduced
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def validate(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise ParamValidationError describing every violation of `shape` by `params`."""
    if shape is None:
        return
    problems: list[tuple[str, str]] = []
    _check_structure(shape, params, "", problems)
    if not problems:
        return
    kind = "missing" if all(k == "missing" for k, _ in problems) else "invalid"
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    text = "; ".join(msg for _, msg in problems[:_MAX_REPORTED])
    first_member = problems[0][1].split("'")[1] if "'" in problems[0][1] else ""
    raise ParamValidationError(
        kind, f"{count} validation {noun} detected: {text}", member=first_member
    )


def _value_text(shape: Shape, value: Any) -> str:
    if shape.raw.get("sensitive"):
        return "Value"
    if isinstance(value, bytes):
        value = "java.nio.HeapByteBuffer"
    elif isinstance(value, list | dict):
        value = "[...]" if isinstance(value, list) else "{...}"
    return f"Value '{value}'"


def _check_structure(shape: Shape, value: dict[str, Any], path: str, out: list) -> None:
    for name in shape.required:
        if value.get(name) is None:
            out.append(
                ("missing", f"Value null at '{path}{_camel(name)}' failed to satisfy constraint: Member must not be null")
            )
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        _check(member, item, f"{path}{_camel(name)}", out)


def _fail(out: list, shape: Shape, value: Any, path: str, constraint: str) -> None:
    out.append(("invalid", f"{_value_text(shape, value)} at '{path}' failed to satisfy constraint: {constraint}"))


def _check(shape: Shape, value: Any, path: str, out: list) -> None:  # noqa: C901 - one switch on type
    kind = shape.type
    raw = shape.raw
    if kind == "string":
        if not isinstance(value, str):
            _fail(out, shape, value, path, "Member must be a string")
            return
        _check_length(shape, value, len(value), path, out)
        enum = raw.get("enum")
        if enum and value not in enum:
            _fail(out, shape, value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = raw.get("pattern")
        if pattern and value:
            rx = _compiled(pattern)
            if rx is not None and rx.search(value) is None:
                _fail(out, shape, value, path, f"Member must satisfy regular expression pattern: {pattern}")
    elif kind == "structure":
        if not isinstance(value, dict):
            _fail(out, shape, value, path, "Member must be a structure")
            return
        if shape.is_document:
            return
        _check_structure(shape, value, path + ".", out)
    elif kind == "list":
        if not isinstance(value, list):
            _fail(out, shape, value, path, "Member must be a list")
            return
        _check_length(shape, value, len(value), path, out)
        member = shape.member
        for i, item in enumerate(value, 1):
            if item is not None:
                _check(member, item, f"{path}.{i}.member", out)
    elif kind == "map":
        if not isinstance(value, dict):
            _fail(out, shape, value, path, "Member must be a map")
            return
        _check_length(shape, value, len(value), path, out)
        key_shape, value_shape = shape.key, shape.value
        for k, item in value.items():
            if not isinstance(k, str):
                _fail(out, key_shape, k, path, "Member must be a string")
            elif item is not None:
                _check(value_shape, item, f"{path}.{k}.member", out)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(out, shape, value, path, "Member must be a number")
            return
        _check_range(shape, value, path, out)
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(out, shape, value, path, "Member must be a number")
            return
        _check_range(shape, value, path, out)
    elif kind == "boolean":
        if not isinstance(value, bool):
            _fail(out, shape, value, path, "Member must be a boolean")
    elif kind == "blob":
        if not isinstance(value, bytes | bytearray | memoryview) and not hasattr(value, "read"):
            _fail(out, shape, value, path, "Member must be a blob")
        elif isinstance(value, bytes | bytearray):
            _check_length(shape, value, len(value), path, out)
    elif kind == "timestamp":
        if not isinstance(value, _dt.datetime | int | float) or isinstance(value, bool):
            _fail(out, shape, value, path, "Member must be a timestamp")


def _check_length(shape: Shape, value: Any, length: int, path: str, out: list) -> None:
    raw = shape.raw
    low = raw.get("min")
    if low is not None and length < low:
        _fail(out, shape, value, path, f"Member must have length greater than or equal to {low}")
    high = raw.get("max")
    if high is not None and length > high:
        _fail(out, shape, value, path, f"Member must have length less than or equal to {high}")


def _check_range(shape: Shape, value: float, path: str, out: list) -> None:
    raw = shape.raw
    low = raw.get("min")
    if low is not None and value < low:
        _fail(out, shape, value, path, f"Member must have value greater than or equal to {low}")
    high = raw.get("max")
    if high is not None and value > high:
        _fail(out, shape, value, path, f"Member must have value less than or equal to {high}")
