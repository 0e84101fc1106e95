"""Archives keep a bus's matching events; replays send them through the bus's rules again."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from .conftest import Cloud, error_of, wait_for


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_archive_and_replay(cloud: Cloud) -> None:
    events = cloud.events
    bus = unique("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    src = f"test.{uuid.uuid4().hex[:8]}"
    archive = unique("arch")
    created = events.create_archive(
        ArchiveName=archive,
        EventSourceArn=bus_arn,
        EventPattern=json.dumps({"detail": {"keep": [True]}}),
        RetentionDays=7,
    )
    assert created["State"] == "ENABLED"
    assert created["ArchiveArn"] == f"arn:aws:events:us-east-1:000000000000:archive/{archive}"
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    entries = [
        {
            "Source": src,
            "DetailType": "t",
            "Detail": json.dumps({"keep": keep, "n": n}),
            "EventBusName": bus,
        }
        for n, keep in enumerate([True, False, True])
    ]
    events.put_events(Entries=entries)
    described = events.describe_archive(ArchiveName=archive)
    assert (described["EventCount"], described["RetentionDays"]) == (2, 7)
    assert described["SizeBytes"] > 0
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix=archive)["Archives"]] == [
        archive
    ]

    # a rule created after the events were sent receives them when they are replayed
    rule, url = cloud.rule_to_queue({"source": [src]}, EventBusName=bus)
    rule_arn = events.describe_rule(Name=rule, EventBusName=bus)["Arn"]
    replay = unique("replay")
    end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    started = events.start_replay(
        ReplayName=replay,
        EventSourceArn=created["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    assert started["State"] in ("STARTING", "RUNNING", "COMPLETED")
    replayed = cloud.bodies(url, 2)
    assert sorted(e["detail"]["n"] for e in replayed) == [0, 2]
    assert {e["replay-name"] for e in replayed} == {replay}
    done = wait_for(
        lambda: (d := events.describe_replay(ReplayName=replay))["State"] == "COMPLETED" and d
    )
    assert done["EventLastReplayedTime"] >= start
    assert done["Destination"] == {"Arn": bus_arn, "FilterArns": [rule_arn]}
    assert [r["ReplayName"] for r in events.list_replays(NamePrefix=replay)["Replays"]] == [replay]
    # replayed events are not archived again
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 2
    events.update_archive(ArchiveName=archive, Description="kept", RetentionDays=30)
    updated = events.describe_archive(ArchiveName=archive)
    assert (updated["Description"], updated["RetentionDays"]) == ("kept", 30)
    error = error_of(events.cancel_replay, ReplayName=replay)
    assert error["Code"] == "IllegalStatusException"
    events.delete_archive(ArchiveName=archive)
    assert (
        error_of(events.describe_archive, ArchiveName=archive)["Code"]
        == "ResourceNotFoundException"
    )


def test_replay_checks(cloud: Cloud) -> None:
    events = cloud.events
    bus_arn = events.create_event_bus(Name=unique("bus"))["EventBusArn"]
    archive = events.create_archive(ArchiveName=unique("arch"), EventSourceArn=bus_arn)[
        "ArchiveArn"
    ]
    now = dt.datetime.now(dt.UTC)
    error = error_of(
        events.start_replay,
        ReplayName=unique("r"),
        EventSourceArn=archive,
        EventStartTime=now,
        EventEndTime=now - dt.timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )
    assert error["Code"] == "ValidationException"
    error = error_of(
        events.start_replay,
        ReplayName=unique("r"),
        EventSourceArn=archive,
        EventStartTime=now - dt.timedelta(minutes=1),
        EventEndTime=now,
        Destination={"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/default"},
    )
    assert "Cross event bus replay is not permitted." in error["Message"]
    error = error_of(
        events.create_archive, ArchiveName=unique("a"), EventSourceArn=bus_arn, EventPattern="{}"
    )
    assert error["Code"] == "InvalidEventPatternException"
