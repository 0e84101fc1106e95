"""Helpers of the CloudWatch Logs tests: unique groups, putting events, errors, the clock.

Imported by the test modules of this package as `.support`.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The error of a call that must fail: {"Code", "Message", "Status"}."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def server_now_ms(endpoint: str) -> int:
    """The server's clock (tests compute timestamps from it, not from this process's clock)."""
    status, body = _http("GET", endpoint + "/_cloudlet/clock")
    assert status == 200
    return int(json.loads(body)["now"] * 1000)


class Groups:
    """Creates log groups (and streams) with unique names on one client."""

    def __init__(self, client) -> None:
        self.client = client

    def __call__(self, prefix: str = "/test/", *streams: str, **kwargs: Any) -> str:
        name = f"{prefix}{uuid.uuid4().hex[:12]}"
        self.client.create_log_group(logGroupName=name, **kwargs)
        for stream in streams:
            self.client.create_log_stream(logGroupName=name, logStreamName=stream)
        return name

    def put(self, group: str, stream: str, events: list[tuple[int, str]]) -> dict[str, Any]:
        return self.client.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": ts, "message": message} for ts, message in events],
        )


class ClockServer:
    """A server whose clock the tests move forward."""

    def __init__(self, server: Any) -> None:
        import boto3

        self.server = server
        self.endpoint = server.endpoint
        self.client = boto3.client(
            "logs",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def advance(self, duration: str) -> None:
        body = json.dumps({"advance": duration}).encode()
        status, text = _http("POST", self.endpoint + "/_cloudlet/clock", body)
        assert status == 200, text

    def now_ms(self) -> int:
        return server_now_ms(self.endpoint)
