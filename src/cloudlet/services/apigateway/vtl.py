"""Velocity (VTL) mapping templates as API Gateway evaluates them, on `airspeed`.

airspeed (a maintained pure-Python Velocity) does the language; this module gives it API
Gateway's variables and Java's manners:

- `$input` (`json`, `path`, `params`, `body`), `$util` (`escapeJavaScript`, `parseJson`,
  `urlEncode`, `urlDecode`, `base64Encode`, `base64Decode`), `$context` and `$stageVariables`;
- JSON values behave as Velocity's Java objects do: maps render `{a=1}` and have `get`,
  `containsKey`, `keySet`, `size`...; lists render `[a, b]`; `true` renders `true`; strings
  have Java's methods (`toUpperCase`, `substring`, `indexOf`, `split`, `trim`, `equals` ...);
- a reference to nothing renders as an empty string, as in API Gateway (plain Velocity would
  print the reference's own text).

Templates compile once and are cached by their text.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed
import orjson

_QUIET = re.compile(r"(?<![\\$])\$(?=\{?[A-Za-z_])")
_LVALUE = re.compile(r"(#\{?(?:set|foreach|macro)\}?\s*\([^$)]*)\$!")
_CACHE_SIZE = 2048


class JavaBool:
    """A JSON boolean: renders `true`/`false` as Java does, tests and compares as a bool."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return self.value == (other.value if isinstance(other, JavaBool) else other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return "true" if self.value else "false"

    def toString(self) -> str:
        return str(self)


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class JavaMap(dict):
    """A JSON object as a `java.util.Map`."""

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in self.items()) + "}"

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, default)

    def put(self, key: Any, value: Any) -> Any:
        previous = dict.get(self, key)
        self[key] = value
        return previous

    def containsKey(self, key: Any) -> bool:
        return key in self

    def keySet(self) -> list[Any]:
        return list(self.keys())

    def entrySet(self) -> list[JavaMap]:
        return [JavaMap(key=k, value=v) for k, v in self.items()]

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:
        return not self

    def remove(self, key: Any) -> Any:
        return self.pop(key, None)

    def putAll(self, other: dict) -> None:
        self.update(other)

    def toString(self) -> str:
        return str(self)


class JavaList(list):
    """A JSON array as a `java.util.List`."""

    def __str__(self) -> str:
        return "[" + ", ".join(_text(v) for v in self) + "]"

    def size(self) -> int:
        return len(self)

    def get(self, index: int) -> Any:
        return self[index]

    def isEmpty(self) -> bool:
        return not self

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def toString(self) -> str:
        return str(self)


def java(value: Any) -> Any:
    """A parsed JSON value with Java's behaviour (maps, lists, booleans)."""
    if isinstance(value, dict):
        return JavaMap((k, java(v)) for k, v in value.items())
    if isinstance(value, list):
        return JavaList(java(v) for v in value)
    if isinstance(value, bool):
        return JavaBool(value)
    return value


def plain(value: Any) -> Any:
    """The JSON-serializable form of a value built by a template."""
    if isinstance(value, JavaBool):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# Java's String methods, for strings wherever they come from (literals, concatenations, JSON).
# airspeed looks methods of built-in types up in this table; registering them once at import
# is how the library is meant to be extended (its own entries are Java names too).
_STRING_METHODS = {
    "toUpperCase": lambda s: s.upper(),
    "toLowerCase": lambda s: s.lower(),
    "trim": lambda s: s.strip(),
    "substring": lambda s, start, end=None: s[start:end],
    "indexOf": lambda s, sub, start=0: s.find(sub, start),
    "lastIndexOf": lambda s, sub: s.rfind(sub),
    "charAt": lambda s, i: s[i],
    "split": lambda s, pattern, limit=0: JavaList(re.split(pattern, s, maxsplit=max(limit - 1, 0))),
    "equals": lambda s, other: s == other,
    "equalsIgnoreCase": lambda s, other: s.lower() == str(other).lower(),
    "isEmpty": lambda s: not s,
    "endsWith": lambda s, suffix: s.endswith(suffix),
    "replace": lambda s, old, new: s.replace(old, new),
    "replaceFirst": lambda s, pattern, repl: re.sub(pattern, repl, s, count=1),
    "concat": lambda s, other: s + other,
    "toString": lambda s: s,
    "matches": lambda s, pattern: re.fullmatch(pattern, s) is not None,
}
for _name, _method in _STRING_METHODS.items():
    airspeed.__additional_methods__.setdefault(str, {}).setdefault(_name, _method)


# -- JSONPath, the subset templates use ($, .name, ['name'], [0], [*], ..name) ------------------
_STEP = re.compile(
    r"\.\.([A-Za-z0-9_$-]+)|\.([A-Za-z0-9_$-]+|\*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[\s*(-?\d+|\*)\s*\]"
)


def json_path(data: Any, path: str) -> Any:
    """The value `path` selects in `data`; a list for wildcard and deep paths; None if absent."""
    path = (path or "$").strip()
    if not path.startswith("$"):
        path = "$." + path
    nodes, many, pos = [data], False, 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            return None
        pos = match.end()
        deep, name, quoted, dquoted, index = match.groups()
        if deep is not None:
            nodes, many = [v for n in nodes for v in _descend(n, deep)], True
            continue
        key = name if name is not None else quoted if quoted is not None else dquoted
        if key == "*" or index == "*":
            nodes, many = [v for n in nodes for v in _children(n)], True
        elif key is not None:
            nodes = [n[key] for n in nodes if isinstance(n, dict) and key in n]
        else:
            i = int(index)
            nodes = [n[i] for n in nodes if isinstance(n, list) and -len(n) <= i < len(n)]
    if many:
        return nodes
    return nodes[0] if nodes else None


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def _descend(node: Any, name: str) -> list[Any]:
    found = []
    if isinstance(node, dict):
        if name in node:
            found.append(node[name])
        for value in node.values():
            found.extend(_descend(value, name))
    elif isinstance(node, list):
        for value in node:
            found.extend(_descend(value, name))
    return found


# -- the variables ------------------------------------------------------------------------------
class Input:
    """`$input`: the request (or integration response) body and the request's parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]]) -> None:
        self.body = body
        self._params = params
        self._parsed: Any = ...

    def _data(self) -> Any:
        if self._parsed is ...:
            try:
                self._parsed = orjson.loads(self.body) if self.body.strip() else {}
            except orjson.JSONDecodeError:
                self._parsed = self.body
        return self._parsed

    def json(self, path: str = "$") -> str:
        value = json_path(self._data(), path)
        return orjson.dumps(value).decode()

    def path(self, path: str = "$") -> Any:
        return java(json_path(self._data(), path))

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return JavaMap((k, JavaMap(v)) for k, v in self._params.items())
        for place in ("path", "querystring", "header"):
            found = self._params.get(place, {}).get(name)
            if found is None and place == "header":
                found = _header(self._params.get("header", {}), name)
            if found is not None:
                return found
        return ""

    def size(self) -> int:
        data = self._data()
        return len(data) if isinstance(data, list | dict) else 0


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def escape_javascript(text: Any) -> str:
    """`$util.escapeJavaScript`: Java's escapeJavaScript (quotes, slashes, control and
    non-ASCII characters as escapes; a single quote too, as AWS's does)."""
    out = []
    for char in str(text):
        code = ord(char)
        if char in "\"'\\/":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\b":
            out.append("\\b")
        elif char == "\f":
            out.append("\\f")
        elif code < 0x20 or code > 0x7E:
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else char)
        else:
            out.append(char)
    return "".join(out)


class Util:
    """`$util`."""

    def escapeJavaScript(self, text: Any) -> str:
        return escape_javascript(text)

    def parseJson(self, text: str) -> Any:
        return java(orjson.loads(text))

    def urlEncode(self, text: str) -> str:
        return quote_plus(str(text), safe="*")

    def urlDecode(self, text: str) -> str:
        return unquote_plus(str(text))

    def base64Encode(self, text: Any) -> str:
        data = text if isinstance(text, bytes) else str(text).encode()
        return base64.b64encode(data).decode()

    def base64Decode(self, text: str) -> str:
        return base64.b64decode(str(text)).decode("utf-8", "replace")


_UTIL = Util()


class Templates:
    """Compiled templates by text (a provider owns one; there is no module-level cache)."""

    def __init__(self) -> None:
        self._compiled: dict[str, airspeed.Template] = {}

    def compile(self, text: str) -> airspeed.Template:
        found = self._compiled.get(text)
        if found is None:
            if len(self._compiled) >= _CACHE_SIZE:
                self._compiled.clear()
            quiet = _LVALUE.sub(r"\1$", _QUIET.sub("$!", text))
            while True:  # several lvalues in one directive list are rare; undo each
                again = _LVALUE.sub(r"\1$", quiet)
                if again == quiet:
                    break
                quiet = again
            found = self._compiled[text] = airspeed.Template(quiet)
        return found

    def render(
        self,
        text: str,
        *,
        body: str,
        params: dict[str, dict[str, str]],
        context: dict[str, Any],
        stage_variables: dict[str, str] | None,
    ) -> str:
        """Evaluate a mapping template; `context` may be changed by it (`responseOverride`).
        A template error becomes `TemplateError`."""
        namespace = {
            "input": Input(body, params),
            "util": _UTIL,
            "context": context,
            "stageVariables": JavaMap(stage_variables or {}),
        }
        try:
            return self.compile(text).merge(namespace)
        except Exception as exc:  # airspeed raises several kinds, user templates are data
            raise TemplateError(str(exc)) from None


class TemplateError(Exception):
    """A mapping template that does not parse or fails while rendering."""
