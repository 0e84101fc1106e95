"""The automated EC2 control demo, end to end: the schedule stops both instances, the rule on
instance 1 'stopped' starts it again, and the function logs tell the story."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import boto3
import orjson
import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from conftest import http

EXAMPLE = Path(__file__).parents[2] / "examples" / "ec2-control" / "deploy.py"


@pytest.fixture
def own_server(tmp_path, monkeypatch):
    """A server of its own: the test moves its clock a day forward."""
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(tmp_path), log_level="warning"))
    ).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    yield server
    server.stop()


def states(ec2, ids):
    reply = ec2.describe_instances(InstanceIds=ids)
    return {
        i["InstanceId"]: i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]
    }


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def log_messages(logs, group):
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events]


def test_schedule_stops_both_and_the_protected_instance_comes_back(own_server):
    spec = importlib.util.spec_from_file_location("deploy", EXAMPLE)
    deploy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy)
    deployed = deploy.deploy()
    first, second = deployed["instance1"], deployed["instance2"]
    ec2 = boto3.client("ec2", region_name="us-east-1")
    logs = boto3.client("logs", region_name="us-east-1")
    assert states(ec2, [first, second]) == {first: "running", second: "running"}

    # Move to the next 18:00 UTC: the daily schedule fires EC2Stop.
    http("POST", own_server.endpoint + "/_cloudlet/clock", orjson.dumps({"advance": "1d"}))

    wait_for(lambda: states(ec2, [second])[second] == "stopped", what="instance 2 stopped")
    wait_for(
        lambda: any(
            "Protected instance started: " + first in m
            for m in log_messages(logs, "/aws/lambda/EC2Protect")
        ),
        what="EC2Protect to run",
    )
    wait_for(lambda: states(ec2, [first])[first] == "running", what="instance 1 running again")
    assert states(ec2, [second])[second] == "stopped"
    stop_log = log_messages(logs, "/aws/lambda/EC2Stop")
    assert any("Stopped your instances" in m and first in m and second in m for m in stop_log)
    protect_log = log_messages(logs, "/aws/lambda/EC2Protect")
    assert any('"state": "stopped"' in m for m in protect_log)
