"""CloudWatch Logs filter patterns: one engine for FilterLogEvents, metric and subscription filters.

The syntax, as the CloudWatch Logs user guide documents it ("Filter pattern syntax for metric
filters, subscription filters, filter log events, and Live Tail"):

- **terms**: `ERROR Exception` - every term must occur (case sensitive, anywhere in the message);
  `"Failed to process"` - a quoted phrase; `-term` excludes; `?ERROR ?WARN` - any of them. Unquoted
  terms hold only letters, digits and underscores, other characters need quotes.
- **regex**: `%ERROR [0-9]+%` - the whole pattern, or a value in the two forms below.
- **JSON**: `{ $.level = "ERROR" && ($.latency > 100 || $.user.id IS NULL) }` with `=`, `!=`,
  `<`, `>`, `<=`, `>=`, `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`, selectors with `[n]`,
  and `*` wildcards at the start or end of string values.
- **space-delimited**: `[ip, user, ..., status=4* || status=5*, size>1000]` - fields of the
  message split at spaces (text in "..." or [...] is one field); `...` stands for any number of
  fields. A match yields the fields' values by name (`$status`) or position (`$7`), which
  TestMetricFilter reports as `extractedValues`.

A pattern compiles once into a `Pattern` whose `extract(message)` answers None (no match) or the
extracted values; compiled patterns are memoised per text (a pure cache, shared harmlessly by
every server in the process).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson


class PatternError(ValueError):
    """The pattern is not valid CloudWatch Logs filter pattern syntax (InvalidParameterException)."""


Extracted = dict[str, str]
_NO_VALUES: Extracted = {}


class Pattern:
    """A compiled filter pattern."""

    __slots__ = ()

    def extract(self, message: str) -> Extracted | None:
        """The values the pattern extracts from `message`, or None when it does not match."""
        raise NotImplementedError

    def matches(self, message: str) -> bool:
        return self.extract(message) is not None


class _Everything(Pattern):
    """The empty pattern matches every event."""

    __slots__ = ()

    def extract(self, message: str) -> Extracted | None:
        return _NO_VALUES


@lru_cache(maxsize=1024)
def compile_pattern(text: str | None) -> Pattern:
    """Compile a filter pattern; raises PatternError for invalid syntax."""
    stripped = (text or "").strip()
    if not stripped or stripped == '""':
        return _Everything()
    if stripped.startswith("{"):
        if not stripped.endswith("}"):
            raise PatternError("If a filter pattern starts with '{' it must end with '}'")
        return _JsonPattern(_JsonParser(stripped[1:-1]).parse())
    if stripped.startswith("["):
        if not stripped.endswith("]"):
            raise PatternError("If a filter pattern starts with '[' it must end with ']'")
        return _DelimitedPattern(stripped[1:-1])
    if len(stripped) > 1 and stripped.startswith("%") and stripped.endswith("%"):
        return _RegexPattern(_regex(stripped[1:-1]))
    return _TermsPattern(stripped)


# -- values shared by JSON and space-delimited patterns ------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_REGEX_FORBIDDEN = re.compile(r"[()]")


def _regex(body: str) -> re.Pattern[str]:
    """A `%...%` regular expression. Parentheses (subpatterns) are not supported on AWS."""
    if not body or _REGEX_FORBIDDEN.search(body):
        raise PatternError(f"Invalid character(s) in term '%{body}%'")
    try:
        return re.compile(body)
    except re.error:
        raise PatternError(f"Invalid regular expression: %{body}%") from None


def _wildcard(value: str) -> Callable[[str], bool]:
    """String equality where a leading or trailing `*` matches any text (`Ev*ent` is literal)."""
    if value == "*":
        return lambda text: True
    head, tail = value.startswith("*"), value.endswith("*") and len(value) > 1
    core = value[1 if head else 0 : -1 if tail else None]
    if head and tail:
        return lambda text: core in text
    if head:
        return lambda text: text.endswith(core)
    if tail:
        return lambda text: text.startswith(core)
    return lambda text: text == core


@dataclass(frozen=True, slots=True)
class _Comparison:
    """`<operator> <value>` against one string (a JSON value's text or a delimited field)."""

    op: str
    number: float | None = None
    text: str | None = None
    regex: re.Pattern[str] | None = None

    def test(self, value: str, numeric: float | None) -> bool:
        op = self.op
        if self.regex is not None:
            found = self.regex.search(value) is not None
            return found if op == "=" else not found
        if self.number is not None:
            if numeric is None:  # a number against text: only (in)equality of the spelling
                if op in ("=", "!="):
                    return (value == self.text) == (op == "=")
                return False
            return _NUMERIC_OPS[op](numeric, self.number)
        if op not in ("=", "!="):
            raise AssertionError("string comparisons are = or != (checked when compiling)")
        matched = _wildcard(self.text or "")(value)
        return matched if op == "=" else not matched


_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _comparison(op: str, raw: str, quoted: bool) -> _Comparison:
    if not quoted and len(raw) > 1 and raw.startswith("%") and raw.endswith("%"):
        if op not in ("=", "!="):
            raise PatternError(f"Invalid operator {op} for a regular expression")
        return _Comparison(op, regex=_regex(raw[1:-1]))
    if not quoted and _NUMBER.match(raw):
        return _Comparison(op, number=float(raw), text=raw)
    if op not in ("=", "!="):
        raise PatternError(f"Invalid filter pattern: {op} needs a number, not '{raw}'")
    return _Comparison(op, text=raw)


def _as_number(text: str) -> float | None:
    return float(text) if _NUMBER.match(text) else None


# -- terms and regex ----------------------------------------------------------------------------

_TERM_TOKEN = re.compile(r'\s*([?-]?)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))')
_BARE_TERM = re.compile(r"^\w+$")


class _TermsPattern(Pattern):
    """Terms that must all occur, `?` terms of which one must occur, `-` terms that must not."""

    __slots__ = ("any_of", "excluded", "required")

    def __init__(self, text: str) -> None:
        self.required: list[str] = []
        self.any_of: list[str] = []
        self.excluded: list[str] = []
        position = 0
        while position < len(text):
            found = _TERM_TOKEN.match(text, position)
            if found is None or found.end() == position:
                if text[position:].strip():
                    raise PatternError(f"Invalid character(s) in term '{text[position:].strip()}'")
                break
            position = found.end()
            prefix, quoted, bare = found.groups()
            if bare is not None and not _BARE_TERM.match(bare):
                raise PatternError(f"Invalid character(s) in term '{bare}'")
            term = bare if bare is not None else re.sub(r"\\(.)", r"\1", quoted)
            if not term:
                raise PatternError("Invalid character(s) in term '\"\"'")
            {"": self.required, "?": self.any_of, "-": self.excluded}[prefix].append(term)

    def extract(self, message: str) -> Extracted | None:
        if any(term not in message for term in self.required):
            return None
        if self.any_of and not any(term in message for term in self.any_of):
            return None
        if any(term in message for term in self.excluded):
            return None
        return _NO_VALUES


class _RegexPattern(Pattern):
    __slots__ = ("regex",)

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    def extract(self, message: str) -> Extracted | None:
        return _NO_VALUES if self.regex.search(message) else None


# -- JSON -----------------------------------------------------------------------------------------

_MISSING = object()
_JSON_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<logic>&&|\|\|)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<selector>\$(?:\.[A-Za-z0-9_\-@]+|\[\d+\])*)
      | "(?P<string>(?:[^"\\]|\\.)*)"
      | (?P<regex>%[^%]+%)
      | (?P<word>[^\s()"&|=!<>]+)
    )""",
    re.VERBOSE,
)
_PATH_PART = re.compile(r"\.([A-Za-z0-9_\-@]+)|\[(\d+)\]")

JsonTest = Callable[[Any], bool]


class _JsonParser:
    """Recursive descent over `a || b`, `a && b`, `( ... )` and comparisons; && binds tighter."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while text[position:].strip():
            found = _JSON_TOKEN.match(text, position)
            if found is None:
                raise PatternError(
                    f"Invalid filter pattern: unexpected '{text[position:].strip()}'"
                )
            kind = found.lastgroup or ""
            self.tokens.append((kind, found.group(kind)))
            position = found.end()
        self.index = 0

    def parse(self) -> JsonTest:
        if not self.tokens:
            raise PatternError("Invalid filter pattern: empty JSON expression")
        test = self._or()
        if self.index != len(self.tokens):
            raise PatternError(f"Invalid filter pattern: unexpected '{self.tokens[self.index][1]}'")
        return test

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token[0] == "end":
            raise PatternError("Invalid filter pattern: the JSON expression ends too early")
        self.index += 1
        return token

    def _or(self) -> JsonTest:
        parts = [self._and()]
        while self._peek() == ("logic", "||"):
            self.index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda doc: any(part(doc) for part in parts)

    def _and(self) -> JsonTest:
        parts = [self._unary()]
        while self._peek() == ("logic", "&&"):
            self.index += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else lambda doc: all(part(doc) for part in parts)

    def _unary(self) -> JsonTest:
        if self._peek() == ("paren", "("):
            self.index += 1
            inner = self._or()
            if self._take() != ("paren", ")"):
                raise PatternError("Invalid filter pattern: missing ')'")
            return inner
        kind, selector = self._take()
        if kind != "selector":
            raise PatternError(
                f"Invalid filter pattern: expected a selector ($...), not '{selector}'"
            )
        path = _path(selector)
        kind, word = self._take()
        if kind == "word" and word in ("IS", "NOT"):
            return self._keyword_test(path, word)
        if kind != "op":
            raise PatternError(f"Invalid filter pattern: expected an operator after {selector}")
        value_kind, raw = self._take()
        if value_kind not in ("string", "word", "regex"):
            raise PatternError(f"Invalid filter pattern: expected a value after {selector} {word}")
        if value_kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw)
        comparison = _comparison(word, raw, quoted=value_kind == "string")
        return lambda doc: _json_compare(_select(doc, path), comparison)

    def _keyword_test(self, path: tuple[str | int, ...], first: str) -> JsonTest:
        _, second = self._take()
        if first == "NOT" and second == "EXISTS":
            return lambda doc: _select(doc, path) is _MISSING
        if first == "IS" and second == "NULL":
            return lambda doc: _select(doc, path) is None
        if first == "IS" and second in ("TRUE", "FALSE"):
            wanted = second == "TRUE"
            return lambda doc: _select(doc, path) is wanted
        raise PatternError(f"Invalid filter pattern: {first} {second}")


def _path(selector: str) -> tuple[str | int, ...]:
    return tuple(name if name else int(index) for name, index in _PATH_PART.findall(selector[1:]))


def _select(doc: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path`, or _MISSING. Indexes apply to arrays only, names to objects only."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return _MISSING
        elif not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _json_compare(value: Any, comparison: _Comparison) -> bool:
    """Comparisons apply to value nodes (strings, numbers, booleans); a missing value, null, an
    array or an object matches neither `=` nor `!=`."""
    if value is _MISSING or value is None or isinstance(value, dict | list):
        return False
    if isinstance(value, bool):
        return comparison.test("true" if value else "false", None)
    if isinstance(value, int | float):
        text = str(value) if isinstance(value, int) or not value.is_integer() else str(int(value))
        return comparison.test(text, float(value))
    return comparison.test(value, _as_number(value))


class _JsonPattern(Pattern):
    __slots__ = ("test",)

    def __init__(self, test: JsonTest) -> None:
        self.test = test

    def extract(self, message: str) -> Extracted | None:
        text = message.lstrip()
        if not text.startswith(("{", "[")):
            return None
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        return _NO_VALUES if self.test(doc) else None


# -- space-delimited ------------------------------------------------------------------------------

_FIELD_SPLIT = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')
_CONDITION = re.compile(
    r"""\s*(?P<name>[A-Za-z0-9_\-]+)\s*(?P<op>!=|<=|>=|=|<|>)\s*
        (?:"(?P<string>(?:[^"\\]|\\.)*)"|(?P<word>%[^%]+%|[^\s"&|]+))\s*""",
    re.VERBOSE,
)
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")

FieldTest = Callable[[dict[str, str]], bool]


def _split_fields(message: str) -> list[str]:
    """Split a message at spaces; "quoted" and [bracketed] text is one field, without its marks."""
    fields = []
    for quoted, bracketed, plain in _FIELD_SPLIT.findall(message):
        fields.append(quoted or bracketed or plain)
    return fields


class _DelimitedPattern(Pattern):
    """`[a, b=1, ..., c>2]`: fields by position, `...` for any number of fields, conditions on
    named fields combined with && and || (a condition may name any field of the pattern)."""

    __slots__ = ("names", "tests")

    def __init__(self, body: str) -> None:
        self.names: list[str | None] = []  # per slot: its name, "" unnamed, None for `...`
        self.tests: list[FieldTest] = []
        for raw in _split_commas(body):
            spec = raw.strip()
            if spec == "...":
                self.names.append(None)
            elif not spec:
                self.names.append("")
            elif _FIELD_NAME.match(spec):
                self.names.append(spec)
            else:
                name, test = _field_condition(spec)
                self.names.append(name)
                self.tests.append(test)

    def extract(self, message: str) -> Extracted | None:
        fields = _split_fields(message)
        slots = _align(self.names, 0, fields, 0)
        if slots is None:
            return None
        values: Extracted = {}
        for position, name in enumerate(slots, start=1):
            values[f"${name}" if name else f"${position}"] = fields[position - 1]
        named = {key[1:]: value for key, value in values.items()}
        if all(test(named) for test in self.tests):
            return values
        return None


def _split_commas(body: str) -> list[str]:
    """Split at commas outside "quotes" and %regular expressions% (`%\\d{1,3}%` has one)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = regex = escaped = False
    for char in body:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and (quoted or regex):
            current.append(char)
            escaped = True
        elif char == '"' and not regex:
            quoted = not quoted
            current.append(char)
        elif char == "%" and not quoted:
            regex = not regex
            current.append(char)
        elif char == "," and not quoted and not regex:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted or regex:
        raise PatternError("Invalid filter pattern: unbalanced quotes")
    parts.append("".join(current))
    return parts


def _field_condition(spec: str) -> tuple[str, FieldTest]:
    """`status = 4* || status = 5*` -> (the first condition's field name, a test of the values)."""
    alternatives: list[list[tuple[str, _Comparison]]] = []
    for alternative in spec.split("||"):
        conjunction = []
        for part in alternative.split("&&"):
            found = _CONDITION.fullmatch(part)
            if found is None:
                raise PatternError(f"Invalid character(s) in term '{part.strip()}'")
            quoted = found.group("string") is not None
            raw = found.group("string") if quoted else found.group("word")
            conjunction.append((found.group("name"), _comparison(found.group("op"), raw, quoted)))
        alternatives.append(conjunction)
    first = alternatives[0][0][0]

    def test(values: dict[str, str]) -> bool:
        for conjunction in alternatives:
            if all(
                name in values and comparison.test(values[name], _as_number(values[name]))
                for name, comparison in conjunction
            ):
                return True
        return False

    return first, test


def _align(names: list[str | None], at: int, fields: list[str], position: int) -> list[str] | None:
    """Give every field a slot name, letting each `...` take as many fields as it needs; None when
    the fields cannot line up with the pattern (too few, or too many without a `...`)."""
    if at == len(names):
        return [] if position == len(fields) else None
    name = names[at]
    if name is not None:
        if position >= len(fields):
            return None
        rest = _align(names, at + 1, fields, position + 1)
        return None if rest is None else [name, *rest]
    for taken in range(len(fields) - position, -1, -1):  # greedy: `[..., a, b]` aligns at the end
        rest = _align(names, at + 1, fields, position + taken)
        if rest is not None:
            return [""] * taken + rest
    return None
