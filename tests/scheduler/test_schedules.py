"""Schedule groups and schedules: the control plane, with AWS's answers and errors."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from .conftest import ROLE, Cloud, error_of

OFF = {"Mode": "OFF"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def target(cloud: Cloud) -> dict:
    _, arn = cloud.queue("sched")
    return {"Arn": arn, "RoleArn": ROLE, "Input": "{}"}


def test_groups(scheduler) -> None:
    default = scheduler.get_schedule_group(Name="default")
    assert default["Arn"] == "arn:aws:scheduler:us-east-1:000000000000:schedule-group/default"
    assert default["State"] == "ACTIVE"
    name = unique("group")
    arn = scheduler.create_schedule_group(Name=name, Tags=[{"Key": "team", "Value": "a"}])[
        "ScheduleGroupArn"
    ]
    assert arn == f"arn:aws:scheduler:us-east-1:000000000000:schedule-group/{name}"
    assert error_of(scheduler.create_schedule_group, Name=name)["Code"] == "ConflictException"
    names = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "default" in names and name in names
    assert [
        g["Name"] for g in scheduler.list_schedule_groups(NamePrefix=name)["ScheduleGroups"]
    ] == [name]
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    tags = scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "a")]
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]
    scheduler.delete_schedule_group(Name=name)
    missing = error_of(scheduler.get_schedule_group, Name=name)
    assert (missing["Code"], missing["Status"]) == ("ResourceNotFoundException", 404)
    assert (
        error_of(scheduler.delete_schedule_group, Name="default")["Code"] == "ValidationException"
    )


def test_schedules_are_created_read_listed_updated_deleted(cloud: Cloud, scheduler) -> None:
    group = unique("group")
    scheduler.create_schedule_group(Name=group)
    name = unique("sched")
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    arn = scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression="cron(0 9 ? * MON-FRI *)",
        ScheduleExpressionTimezone="Europe/Paris",
        StartDate=start,
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target=target(cloud),
        Description="weekday mornings",
    )["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:us-east-1:000000000000:schedule/{group}/{name}"
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert got["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert got["StartDate"] == start
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert (got["State"], got["ActionAfterCompletion"], got["GroupName"]) == (
        "ENABLED",
        "NONE",
        group,
    )
    conflict = error_of(
        scheduler.create_schedule,
        Name=name,
        GroupName=group,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow=OFF,
        Target=target(cloud),
    )
    assert conflict["Code"] == "ConflictException"
    scheduler.update_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow=OFF,
        Target=target(cloud),
        State="DISABLED",
    )
    listed = scheduler.list_schedules(GroupName=group)["Schedules"]
    assert [(s["Name"], s["State"]) for s in listed] == [(name, "DISABLED")]
    assert scheduler.list_schedules(GroupName=group, State="ENABLED")["Schedules"] == []
    assert [s["Name"] for s in scheduler.list_schedules(NamePrefix=name)["Schedules"]] == [name]
    scheduler.delete_schedule(Name=name, GroupName=group)
    assert (
        error_of(scheduler.get_schedule, Name=name, GroupName=group)["Code"]
        == "ResourceNotFoundException"
    )


@pytest.mark.parametrize(
    "expression", ["rate(1 minutes)", "cron(0 9 * * * *)", "at(2030-13-01T00:00:00)", "every day"]
)
def test_invalid_expressions(cloud: Cloud, scheduler, expression: str) -> None:
    error = error_of(
        scheduler.create_schedule,
        Name=unique("bad"),
        ScheduleExpression=expression,
        FlexibleTimeWindow=OFF,
        Target=target(cloud),
    )
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        f"Invalid Schedule Expression {expression}.",
    )


def test_other_checks(cloud: Cloud, scheduler) -> None:
    base = {"Name": unique("bad"), "ScheduleExpression": "rate(1 hour)", "Target": target(cloud)}
    error = error_of(scheduler.create_schedule, FlexibleTimeWindow={"Mode": "FLEXIBLE"}, **base)
    assert error["Code"] == "ValidationException"
    error = error_of(scheduler.create_schedule, FlexibleTimeWindow=OFF, GroupName="nope", **base)
    assert error["Code"] == "ResourceNotFoundException"
    error = error_of(
        scheduler.create_schedule,
        FlexibleTimeWindow=OFF,
        ScheduleExpressionTimezone="Nowhere/X",
        **{k: v for k, v in base.items()},
    )
    assert error["Code"] == "ValidationException"
