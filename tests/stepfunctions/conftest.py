"""Helpers of the Step Functions tests: machines with unique names, waiting for executions,
Lambda functions from source, and a server of their own for tests that move the clock (a
moved clock stays moved, so the session server's is never touched)."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer

ROLE = "arn:aws:iam::000000000000:role/sfn-role"


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def finished(sfn, execution_arn: str, timeout: float = 15.0) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING."""

    def done():
        described = sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None

    return wait_for(done, timeout)


def events_of(sfn, execution_arn: str) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def types_of(sfn, execution_arn: str) -> list[str]:
    return [event["type"] for event in events_of(sfn, execution_arn)]


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def make_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 1}, read_timeout=70, inject_host_prefix=False),
    )


@pytest.fixture(scope="session")
def sfn(endpoint):
    return client(endpoint, "stepfunctions")


@pytest.fixture
def machine(sfn) -> Iterator[Callable[..., str]]:
    """Create state machines with unique names (a definition dict or text); deleted afterwards."""
    made: list[str] = []

    def create(definition: dict[str, Any] | str, **kwargs: Any) -> str:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        kwargs.setdefault("name", f"sm-{uuid.uuid4().hex[:10]}")
        kwargs.setdefault("roleArn", ROLE)
        arn = sfn.create_state_machine(definition=text, **kwargs)["stateMachineArn"]
        made.append(arn)
        return arn

    yield create
    for arn in made:
        with contextlib.suppress(ClientError):
            sfn.delete_state_machine(stateMachineArn=arn)


@pytest.fixture
def run(sfn, machine) -> Callable[..., dict[str, Any]]:
    """Create a machine, run it with an input, and return the finished execution."""

    def execute(definition: dict[str, Any], data: Any = None, **kwargs: Any) -> dict[str, Any]:
        arn = machine(definition, **kwargs)
        started = sfn.start_execution(
            stateMachineArn=arn, input=json.dumps({} if data is None else data)
        )
        return finished(sfn, started["executionArn"])

    return execute


@pytest.fixture
def function(aws_client) -> Iterator[Callable[..., str]]:
    """Python Lambda functions from source; returns the function ARN."""
    lam = aws_client("lambda")
    made: list[str] = []

    def create(source: str, **kwargs: Any) -> str:
        name = f"fn-{uuid.uuid4().hex[:10]}"
        out = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Handler="app.handler",
            Role="arn:aws:iam::000000000000:role/lambda-role",
            Code={"ZipFile": make_zip(source)},
            **kwargs,
        )
        made.append(name)
        return out["FunctionArn"]

    yield create
    for name in made:
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=name)


@pytest.fixture
def own_server(tmp_path) -> Iterator[BackgroundServer]:
    """A server of this test's own: its clock may be moved."""
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(tmp_path / "data"), log_level="warning"))
    ).start()
    yield server
    server.stop()


def advance(endpoint: str, seconds: float) -> None:
    import urllib.request

    request = urllib.request.Request(
        endpoint + "/_cloudlet/clock",
        data=json.dumps({"advance": f"{int(seconds)}s"}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
