"""Asynchronous invocation: retries on cloudlet's clock, destinations, dead-letter queues, and
events that survive a restart."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer

from .conftest import ROLE, RUNTIME, make_zip, wait_for

FAILS = """
def handler(event, context):
    raise ValueError("boom: " + str(event.get("n")))
"""

SLEEPS = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"done": event}
"""

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Cloud:
    """boto3 clients of one server, and the helpers these tests share."""

    def __init__(self, endpoint: str, app: App | None = None) -> None:
        self.endpoint = endpoint
        self.app = app
        config = BotoConfig(retries={"max_attempts": 1}, read_timeout=30)
        session = boto3.session.Session()
        self.clients = {
            service: session.client(
                service,
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=config,
            )
            for service in ("lambda", "sqs")
        }
        self.lam, self.sqs = self.clients["lambda"], self.clients["sqs"]

    def function(self, code: str, **kwargs: Any) -> str:
        name = f"fn-{uuid.uuid4().hex[:10]}"
        kwargs.setdefault("Timeout", 10)
        self.lam.create_function(
            FunctionName=name,
            Runtime=RUNTIME,
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": make_zip({"app.py": code})},
            **kwargs,
        )
        return name

    def queue(self, prefix: str = "dest") -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def record(self, url: str, timeout: float = 20) -> dict[str, Any]:
        """The next message of a queue (its body parsed), waiting up to `timeout` seconds."""
        message = self.message(url, timeout)
        return json.loads(message["Body"])

    def message(self, url: str, timeout: float = 20) -> dict[str, Any]:
        def received() -> list[dict[str, Any]]:
            return self.sqs.receive_message(
                QueueUrl=url, WaitTimeSeconds=2, MessageAttributeNames=["All"]
            ).get("Messages", [])

        return wait_for(received, timeout=timeout)[0]

    def advance(self, duration: str) -> None:
        request = urllib.request.Request(
            self.endpoint + "/_cloudlet/clock",
            data=json.dumps({"advance": duration}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


@pytest.fixture
def cloud(endpoint: str) -> Cloud:
    """The shared session server (no clock moves here)."""
    return Cloud(endpoint)


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Cloud]:
    """A server of this test's own, whose clock the test may move."""
    server = BackgroundServer(App(Config(port=0, data_dir=str(tmp_path / "data")))).start()
    yield Cloud(server.endpoint, server.app)
    server.stop()


def test_success_record_reaches_the_on_success_queue(cloud: Cloud):
    name = cloud.function("def handler(event, context):\n    return {'got': event}\n")
    url, arn = cloud.queue()
    cloud.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    answer = cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 202
    record = cloud.record(url)
    assert record["version"] == "1.0"
    assert _TIMESTAMP.match(record["timestamp"])
    assert record["requestContext"] == {
        "requestId": answer["ResponseMetadata"]["RequestId"],
        "functionArn": f"arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"got": {"n": 1}}


def test_no_retries_sends_the_first_failure_on(cloud: Cloud):
    name = cloud.function(FAILS)
    url, arn = cloud.queue()
    cloud.lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 7}')
    record = cloud.record(url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "boom: 7"


def test_dead_letter_queue_gets_the_event_with_lambdas_attributes(cloud: Cloud):
    url, arn = cloud.queue("dlq")
    name = cloud.function(FAILS, DeadLetterConfig={"TargetArn": arn})
    cloud.lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    answer = cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 3}')
    message = cloud.message(url)
    assert json.loads(message["Body"]) == {"n": 3}
    assert message["MessageAttributes"] == {
        "RequestID": {
            "StringValue": answer["ResponseMetadata"]["RequestId"],
            "DataType": "String",
        },
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": "boom: 3", "DataType": "String"},
    }


def test_a_function_destination_is_invoked_with_the_record(cloud: Cloud):
    url, arn = cloud.queue()
    second = cloud.function("def handler(event, context):\n    return event\n")
    cloud.lam.put_function_event_invoke_config(
        FunctionName=second, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    second_arn = cloud.lam.get_function(FunctionName=second)["Configuration"]["FunctionArn"]
    first = cloud.function("def handler(event, context):\n    return 'first'\n")
    cloud.lam.put_function_event_invoke_config(
        FunctionName=first, DestinationConfig={"OnSuccess": {"Destination": second_arn}}
    )
    cloud.lam.invoke(FunctionName=first, InvocationType="Event", Payload=b'{"chain": 1}')
    outer = cloud.record(url)  # the record of `second`, whose payload was the record of `first`
    inner = outer["requestPayload"]
    assert inner["requestPayload"] == {"chain": 1}
    assert inner["responsePayload"] == "first"
    assert inner["requestContext"]["functionArn"].endswith(f":function:{first}:$LATEST")


def _due_in(cloud: Cloud, name: str) -> float:
    """Seconds until the function's pending event is due (it waits for a retry)."""
    app = cloud.app
    assert app is not None
    queue = f"lambda-async/000000000000/us-east-1/{name}"

    def scheduled() -> int | None:
        counts = app.queues.counts(queue)
        return (
            counts.delayed == 1
            and not counts.in_flight
            and app.store.next_visible_at(queue, app.clock.now_ms())
        )

    due = wait_for(scheduled, timeout=20)
    return (due - app.clock.now_ms()) / 1000


def test_function_errors_retry_after_one_then_two_minutes(own: Cloud):
    name = own.function(FAILS)
    url, arn = own.queue()
    own.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    own.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    assert 58 <= _due_in(own, name) <= 60
    own.advance("60s")
    assert 118 <= _due_in(own, name) <= 120
    own.advance("2m")
    record = own.record(url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorMessage"] == "boom: 1"


def test_an_event_older_than_its_maximum_age_goes_to_on_failure(own: Cloud):
    name = own.function(FAILS)
    url, arn = own.queue()
    own.lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    own.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')
    assert _due_in(own, name) <= 60
    own.advance("2m")
    record = own.record(url)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_a_throttled_event_backs_off_and_runs_later(own: Cloud):
    name = own.function(SLEEPS)
    url, arn = own.queue()
    own.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    own.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(1) as pool:  # a synchronous call holds the only execution
        busy = pool.submit(own.lam.invoke, FunctionName=name, Payload=b'{"sleep": 2}')
        wait_for(lambda: own.app.runtime.concurrent_executions(_arn(name)) == 1, timeout=20)
        own.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
        assert _due_in(own, name) <= 1  # throttled: back in the queue, due after 1 s
        assert busy.result()["StatusCode"] == 200
    record = own.record(url)
    assert record["requestPayload"] == {"n": 1}
    assert record["requestContext"]["approximateInvokeCount"] == 1


def _arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"


def test_pending_events_run_after_a_crash(cloudlet_process):
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    url, arn = cloud.queue()
    name = cloud.function(SLEEPS)
    cloud.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    cloud.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    running = cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"sleep": 2}')
    waiting = cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 2}')
    logs = boto3.client(
        "logs",
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def started() -> bool:  # the first event is inside the function when the server dies
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        return any(e["message"].startswith("START") for e in events)

    wait_for(started, timeout=20)
    cloudlet_process.kill()
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    cloud.advance("2m")  # the lease of the interrupted attempt runs out
    ids = {cloud.record(url)["requestContext"]["requestId"] for _ in range(2)}
    assert ids == {
        running["ResponseMetadata"]["RequestId"],
        waiting["ResponseMetadata"]["RequestId"],
    }
