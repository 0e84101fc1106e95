"""Schedules really fire, on cloudlet's clock: one-time, rate and cron (in a time zone), to SQS,
EventBridge and universal targets, with dead-letter queues and ActionAfterCompletion."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .conftest import ROLE, Cloud, error_of

OFF = {"Mode": "OFF"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def server_now(cloud: Cloud) -> datetime:
    return datetime.fromtimestamp(cloud.now(), UTC)


def at_expression(when: datetime) -> str:
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_one_time_schedule_fires_once_then_deletes_itself(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("once")
    when = (server_now(cloud) + timedelta(minutes=2)).replace(microsecond=0)
    name = unique("once")
    schedule_arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(when),
        FlexibleTimeWindow=OFF,
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": arn,
            "RoleArn": ROLE,
            "Input": '{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>"}',
        },
    )["ScheduleArn"]
    assert cloud.nothing(url)
    cloud.advance("3m")
    assert cloud.bodies(url) == [{"arn": schedule_arn, "at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}]
    assert error_of(scheduler.get_schedule, Name=name)["Code"] == "ResourceNotFoundException"
    cloud.advance("10m")
    assert cloud.nothing(url)


def test_rate_schedule_and_its_end_date(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("rate")
    name = unique("rate")
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(5 minutes)",
        EndDate=server_now(cloud) + timedelta(minutes=12),
        FlexibleTimeWindow=OFF,
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '"tick"'},
    )
    cloud.advance("30m")
    assert [m["Body"] for m in cloud.messages(url, 2)] == ['"tick"', '"tick"']
    assert cloud.nothing(url)
    assert error_of(scheduler.get_schedule, Name=name)["Code"] == "ResourceNotFoundException"


def test_cron_in_a_time_zone(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("cron")
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30 all year
    local = (server_now(cloud).astimezone(kolkata) + timedelta(minutes=3)).replace(
        second=0, microsecond=0
    )
    scheduler.create_schedule(
        Name=unique("cron"),
        ScheduleExpression=f"cron({local.minute} {local.hour} * * ? *)",
        ScheduleExpressionTimezone="Asia/Kolkata",
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '"<aws.scheduler.scheduled-time>"'},
    )
    cloud.advance("4m")
    [fired] = cloud.bodies(url)
    assert fired == local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_universal_target_calls_the_service(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, _ = cloud.queue("universal")
    scheduler.create_schedule(
        Name=unique("sdk"),
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
            "RoleArn": ROLE,
            "Input": json.dumps({"QueueUrl": url, "MessageBody": "from the scheduler"}),
        },
        State="ENABLED",
    )
    cloud.advance("1m")
    assert cloud.messages(url)[0]["Body"] == "from the scheduler"


def test_failed_universal_target_reaches_the_dead_letter_queue(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    dlq, dlq_arn = cloud.queue("dlq")
    name = unique("broken")
    missing = cloud.endpoint + "/000000000000/no-such-queue"
    schedule_arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression=at_expression(server_now(cloud) + timedelta(minutes=1)),
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage",
            "RoleArn": ROLE,
            "Input": json.dumps({"QueueUrl": missing, "MessageBody": "x"}),
            "DeadLetterConfig": {"Arn": dlq_arn},
            "RetryPolicy": {"MaximumRetryAttempts": 0},
        },
    )["ScheduleArn"]
    cloud.advance("2m")
    [message] = cloud.messages(dlq, MessageAttributeNames=["All"])
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["SCHEDULE_ARN"] == schedule_arn
    assert attributes["TARGET_ARN"] == "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
    assert attributes["ERROR_CODE"] == "QueueDoesNotExist"
    assert {"ERROR_MESSAGE", "EXECUTION_ID", "SCHEDULED_TIME"} <= set(attributes)


def test_eventbridge_target_puts_an_event(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    bus = unique("bus")
    bus_arn = cloud.events.create_event_bus(Name=bus)["EventBusArn"]
    _, url = cloud.rule_to_queue({"source": ["my.scheduler"]}, EventBusName=bus)
    schedule_arn = scheduler.create_schedule(
        Name=unique("bus"),
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        Target={
            "Arn": bus_arn,
            "RoleArn": ROLE,
            "Input": '{"job": "nightly"}',
            "EventBridgeParameters": {"Source": "my.scheduler", "DetailType": "Job due"},
        },
    )["ScheduleArn"]
    cloud.advance("1m")
    [event] = cloud.bodies(url)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "my.scheduler",
        "Job due",
        {"job": "nightly"},
    )
    assert event["resources"] == [schedule_arn]


def test_fifo_queue_target_and_flexible_window(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("fifo", fifo=True, ContentBasedDeduplication="true")
    scheduler.create_schedule(
        Name=unique("flex"),
        ScheduleExpression=at_expression(server_now(cloud) + timedelta(minutes=1)),
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target={
            "Arn": arn,
            "RoleArn": ROLE,
            "Input": '"flex"',
            "SqsParameters": {"MessageGroupId": "g"},
        },
    )
    cloud.advance("12m")  # somewhere within its ten-minute window
    [message] = cloud.messages(url, AttributeNames=["MessageGroupId"])
    assert (message["Body"], message["Attributes"]["MessageGroupId"]) == ('"flex"', "g")


def test_disabled_schedules_do_not_fire(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("off")
    scheduler.create_schedule(
        Name=unique("off"),
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow=OFF,
        State="DISABLED",
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    cloud.advance("3m")
    assert cloud.nothing(url)


def test_rate_schedule_starts_at_its_start_date(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    scheduler = cloud.client("scheduler")
    url, arn = cloud.queue("start")
    start = (server_now(cloud) + timedelta(minutes=2)).replace(microsecond=0)
    scheduler.create_schedule(
        Name=unique("start"),
        ScheduleExpression="rate(1 hour)",
        StartDate=start,
        FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '"<aws.scheduler.scheduled-time>"'},
    )
    cloud.advance("1m")
    assert cloud.nothing(url)
    cloud.advance("2m")
    assert cloud.bodies(url) == [start.strftime("%Y-%m-%dT%H:%M:%SZ")]
