"""Helpers of the EventBridge tests: clients, queues with unique names, waiting for messages, and
servers of the tests' own whose clock may be moved (the shared session server's never is)."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from helpers import error_of  # noqa: F401 - shared with the tests here

ROLE = "arn:aws:iam::000000000000:role/events-role"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class Cloud:
    """boto3 clients of one server, and the helpers the tests share."""

    def __init__(self, endpoint: str, server: BackgroundServer | None = None) -> None:
        self.endpoint = endpoint
        self.server = server
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, account: str = "test") -> Any:
        if (service, account) not in self._clients:
            self._clients[(service, account)] = boto3.session.Session().client(
                service,
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id=account,
                aws_secret_access_key="test",
                config=BotoConfig(retries={"max_attempts": 1}, read_timeout=30),
            )
        return self._clients[(service, account)]

    @property
    def events(self) -> Any:
        return self.client("events")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    def queue(self, prefix: str = "q", fifo: bool = False, **attributes: str) -> tuple[str, str]:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
        if fifo:
            attributes["FifoQueue"] = "true"
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def messages(
        self, url: str, count: int = 1, timeout: float = 10.0, **kwargs: Any
    ) -> list[dict]:
        """At least `count` messages of a queue (received and deleted), waiting up to `timeout`."""
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{len(found)} of {count} messages within {timeout} s")
            answer = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=max(1, min(int(remaining), 5)),
                **kwargs,
            )
            for message in answer.get("Messages", []):
                found.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def bodies(self, url: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        return [json.loads(m["Body"]) for m in self.messages(url, count, timeout)]

    def nothing(self, url: str, seconds: float = 1.0) -> bool:
        answer = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=max(1, int(seconds)))
        return not answer.get("Messages")

    def rule_to_queue(self, pattern: dict[str, Any], **target: Any) -> tuple[str, str]:
        """A rule with `pattern` on the default bus targeting a new queue: (rule name, queue url)."""
        url, arn = self.queue()
        name = f"rule-{uuid.uuid4().hex[:10]}"
        bus = target.pop("EventBusName", None)
        extra = {"EventBusName": bus} if bus else {}
        self.events.put_rule(Name=name, EventPattern=json.dumps(pattern), **extra)
        self.events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, **target}], **extra)
        return name, url

    # -- the clock (servers of the tests' own only) ------------------------------------------------
    def now(self) -> float:
        with urllib.request.urlopen(self.endpoint + "/_cloudlet/clock", timeout=10) as response:
            return json.loads(response.read())["now"]

    def advance(self, duration: str) -> None:
        request = urllib.request.Request(
            self.endpoint + "/_cloudlet/clock",
            data=json.dumps({"advance": duration}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200


@pytest.fixture(scope="session")
def cloud(endpoint: str) -> Cloud:
    return Cloud(endpoint)


@pytest.fixture
def events(cloud: Cloud) -> Any:
    return cloud.events


@pytest.fixture(scope="module")
def clock_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A server of this module's own: its clock may be moved."""
    data_dir = tmp_path_factory.mktemp("events-clock")
    server = BackgroundServer(App(Config(port=0, data_dir=str(data_dir), log_level="warning")))
    server.start()
    yield Cloud(server.endpoint, server)
    server.stop()


class Endpoint:
    """A local HTTP server that records requests: the receiving end of API destinations.

    `status` is what it answers; `/token` answers an OAuth client-credentials token.
    """

    def __init__(self, port: int = 0) -> None:
        import http.server
        import threading

        self.requests: list[dict[str, Any]] = []
        self.status = 200
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body.decode(),
                    }
                )
                if self.path.startswith("/token"):
                    payload, status = b'{"access_token": "tok-123", "expires_in": 3600}', 200
                else:
                    payload, status = b"{}", recorder.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint_server() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()
