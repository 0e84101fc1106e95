"""JSONPath as the States Language uses it (Jayway's dialect, which AWS runs).

A path is compiled once, when the definition is loaded, into a tuple of steps; evaluating a
*definite* path (names and indexes only, the common case) is then a plain loop of lookups.
Indefinite paths (`[*]`, `..`, slices, unions, filters) return the list of matches, as Jayway
does. A definite path that finds nothing raises `PathNotFound` with Jayway's words, which AWS
quotes in its `States.Runtime` causes ("No results for path: $['a']['b']").

Reference paths (ResultPath, and the `*Path` fields that only select) are the definite subset;
`set_reference` writes into a copy of the document along the path, never into the original:
state inputs are shared between Map iterations and history.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_MISSING = object()


class PathError(ValueError):
    """The text is not a JSONPath."""


class PathNotFound(LookupError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"No results for path: {path.normalized}")
        self.path = path


# -- steps ----------------------------------------------------------------------------------
# ("key", name) ("index", n) ("wild",) ("slice", a, b, c) ("union", items) ("deep", step)
# ("filter", predicate) ("length",)


class Path:
    """A compiled JSONPath."""

    __slots__ = ("definite", "keys", "normalized", "steps", "text")

    def __init__(self, text: str, steps: tuple[tuple[Any, ...], ...]) -> None:
        self.text = text
        self.steps = steps
        self.definite = all(step[0] in ("key", "index") for step in steps)
        #: for definite paths, the keys and indexes to follow
        self.keys: tuple[str | int, ...] = tuple(step[1] for step in steps) if self.definite else ()
        self.normalized = "$" + "".join(
            f"['{s[1]}']" if s[0] == "key" else f"[{s[1]}]" if s[0] == "index" else "[*]"
            for s in steps
        )

    def get(self, doc: Any) -> Any:
        """The value at the path (definite), or the list of matches (indefinite)."""
        if self.definite:
            value = doc
            for key in self.keys:
                if isinstance(key, str):
                    if type(value) is not dict:
                        raise PathNotFound(self)
                    value = value.get(key, _MISSING)
                    if value is _MISSING:
                        raise PathNotFound(self)
                else:
                    if type(value) is not list:
                        raise PathNotFound(self)
                    try:
                        value = value[key]
                    except IndexError:
                        raise PathNotFound(self) from None
            return value
        nodes = [doc]
        for step in self.steps:
            nodes = _apply(step, nodes)
        return nodes

    def exists(self, doc: Any) -> bool:
        try:
            found = self.get(doc)
        except PathNotFound:
            return False
        return self.definite or bool(found)

    def __repr__(self) -> str:
        return f"Path({self.text!r})"


def _apply(step: tuple[Any, ...], nodes: list[Any]) -> list[Any]:
    kind = step[0]
    out: list[Any] = []
    if kind == "key":
        for node in nodes:
            if isinstance(node, dict) and step[1] in node:
                out.append(node[step[1]])
    elif kind == "index":
        for node in nodes:
            if isinstance(node, list) and -len(node) <= step[1] < len(node):
                out.append(node[step[1]])
    elif kind == "wild":
        for node in nodes:
            if isinstance(node, dict):
                out.extend(node.values())
            elif isinstance(node, list):
                out.extend(node)
    elif kind == "slice":
        for node in nodes:
            if isinstance(node, list):
                out.extend(node[step[1] : step[2] : step[3]])
    elif kind == "union":
        for sub in step[1]:
            out.extend(_apply(sub, nodes))
    elif kind == "deep":
        for node in nodes:
            out.extend(_apply(step[1], _descendants(node)))
    elif kind == "filter":
        for node in nodes:
            children = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
            out.extend(child for child in children if step[1](child))
    elif kind == "length":
        out = [len(node) for node in nodes if isinstance(node, list | dict | str)]
    return out


def _descendants(node: Any) -> list[Any]:
    found = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found.extend(_descendants(child))
    return found


# -- parsing --------------------------------------------------------------------------------
_NAME = re.compile(r"[^.\[\]()\s]+")
_INT = re.compile(r"-?\d+")


@functools.lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    """Compile a JSONPath starting with `$` (PathError when it is not one)."""
    if not isinstance(text, str) or not text.startswith("$") or text.startswith("$$"):
        raise PathError(f"not a JSONPath: {text!r}")
    steps, pos = _parse_steps(text, 1)
    if pos != len(text):
        raise PathError(f"unexpected {text[pos:]!r} in {text!r}")
    return Path(text, tuple(steps))


def is_path(text: Any) -> bool:
    try:
        compile_path(text)
    except PathError:
        return False
    return True


def is_reference_path(text: Any) -> bool:
    """Reference paths select a single node: names and indexes only."""
    try:
        return compile_path(text).definite
    except PathError:
        return False


def _parse_steps(text: str, pos: int) -> tuple[list[tuple[Any, ...]], int]:
    steps: list[tuple[Any, ...]] = []
    n = len(text)
    while pos < n:
        char = text[pos]
        if text.startswith("..", pos):
            sub, pos = _parse_one(text, pos + 1, deep=True)
            steps.append(("deep", sub))
        elif char in ".[":
            step, pos = _parse_one(text, pos)
            steps.append(step)
        else:
            break
    return steps, pos


def _parse_one(text: str, pos: int, deep: bool = False) -> tuple[tuple[Any, ...], int]:
    if text[pos] == "[":
        return _parse_bracket(text, pos)
    pos += 1  # the dot
    if deep and pos < len(text) and text[pos] == "[":
        return _parse_bracket(text, pos)
    if text.startswith("*", pos):
        return ("wild",), pos + 1
    if text.startswith("length()", pos) and pos + 8 == len(text):
        return ("length",), pos + 8
    match = _NAME.match(text, pos)
    if not match:
        raise PathError(f"a name is missing at {pos} in {text!r}")
    return ("key", match.group()), match.end()


def _parse_bracket(text: str, pos: int) -> tuple[tuple[Any, ...], int]:
    end = _closing(text, pos)
    inner = text[pos + 1 : end].strip()
    if inner.startswith("?"):
        return ("filter", _parse_filter(inner[1:].strip())), end + 1
    if inner == "*":
        return ("wild",), end + 1
    parts = _split_top(inner, ",")
    steps = [_bracket_item(part.strip(), text) for part in parts]
    if len(steps) == 1:
        return steps[0], end + 1
    return ("union", tuple(steps)), end + 1


def _bracket_item(part: str, text: str) -> tuple[Any, ...]:
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
        return ("key", part[1:-1])
    if _INT.fullmatch(part):
        return ("index", int(part))
    if ":" in part:
        bounds = [b.strip() for b in part.split(":")]
        if len(bounds) > 3 or not all(b == "" or _INT.fullmatch(b) for b in bounds):
            raise PathError(f"bad slice [{part}] in {text!r}")
        values = [int(b) if b else None for b in bounds] + [None] * (3 - len(bounds))
        return ("slice", *values)
    raise PathError(f"bad subscript [{part}] in {text!r}")


def _closing(text: str, pos: int) -> int:
    depth, quote = 0, ""
    for i in range(pos, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0:
                return i
    raise PathError(f"unclosed bracket in {text!r}")


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


# -- filters: [?(@.price < 10 && @.category == 'fiction')] ---------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|&&|\|\||!|\(|\))|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<word>true|false|null)"
    r"|(?P<path>[@$](?:\.[^\s.\[\]()=!<>&|]+|\[[^\]]*\])*))"
)
Predicate = Callable[[Any], bool]


def _parse_filter(text: str) -> Predicate:
    if not (text.startswith("(") and text.endswith(")")):
        raise PathError(f"bad filter ?{text}")
    tokens = _tokens(text[1:-1])
    predicate, rest = _or(tokens)
    if rest:
        raise PathError(f"bad filter ?{text}")
    return predicate


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise PathError(f"bad filter expression {text!r}")
        kind = match.lastgroup or ""
        value: Any = match.group(kind)
        if kind == "str":
            value = value[1:-1]
        elif kind == "num":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        elif kind == "word":
            value = {"true": True, "false": False, "null": None}[value]
        out.append((kind, value))
        pos = match.end()
    return out


def _or(tokens: list[tuple[str, Any]]) -> tuple[Predicate, list[tuple[str, Any]]]:
    left, tokens = _and(tokens)
    while tokens and tokens[0] == ("op", "||"):
        right, tokens = _and(tokens[1:])
        left = (lambda a, b: lambda node: a(node) or b(node))(left, right)
    return left, tokens


def _and(tokens: list[tuple[str, Any]]) -> tuple[Predicate, list[tuple[str, Any]]]:
    left, tokens = _unary(tokens)
    while tokens and tokens[0] == ("op", "&&"):
        right, tokens = _unary(tokens[1:])
        left = (lambda a, b: lambda node: a(node) and b(node))(left, right)
    return left, tokens


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _unary(tokens: list[tuple[str, Any]]) -> tuple[Predicate, list[tuple[str, Any]]]:
    if not tokens:
        raise PathError("empty filter")
    if tokens[0] == ("op", "!"):
        inner, rest = _unary(tokens[1:])
        return (lambda node: not inner(node)), rest
    if tokens[0] == ("op", "("):
        inner, rest = _or(tokens[1:])
        if not rest or rest[0] != ("op", ")"):
            raise PathError("unbalanced parentheses in filter")
        return inner, rest[1:]
    left = _operand(tokens[0])
    if len(tokens) > 1 and tokens[1][0] == "op" and tokens[1][1] in _COMPARE:
        compare = _COMPARE[tokens[1][1]]
        right = _operand(tokens[2]) if len(tokens) > 2 else None
        if right is None:
            raise PathError("comparison without a right side")

        def check(node: Any, left=left, right=right, compare=compare) -> bool:
            a, b = left(node), right(node)
            if a is _MISSING or b is _MISSING:
                return False
            try:
                return bool(compare(a, b))
            except TypeError:
                return False

        return check, tokens[3:]
    return (lambda node: left(node) not in (_MISSING, None, False)), tokens[1:]


def _operand(token: tuple[str, Any]) -> Callable[[Any], Any]:
    kind, value = token
    if kind == "path":
        path = compile_path("$" + value[1:])

        def read(node: Any) -> Any:
            try:
                return path.get(node)
            except PathNotFound:
                return _MISSING

        return read
    if kind in ("str", "num", "word"):
        return lambda node: value
    raise PathError(f"unexpected {value!r} in filter")


# -- writing --------------------------------------------------------------------------------
class ReferenceError_(ValueError):
    """ResultPath cannot be applied to the document."""


def set_reference(doc: Any, path: Path, value: Any) -> Any:
    """A copy of `doc` with `value` at the reference `path` (intermediate objects created)."""
    if not path.keys:
        return value
    return _set(doc, path.keys, 0, value)


def _set(node: Any, keys: tuple[str | int, ...], i: int, value: Any) -> Any:
    key = keys[i]
    last = i == len(keys) - 1
    if isinstance(key, str):
        if not isinstance(node, dict):
            raise ReferenceError_(key)
        copy = dict(node)
        copy[key] = value if last else _set(node.get(key, {}), keys, i + 1, value)
        return copy
    if not isinstance(node, list) or not -len(node) <= key < len(node):
        raise ReferenceError_(key)
    items = list(node)
    items[key] = value if last else _set(node[key], keys, i + 1, value)
    return items
