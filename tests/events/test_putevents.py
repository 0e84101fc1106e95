"""PutEvents: AWS's checks and answers, the event envelope, matching and routing between buses."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from .conftest import Cloud, error_of

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def source() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


def entry(src: str, detail: dict | None = None, **extra) -> dict:
    return {
        "Source": src,
        "DetailType": "thing happened",
        "Detail": json.dumps(detail or {}),
        **extra,
    }


def test_entries_are_checked_one_by_one(events) -> None:
    answer = events.put_events(
        Entries=[
            {"DetailType": "t", "Detail": "{}"},
            {"Source": "a", "Detail": "{}"},
            {"Source": "a", "DetailType": "t"},
            {"Source": "a", "DetailType": "t", "Detail": "{not json"},
            {"Source": "a", "DetailType": "t", "Detail": "[1, 2]"},
            {"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"},
            {"Source": "a", "DetailType": "t", "Detail": "{}"},
        ]
    )
    entries = answer["Entries"]
    assert answer["FailedEntryCount"] == 6
    assert entries[0] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
    assert entries[1]["ErrorMessage"] == (
        "Parameter DetailType is not valid. Reason: DetailType is a required argument."
    )
    assert entries[2]["ErrorMessage"] == (
        "Parameter Detail is not valid. Reason: Detail is a required argument."
    )
    assert entries[3] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert entries[4]["ErrorCode"] == "MalformedDetail"
    assert entries[5]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert set(entries[6]) == {"EventId"}


def test_request_size_and_entry_count_limits(events) -> None:
    big = json.dumps({"x": "y" * (130 * 1024)})
    error = error_of(events.put_events, Entries=[entry("a") | {"Detail": big}] * 2)
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Total size of the entries in the request is over the limit.",
    )
    assert events.put_events(Entries=[entry("a") | {"Detail": big}])["FailedEntryCount"] == 0
    error = error_of(events.put_events, Entries=[entry("a")] * 11)
    assert error["Code"] == "ValidationException"


def test_matching_events_reach_the_target_in_aws_envelope(cloud: Cloud, events) -> None:
    src = source()
    _, url = cloud.rule_to_queue({"source": [src], "detail": {"size": [{"numeric": [">", 10]}]}})
    when = dt.datetime(2024, 5, 1, 12, 30, 15, tzinfo=dt.UTC)
    answer = events.put_events(
        Entries=[
            entry(src, {"size": 5}),
            entry(src, {"size": 50}, Time=when, Resources=["arn:aws:s3:::bucket"]),
        ]
    )
    [event] = cloud.bodies(url)
    assert event == {
        "version": "0",
        "id": answer["Entries"][1]["EventId"],
        "detail-type": "thing happened",
        "source": src,
        "account": "000000000000",
        "time": "2024-05-01T12:30:15Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket"],
        "detail": {"size": 50},
    }
    assert cloud.nothing(url)


def test_event_time_defaults_to_now_to_the_second(cloud: Cloud, events) -> None:
    src = source()
    _, url = cloud.rule_to_queue({"source": [src]})
    events.put_events(Entries=[entry(src)])
    [event] = cloud.bodies(url)
    assert _TIME.match(event["time"])


def test_disabled_rules_do_not_deliver(cloud: Cloud, events) -> None:
    src = source()
    rule, url = cloud.rule_to_queue({"source": [src]})
    events.disable_rule(Name=rule)
    events.put_events(Entries=[entry(src)])
    assert cloud.nothing(url)
    events.enable_rule(Name=rule)
    events.put_events(Entries=[entry(src)])
    assert len(cloud.bodies(url)) == 1


def test_custom_bus_by_name_or_arn_and_unknown_buses(cloud: Cloud, events) -> None:
    bus, src = f"bus-{uuid.uuid4().hex[:8]}", source()
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    _, url = cloud.rule_to_queue({"source": [src]}, EventBusName=bus)
    events.put_events(
        Entries=[entry(src, {"n": 1}, EventBusName=bus), entry(src, {"n": 2}, EventBusName=arn)]
    )
    events.put_events(Entries=[entry(src, {"n": 3})])  # the default bus: no rule there
    assert sorted(e["detail"]["n"] for e in cloud.bodies(url, 2)) == [1, 2]
    # as AWS does, an event for a bus that does not exist is accepted and goes nowhere
    answer = events.put_events(Entries=[entry(src, EventBusName="no-such-bus")])
    assert answer["FailedEntryCount"] == 0 and "EventId" in answer["Entries"][0]
    assert cloud.nothing(url)


def test_fifo_queue_target_with_message_group(cloud: Cloud, events) -> None:
    src = source()
    url, arn = cloud.queue(fifo=True)
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    events.put_targets(
        Rule=rule, Targets=[{"Id": "f", "Arn": arn, "SqsParameters": {"MessageGroupId": "g1"}}]
    )
    events.put_events(Entries=[entry(src, {"n": n}) for n in range(3)])
    messages = cloud.messages(url, 3, AttributeNames=["MessageGroupId"])
    assert [json.loads(m["Body"])["detail"]["n"] for m in messages] == [0, 1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"g1"}


def test_event_bus_targets_in_this_and_another_account(cloud: Cloud, events) -> None:
    src = source()
    bus = f"bus-{uuid.uuid4().hex[:8]}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    _, url = cloud.rule_to_queue({"source": [src]}, EventBusName=bus)
    forward = f"fwd-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=forward, EventPattern=json.dumps({"source": [src]}))
    events.put_targets(Rule=forward, Targets=[{"Id": "bus", "Arn": bus_arn}])
    sent = events.put_events(Entries=[entry(src, {"hop": 1})])["Entries"][0]["EventId"]
    [event] = cloud.bodies(url)
    assert (event["id"], event["detail"]) == (sent, {"hop": 1})
    # another account's bus (cross-account delivery, as with a bus policy on AWS)
    other = cloud.client("events", account="111111111111")
    other_sqs = cloud.client("sqs", account="111111111111")
    other_bus = f"bus-{uuid.uuid4().hex[:8]}"
    other_arn = other.create_event_bus(Name=other_bus)["EventBusArn"]
    queue_url = other_sqs.create_queue(QueueName=f"x-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = other_sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    other.put_rule(Name="in", EventBusName=other_bus, EventPattern=json.dumps({"source": [src]}))
    other.put_targets(Rule="in", EventBusName=other_bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    events.put_targets(Rule=forward, Targets=[{"Id": "other", "Arn": other_arn}])
    events.put_events(Entries=[entry(src, {"hop": 2})])
    received = other_sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)["Messages"]
    assert json.loads(received[0]["Body"])["account"] == "000000000000"
