"""Schedule expressions of EventBridge rules and EventBridge Scheduler: `rate()`, `cron()`, `at()`.

One implementation for both services: EventBridge rules take `rate` and `cron` evaluated in UTC;
Scheduler adds one-time `at(yyyy-mm-ddThh:mm:ss)` and evaluates all three in a time zone.

    schedule = parse_expression("cron(0 12 ? * MON-FRI *)")       # ScheduleError if invalid
    schedule.next_after(after_ms, anchor_ms, tz) -> ms | None       # strictly after `after_ms`

The cron language is AWS's six fields — minutes, hours, day-of-month, month, day-of-week, year —
with `*`, `,`, `-`, `/`, names (JAN-DEC, SUN-SAT; day-of-week 1 is Sunday), `?` (exactly one of
day-of-month / day-of-week must be `?`), `L` (last day of the month; `5L` the last Thursday), `W`
(`15W` the weekday nearest the 15th, `LW` the last weekday) and `#` (`2#3` the third Monday).
Years run from 1970 to 2199; a schedule with no firing left answers None.

Wall-clock times are converted with zoneinfo: a local time that does not exist (the hour skipped
when daylight saving time starts) fires at the instant it maps to, one hour later on the wall; a
local time that happens twice (when it ends) fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR, MAX_YEAR = 1970, 2199
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_ITEM = re.compile(r"^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:/(\d+))?$")


class ScheduleError(ValueError):
    """The expression is not valid (each service words its own error text)."""


@cache
def zone(name: str | None) -> tzinfo:
    """A time zone by IANA name (None or "UTC": UTC); ScheduleError when unknown."""
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}") from None


def _to_ms(local: datetime, tz: tzinfo) -> int:
    return int(local.replace(tzinfo=tz).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Rate:
    """`rate(n unit)`: every n units from an anchor (when the rule or schedule was set, or a
    schedule's StartDate). Asked before its anchor, the first tick is the anchor itself."""

    value: int
    unit: str

    @property
    def period_ms(self) -> int:
        return self.value * _UNIT_MS[self.unit.rstrip("s")]

    def next_after(self, after_ms: int, anchor_ms: int, tz: tzinfo = UTC) -> int | None:
        period = self.period_ms
        if after_ms < anchor_ms:
            return anchor_ms
        return anchor_ms + ((after_ms - anchor_ms) // period + 1) * period


@dataclass(frozen=True, slots=True)
class At:
    """`at(yyyy-mm-ddThh:mm:ss)`: once, at a wall-clock time of the schedule's time zone."""

    when: datetime  # naive, local to the schedule's zone

    def next_after(self, after_ms: int, anchor_ms: int = 0, tz: tzinfo = UTC) -> int | None:
        due = _to_ms(self.when, tz)
        return due if due > after_ms else None


@dataclass(frozen=True, slots=True)
class DaySpec:
    """Which days of a month a cron expression fires on (from day-of-month or day-of-week)."""

    kind: str  # "any" | "dom" | "last" | "last-weekday" | "weekday" | "dow" | "last-dow" | "nth"
    values: frozenset[int] = frozenset()
    n: int = 0  # the day of "weekday", the day of week of "last-dow" / "nth"
    k: int = 0  # the occurrence of "nth"

    def days(self, year: int, month: int) -> list[int]:
        first_dow, count = calendar.monthrange(year, month)  # Monday = 0

        def aws_dow(day: int) -> int:  # 1 = Sunday ... 7 = Saturday
            return (first_dow + day - 1 + 1) % 7 + 1

        kind = self.kind
        if kind == "any":
            return list(range(1, count + 1))
        if kind == "dom":
            return [d for d in sorted(self.values) if d <= count]
        if kind == "last":
            return [count]
        if kind == "last-weekday":
            return [_nearest_weekday(count, count, aws_dow)]
        if kind == "weekday":
            return [_nearest_weekday(self.n, count, aws_dow)] if self.n <= count else []
        if kind == "dow":
            return [d for d in range(1, count + 1) if aws_dow(d) in self.values]
        matching = [d for d in range(1, count + 1) if aws_dow(d) == self.n]
        if kind == "last-dow":
            return matching[-1:]
        return [matching[self.k - 1]] if self.k <= len(matching) else []


def _nearest_weekday(day: int, count: int, aws_dow) -> int:
    """The weekday nearest `day` without leaving the month (Saturday -> Friday, Sunday -> Monday;
    the 1st on a Saturday moves to Monday the 3rd, the last day on a Sunday back to Friday)."""
    dow = aws_dow(day)
    if dow == 7:
        return day - 1 if day > 1 else day + 2
    if dow == 1:
        return day + 1 if day < count else day - 2
    return day


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed `cron(...)`: sets of allowed values, and the day rule."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    day: DaySpec

    @property
    def times(self) -> list[tuple[int, int]]:
        return [(h, m) for h in self.hours for m in self.minutes]

    def next_after(self, after_ms: int, anchor_ms: int = 0, tz: tzinfo = UTC) -> int | None:
        local = datetime.fromtimestamp(after_ms / 1000, tz).replace(tzinfo=None)
        start = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        times = self.times
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                for day in self.day.days(year, month):
                    if (year, month, day) < (start.year, start.month, start.day):
                        continue
                    today = (year, month, day) == (start.year, start.month, start.day)
                    for hour, minute in times:
                        if today and (hour, minute) < (start.hour, start.minute):
                            continue
                        due = _to_ms(datetime(year, month, day, hour, minute), tz)
                        if due > after_ms:
                            return due
        return None


Schedule = Rate | Cron | At


def parse_expression(text: str, *, allow_at: bool = False) -> Schedule:
    """Parse a schedule expression; ScheduleError when it is not valid."""
    text = text.strip() if isinstance(text, str) else ""
    if text.startswith("rate("):
        return parse_rate(text)
    if text.startswith("cron("):
        return parse_cron(text)
    if allow_at and text.startswith("at("):
        return parse_at(text)
    raise ScheduleError("unknown expression")


def parse_rate(text: str) -> Rate:
    match = _RATE.match(text)
    if not match:
        raise ScheduleError("malformed rate")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1 or (value == 1) == unit.endswith("s"):
        raise ScheduleError("a rate of 1 takes a singular unit, larger rates a plural one")
    return Rate(value, unit)


def parse_at(text: str) -> At:
    match = _AT.match(text)
    if not match:
        raise ScheduleError("malformed at()")
    try:
        return At(datetime(*(int(g) for g in match.groups())))
    except ValueError:
        raise ScheduleError("no such date") from None


def parse_cron(text: str) -> Cron:
    match = _CRON.match(text)
    if not match:
        raise ScheduleError("malformed cron()")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleError("cron() takes six fields")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
    day = _day_of_month(dom) if dow == "?" else _day_of_week(dow)
    return Cron(
        minutes=_field(minute, 0, 59),
        hours=_field(hour, 0, 23),
        months=_field(month, 1, 12, _MONTHS),
        years=_field(year, MIN_YEAR, MAX_YEAR, cyclic=False),
        day=day,
    )


def _number(token: str, low: int, high: int, names: dict[str, int] | None) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        raise ScheduleError(f"not a value: {token!r}")
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(f"{value} is out of range {low}-{high}")
    return value


def _field(
    text: str, low: int, high: int, names: dict[str, int] | None = None, cyclic: bool = True
) -> tuple[int, ...]:
    """A plain field: a list of `*`, values, ranges (wrapping around when cyclic) and steps."""
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ScheduleError(f"malformed item {item!r}")
        first, last, step = match.groups()
        if first == "*":
            if last is not None:
                raise ScheduleError("'*' cannot start a range")
            start, end = low, high
        else:
            start = _number(first, low, high, names)
            # `5/15` runs from 5 to the end of the range; `5` alone is just 5
            end = _number(last, low, high, names) if last else (high if step else start)
        stride = int(step) if step else 1
        if stride < 1:
            raise ScheduleError("a step must be at least 1")
        if start <= end:
            values.update(range(start, end + 1, stride))
        elif cyclic:
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            values.update(span[::stride])
        else:
            raise ScheduleError("a range must not run backwards")
    return tuple(sorted(values))


def _day_of_month(text: str) -> DaySpec:
    upper = text.upper()
    if upper == "*":
        return DaySpec("any")
    if upper == "L":
        return DaySpec("last")
    if upper == "LW":
        return DaySpec("last-weekday")
    if upper.endswith("W"):
        return DaySpec("weekday", n=_number(upper[:-1], 1, 31, None))
    return DaySpec("dom", frozenset(_field(text, 1, 31)))


def _day_of_week(text: str) -> DaySpec:
    upper = text.upper()
    if upper == "*":
        return DaySpec("any")
    if upper == "L":
        return DaySpec("dow", frozenset({7}))
    if "#" in upper:
        day, _, nth = upper.partition("#")
        return DaySpec("nth", n=_number(day, 1, 7, _DAYS), k=_number(nth, 1, 5, None))
    if upper.endswith("L"):
        return DaySpec("last-dow", n=_number(upper[:-1], 1, 7, _DAYS))
    return DaySpec("dow", frozenset(_field(text, 1, 7, _DAYS)))


def latest_at_or_before(
    schedule: Schedule, now_ms: int, since_ms: int, anchor_ms: int, tz: tzinfo = UTC
) -> int:
    """The last firing in (since_ms, now_ms] (`since_ms` itself if there was none): the tick a
    catch-up after a restart stands for. Bounded, so a long outage costs little."""
    if isinstance(schedule, Rate):
        if now_ms < anchor_ms:
            return since_ms
        period = schedule.period_ms
        last = anchor_ms + (now_ms - anchor_ms) // period * period
        return max(last, since_ms)
    latest, probe = since_ms, since_ms
    for _ in range(100_000):
        following = schedule.next_after(probe, anchor_ms, tz)
        if following is None or following > now_ms:
            break
        latest = probe = following
    return latest
