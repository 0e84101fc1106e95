"""Scheduled rules fire on cloudlet's clock, once per tick, and after a restart at most one
catch-up for the ticks missed while the server was down."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from cloudlet.core.store import open_store

from .conftest import Cloud


def scheduled_rule(cloud: Cloud, expression: str) -> tuple[str, str, str]:
    """A rule with a schedule and a queue target: (rule name, rule ARN, queue url)."""
    url, arn = cloud.queue("ticks")
    name = f"sched-{uuid.uuid4().hex[:8]}"
    rule_arn = cloud.events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    cloud.events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return name, rule_arn, url


def seconds(iso_time: str) -> float:
    return datetime.strptime(iso_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def test_rate_rule_fires_every_tick_as_the_clock_moves(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    before = cloud.now()
    name, rule_arn, url = scheduled_rule(cloud, "rate(5 minutes)")
    after = cloud.now()
    assert cloud.nothing(url)
    cloud.advance("5m")
    [event] = cloud.bodies(url)
    assert {k: event[k] for k in ("version", "detail-type", "source", "resources", "detail")} == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [rule_arn],
        "detail": {},
    }
    assert (event["account"], event["region"]) == ("000000000000", "us-east-1")
    assert int(before) + 300 <= seconds(event["time"]) <= after + 300
    cloud.advance("15m")  # three ticks fall due at once: each fires, in order
    times = [seconds(e["time"]) for e in cloud.bodies(url, 3)]
    first = seconds(event["time"])
    assert [round(t - first) for t in sorted(times)] == [300, 600, 900]
    cloud.events.disable_rule(Name=name)
    cloud.advance("10m")
    assert cloud.nothing(url)


def test_cron_rule_fires_at_its_minute_in_utc(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    due = (int(cloud.now()) // 60 + 3) * 60
    at = datetime.fromtimestamp(due, UTC)
    _, _, url = scheduled_rule(cloud, f"cron({at.minute} {at.hour} * * ? *)")
    cloud.advance(f"{due - cloud.now() - 30:.3f}s")
    assert cloud.nothing(url)
    cloud.advance("31s")
    [event] = cloud.bodies(url)
    assert event["time"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    cloud.advance("1h")
    assert cloud.nothing(url)


def test_ticks_missed_while_down_fire_once(cloudlet_process) -> None:
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    created = cloud.now()
    _, _, url = scheduled_rule(cloud, "rate(5 minutes)")
    cloudlet_process.stop()
    # an hour passes while the server is down: twelve ticks are missed
    store = open_store(str(cloudlet_process.data_dir))
    offset = (store.get("meta", "clock") or {}).get("offset", 0.0)
    store.put("meta", "clock", {"offset": offset + 3600})
    store.close()
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    [event] = cloud.bodies(url, timeout=15)
    assert abs(seconds(event["time"]) - (created + 3600)) <= 2  # the latest missed tick
    assert cloud.nothing(url, 2)
    cloud.advance("5m")  # and the schedule goes on from there
    [following] = cloud.bodies(url)
    assert round(seconds(following["time"]) - seconds(event["time"])) == 300


def test_scheduled_rules_feed_input_transformers(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    url, arn = cloud.queue("ticks")
    name = f"sched-{uuid.uuid4().hex[:8]}"
    cloud.events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    template = '{"rule": <aws.events.rule-name>, "kind": <type>}'
    transformer = {"InputPathsMap": {"type": "$.detail-type"}, "InputTemplate": template}
    cloud.events.put_targets(
        Rule=name, Targets=[{"Id": "q", "Arn": arn, "InputTransformer": transformer}]
    )
    started = time.monotonic()
    cloud.advance("1m")
    assert cloud.bodies(url) == [{"rule": name, "kind": "Scheduled Event"}]
    assert time.monotonic() - started < 10
    assert (
        json.dumps(cloud.events.describe_rule(Name=name)["ScheduleExpression"])
        == '"rate(1 minute)"'
    )
