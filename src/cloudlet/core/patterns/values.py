"""Leaf values of events, and the AWS rules for numbers and IP addresses.

Events reach the matchers flattened (see `flatten`): every leaf is a `str`, an `int`/`float`, or one of
the three `Literal` singletons standing for JSON true, false and null. Replacing Python's `True`,
`False` and `None` by singletons keeps `True == 1` from ever matching a number, and lets leaves be used
as dictionary keys: strings, numbers and literals never collide, while `5` and `5.0` do (AWS compares
numbers by value).
"""

from __future__ import annotations

import ipaddress
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any


class Literal:
    """JSON true, false or null as a leaf value; one instance each."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


TRUE = Literal("true")
FALSE = Literal("false")
NULL = Literal("null")


def leaf(value: Any) -> Any:
    """The leaf form of a parsed JSON scalar."""
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if value is None:
        return NULL
    return value


def is_number(value: Any) -> bool:
    cls = value.__class__
    return cls is int or cls is float


class NumberRules:
    """Which numbers AWS can compare numerically: a range and a count of decimals.

    EventBridge (Event Ruler) compares numbers between -5.0e9 and 5.0e9 with six decimals; SNS documents
    -1e9..1e9 with five. An event value outside these rules is not a comparable number: numeric ranges
    never match it (exact values still match by value). A pattern value outside them is an error.
    """

    __slots__ = ("decimals", "limit", "limit_text")

    def __init__(self, limit: float, decimals: int, limit_text: str) -> None:
        self.limit = limit
        self.decimals = decimals
        self.limit_text = limit_text

    def comparable(self, value: Any) -> bool:
        """Whether an event value takes part in numeric comparisons."""
        cls = value.__class__
        if cls is int:
            return -self.limit <= value <= self.limit
        if cls is float:
            return -self.limit <= value <= self.limit and round(value, self.decimals) == value
        return False

    def check(self, raw: str) -> float:
        """A pattern's number (its JSON text), or an error worded as Event Ruler words it."""
        try:
            number = Decimal(raw).normalize()
        except InvalidOperation:
            raise ValueError(f"Invalid number: {raw}") from None
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.decimals:
            quantum = Decimal(1).scaleb(-self.decimals)
            shown = float(number.quantize(quantum, rounding=ROUND_HALF_UP)).hex()
            raise ValueError(
                f"Only values upto {self.decimals} decimals are supported{_java_plain(number)} {raw} "
                f"{_java_hex(shown)}"
            )
        if not -self.limit <= number <= self.limit:
            raise ValueError(f"Value must be between {self.limit_text}, inclusive")
        return float(number)


def _java_plain(number: Decimal) -> str:
    """BigDecimal.toString() of a stripped number: Python's Decimal str follows the same spec."""
    return str(number)


def _java_hex(python_hex: str) -> str:
    """Double.toHexString from float.hex(): Java drops trailing zeros and the exponent's plus sign."""
    sign = "-" if python_hex.startswith("-") else ""
    body = python_hex.lstrip("-")
    if body in ("0x0.0p+0", "0x0p+0"):
        return sign + "0x0.0p0"
    mantissa, exponent = body.split("p")
    head, _, frac = mantissa.partition(".")
    frac = frac.rstrip("0") or "0"
    return f"{sign}{head}.{frac}p{int(exponent)}"


EVENTBRIDGE_NUMBERS = NumberRules(5e9, 6, "-5.0E9 and 5.0E9")
SNS_NUMBERS = NumberRules(1e9, 5, "-1.0E9 and 1.0E9")

# ----------------------------------------------------------------------------------------- IPs
_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address literal, or None; only forms Event Ruler accepts."""
    if _IPV4.fullmatch(text):
        try:
            return 4, int(ipaddress.IPv4Address(text))
        except ValueError:
            return None
    if _IPV6.fullmatch(text):
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    return None


def parse_cidr(text: str) -> tuple[int, int, int]:
    """(version, lowest, highest) of a CIDR block, or ValueError with Event Ruler's reason.

    As in Event Ruler, the address bits below the mask are kept, not cleared: "10.0.0.5/24" covers
    10.0.0.5 to 10.0.0.255. The mask must be below 32 (IPv4) or 128 (IPv6).
    """
    parts = text.split("/")
    if len(parts) != 2:
        raise ValueError("Malformed CIDR, one '/' required")
    try:
        bits = int(parts[1])
    except ValueError:
        raise ValueError("Malformed CIDR, mask bits must be an integer") from None
    if bits < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    address = parts[0]
    if not (_IPV4.fullmatch(address) or _IPV6.fullmatch(address)):
        raise ValueError(f"Nonstandard IP address: {address}")
    parsed = parse_ip(address)
    if parsed is None:
        raise ValueError(f"Invalid IP address: {address}")
    version, value = parsed
    width = 32 if version == 4 else 128
    if bits > width - 1:
        raise ValueError(f"IPv{version} mask bits must be < {width}")
    host = (1 << (width - bits)) - 1
    return version, value, value | host


# ----------------------------------------------------------------------------------- wildcards
def parse_wildcard(text: str) -> re.Pattern[str]:
    """A compiled full-match regex for a wildcard value, or ValueError with Event Ruler's reason.

    `*` matches any run of characters; `\\*` is a literal star and `\\\\` a literal backslash; any other
    escape, and two stars in a row, are errors. Positions in the reasons count UTF-8 bytes of the value
    with a leading quote, because that is what Event Ruler's parser reads.
    """
    parts: list[str] = []
    literal: list[str] = []
    offset = 1  # the leading quote Event Ruler adds before parsing
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "*":
            if i + 1 < n and text[i + 1] == "*":
                raise ValueError(f"Consecutive wildcard characters at pos {offset}")
            parts.append(re.escape("".join(literal)))
            literal = []
            parts.append(".*")
        elif ch == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                literal.append(text[i + 1])
                offset += 1
                i += 1
            else:
                raise ValueError(f"Invalid escape character at pos {offset}")
        else:
            literal.append(ch)
        offset += len(ch.encode("utf-8"))
        i += 1
    parts.append(re.escape("".join(literal)))
    return re.compile("".join(parts), re.DOTALL)


def wildcard_tokens(text: str) -> list[str | None]:
    """The value as a list of characters, None standing for a wildcard (for complexity)."""
    out: list[str | None] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            out.append(None)
        elif ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 1
        else:
            out.append(ch)
        i += 1
    return out
