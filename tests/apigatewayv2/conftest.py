"""Helpers of the HTTP API tests: APIs deleted afterwards, shared Lambda functions (from the
REST API tests' conftest), and calls to invoke URLs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apigateway.conftest import function, json_of  # noqa: F401 - shared fixture and helper
from conftest import http

#: a payload-format-2.0 handler answering with the event it got
ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""


@pytest.fixture
def v2(aws_client):
    return aws_client("apigatewayv2")


@pytest.fixture
def http_api(v2) -> Iterator[Callable[..., dict[str, Any]]]:
    made: list[str] = []

    def make(**kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("Name", f"http-{uuid.uuid4().hex[:8]}")
        kwargs.setdefault("ProtocolType", "HTTP")
        api = v2.create_api(**kwargs)
        made.append(api["ApiId"])
        return api

    yield make
    for api_id in made:
        with contextlib.suppress(ClientError):
            v2.delete_api(ApiId=api_id)


def get(
    endpoint: str,
    api_id: str,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A request through the path-style invoke URL (the path includes a named stage, if any)."""
    return http(method, f"{endpoint}/_cloudlet/apigateway/{api_id}{path}", body, headers)
