"""Helpers of the S3 tests: clients in both addressing styles, fresh buckets, error answers.

`*.localhost` names do not resolve on every machine (glibc resolves only `localhost` itself), so
the tests resolve them to 127.0.0.1 in this process, as browsers do.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from helpers import error_of  # noqa: F401 - shared with the tests here

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo


def make_client(endpoint: str, style: str = "path", region: str = "us-east-1", **config: Any):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(s3={"addressing_style": style}, retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="session")
def s3(endpoint: str):
    return make_client(endpoint)


@pytest.fixture(scope="session")
def s3_virtual(server):
    """boto3 in virtual-hosted style: `http://<bucket>.localhost:<port>/key`."""
    return make_client(f"http://localhost:{server.app.config.port}", "virtual")


@pytest.fixture
def bucket(s3) -> Iterator[str]:
    name = f"bkt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    empty(s3, name)


def empty(s3, name: str) -> None:
    try:
        versions = s3.list_object_versions(Bucket=name)
    except ClientError:
        return
    items = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    ]
    if items:
        s3.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.02)
