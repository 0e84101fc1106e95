"""Helpers of the Lambda tests: zips built in memory, functions with unique names that are
deleted afterwards, error answers, waiting for conditions."""

from __future__ import annotations

import contextlib
import io
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
RUNTIME = "python3.12"

#: a handler echoing its event, with the context facts tests look at
ECHO = """
import os

def handler(event, context):
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        "arn": context.invoked_function_arn,
        "env": {k: v for k, v in os.environ.items() if k.startswith("APP_")},
    }
"""


def make_zip(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    """A zip of `files` (path -> text or bytes); source text is dedented."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = ((modes or {}).get(path, 0o644) | 0o100000) << 16
            data = textwrap.dedent(content).encode() if isinstance(content, str) else content
            archive.writestr(info, data)
    return buffer.getvalue()


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """The error of a call that must fail: {"Code", "Message", ..., "Status"}."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return {
        **response["Error"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
        "Response": response,
    }


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture
def lam(aws_client):
    return aws_client("lambda")


@pytest.fixture
def name() -> str:
    return f"fn-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def create(lam) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create functions (echo handler by default), deleted at the end of the test."""
    made: list[str] = []

    def make(
        name: str | None = None, code: str | dict[str, str | bytes] = ECHO, **kwargs: Any
    ) -> dict[str, Any]:
        name = name or f"fn-{uuid.uuid4().hex[:10]}"
        files = {"app.py": code} if isinstance(code, str) else code
        kwargs.setdefault("Runtime", RUNTIME)
        kwargs.setdefault("Handler", "app.handler")
        kwargs.setdefault("Role", ROLE)
        out = lam.create_function(FunctionName=name, Code={"ZipFile": make_zip(files)}, **kwargs)
        made.append(name)
        return out

    yield make
    for name in made:
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=name)
