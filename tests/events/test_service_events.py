"""AWS services' own events (core/events) reach the default bus: EC2 instance state changes."""

from __future__ import annotations

import json
import uuid

from .conftest import Cloud

STATE_CHANGES = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}


def launch(cloud: Cloud) -> str:
    return cloud.client("ec2").run_instances(
        ImageId="ami-0abcdef1234567890", InstanceType="t3.micro", MinCount=1, MaxCount=1
    )["Instances"][0]["InstanceId"]


def states(cloud: Cloud, url: str, instance_id: str, count: int) -> list[dict]:
    found: list[dict] = []
    while len(found) < count:
        found += [
            e for e in cloud.bodies(url, timeout=15) if e["detail"]["instance-id"] == instance_id
        ]
    return found


def test_instance_state_changes_reach_a_rule(cloud: Cloud) -> None:
    pattern = {**STATE_CHANGES, "detail": {"state": ["running"]}}
    rule, url = cloud.rule_to_queue(pattern)
    try:
        instance_id = launch(cloud)
        [event] = states(cloud, url, instance_id, 1)
        assert event["detail"] == {"instance-id": instance_id, "state": "running"}
        assert event["resources"] == [f"arn:aws:ec2:us-east-1:000000000000:instance/{instance_id}"]
        assert (event["source"], event["account"], event["region"]) == (
            "aws.ec2",
            "000000000000",
            "us-east-1",
        )
    finally:
        cloud.events.remove_targets(Rule=rule, Ids=["q"])
        cloud.events.delete_rule(Name=rule)


def test_rules_hear_service_events_right_after_a_restart(cloudlet_process) -> None:
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    url, arn = cloud.queue("ec2")
    name = f"ec2-{uuid.uuid4().hex[:8]}"
    cloud.events.put_rule(Name=name, EventPattern=json.dumps(STATE_CHANGES))
    cloud.events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    cloudlet_process.stop()
    cloudlet_process.start()  # no EventBridge call after this: the server loads it by itself
    cloud = Cloud(cloudlet_process.endpoint)
    instance_id = launch(cloud)
    found = states(cloud, url, instance_id, 2)
    assert [e["detail"]["state"] for e in found][:2] == ["pending", "running"]
