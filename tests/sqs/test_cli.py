"""SQS through the real AWS CLI (the `awscli` package), as a shell script would use it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def aws(endpoint: str, tmp_path):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "awscli",
            "--endpoint-url",
            endpoint,
            "--output",
            "json",
            "sqs",
            *args,
        ]
        done = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        if ok:
            assert done.returncode == 0, done.stderr
        return done

    def call(*args: str) -> dict:
        out = run(*args).stdout
        return json.loads(out) if out.strip() else {}

    call.run = run  # type: ignore[attr-defined]
    return call


def test_queue_lifecycle_through_the_aws_cli(aws, unique):
    url = aws(
        "create-queue",
        "--queue-name",
        f"cli-{unique}",
        "--attributes",
        "VisibilityTimeout=45,DelaySeconds=0",
    )["QueueUrl"]
    assert url.endswith(f"/000000000000/cli-{unique}")
    assert aws("get-queue-url", "--queue-name", f"cli-{unique}")["QueueUrl"] == url

    attributes = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["MaximumMessageSize"] == "1048576"

    message_attributes = {"kind": {"DataType": "String", "StringValue": "greeting"}}
    sent = aws(
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        "hello",
        "--message-attributes",
        json.dumps(message_attributes),
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    assert "MD5OfMessageAttributes" in sent

    received = aws(
        "receive-message",
        "--queue-url",
        url,
        "--attribute-names",
        "All",
        "--message-attribute-names",
        "All",
        "--wait-time-seconds",
        "5",
    )
    [message] = received["Messages"]
    assert (message["MessageId"], message["Body"]) == (sent["MessageId"], "hello")
    assert message["MessageAttributes"] == message_attributes
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"

    aws("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    assert aws("receive-message", "--queue-url", url) == {}

    aws("delete-queue", "--queue-url", url)
    failed = aws.run("get-queue-url", "--queue-name", f"cli-{unique}", ok=False)
    assert failed.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in failed.stderr
    assert "The specified queue does not exist." in failed.stderr


def test_batches_and_fifo_through_the_aws_cli(aws, unique):
    url = aws(
        "create-queue",
        "--queue-name",
        f"cli-{unique}.fifo",
        "--attributes",
        "FifoQueue=true,ContentBasedDeduplication=true",
    )["QueueUrl"]
    entries = [{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(3)]
    sent = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries))
    assert sorted(e["Id"] for e in sent["Successful"]) == ["0", "1", "2"]
    received = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10")[
        "Messages"
    ]
    assert [m["Body"] for m in received] == ["m0", "m1", "m2"]

    error = aws.run("send-message", "--queue-url", url, "--message-body", "x", ok=False)
    assert error.returncode != 0
    assert "MissingParameter" in error.stderr and "MessageGroupId" in error.stderr
