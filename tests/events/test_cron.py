"""The schedule expression language (core/schedules): a table of next firings, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloudlet.core.schedules import (
    Rate,
    ScheduleError,
    latest_at_or_before,
    parse_expression,
    zone,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def iso(value: int | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 * * ? *)", "2024-01-01T11:00", "2024-01-01T12:00"),
        ("cron(0 12 * * ? *)", "2024-01-01T12:00", "2024-01-02T12:00"),  # strictly after
        ("cron(0/15 * * * ? *)", "2024-01-01T00:07", "2024-01-01T00:15"),
        ("cron(*/20 9-10 * * ? *)", "2024-01-01T10:41", "2024-01-02T09:00"),
        ("cron(5,35 * * * ? *)", "2024-01-01T00:06", "2024-01-01T00:35"),
        ("cron(0 0 1 JAN,JUL ? *)", "2024-02-01T00:00", "2024-07-01T00:00"),
        ("cron(0 8 ? * MON-FRI *)", "2024-01-06T00:00", "2024-01-08T08:00"),  # Saturday -> Monday
        ("cron(0 8 ? * 1 *)", "2024-01-01T00:00", "2024-01-07T08:00"),  # 1 is Sunday
        ("cron(0 8 ? * FRI-MON *)", "2024-01-02T00:00", "2024-01-05T08:00"),  # wraps around
        ("cron(0 0 L * ? *)", "2024-02-01T00:00", "2024-02-29T00:00"),  # leap year
        ("cron(0 0 L * ? *)", "2023-02-01T00:00", "2023-02-28T00:00"),
        ("cron(0 0 LW * ? *)", "2024-03-01T00:00", "2024-03-29T00:00"),  # the 31st is a Sunday
        ("cron(0 0 15W * ? *)", "2024-06-01T00:00", "2024-06-14T00:00"),  # the 15th is a Saturday
        (
            "cron(0 0 1W * ? *)",
            "2024-06-01T00:00",
            "2024-06-03T00:00",
        ),  # Saturday the 1st -> Monday
        (
            "cron(0 0 30W * ? *)",
            "2024-06-01T00:00",
            "2024-06-28T00:00",
        ),  # Sunday the 30th -> Friday
        ("cron(15 10 ? * 6L *)", "2024-01-01T00:00", "2024-01-26T10:15"),  # last Friday
        ("cron(0 9 ? * 2#3 *)", "2024-01-01T00:00", "2024-01-15T09:00"),  # third Monday
        ("cron(0 9 ? * MON#5 *)", "2024-01-01T00:00", "2024-01-29T09:00"),
        (
            "cron(0 9 ? * MON#5 *)",
            "2024-02-01T00:00",
            "2024-04-29T09:00",
        ),  # months without one skip
        ("cron(0 0 29 2 ? *)", "2023-03-01T00:00", "2024-02-29T00:00"),
        ("cron(0 0 1 1 ? 2030)", "2024-01-01T00:00", "2030-01-01T00:00"),
        ("cron(0 0 1 1 ? 2020-2022)", "2024-01-01T00:00", None),  # no firing left
        ("cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", "2024-01-01T08:15", "2024-01-02T08:00"),
        ("cron(30 13 ? * 2,4,6 *)", "2024-01-01T13:30", "2024-01-03T13:30"),
    ],
)
def test_next_firing(expression: str, after: str, expected: str | None) -> None:
    assert iso(parse_expression(expression).next_after(ms(after), 0)) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * * *)",  # both day fields given
        "cron(0 12 ? * ? *)",  # neither
        "cron(7 20 * * 1-7 *)",
        "cron(0 12 * *)",
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * MON#6 *)",
        "cron(0 0 1 13 ? *)",
        "cron(0 0 1 1 ? 1969)",
        "cron(0 0 1 FOO ? *)",
        "cron(0/0 * * * ? *)",
        "rate(1 minutes)",
        "rate(2 hour)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "rate(5minutes)",
        "every(5 minutes)",
        "at(2024-01-01T00:00:00)",  # EventBridge rules take no at()
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_expression(expression)


def test_rates_count_from_their_anchor() -> None:
    rate = parse_expression("rate(5 minutes)")
    assert rate == Rate(5, "minutes")
    anchor = ms("2024-01-01T00:02")
    assert iso(rate.next_after(anchor, anchor)) == "2024-01-01T00:07"
    assert iso(rate.next_after(ms("2024-01-01T00:30"), anchor)) == "2024-01-01T00:32"
    assert iso(parse_expression("rate(1 day)").next_after(anchor, anchor)) == "2024-01-02T00:02"
    latest = latest_at_or_before(rate, ms("2024-01-01T00:30"), anchor, anchor)
    assert iso(latest) == "2024-01-01T00:27"


def test_at_and_time_zones() -> None:
    at = parse_expression("at(2024-07-01T09:00:00)", allow_at=True)
    new_york = zone("America/New_York")
    assert iso(at.next_after(0, 0, new_york)) == "2024-07-01T13:00"  # EDT
    assert at.next_after(ms("2024-07-01T13:00"), 0, new_york) is None  # once only
    daily = parse_expression("cron(0 9 * * ? *)")
    assert iso(daily.next_after(ms("2024-01-10T00:00"), 0, new_york)) == "2024-01-10T14:00"  # EST
    assert iso(daily.next_after(ms("2024-07-10T00:00"), 0, new_york)) == "2024-07-10T13:00"
    # 02:30 does not exist on 10 March 2024 in New York: it fires at the instant it maps to
    skipped = parse_expression("cron(30 2 * * ? *)")
    assert iso(skipped.next_after(ms("2024-03-10T05:00"), 0, new_york)) == "2024-03-10T07:30"
    with pytest.raises(ScheduleError):
        zone("Mars/Olympus_Mons")
