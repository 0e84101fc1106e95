"""Event buses, rules and targets: the control plane, with AWS's answers and errors."""

from __future__ import annotations

import json
import uuid

import pytest

from .conftest import Cloud, error_of


def name(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_default_bus_exists_and_custom_buses_come_and_go(events) -> None:
    default = events.describe_event_bus()
    assert default["Name"] == "default"
    assert default["Arn"] == "arn:aws:events:us-east-1:000000000000:event-bus/default"
    bus = name("bus")
    arn = events.create_event_bus(
        Name=bus, Description="orders", Tags=[{"Key": "k", "Value": "v"}]
    )["EventBusArn"]
    assert arn == f"arn:aws:events:us-east-1:000000000000:event-bus/{bus}"
    assert events.describe_event_bus(Name=arn)["Description"] == "orders"
    assert error_of(events.create_event_bus, Name=bus)["Code"] == "ResourceAlreadyExistsException"
    listed = events.list_event_buses(NamePrefix=bus)["EventBuses"]
    assert [b["Name"] for b in listed] == [bus]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    events.update_event_bus(Name=bus, Description="changed")
    assert events.describe_event_bus(Name=bus)["Description"] == "changed"
    events.delete_event_bus(Name=bus)
    missing = error_of(events.describe_event_bus, Name=bus)
    assert (missing["Code"], missing["Message"]) == (
        "ResourceNotFoundException",
        f"Event bus {bus} does not exist.",
    )
    assert error_of(events.delete_event_bus, Name="default")["Code"] == "ValidationException"


def test_bus_policy_from_put_permission(events) -> None:
    bus = name("bus")
    events.create_event_bus(Name=bus)
    events.put_permission(
        EventBusName=bus, Action="events:PutEvents", Principal="111122223333", StatementId="one"
    )
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "one",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "events:PutEvents",
            "Resource": f"arn:aws:events:us-east-1:000000000000:event-bus/{bus}",
        }
    ]
    missing = error_of(events.remove_permission, EventBusName=bus, StatementId="two")
    assert missing["Code"] == "ResourceNotFoundException"
    events.remove_permission(EventBusName=bus, StatementId="one")
    assert "Policy" not in events.describe_event_bus(Name=bus)


def test_rules_are_described_listed_enabled_and_deleted(events) -> None:
    prefix = name("list")
    pattern = json.dumps({"source": ["my.app"]})
    for n in range(3):
        arn = events.put_rule(Name=f"{prefix}-{n}", EventPattern=pattern, Description=f"n{n}")[
            "RuleArn"
        ]
        assert arn == f"arn:aws:events:us-east-1:000000000000:rule/{prefix}-{n}"
    described = events.describe_rule(Name=f"{prefix}-1")
    assert described["EventPattern"] == pattern
    assert (described["State"], described["EventBusName"]) == ("ENABLED", "default")
    assert described["CreatedBy"] == "000000000000"
    first = events.list_rules(NamePrefix=prefix, Limit=2)
    assert [r["Name"] for r in first["Rules"]] == [f"{prefix}-0", f"{prefix}-1"]
    rest = events.list_rules(NamePrefix=prefix, Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == [f"{prefix}-2"] and "NextToken" not in rest
    events.disable_rule(Name=f"{prefix}-0")
    assert events.describe_rule(Name=f"{prefix}-0")["State"] == "DISABLED"
    events.enable_rule(Name=f"{prefix}-0")
    assert events.describe_rule(Name=f"{prefix}-0")["State"] == "ENABLED"
    events.delete_rule(Name=f"{prefix}-0")
    missing = error_of(events.describe_rule, Name=f"{prefix}-0")
    assert missing["Message"] == f"Rule {prefix}-0 does not exist on EventBus default."
    events.delete_rule(Name=f"{prefix}-0")  # deleting again succeeds, as on AWS


def test_rules_on_a_custom_bus_have_its_name_in_their_arn(events) -> None:
    bus, rule = name("bus"), name()
    events.create_event_bus(Name=bus)
    arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern='{"source":["a"]}')["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:000000000000:rule/{bus}/{rule}"
    assert events.describe_rule(Name=rule, EventBusName=bus)["EventBusName"] == bus
    assert error_of(events.describe_rule, Name=rule)["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (
            '{"source":"x"}',
            'Event pattern is not valid. Reason: "source" must be an object or an array\n'
            ' at [Source: (String)"{"source":"x"}"; line: 1, column: 12]',
        ),
        (
            "{}",
            "Event pattern is not valid. Reason: Empty objects are not allowed\n"
            ' at [Source: (String)"{}"; line: 1, column: 3]',
        ),
    ],
)
def test_invalid_patterns_answer_the_engines_text(events, pattern: str, message: str) -> None:
    error = error_of(events.put_rule, Name=name(), EventPattern=pattern)
    assert (error["Code"], error["Message"], error["Status"]) == (
        "InvalidEventPatternException",
        message,
        400,
    )
    error = error_of(events.test_event_pattern, EventPattern=pattern, Event="{}")
    assert error["Code"] == "InvalidEventPatternException"


def test_put_rule_needs_a_pattern_or_a_valid_schedule(events) -> None:
    error = error_of(events.put_rule, Name=name())
    assert error["Message"] == "Parameter(s) EventPattern or ScheduleExpression must be specified."
    for bad in ("rate(1 minutes)", "rate(5 minute)", "cron(0 12 * * * *)", "cron(0 12 * *)"):
        error = error_of(events.put_rule, Name=name(), ScheduleExpression=bad)
        assert (error["Code"], error["Message"]) == (
            "ValidationException",
            "Parameter ScheduleExpression is not valid.",
        )
    events.put_rule(Name=name(), ScheduleExpression="cron(0 12 ? * MON-FRI *)", State="DISABLED")


def test_test_event_pattern(events) -> None:
    event = {
        "id": "1",
        "account": "123456789012",
        "source": "aws.ec2",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "detail-type": "EC2 Instance State-change Notification",
        "resources": [],
        "detail": {"state": "running", "size": 42},
    }
    pattern = {"source": ["aws.ec2"], "detail": {"size": [{"numeric": [">", 10]}]}}
    result = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))
    assert result["Result"] is True
    pattern["detail"]["state"] = [{"prefix": "stop"}]
    result = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))
    assert result["Result"] is False
    del event["id"]
    error = error_of(
        events.test_event_pattern, EventPattern='{"source":["a"]}', Event=json.dumps(event)
    )
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Parameter Event is not valid.",
    )


def test_targets_are_put_listed_and_removed(cloud: Cloud, events) -> None:
    rule = name()
    events.put_rule(Name=rule, EventPattern='{"source":["a"]}')
    _, arn = cloud.queue()
    answer = events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "one", "Arn": arn, "Input": '{"x": 1}'},
            {"Id": "two", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 3}},
        ],
    )
    assert answer["FailedEntryCount"] == 0
    listed = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert {t["Id"] for t in listed} == {"one", "two"}
    assert events.list_rule_names_by_target(TargetArn=arn)["RuleNames"] == [rule]
    error = error_of(events.delete_rule, Name=rule)
    assert error["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule=rule, Ids=["one", "two"])
    assert events.list_targets_by_rule(Rule=rule)["Targets"] == []
    events.delete_rule(Name=rule)


def test_target_limits_and_per_entry_failures(cloud: Cloud, events) -> None:
    rule = name()
    events.put_rule(Name=rule, EventPattern='{"source":["a"]}')
    _, fifo = cloud.queue(fifo=True)
    answer = events.put_targets(
        Rule=rule, Targets=[{"Id": "fifo", "Arn": fifo}, {"Id": "bad", "Arn": "nope"}]
    )
    assert answer["FailedEntryCount"] == 2
    assert answer["FailedEntries"][0] == {
        "TargetId": "fifo",
        "ErrorCode": "ValidationException",
        "ErrorMessage": "Parameter(s) SqsParameters must be specified for target: fifo.",
    }
    _, arn = cloud.queue()
    targets = [{"Id": f"t{n}", "Arn": arn} for n in range(6)]
    assert (
        error_of(events.put_targets, Rule=rule, Targets=targets)["Code"] == "LimitExceededException"
    )
    events.put_targets(Rule=rule, Targets=targets[:5])
    assert len(events.list_targets_by_rule(Rule=rule)["Targets"]) == 5
    error = error_of(
        events.put_targets,
        Rule=rule,
        Targets=[{"Id": "x", "Arn": arn, "Input": "{", "InputPath": "$"}],
    )
    assert error["Code"] == "ValidationException"


def test_rule_tags(events) -> None:
    rule = name()
    arn = events.put_rule(
        Name=rule, EventPattern='{"source":["a"]}', Tags=[{"Key": "a", "Value": "1"}]
    )["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}])
    tags = events.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_unimplemented_operations_answer_501(events) -> None:
    error = error_of(events.list_endpoints)
    assert error["Status"] == 501
