"""A streaming JSON reader that reports positions exactly as AWS's rule compiler does.

AWS compiles event patterns and filter policies with a streaming Jackson parser, and its error messages
end with Jackson's location: `\\n at [Source: (String)"<pattern>"; line: 1, column: 22]`. The column is
not where the mistake is but where the parser stood when the compiler noticed it, and that depends on
Jackson's reading habits, which this reader copies:

- after a field name it has already consumed the colon and the first token of the value (a number or
  literal entirely, only the opening quote of a string, only the bracket of an array or object);
- a string value is read lazily: its position stays after the opening quote until its text is asked
  for (`text_of()`) or the next token is read;
- columns count UTF-16 code units from 1, lines count line breaks from 1.

Errors are found in document order, so a mistake early in a pattern is reported even if the JSON is
broken further on, as AWS does. Only the JSON syntax errors AWS users plausibly hit are worded like
Jackson; rarer ones fall back to Jackson's generic phrasing.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.patterns.errors import RulerError

# token kinds
START_OBJECT = "{"
END_OBJECT = "}"
START_ARRAY = "["
END_ARRAY = "]"
FIELD_NAME = "name"
STRING = "string"
NUMBER = "number"
TRUE = "true"
FALSE = "false"
NULL = "null"

_WS = " \t\n\r"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_SNIPPET = 500  # Jackson quotes at most this many chars of the source in a location


def char_desc(ch: str) -> str:
    """Jackson's description of a character in error messages."""
    code = ord(ch)
    if code < 32 or 127 <= code < 160:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{ch}' (code {code} / 0x{code:x})"
    return f"'{ch}' (code {code})"


def _join_surrogates(text: str) -> str:
    """Escaped UTF-16 pairs ("\\ud83d\\ude00") decode to one character, as in Java."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _utf16_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


class Token:
    """One token: its kind, its value (decoded) and its raw text (numbers keep their JSON spelling)."""

    __slots__ = ("end", "kind", "raw", "value")

    def __init__(self, kind: str, value: Any = None, raw: str = "", end: int = -1) -> None:
        self.kind = kind
        self.value = value
        self.raw = raw
        self.end = end  # for strings: the offset after the closing quote

    def is_number(self) -> bool:
        return self.kind == NUMBER

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.value!r})"


class Lexer:
    """Reads tokens on demand, keeping Jackson's notion of the current position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.stack: list[tuple[str, int]] = []  # (kind of container, offset of its bracket)
        self.first = True  # no entry read yet in the innermost container
        self.pending: Token | None = None  # value token pre-read after a field name
        self.lazy: Token | None = None  # string whose closing quote has not been consumed yet
        self.current: Token | None = None

    # ----------------------------------------------------------------- locations and errors
    def location(self, offset: int | None = None) -> str:
        """Jackson's `[Source: (String)"..."; line: L, column: C]` for an offset (default: here)."""
        text = self.text
        offset = self.pos if offset is None else offset
        before = text[:offset]
        line = 1 + before.count("\n") + before.count("\r") - before.count("\r\n")
        start = max(before.rfind("\n"), before.rfind("\r")) + 1
        column = _utf16_len(before[start:]) + 1
        return f"[Source: {self.source_desc()}; line: {line}, column: {column}]"

    def source_desc(self) -> str:
        text = self.text
        if _utf16_len(text) <= _SNIPPET:
            return f'(String)"{text}"'
        units = text.encode("utf-16-le", "surrogatepass")
        head = units[: _SNIPPET * 2].decode("utf-16-le", errors="ignore")
        return f'(String)"{head}"[truncated {len(units) // 2 - _utf16_len(head)} chars]'

    def fail(self, reason: str) -> RulerError:
        """The error for `reason` at the current position, worded as AWS words it."""
        return RulerError(f"{reason}\n at {self.location()}")

    def _unexpected(self, ch: str, expectation: str) -> RulerError:
        return self.fail(f"Unexpected character ({char_desc(ch)}): {expectation}")

    def _eof(self, detail: str) -> RulerError:
        return self.fail(f"Unexpected end-of-input{detail}")

    # ----------------------------------------------------------------- reading
    def next(self) -> Token | None:
        """The next token (None at the end of the input), as Jackson's `nextToken()`."""
        if self.pending is not None:
            token, self.pending = self.pending, None
            self.current = token
            return token
        self._finish_lazy()
        ch = self._skip_ws()
        if ch == "":
            if self.stack:
                kind, offset = self.stack[-1]
                name = "Object" if kind == START_OBJECT else "Array"
                raise self._eof(
                    f": expected close marker for {name} (start marker at {self.location(offset)})"
                )
            self.current = None
            return None
        token = self._read_in_context(ch)
        self.current = token
        return token

    def text_of(self, token: Token) -> str:
        """The token's text, as Jackson's `getText()`: completes a lazily read string."""
        if token.kind == STRING:
            if token is self.lazy:
                self._finish_lazy()
            return token.value
        if token.kind == FIELD_NAME:
            return token.value
        return token.raw

    def _finish_lazy(self) -> None:
        token = self.lazy
        if token is not None:
            self.lazy = None
            if isinstance(token.value, RulerError):
                raise token.value
            self.pos = token.end

    def _skip_ws(self) -> str:
        text, pos, n = self.text, self.pos, len(self.text)
        while pos < n and text[pos] in _WS:
            pos += 1
        self.pos = pos
        return text[pos] if pos < n else ""

    def _read_in_context(self, ch: str) -> Token:
        if not self.stack:
            return self._value(ch)
        kind = self.stack[-1][0]
        closer = END_OBJECT if kind == START_OBJECT else END_ARRAY
        if ch == closer:
            self.pos += 1
            self.stack.pop()
            self.first = False
            return Token(closer, raw=closer)
        if not self.first:
            if ch != ",":
                self.pos += 1
                entries = "Object" if kind == START_OBJECT else "Array"
                raise self._unexpected(ch, f"was expecting comma to separate {entries} entries")
            self.pos += 1
            ch = self._skip_ws()
            if ch == "":
                raise self._eof(
                    f" within/between {'Object' if kind == START_OBJECT else 'Array'} entries"
                )
        self.first = False
        if kind == START_OBJECT:
            return self._field(ch)
        return self._value(ch)

    def _field(self, ch: str) -> Token:
        self.pos += 1
        if ch != '"':
            raise self._unexpected(ch, "was expecting double-quote to start field name")
        name = self._string_body()
        if isinstance(name, RulerError):
            raise name
        ch = self._skip_ws()
        if ch != ":":
            if ch == "":
                raise self._eof(" within/between Object entries")
            self.pos += 1
            raise self._unexpected(ch, "was expecting a colon to separate field name and value")
        self.pos += 1
        ch = self._skip_ws()
        if ch == "":
            raise self._eof(" within/between Object entries")
        self.pending = self._value(ch)
        return Token(FIELD_NAME, name, raw=name)

    def _value(self, ch: str) -> Token:
        if ch == '"':
            self.pos += 1
            start = self.pos
            value = self._string_body()
            token = Token(STRING, value, end=self.pos)
            self.pos = start  # lazily read: Jackson stands after the opening quote
            self.lazy = token
            return token
        if ch in "{[":
            self.stack.append((ch, self.pos))
            self.pos += 1
            self.first = True
            return Token(ch, raw=ch)
        if ch == "-" or "0" <= ch <= "9":
            return self._number()
        if ch in "tfn":
            return self._literal()
        self.pos += 1
        if ch in "]}":
            raise self._unexpected(ch, "expected a value")
        raise self._unexpected(
            ch,
            "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        )

    def _string_body(self) -> str | RulerError:
        """Reads up to and including the closing quote; a content error is returned, to raise later."""
        text, pos, n = self.text, self.pos, len(self.text)
        end = text.find('"', pos)
        if end >= 0 and "\\" not in text[pos:end] and all(c >= " " for c in text[pos:end]):
            self.pos = end + 1
            return text[pos:end]
        out: list[str] = []
        while True:
            if pos >= n:
                self.pos = pos
                return self._eof(": was expecting closing quote for a string value")
            ch = text[pos]
            pos += 1
            if ch == '"':
                self.pos = pos
                return _join_surrogates("".join(out))
            if ch < " ":
                self.pos = pos
                return self.fail(
                    f"Illegal unquoted character ({char_desc(ch)}): has to be escaped using "
                    "backslash to be included in string value"
                )
            if ch != "\\":
                out.append(ch)
                continue
            if pos >= n:
                self.pos = pos
                return self._eof(" in character escape sequence")
            esc = text[pos]
            pos += 1
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                continue
            if esc != "u":
                self.pos = pos
                return self.fail(f"Unrecognized character escape {char_desc(esc)}")
            digits = text[pos : pos + 4]
            for i, digit in enumerate(digits):
                if digit not in "0123456789abcdefABCDEF":
                    self.pos = pos + i + 1
                    return self._unexpected(
                        digit, "expected a hex-digit for character escape sequence"
                    )
            if len(digits) < 4:
                self.pos = n
                return self._eof(" in character escape sequence")
            pos += 4
            out.append(chr(int(digits, 16)))
        # unreachable

    def _number(self) -> Token:
        text, start, n = self.text, self.pos, len(self.text)
        pos = start
        if text[pos] == "-":
            pos += 1
            if pos >= n or not "0" <= text[pos] <= "9":
                self.pos = pos + (1 if pos < n else 0)
                if pos >= n:
                    raise self._eof(" in a Number value")
                raise self.fail(
                    f"Unexpected character ({char_desc(text[pos])}) in numeric value: expected digit "
                    "(0-9) to follow minus sign, for valid numeric value"
                )
        digits_start = pos
        while pos < n and "0" <= text[pos] <= "9":
            pos += 1
        if pos - digits_start > 1 and text[digits_start] == "0":
            self.pos = digits_start + 1
            raise self.fail("Invalid numeric value: Leading zeroes not allowed")
        if pos < n and text[pos] == ".":
            pos += 1
            frac = pos
            while pos < n and "0" <= text[pos] <= "9":
                pos += 1
            if pos == frac:
                self.pos = pos + (1 if pos < n else 0)
                got = char_desc(text[pos]) if pos < n else "end-of-input"
                raise self.fail(
                    f"Unexpected character ({got}) in numeric value: Decimal point not followed by a digit"
                )
        if pos < n and text[pos] in "eE":
            pos += 1
            if pos < n and text[pos] in "+-":
                pos += 1
            exp = pos
            while pos < n and "0" <= text[pos] <= "9":
                pos += 1
            if pos == exp:
                self.pos = pos + (1 if pos < n else 0)
                got = char_desc(text[pos]) if pos < n else "end-of-input"
                raise self.fail(
                    f"Unexpected character ({got}) in numeric value: Exponent indicator not followed by a digit"
                )
        self.pos = pos
        raw = text[start:pos]
        value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
        return Token(NUMBER, value, raw=raw)

    def _literal(self) -> Token:
        text, start, n = self.text, self.pos, len(self.text)
        pos = start
        while pos < n and (text[pos].isalnum() or text[pos] in "_$"):
            pos += 1
        word = text[start:pos]
        self.pos = pos
        if word == "true":
            return Token(TRUE, True, raw=word)
        if word == "false":
            return Token(FALSE, False, raw=word)
        if word == "null":
            return Token(NULL, None, raw=word)
        raise self.fail(
            f"Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object or "
            "token 'null', 'true' or 'false')"
        )
