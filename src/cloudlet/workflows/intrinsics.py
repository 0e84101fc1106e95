"""Intrinsic functions: `States.Format('Hello, {}', $.name)` and the other seventeen.

A call is parsed once, when the definition loads, into a closure over its compiled arguments
(literals, JSONPaths into the input, `$$` paths into the context object, `$variables`, and
nested calls). A call that fails at run time raises `States.IntrinsicFailure` with a cause in
AWS's style; a malformed call is a definition error.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from cloudlet.workflows.errors import INTRINSIC, StatesError

#: (input, context, variables) -> value
Reader = Callable[[Any, Any, Any], Any]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_FUNCTION = re.compile(r"States\.([A-Za-z0-9]+)\(")
MAX_RANGE = 1000
MAX_BASE64_INPUT = 10_000


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


def looks_like_call(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.") and text.rstrip().endswith(")")


def compile_call(text: str, reference: Callable[[str], Reader]) -> Reader:
    """Compile `States.X(...)`; `reference` compiles the path arguments (`$...`)."""
    reader, pos = _parse_call(text.strip(), 0, reference)
    if pos != len(text.strip()):
        raise IntrinsicSyntaxError(f"unexpected text after the call in {text!r}")
    return reader


def _parse_call(text: str, pos: int, reference: Callable[[str], Reader]) -> tuple[Reader, int]:
    match = _FUNCTION.match(text, pos)
    if not match:
        raise IntrinsicSyntaxError(f"expected a States.* function at {pos} in {text!r}")
    name = match.group(1)
    function = FUNCTIONS.get(name)
    if function is None:
        raise IntrinsicSyntaxError(f"unknown intrinsic function States.{name}")
    pos = match.end()
    args: list[Reader] = []
    while True:
        pos = _skip(text, pos)
        if pos >= len(text):
            raise IntrinsicSyntaxError(f"unclosed call in {text!r}")
        if text[pos] == ")":
            pos += 1
            break
        if args:
            if text[pos] != ",":
                raise IntrinsicSyntaxError(f"expected ',' at {pos} in {text!r}")
            pos = _skip(text, pos + 1)
        arg, pos = _parse_arg(text, pos, reference)
        args.append(arg)
    readers = tuple(args)
    label = f"States.{name}"

    def call(data: Any, context: Any, variables: Any) -> Any:
        values = [arg(data, context, variables) for arg in readers]
        return function(label, values)

    return call, pos


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    return pos


def _parse_arg(text: str, pos: int, reference: Callable[[str], Reader]) -> tuple[Reader, int]:
    char = text[pos]
    if char == "'":
        value, pos = _parse_string(text, pos)
        return (lambda d, c, v: value), pos
    if text.startswith("States.", pos):
        return _parse_call(text, pos, reference)
    if char == "$":
        end = _path_end(text, pos)
        return reference(text[pos:end].strip()), end
    match = _NUMBER.match(text, pos)
    if match:
        number = (
            float(match.group()) if any(c in match.group() for c in ".eE") else int(match.group())
        )
        return (lambda d, c, v: number), match.end()
    for word, literal in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, pos):
            return (lambda d, c, v, literal=literal: literal), pos + len(word)
    raise IntrinsicSyntaxError(f"unexpected argument at {pos} in {text!r}")


def _parse_string(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos : pos + 2] if text[pos + 1] in "{}" else text[pos + 1])
            pos += 2
            continue
        if char == "'":
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise IntrinsicSyntaxError(f"unclosed string in {text!r}")


def _path_end(text: str, pos: int) -> int:
    depth, quote = 0, ""
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and depth:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0 and char in ",)":
            return pos
        pos += 1
    return pos


# -- the functions --------------------------------------------------------------------------
def fail(name: str, cause: str) -> StatesError:
    return StatesError(INTRINSIC, f"Invalid arguments in {name}: {cause}")


def _count(name: str, values: list[Any], *allowed: int) -> None:
    if len(values) not in allowed:
        wanted = " or ".join(str(n) for n in allowed)
        raise fail(name, f"expected {wanted} arguments, got {len(values)}")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _format(name: str, values: list[Any]) -> str:
    if not values or not isinstance(values[0], str):
        raise fail(name, "the first argument must be a template string")
    template, args = values[0], values[1:]
    out: list[str] = []
    used, i = 0, 0
    while i < len(template):
        if template[i] == "\\" and i + 1 < len(template) and template[i + 1] in "{}\\":
            out.append(template[i + 1])
            i += 2
        elif template.startswith("{}", i):
            if used >= len(args):
                raise fail(
                    name, "the number of arguments does not match the number of placeholders"
                )
            value = args[used]
            if isinstance(value, dict | list):
                raise fail(name, "arguments must be strings, numbers, booleans or null")
            out.append(value if isinstance(value, str) else _json_text(value))
            used += 1
            i += 2
        else:
            out.append(template[i])
            i += 1
    if used != len(args):
        raise fail(name, "the number of arguments does not match the number of placeholders")
    return "".join(out)


def _json_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return orjson.dumps(value).decode()


def _string_to_json(name: str, values: list[Any]) -> Any:
    _count(name, values, 1)
    if not isinstance(values[0], str):
        raise fail(name, "the argument must be a string")
    try:
        return orjson.loads(values[0]) if values[0].strip() else None
    except orjson.JSONDecodeError as error:
        raise fail(name, f"the string is not JSON ({error})") from None


def _json_to_string(name: str, values: list[Any]) -> str:
    _count(name, values, 1)
    return orjson.dumps(values[0]).decode()


def _array(name: str, values: list[Any]) -> list[Any]:
    return list(values)


def _array_partition(name: str, values: list[Any]) -> list[Any]:
    _count(name, values, 2)
    items, size = values
    if not isinstance(items, list):
        raise fail(name, "the first argument must be an array")
    if not _is_int(size) or size <= 0:
        raise fail(name, "the chunk size must be a positive integer")
    size = int(size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(name: str, values: list[Any]) -> bool:
    _count(name, values, 2)
    if not isinstance(values[0], list):
        raise fail(name, "the first argument must be an array")
    return values[1] in values[0]


def _array_range(name: str, values: list[Any]) -> list[int]:
    _count(name, values, 3)
    if not all(_is_int(v) for v in values):
        raise fail(name, "start, end and step must be integers")
    start, end, step = (int(v) for v in values)
    if step == 0:
        raise fail(name, "the step must not be 0")
    result = list(range(start, end + (1 if step > 0 else -1), step))
    if len(result) > MAX_RANGE:
        raise fail(name, f"the array would have more than {MAX_RANGE} items")
    return result


def _array_get_item(name: str, values: list[Any]) -> Any:
    _count(name, values, 2)
    items, index = values
    if not isinstance(items, list):
        raise fail(name, "the first argument must be an array")
    if not _is_int(index) or not 0 <= index < len(items):
        raise fail(name, f"the index {index} is out of bounds")
    return items[int(index)]


def _array_length(name: str, values: list[Any]) -> int:
    _count(name, values, 1)
    if not isinstance(values[0], list):
        raise fail(name, "the argument must be an array")
    return len(values[0])


def _array_unique(name: str, values: list[Any]) -> list[Any]:
    _count(name, values, 1)
    if not isinstance(values[0], list):
        raise fail(name, "the argument must be an array")
    seen: list[Any] = []
    for item in values[0]:
        if item not in seen:
            seen.append(item)
    return seen


def _base64_encode(name: str, values: list[Any]) -> str:
    _count(name, values, 1)
    if not isinstance(values[0], str):
        raise fail(name, "the argument must be a string")
    if len(values[0]) > MAX_BASE64_INPUT:
        raise fail(name, f"the input is longer than {MAX_BASE64_INPUT} characters")
    return base64.b64encode(values[0].encode()).decode()


def _base64_decode(name: str, values: list[Any]) -> str:
    _count(name, values, 1)
    if not isinstance(values[0], str):
        raise fail(name, "the argument must be a string")
    if len(values[0]) > MAX_BASE64_INPUT:
        raise fail(name, f"the input is longer than {MAX_BASE64_INPUT} characters")
    try:
        return base64.b64decode(values[0], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise fail(name, "the argument is not base64 text") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(name: str, values: list[Any]) -> str:
    _count(name, values, 2)
    data, algorithm = values
    if algorithm not in _HASHES:
        raise fail(name, f"the hash algorithm must be one of {', '.join(_HASHES)}")
    if data is None:
        raise fail(name, "the data to hash must not be null")
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(name: str, values: list[Any]) -> dict[str, Any]:
    _count(name, values, 3)
    left, right, deep = values
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise fail(name, "the first two arguments must be JSON objects")
    if deep is not False:
        raise fail(name, "only a shallow merge is supported: the third argument must be false")
    return {**left, **right}


def _math_random(name: str, values: list[Any]) -> int:
    _count(name, values, 2, 3)
    if not all(_is_int(v) for v in values):
        raise fail(name, "start, end and seed must be integers")
    start, end = int(values[0]), int(values[1])
    if end <= start:
        raise fail(name, "the end must be greater than the start")
    generator = random.Random(int(values[2])) if len(values) == 3 else random
    return generator.randrange(start, end)


def _math_add(name: str, values: list[Any]) -> int:
    _count(name, values, 2)
    if not all(_is_int(v) for v in values):
        raise fail(name, "both arguments must be integers")
    return int(values[0]) + int(values[1])


def _string_split(name: str, values: list[Any]) -> list[str]:
    _count(name, values, 2)
    text, delimiters = values
    if not isinstance(text, str) or not isinstance(delimiters, str):
        raise fail(name, "both arguments must be strings")
    if not delimiters:
        return [text]
    parts = re.split("[" + re.escape(delimiters) + "]", text)
    return [part for part in parts if part]


def _uuid(name: str, values: list[Any]) -> str:
    _count(name, values, 0)
    return str(uuid.uuid4())


FUNCTIONS: dict[str, Callable[[str, list[Any]], Any]] = {
    "Format": _format,
    "StringToJson": _string_to_json,
    "JsonToString": _json_to_string,
    "Array": _array,
    "ArrayPartition": _array_partition,
    "ArrayContains": _array_contains,
    "ArrayRange": _array_range,
    "ArrayGetItem": _array_get_item,
    "ArrayLength": _array_length,
    "ArrayUnique": _array_unique,
    "Base64Encode": _base64_encode,
    "Base64Decode": _base64_decode,
    "Hash": _hash,
    "JsonMerge": _json_merge,
    "MathRandom": _math_random,
    "MathAdd": _math_add,
    "StringSplit": _string_split,
    "UUID": _uuid,
}
