"""Invoke: results, function errors, log tails, SDK calls from handlers back to cloudlet,
DryRun and Event invocations, throttling, payload checks."""

from __future__ import annotations

import base64
import json
import uuid

from .conftest import error_of, wait_for

RAISES = """
def handler(event, context):
    raise ValueError("bad input: " + str(event.get("x")))
"""

PRINTS = """
def handler(event, context):
    print("processing", event["n"])
    return {"n": event["n"] * 2}
"""

MAKES_QUEUE = """
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=event["queue"])["QueueUrl"]
    return {"url": url}
"""


def test_invoke_returns_the_handler_result(lam, create):
    out = create(Environment={"Variables": {"APP_COLOR": "blue"}})
    answer = lam.invoke(FunctionName=out["FunctionName"], Payload=json.dumps({"hello": "world"}))
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    result = json.loads(answer["Payload"].read())
    assert result["event"] == {"hello": "world"}
    assert result["request_id"] == answer["ResponseMetadata"]["RequestId"]
    assert result["version"] == "$LATEST"
    assert result["arn"] == out["FunctionArn"]
    assert result["env"] == {"APP_COLOR": "blue"}


def test_invoke_by_arn_and_qualified_names(lam, create):
    out = create()
    name, arn = out["FunctionName"], out["FunctionArn"]
    lam.publish_version(FunctionName=name)
    for ref, qualifier in (
        (arn, None),
        (f"000000000000:function:{name}", None),
        (f"{name}:1", None),
        (name, "1"),
    ):
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        answer = lam.invoke(FunctionName=ref, **kwargs)
        assert answer["StatusCode"] == 200
    result = json.loads(lam.invoke(FunctionName=f"{arn}:1")["Payload"].read())
    assert (result["version"], result["arn"]) == ("1", f"{arn}:1")
    error = error_of(lam.invoke, FunctionName=f"{name}:1", Qualifier="2")
    assert error["Code"] == "InvalidParameterValueException"
    error = error_of(lam.invoke, FunctionName=name, Qualifier="missing")
    assert error["Message"] == f"Function not found: {arn}:missing"


def test_function_error_is_reported(lam, create):
    name = create(code=RAISES)["FunctionName"]
    answer = lam.invoke(FunctionName=name, Payload=b'{"x": 7}')
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input: 7"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]


def test_log_tail(lam, create):
    name = create(code=PRINTS)["FunctionName"]
    answer = lam.invoke(FunctionName=name, Payload=b'{"n": 21}', LogType="Tail")
    assert json.loads(answer["Payload"].read()) == {"n": 42}
    log = base64.b64decode(answer["LogResult"]).decode()
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "processing 21" in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}" in log
    assert "LogResult" not in lam.invoke(FunctionName=name, Payload=b'{"n": 1}')


def test_handler_calls_back_into_cloudlet(lam, create, aws_client):
    name = create(code=MAKES_QUEUE, Timeout=30)["FunctionName"]
    queue = f"made-by-lambda-{uuid.uuid4().hex[:8]}"
    answer = lam.invoke(FunctionName=name, Payload=json.dumps({"queue": queue}))
    assert "FunctionError" not in answer, answer["Payload"].read()
    url = json.loads(answer["Payload"].read())["url"]
    assert aws_client("sqs").get_queue_url(QueueName=queue)["QueueUrl"].endswith(f"/{queue}")
    assert url.endswith(f"/000000000000/{queue}")


def test_event_invocation_runs_in_the_background(lam, create, aws_client):
    name = create(code=MAKES_QUEUE, Timeout=30)["FunctionName"]
    queue = f"made-async-{uuid.uuid4().hex[:8]}"
    answer = lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"queue": queue})
    )
    assert answer["StatusCode"] == 202
    assert answer["Payload"].read() == b""
    legacy = lam.invoke_async(FunctionName=name, InvokeArgs=json.dumps({"queue": queue + "-2"}))
    assert legacy["Status"] == 202
    sqs = aws_client("sqs")

    def made() -> bool:
        urls = sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls", [])
        return {u.rsplit("/", 1)[1] for u in urls} == {queue, queue + "-2"}

    wait_for(made, timeout=20)


def test_dry_run(lam, create, name):
    out = create()
    assert (
        lam.invoke(FunctionName=out["FunctionName"], InvocationType="DryRun")["StatusCode"] == 204
    )
    error = error_of(lam.invoke, FunctionName=name, InvocationType="DryRun")
    assert error["Code"] == "ResourceNotFoundException"


def test_reserved_concurrency_zero_throttles(lam, create):
    name = create()["FunctionName"]
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    error = error_of(lam.invoke, FunctionName=name)
    assert (error["Code"], error["Status"]) == ("TooManyRequestsException", 429)
    assert error["Message"] == "Rate Exceeded."
    assert error["Response"]["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert lam.invoke(FunctionName=name, InvocationType="Event")["StatusCode"] == 202
    lam.delete_function_concurrency(FunctionName=name)
    assert lam.invoke(FunctionName=name)["StatusCode"] == 200


def test_payload_checks(lam, create):
    name = create()["FunctionName"]
    error = error_of(lam.invoke, FunctionName=name, Payload=b"not json")
    assert (error["Code"], error["Status"]) == ("InvalidRequestContentException", 400)
    assert error["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json"
    )
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    error = error_of(lam.invoke, FunctionName=name, Payload=big)
    assert (error["Code"], error["Status"]) == ("RequestEntityTooLargeException", 413)
    assert (
        error["Message"]
        == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )
    error = error_of(
        lam.invoke,
        FunctionName=name,
        InvocationType="Event",
        Payload=b'"' + b"x" * (1024 * 1024) + b'"',
    )
    assert error["Status"] == 413 and "too large for the Event invocation type" in error["Message"]
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read())["event"] == {}


def test_updated_code_is_never_served_stale(lam, create):
    name = create(code="def handler(e, c):\n    return 1\n")["FunctionName"]
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"1"
    from .conftest import make_zip

    lam.update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    )
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"2"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"APP_X": "1"}})
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"2"


def test_nodejs_handler(lam, create):
    code = {"index.js": "exports.handler = async (event) => ({ doubled: event.n * 2 });\n"}
    name = create(code=code, Runtime="nodejs20.x", Handler="index.handler")["FunctionName"]
    answer = lam.invoke(FunctionName=name, Payload=b'{"n": 4}')
    assert json.loads(answer["Payload"].read()) == {"doubled": 8}
