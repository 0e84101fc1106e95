"""Compiles the JSON text of an event pattern into branches of conditions, with AWS's error texts.

The result is a list of *branches* (the pattern's `$or`s multiplied out): each branch maps a dotted
field path to the list of matchers any one of which the field must satisfy, and an event matches the
pattern when it matches every field of some branch.

The grammar and the checks follow AWS's rule compiler (Event Ruler's JSON compiler) step by step,
because the order of the checks decides which mistake is reported and where the reader stands when
it is. Two of its quirks are kept on purpose: a few reasons found inside anything-but lists carry the
location twice (the compiler wraps its own error), and some reasons carry none (CIDR syntax, a single
anything-but number out of range), exactly as AWS answers them.
"""

from __future__ import annotations

from cloudlet.core.patterns.errors import RulerError
from cloudlet.core.patterns.jsonlex import (
    END_ARRAY,
    END_OBJECT,
    FALSE,
    FIELD_NAME,
    NULL,
    NUMBER,
    START_ARRAY,
    START_OBJECT,
    STRING,
    TRUE,
    Lexer,
    Token,
)
from cloudlet.core.patterns.matchers import (
    Absent,
    AnythingBut,
    AnythingButText,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    Matcher,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)
from cloudlet.core.patterns.values import NumberRules, leaf, parse_cidr, parse_wildcard

Branch = dict[str, list[Matcher]]

OR = "$or"
ONE_KEY = "Only one key allowed in match expression"
TOO_MANY = "Too many elements in numeric expression"
# field names that may not appear inside an $or object (operators, and names reserved for new ones)
RESERVED_IN_OR = frozenset(
    [
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard",
        "numeric", "cidr", "html", "=", "<", "<=", ">", ">=", "regex", "not-wildcard",
        "not-equals-ignore-case", "date-after", "date-on-or-after", "date-before",
        "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    ]
)  # fmt: skip


def compile_branches(text: str, numbers: NumberRules, legacy: bool = False) -> list[Branch]:
    """The branches of a pattern, or RulerError whose reason is AWS's text (location included).

    `legacy` is the older compiler SNS runs (recorded against AWS): no wildcard, and anything-but
    objects limited to `{"prefix": "..."}`.
    """
    return _Compiler(text, numbers, legacy).run()


class _Compiler:
    def __init__(self, text: str, numbers: NumberRules, legacy: bool) -> None:
        self.lx = Lexer(text)
        self.numbers = numbers
        self.legacy = legacy

    def run(self) -> list[Branch]:
        token = self.lx.next()
        if token is None or token.kind != START_OBJECT:
            raise self.lx.fail("Filter is not an object")
        branches: list[Branch] = []
        self.object(branches, [], inside_or=False)
        return branches

    def next(self) -> Token:
        token = self.lx.next()
        assert token is not None  # the lexer raises at end of input inside a container
        return token

    # ------------------------------------------------------------------ structure
    def object(self, branches: list[Branch], path: list[str], inside_or: bool) -> None:
        lx = self.lx
        seen = False
        while (token := self.next()).kind != END_OBJECT:
            seen = True
            name = token.value
            if name == OR:
                self.alternatives(branches, path)
                continue
            if inside_or and name in RESERVED_IN_OR:
                raise lx.fail(
                    f"{name} is Ruler reserved fieldName which cannot be used inside {OR}."
                )
            value = self.next()
            if value.kind == START_OBJECT:
                self.object(branches, [*path, name], inside_or)
            elif value.kind == START_ARRAY:
                self.values(branches, ".".join([*path, name]))
            else:
                raise lx.fail(f'"{name}" must be an object or an array')
        if not seen:
            raise lx.fail("Empty objects are not allowed")

    def alternatives(self, branches: list[Branch], path: list[str]) -> None:
        """`"$or": [{...}, {...}]`: every alternative continues every branch built so far."""
        lx = self.lx
        before = [dict(branch) for branch in branches]
        branches.clear()
        if self.next().kind != START_ARRAY:
            raise lx.fail(f"It must be an Array followed with {OR}.")
        count = 0
        while (token := self.next()).kind != END_ARRAY:
            count += 1
            if token.kind != START_OBJECT:
                raise lx.fail(f"Only JSON object is allowed in array of {OR} relationship.")
            forked = [dict(branch) for branch in before] or [{}]
            self.object(forked, path, inside_or=True)
            branches.extend(forked)
        if count < 2:
            raise lx.fail(f"There must have at least 2 Objects in {OR} relationship.")

    def values(self, branches: list[Branch], name: str) -> None:
        """A field's array: exact values and match expressions, any of which may match."""
        lx = self.lx
        matchers: list[Matcher] = []
        while (token := self.next()).kind != END_ARRAY:
            kind = token.kind
            if kind == START_OBJECT:
                matchers.append(self.expression())
            elif kind == STRING:
                matchers.append(Exact(lx.text_of(token)))
            elif kind == NUMBER:
                matchers.append(Exact(token.value))
            elif kind in (TRUE, FALSE, NULL):
                matchers.append(Exact(leaf(token.value)))
            else:
                raise lx.fail("Match value must be String, number, true, false, or null")
        if not matchers:
            raise lx.fail("Empty arrays are not allowed")
        if not branches:
            branches.append({})
        for branch in branches:
            branch[name] = matchers  # a later definition of the same path wins, as on AWS

    # ------------------------------------------------------------------ match expressions
    def expression(self) -> Matcher:
        lx = self.lx
        token = self.next()
        if token.kind != FIELD_NAME:
            raise lx.fail("Match expression name not found")
        name = token.value
        if name in ("exactly", "equals-ignore-case"):
            text = self.string(
                f"{'exact' if name == 'exactly' else name} match pattern must be a string"
            )
            self.close(ONE_KEY)
            return Exact(text) if name == "exactly" else EqualsIgnoreCase(text)
        if name in ("prefix", "suffix"):
            return self.affix(name)
        if name == "numeric":
            if self.next().kind != START_ARRAY:
                raise lx.fail("Value of numeric must be an array.")
            matcher = self.numeric()
            self.close(TOO_MANY)
            return matcher
        if name == "anything-but":
            return self.anything_but()
        if name == "exists":
            value = self.next()
            if value.kind not in (TRUE, FALSE):
                raise lx.fail("exists match pattern must be either true or false.")
            self.close(ONE_KEY)
            return Exists() if value.kind == TRUE else Absent()
        if name == "cidr":
            return self.cidr()
        if name == "wildcard" and not self.legacy:
            text = self.string("wildcard match pattern must be a string")
            matcher = self.wildcard(text)
            self.close(ONE_KEY)
            return matcher
        raise lx.fail(f"Unrecognized match type {name}")

    def string(self, reason: str) -> str:
        token = self.next()
        if token.kind != STRING:
            raise self.lx.fail(reason)
        return self.lx.text_of(token)

    def close(self, reason: str) -> None:
        if self.next().kind != END_OBJECT:
            raise self.lx.fail(reason)

    def affix(self, name: str) -> Matcher:
        """prefix / suffix, plain or `{"equals-ignore-case": ...}`."""
        lx = self.lx
        cls = Prefix if name == "prefix" else Suffix
        token = self.next()
        if token.kind == START_OBJECT:
            inner = self.next()
            if inner.kind != FIELD_NAME:
                raise lx.fail(f"{name.capitalize()} expression name not found")
            if inner.value != "equals-ignore-case":
                raise lx.fail(f"Unsupported {name} pattern: {inner.value}")
            text = self.string("equals-ignore-case match pattern must be a string")
            self.close(ONE_KEY)
            self.close(ONE_KEY)
            return cls(text, ignore_case=True)
        if token.kind != STRING:
            raise lx.fail(f"{name} match pattern must be a string")
        text = lx.text_of(token)
        self.close(ONE_KEY)
        return cls(text)

    def wildcard(self, text: str) -> Wildcard:
        try:
            return Wildcard(text, parse_wildcard(text))
        except ValueError as error:
            raise self.lx.fail(str(error)) from None

    def cidr(self) -> Cidr:
        text = self.string("prefix match pattern must be a string")  # sic: AWS's text for cidr too
        try:
            version, low, high = parse_cidr(text)
        except ValueError as error:
            raise RulerError(str(error), located=False) from None
        self.close(ONE_KEY)
        return Cidr(text, version, low, high)

    # ------------------------------------------------------------------ numeric
    def number(self, raw: str) -> float:
        try:
            return self.numbers.check(raw)
        except ValueError as error:
            raise self.lx.fail(str(error)) from None

    def numeric(self) -> Numeric:
        lx = self.lx
        token = self.next()
        if token.kind != STRING:
            raise lx.fail(f"Invalid member in numeric match: {lx.text_of(token)}")
        operator = lx.text_of(token)
        token = self.next()
        if operator not in ("=", ">", ">=", "<", "<="):
            raise lx.fail(f"Unrecognized numeric range operator: {operator}")
        if token.kind != NUMBER:
            raise lx.fail(f"Value of {'equals' if operator == '=' else operator} must be numeric")
        raw = token.raw
        limit = self.numbers.limit
        if operator == "=":
            self.close_array(TOO_MANY)
            value = self.number(raw)
            return Numeric(value, False, value, False, self.numbers)
        if operator in ("<", "<="):
            self.close_array(TOO_MANY)
            return self.range(str(-limit), False, raw, operator == "<")
        token = self.next()
        if token.kind == END_ARRAY:
            return self.range(raw, operator == ">", str(limit), False)
        if token.kind != STRING:
            raise lx.fail(f"Bad value in numeric range: {lx.text_of(token)}")
        second = lx.text_of(token)
        if second not in ("<", "<="):
            raise lx.fail(f"Bad numeric range operator: {second}")
        token = self.next()
        if token.kind != NUMBER:
            raise lx.fail(f"Value of {second} must be numeric")
        top = token.raw
        self.close_array("Too many terms in numeric range expression")
        return self.range(raw, operator == ">", top, second == "<")

    def close_array(self, reason: str) -> None:
        if self.next().kind != END_ARRAY:
            raise self.lx.fail(reason)

    def range(self, bottom: str, open_bottom: bool, top: str, open_top: bool) -> Numeric:
        if float(bottom) >= float(top):
            raise self.lx.fail("Bottom must be less than top")
        low, high = self.number(bottom), self.number(top)
        return Numeric(low, open_bottom, high, open_top, self.numbers)

    # ------------------------------------------------------------------ anything-but
    def anything_but(self) -> Matcher:
        lx = self.lx
        mode = ""
        token = self.next()
        if token.kind == START_OBJECT and self.legacy:
            return self.legacy_but_prefix()
        if token.kind == START_OBJECT:
            inner = self.next()
            if inner.kind != FIELD_NAME:
                raise lx.fail("Anything-But expression name not found")
            mode = inner.value
            if mode not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
                raise lx.fail(f"Unsupported anything-but pattern: {mode}")
            token = self.next()
        if token.kind not in (START_ARRAY, STRING, NUMBER):
            raise lx.fail("Value of anything-but must be an array or single string/number value.")
        if token.kind == START_ARRAY:
            matcher = self.but_list() if not mode else self.but_texts(mode)
        else:
            matcher = self.but_single(token) if not mode else self.but_text(token, mode)
        self.close(TOO_MANY)
        if mode:
            self.close(TOO_MANY)
        return matcher

    def legacy_but_prefix(self) -> AnythingButText:
        lx = self.lx
        inner = self.next()
        if inner.kind != FIELD_NAME:
            raise lx.fail("Anything-But expression name not found")
        if inner.value != "prefix":
            raise lx.fail(f"Unsupported anything-but pattern: {inner.value}")
        text = self.string("prefix match pattern must be a string")
        if text == "":
            raise lx.fail("Null prefix not allowed")
        self.close(ONE_KEY)
        self.close(ONE_KEY)
        return AnythingButText("prefix", (text,))

    def rewrapped(self, error: RulerError) -> RulerError:
        """AWS wraps errors raised inside anything-but lists once more: the location appears twice."""
        return RulerError(f"{error.reason}\n at {self.lx.location()}")

    def but_list(self) -> AnythingBut:
        lx = self.lx
        strings: list[str] = []
        numbers: list[float] = []
        try:
            while (token := self.next()).kind != END_ARRAY:
                if token.kind == STRING:
                    strings.append(lx.text_of(token))
                elif token.kind == NUMBER:
                    numbers.append(self.numbers.check(token.raw))
                else:
                    raise lx.fail("Inside anything but list, start|null|boolean is not supported.")
        except ValueError as error:  # a number out of AWS's range: located once
            raise lx.fail(str(error)) from None
        except RulerError as error:  # a JSON or type error: AWS wraps it, located twice
            raise self.rewrapped(error) from None
        if bool(numbers) == bool(strings):
            raise lx.fail(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
            )
        return AnythingBut(frozenset(strings or numbers))

    def but_single(self, token: Token) -> AnythingBut:
        if token.kind == STRING:
            return AnythingBut(frozenset([self.lx.text_of(token)]))
        try:
            return AnythingBut(frozenset([self.numbers.check(token.raw)]))
        except ValueError as error:  # escapes AWS's compiler unwrapped: no location
            raise RulerError(str(error), located=False) from None

    def but_texts(self, mode: str) -> AnythingButText:
        texts: list[str] = []
        try:
            while (token := self.next()).kind != END_ARRAY:
                texts.append(self.but_text_value(token, mode))
        except RulerError as error:
            raise self.rewrapped(error) from None
        return self.but_text_matcher(mode, tuple(dict.fromkeys(texts)))

    def but_text(self, token: Token, mode: str) -> AnythingButText:
        return self.but_text_matcher(mode, (self.but_text_value(token, mode),))

    def but_text_value(self, token: Token, mode: str) -> str:
        lx = self.lx
        if token.kind == STRING:
            text = lx.text_of(token)
            if mode in ("prefix", "suffix") and text == "":
                raise lx.fail("Null prefix/suffix not allowed")
            return text
        if mode == "equals-ignore-case":
            raise lx.fail(
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
            )
        if mode == "wildcard":
            raise lx.fail("wildcard match pattern must be a string")
        raise lx.fail("prefix/suffix match pattern must be a string")

    def but_text_matcher(self, mode: str, texts: tuple[str, ...]) -> AnythingButText:
        if mode != "wildcard":
            return AnythingButText(mode, texts)
        return AnythingButText(mode, texts, tuple(self.wildcard(t).regex for t in texts))
