"""Helpers of the SQS tests: queues with unique names, ARNs, waiting for conditions, moving time.

Tests that move the clock use `clock_server` (a server of their own, shared by the clock tests
of one worker), never the session server: a moved clock stays moved.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from helpers import error_of, http, wait_for  # noqa: F401 - shared with the tests here


def receive_all(
    sqs, url: str, expected: int, timeout: float = 10.0, **kwargs: Any
) -> list[dict[str, Any]]:
    """Receive until `expected` messages arrived (they stay in flight)."""
    got: list[dict[str, Any]] = []

    def more() -> bool:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs
        )
        got.extend(response.get("Messages", []))
        return len(got) >= expected

    wait_for(more, timeout)
    return got


def attributes_of(sqs, url: str, *names: str) -> dict[str, str]:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])[
        "Attributes"
    ]


def arn_of(sqs, url: str) -> str:
    return attributes_of(sqs, url, "QueueArn")["QueueArn"]


def redrive(dlq_arn: str, max_receives: int) -> str:
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})


class Queues:
    """Creates queues with unique names on one client."""

    def __init__(self, sqs) -> None:
        self.sqs = sqs

    def name(self, prefix: str = "q", fifo: bool = False) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")

    def __call__(self, prefix: str = "q", *, fifo: bool = False, **attributes: Any) -> str:
        attrs = {k: str(v) for k, v in attributes.items()}
        if fifo:
            attrs["FifoQueue"] = "true"
        return self.sqs.create_queue(QueueName=self.name(prefix, fifo), Attributes=attrs)[
            "QueueUrl"
        ]


@pytest.fixture
def new_queue(sqs) -> Queues:
    return Queues(sqs)


class ClockServer:
    """A server of the clock tests' own, and a way to move its clock forward."""

    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        self.endpoint = server.endpoint
        self._clients: dict[str, Any] = {}

    def client(self, service: str = "sqs"):
        if service not in self._clients:
            import boto3
            from botocore.config import Config as BotoConfig

            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=BotoConfig(retries={"max_attempts": 1}, read_timeout=65),
            )
        return self._clients[service]

    def advance(self, duration: str) -> None:
        status, _, body = http(
            "POST",
            self.endpoint + "/_cloudlet/clock",
            json.dumps({"advance": duration}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200, body


@pytest.fixture(scope="session")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    data_dir = tmp_path_factory.mktemp("sqs-clock")
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    ).start()
    yield ClockServer(server)
    server.stop()
