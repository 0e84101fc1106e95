"""PutLogEvents, GetLogEvents and FilterLogEvents as AWS answers them, and retention."""

from __future__ import annotations

import pytest

from .support import error_of

DAY = 86_400_000
HOUR = 3_600_000


def _messages(answer: dict) -> list[str]:
    return [e["message"] for e in answer["events"]]


# -- PutLogEvents ---------------------------------------------------------------------------------


def test_put_then_get_round_trips(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    answer = new_group.put(name, "s", [(now_ms - 2, "first"), (now_ms - 1, "second é")])
    assert answer["nextSequenceToken"].isdigit()
    assert "rejectedLogEventsInfo" not in answer
    events = logs.get_log_events(logGroupName=name, logStreamName="s")["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [
        (now_ms - 2, "first"),
        (now_ms - 1, "second é"),
    ]
    assert all(e["ingestionTime"] >= now_ms for e in events)


def test_sequence_tokens_are_accepted_and_ignored(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    for token in ("49999999999999999999999999999999999999999999999999999999", "bogus"):
        logs.put_log_events(
            logGroupName=name,
            logStreamName="s",
            sequenceToken=token,
            logEvents=[{"timestamp": now_ms, "message": token}],
        )
    assert len(logs.get_log_events(logGroupName=name, logStreamName="s")["events"]) == 2


def test_put_to_missing_group_or_stream(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    event = [{"timestamp": now_ms, "message": "x"}]
    no_group = error_of(
        logs.put_log_events, logGroupName=name + "x", logStreamName="s", logEvents=event
    )
    assert (no_group["Code"], no_group["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    no_stream = error_of(logs.put_log_events, logGroupName=name, logStreamName="t", logEvents=event)
    assert (no_stream["Code"], no_stream["Message"]) == (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )


def test_events_must_be_chronological_and_span_at_most_a_day(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    unordered = error_of(
        new_group.put, group=name, stream="s", events=[(now_ms, "b"), (now_ms - 1, "a")]
    )
    assert (unordered["Code"], unordered["Message"]) == (
        "InvalidParameterException",
        "Log events in a single PutLogEvents request must be in chronological order.",
    )
    wide = error_of(
        new_group.put, group=name, stream="s", events=[(now_ms - DAY - 1, "a"), (now_ms, "b")]
    )
    assert wide["Message"] == (
        "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
    )
    assert logs.get_log_events(logGroupName=name, logStreamName="s")["events"] == []


def test_batch_size_counts_26_bytes_per_event(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    # Two events: 2 * 26 bytes of overhead, the rest message bytes: exactly 1,048,576 passes.
    body = 1_048_576 - 2 * 26
    exact = [(now_ms, "a" * (body // 2)), (now_ms, "b" * (body - body // 2))]
    new_group.put(name, "s", exact)
    over = [(now_ms, "a" * (body // 2)), (now_ms, "b" * (body - body // 2 + 1))]
    error = error_of(new_group.put, group=name, stream="s", events=over)
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterException",
        "Upload too large: 1048577 bytes exceeds limit of 1048576",
    )


def test_too_old_too_new_and_expired_events_are_rejected_the_rest_stored(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    answer = new_group.put(
        name,
        "s",
        [
            (now_ms - 15 * DAY, "too old"),
            (now_ms - 15 * DAY + 1, "too old too"),
            (now_ms - HOUR, "kept 1"),
            (now_ms + HOUR, "kept 2"),
            (now_ms + 3 * HOUR, "too new"),
        ],
    )
    assert answer["rejectedLogEventsInfo"] == {
        "tooOldLogEventEndIndex": 2,
        "tooNewLogEventStartIndex": 4,
    }
    assert _messages(logs.get_log_events(logGroupName=name, logStreamName="s")) == [
        "kept 1",
        "kept 2",
    ]
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    expired = new_group.put(name, "s", [(now_ms - 2 * DAY, "expired"), (now_ms, "fresh")])
    assert expired["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}


# -- GetLogEvents ---------------------------------------------------------------------------------


@pytest.fixture
def ten(new_group, now_ms) -> str:
    name = new_group("/test/", "s")
    new_group.put(name, "s", [(now_ms - 100 + i, f"m{i}") for i in range(10)])
    return name


def test_get_returns_the_latest_by_default_and_the_earliest_from_head(logs, ten):
    assert _messages(logs.get_log_events(logGroupName=ten, logStreamName="s", limit=3)) == [
        "m7",
        "m8",
        "m9",
    ]
    head = logs.get_log_events(logGroupName=ten, logStreamName="s", limit=3, startFromHead=True)
    assert _messages(head) == ["m0", "m1", "m2"]
    assert head["nextForwardToken"].startswith("f/")
    assert head["nextBackwardToken"].startswith("b/")


def test_forward_tokens_page_to_the_end_then_repeat(logs, new_group, ten, now_ms):
    seen, token = [], None
    for _ in range(10):
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        answer = logs.get_log_events(logGroupName=ten, logStreamName="s", limit=4, **kwargs)
        seen += _messages(answer)
        if answer["nextForwardToken"] == token:
            break
        token = answer["nextForwardToken"]
    else:
        raise AssertionError("the forward token never came back unchanged")
    assert seen == [f"m{i}" for i in range(10)]
    assert answer["events"] == []
    # The end token picks up what arrives later.
    new_group.put(ten, "s", [(now_ms, "late")])
    later = logs.get_log_events(logGroupName=ten, logStreamName="s", nextToken=token)
    assert _messages(later) == ["late"]


def test_backward_tokens_page_to_the_start_then_repeat(logs, ten):
    answer = logs.get_log_events(logGroupName=ten, logStreamName="s", limit=4)
    seen = _messages(answer)
    token = answer["nextBackwardToken"]
    for _ in range(10):
        answer = logs.get_log_events(logGroupName=ten, logStreamName="s", limit=4, nextToken=token)
        seen = _messages(answer) + seen
        if answer["nextBackwardToken"] == token:
            break
        token = answer["nextBackwardToken"]
    else:
        raise AssertionError("the backward token never came back unchanged")
    assert seen == [f"m{i}" for i in range(10)]
    # From the very start, the way forward leads back over everything.
    forward = logs.get_log_events(
        logGroupName=ten, logStreamName="s", nextToken=answer["nextForwardToken"], limit=2
    )
    assert _messages(forward) == ["m0", "m1"]


def test_get_time_window_ends_before_end_time(logs, ten, now_ms):
    answer = logs.get_log_events(
        logGroupName=ten,
        logStreamName="s",
        startTime=now_ms - 98,
        endTime=now_ms - 95,
        startFromHead=True,
    )
    assert _messages(answer) == ["m2", "m3", "m4"]


def test_get_errors(logs, ten):
    missing = error_of(logs.get_log_events, logGroupName=ten, logStreamName="nope")
    assert (missing["Code"], missing["Message"]) == (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
    bad = error_of(logs.get_log_events, logGroupName=ten, logStreamName="s", nextToken="x/1")
    assert bad["Code"] == "InvalidParameterException"


def test_get_of_an_empty_stream_gives_tokens_that_find_later_events(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    empty = logs.get_log_events(logGroupName=name, logStreamName="s")
    assert empty["events"] == []
    new_group.put(name, "s", [(now_ms, "arrived")])
    again = logs.get_log_events(
        logGroupName=name, logStreamName="s", nextToken=empty["nextForwardToken"]
    )
    assert _messages(again) == ["arrived"]


# -- FilterLogEvents ------------------------------------------------------------------------------


@pytest.fixture
def mixed(new_group, now_ms) -> str:
    name = new_group("/test/", "web-1", "web-2", "db")
    new_group.put(name, "web-1", [(now_ms - 50, "GET / 200"), (now_ms - 20, "GET /x 404")])
    new_group.put(name, "web-2", [(now_ms - 40, "POST / 500 ERROR"), (now_ms - 10, "GET / 200")])
    new_group.put(name, "db", [(now_ms - 30, "ERROR deadlock")])
    return name


def test_filter_interleaves_streams_in_time_order(logs, mixed):
    answer = logs.filter_log_events(logGroupName=mixed)
    assert [(e["logStreamName"], e["message"]) for e in answer["events"]] == [
        ("web-1", "GET / 200"),
        ("web-2", "POST / 500 ERROR"),
        ("db", "ERROR deadlock"),
        ("web-1", "GET /x 404"),
        ("web-2", "GET / 200"),
    ]
    assert len({e["eventId"] for e in answer["events"]}) == 5
    assert answer["searchedLogStreams"] == []  # deprecated by AWS in 2020: always empty
    assert "nextToken" not in answer


def test_filter_by_streams_pattern_and_time(logs, mixed, now_ms):
    by_names = logs.filter_log_events(logGroupName=mixed, logStreamNames=["db", "web-2"])
    assert len(by_names["events"]) == 3
    by_prefix = logs.filter_log_events(logGroupName=mixed, logStreamNamePrefix="web-")
    assert {e["logStreamName"] for e in by_prefix["events"]} == {"web-1", "web-2"}
    errors = logs.filter_log_events(logGroupName=mixed, filterPattern="ERROR")
    assert _messages(errors) == ["POST / 500 ERROR", "ERROR deadlock"]
    window = logs.filter_log_events(logGroupName=mixed, startTime=now_ms - 40, endTime=now_ms - 20)
    assert _messages(window) == ["POST / 500 ERROR", "ERROR deadlock", "GET /x 404"]  # inclusive
    both = error_of(
        logs.filter_log_events, logGroupName=mixed, logStreamNames=["db"], logStreamNamePrefix="w"
    )
    assert both["Code"] == "InvalidParameterException"
    bad = error_of(logs.filter_log_events, logGroupName=mixed, filterPattern="user@example.com")
    assert bad["Code"] == "InvalidParameterException"
    assert "Invalid character(s) in term" in bad["Message"]


def test_filter_pages_with_next_token(logs, mixed):
    first = logs.filter_log_events(logGroupName=mixed, limit=2)
    assert _messages(first) == ["GET / 200", "POST / 500 ERROR"]
    second = logs.filter_log_events(logGroupName=mixed, limit=2, nextToken=first["nextToken"])
    assert _messages(second) == ["ERROR deadlock", "GET /x 404"]
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=mixed, filterPattern="GET", PaginationConfig={"PageSize": 1}
    )
    assert [m for p in pages for m in _messages(p)] == ["GET / 200", "GET /x 404", "GET / 200"]


def test_filter_of_a_large_group_answers_partial_pages_with_tokens(logs, new_group, now_ms):
    """One call looks at a bounded number of events (as on AWS, a page may be partial or empty
    while a nextToken says there is more); paginating finds every match."""
    name = new_group("/test/", "s")
    for batch in range(2):
        events = [
            (now_ms - 20_000 + batch * 6000 + i, f"line {batch * 6000 + i}") for i in range(6000)
        ]
        events[5 if batch == 0 else 5500] = (events[5 if batch == 0 else 5500][0], "needle")
        new_group.put(name, "s", events)
    first = logs.filter_log_events(logGroupName=name, filterPattern="needle")
    assert len(first["events"]) == 1 and "nextToken" in first
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=name, filterPattern="needle"
    )
    assert [e["timestamp"] for p in pages for e in p["events"]] == [
        now_ms - 20_000 + 5,
        now_ms - 20_000 + 11_500,
    ]


# -- retention ------------------------------------------------------------------------------------


def test_events_past_retention_disappear_from_reads(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    new_group.put(name, "s", [(now_ms - 2 * DAY, "two days old"), (now_ms - 2 * DAY + 1, "x")])
    new_group.put(name, "s", [(now_ms - HOUR, "recent")])
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    assert _messages(logs.get_log_events(logGroupName=name, logStreamName="s")) == ["recent"]
    assert _messages(logs.filter_log_events(logGroupName=name)) == ["recent"]
    (group,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert group["storedBytes"] == len("recent")


def test_retention_follows_the_clock(logs_clock, unique):
    logs, name = logs_clock.client, f"/clock/retention-{unique}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    logs.put_retention_policy(logGroupName=name, retentionInDays=3)
    now = logs_clock.now_ms()
    for timestamp, message in ((now - 2 * DAY, "older"), (now, "newer")):  # a batch spans <= 1 day
        event = {"timestamp": timestamp, "message": message}
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[event])
    logs_clock.advance("12h")
    assert _messages(logs.filter_log_events(logGroupName=name)) == ["older", "newer"]
    logs_clock.advance("12h")
    assert _messages(logs.filter_log_events(logGroupName=name)) == ["newer"]
    assert _messages(logs.get_log_events(logGroupName=name, logStreamName="s")) == ["newer"]


def test_an_event_leaves_reads_the_moment_it_passes_retention(logs_clock, unique):
    """Expired events are deleted lazily (at most once a minute per group); reads must not wait."""
    logs, name = logs_clock.client, f"/clock/edge-{unique}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    now = logs_clock.now_ms()
    event = {"timestamp": now - DAY + 20_000, "message": "nearly expired"}
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[event])
    assert _messages(logs.filter_log_events(logGroupName=name)) == ["nearly expired"]
    logs_clock.advance("30s")
    assert _messages(logs.filter_log_events(logGroupName=name)) == []
    assert _messages(logs.get_log_events(logGroupName=name, logStreamName="s")) == []


# -- Lambda's internal API ------------------------------------------------------------------------


def test_append_creates_group_and_stream_and_orders_events(logs, server, unique, now_ms):
    provider = server.app.provider("logs")
    group = f"/aws/lambda/fn-{unique}"
    stream = "2024/01/01/[$LATEST]0123456789abcdef"
    provider.append(
        "000000000000", "us-east-1", group, stream, [(now_ms, "END"), (now_ms - 1, "START")]
    )
    provider.append("000000000000", "us-east-1", group, stream, [(now_ms + 1, "REPORT")])
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert _messages(events) == ["START", "END", "REPORT"]
    (described,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert described["lastEventTimestamp"] == now_ms + 1
    with pytest.raises(ValueError):
        provider.append("000000000000", "us-east-1", "bad name!", stream, [(now_ms, "x")])
