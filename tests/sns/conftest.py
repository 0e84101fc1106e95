"""Helpers of the SNS tests: topics and queues with unique names, a real HTTP subscriber, signature
verification written from AWS's documentation, waiting for conditions, moving time.

Tests that move the clock use `clock_server` (a server of their own for this package), never the
session server: a moved clock stays moved.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from helpers import error_of, http, wait_for  # noqa: F401 - shared with the tests here


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 1}, read_timeout=65),
    )


class Cloud:
    """Clients of one server plus the resources SNS tests keep making."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.sns = client(endpoint, "sns")
        self.sqs = client(endpoint, "sqs")

    def topic(self, fifo: bool = False, **attributes: str) -> str:
        name = unique("topic") + (".fifo" if fifo else "")
        if fifo:
            attributes["FifoTopic"] = "true"
        return self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]

    def queue(self, fifo: bool = False, **attributes: str) -> tuple[str, str]:
        """(url, arn) of a new queue."""
        name = unique("queue") + (".fifo" if fifo else "")
        if fifo:
            attributes["FifoQueue"] = "true"
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def subscribed_queue(
        self, topic: str, fifo: bool = False, **attributes: str
    ) -> tuple[str, str]:
        """A new queue subscribed to `topic`: (queue url, subscription arn)."""
        url, arn = self.queue(fifo=fifo)
        sub = self.sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes
        )
        return url, sub["SubscriptionArn"]

    def receive(
        self, url: str, expected: int, timeout: float = 10.0, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Receive and delete until `expected` messages arrived."""
        got: list[dict[str, Any]] = []

        def more() -> bool:
            response = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs
            )
            for message in response.get("Messages", []):
                got.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(got) >= expected

        wait_for(more, timeout)
        return got

    def nothing_in_without_receiving(self, url: str) -> bool:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"

    def nothing_in(self, url: str) -> bool:
        response = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        return not response.get("Messages")

    def mail(self, to: str) -> list[dict[str, Any]]:
        status, _, body = http("GET", f"{self.endpoint}/_cloudlet/mail?to={to}")
        assert status == 200, body
        return json.loads(body)

    def sms(self, phone: str) -> list[dict[str, Any]]:
        status, _, body = http(
            "GET", f"{self.endpoint}/_cloudlet/sms?phone={urllib.request.quote(phone)}"
        )
        assert status == 200, body
        return json.loads(body)

    def advance(self, duration: str) -> None:
        status, _, body = http(
            "POST",
            self.endpoint + "/_cloudlet/clock",
            json.dumps({"advance": duration}).encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 200, body


@pytest.fixture(scope="session")
def cloud(endpoint: str) -> Cloud:
    return Cloud(endpoint)


@pytest.fixture(scope="session")
def clock_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A server of its own for tests that move the clock."""
    data_dir = tmp_path_factory.mktemp("sns-clock")
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    ).start()
    yield Cloud(server.endpoint)
    server.stop()


# -- a real HTTP subscriber -------------------------------------------------------------------------


class Received:
    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.headers.get("x-amz-sns-message-type", "")


class Endpoint:
    """An HTTP server on a free port that records every POST and answers `status` (or the next
    of `statuses` while there are some)."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with owner._lock:
                    owner.received.append(Received(self.path, dict(self.headers), body))
                    status = owner.statuses.pop(0) if owner.statuses else owner.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/sns"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def of_type(self, kind: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.type == kind]

    def wait(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        return wait_for(
            lambda: (found := self.of_type(kind)) and len(found) >= count and found, timeout
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint_server() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


# -- signatures, verified as AWS documents them ------------------------------------------------------

_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}


def verify_signature(message: dict[str, Any], cert_field: str = "SigningCertURL") -> None:
    """Verify an SNS message the way subscribers do: fetch the certificate from the message's URL,
    rebuild the string to sign, check the RSA signature (SHA1 for version 1, SHA256 for 2)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    status, _, pem = http("GET", message[cert_field])
    assert status == 200
    certificate = x509.load_pem_x509_certificate(pem)
    names = _SIGNED[message["Type"]]
    text = "".join(f"{n}\n{message[n]}\n" for n in names if message.get(n) is not None)
    digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    certificate.public_key().verify(
        base64.b64decode(message["Signature"]), text.encode(), padding.PKCS1v15(), digest
    )
