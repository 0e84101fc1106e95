"""StartSyncExecution and TestState with the host prefix SDKs add (`endpoint.hostPrefix` is
`sync-` for both in the model): a request that reaches cloudlet with `Host: sync-<endpoint host>`
is the Step Functions call it is, never an S3 virtual host, an API Gateway or a function URL."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from .conftest import ROLE

ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_the_model_prefixes_these_operations_with_sync():
    model = boto3.client("stepfunctions", region_name="us-east-1")._service_model
    prefixed = {
        name: model.operation_model(name).endpoint["hostPrefix"]
        for name in model.operation_names
        if (model.operation_model(name).endpoint or {}).get("hostPrefix")
    }
    assert prefixed == {"StartSyncExecution": "sync-", "TestState": "sync-"}


@pytest.fixture(scope="module")
def express(sfn) -> str:
    arn = sfn.create_state_machine(
        name=f"sync-{uuid.uuid4().hex[:8]}", definition=json.dumps(ECHO), roleArn=ROLE,
        type="EXPRESS",
    )["stateMachineArn"]  # fmt: skip
    yield arn
    sfn.delete_state_machine(stateMachineArn=arn)


def signed_call(endpoint: str, host: str, operation: str, body: dict) -> tuple[int, dict]:
    """A SigV4-signed JSON call (the signature covers `host`) sent to cloudlet's address with
    the given Host header, as a client that resolved the prefixed name would send it."""
    port = urlsplit(endpoint).port
    request = AWSRequest(
        method="POST",
        url=f"http://{host}/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
        },
    )
    SigV4Auth(Credentials("test", "test"), "states", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/", body=request.body, headers={**headers, "Host": host})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


@pytest.mark.parametrize(
    "name",
    [
        "sync-localhost",
        "sync-localhost.localstack.cloud",
        "sync-127.0.0.1",
        "sync-cloudlet.localhost",  # of an endpoint http://cloudlet.localhost:4566
        "sync-s3.localhost",  # shaped like a bucket's virtual host
    ],
)
def test_prefixed_hosts_reach_step_functions(endpoint, express, name):
    host = f"{name}:{urlsplit(endpoint).port}"
    status, out = signed_call(
        endpoint, host, "StartSyncExecution", {"stateMachineArn": express, "input": '{"a": 1}'}
    )
    assert status == 200, out
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"a": 1}
    status, out = signed_call(
        endpoint,
        host,
        "TestState",
        {"definition": json.dumps({"Type": "Pass", "End": True}), "roleArn": ROLE, "input": "{}"},
    )
    assert status == 200, out
    assert out["status"] == "SUCCEEDED"


def test_an_sdk_that_injects_the_prefix_works_where_the_prefixed_name_resolves(
    endpoint, express, monkeypatch
):
    """boto3 with its default `inject_host_prefix`: the call goes to `sync-localhost`, which a
    resolver (here a stand-in for an /etc/hosts line) maps to cloudlet's address."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return resolve("127.0.0.1" if host == "sync-localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    sent: list[str] = []
    client = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint.replace("127.0.0.1", "localhost"),
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    out = client.start_sync_execution(stateMachineArn=express, input='{"b": 2}')
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"b": 2}
    tested = client.test_state(
        definition=json.dumps({"Type": "Pass", "Result": 1, "End": True}), roleArn=ROLE
    )
    assert tested["status"] == "SUCCEEDED" and tested["output"] == "1"
    assert all(urlsplit(url).hostname == "sync-localhost" for url in sent), sent
