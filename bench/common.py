"""What the benchmarks share: ports, starting `cloudlet start`, boto3 clients."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cloudlet(port: int, data_dir: str, **popen: Any) -> subprocess.Popen[bytes]:
    """`cloudlet start` as a user runs it, in a subprocess."""
    command = [
        sys.executable,
        "-m",
        "cloudlet",
        "start",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]
    return subprocess.Popen([*command, "--log-level", "warning"], **popen)


def client(service: str, port: int, session: boto3.session.Session | None = None, **config: Any):
    config.setdefault("retries", {"max_attempts": 0})
    return (session or boto3.session.Session()).client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config),
    )


def until_ready(call: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Call until it succeeds (the server is up), polling every 2 ms."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)


def handler_zip(source: str, name: str = "app.py") -> bytes:
    """A deployment package holding one handler module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()
