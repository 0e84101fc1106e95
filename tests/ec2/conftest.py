"""Helpers of the EC2 tests: launching tagged instances, waiting for states, reading events.

Instances of one test carry a unique `run` tag, so filters and listings of a test never see the
instances of another test sharing the session server. Tests that move the clock use a server of
their own (`clock_server`): a moved clock stays moved.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from helpers import error_of  # noqa: F401 - shared with the tests here

#: waiters poll fast: transitions take about a second here, not minutes
FAST = {"Delay": 0.2, "MaxAttempts": 60}
AMI = "ami-0abcdef1234567890"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)


def launch(ec2, run: str, count: int = 1, **kwargs: Any) -> list[str]:
    """Launch `count` instances tagged run=<run>; their ids."""
    tags = [{"Key": "run", "Value": run}, *kwargs.pop("Tags", [])]
    response = ec2.run_instances(
        ImageId=kwargs.pop("ImageId", AMI),
        InstanceType=kwargs.pop("InstanceType", "t3.micro"),
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        **kwargs,
    )
    return [i["InstanceId"] for i in response["Instances"]]


def instance(ec2, instance_id: str) -> dict[str, Any]:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def state(ec2, instance_id: str) -> str:
    return instance(ec2, instance_id)["State"]["Name"]


def states_of(events, instance_id: str) -> list[str]:
    """The states an instance entered, from the App's event hub, in emission order."""
    return [
        e["detail"]["state"]
        for e in events.recent(source="aws.ec2")
        if e["detail"]["instance-id"] == instance_id
    ]


@pytest.fixture
def ec2(aws_client):
    return aws_client("ec2")


@pytest.fixture
def events(server):
    return server.app.events


class ClockServer:
    """A server of the clock tests' own, and a way to move its clock forward."""

    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        self.endpoint = server.endpoint
        self.events = server.app.events
        import boto3

        self.ec2 = boto3.client(
            "ec2",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def advance(self, duration: str) -> None:
        request = urllib.request.Request(
            self.endpoint + "/_cloudlet/clock",
            data=json.dumps({"advance": duration}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
        except urllib.error.HTTPError as error:  # pragma: no cover - a failure explains itself
            raise AssertionError(error.read()) from error


@pytest.fixture(scope="session")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    data_dir = tmp_path_factory.mktemp("ec2-clock")
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    ).start()
    yield ClockServer(server)
    server.stop()
