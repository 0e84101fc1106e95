"""Fixtures: a real cloudlet server on a free port, and real clients pointed at it.

The server runs in-process on a background thread (uvicorn, exactly as `cloudlet start` serves
it) with a temporary data directory. Crash and restart tests start `cloudlet start` as a
subprocess instead (see `cloudlet_process`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer, free_port
from helpers import http

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Never let a test reach real AWS or a user's config.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    data_dir = tmp_path_factory.mktemp("cloudlet-data")
    app = App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    background = BackgroundServer(app).start()
    yield background
    background.stop()


@pytest.fixture(scope="session")
def endpoint(server: BackgroundServer) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def aws_client(endpoint: str):
    """A factory of boto3 clients for the test server, cached per (service, region, key)."""
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session()
    cache: dict[tuple[str, str, str], object] = {}

    def make(service: str, region: str = "us-east-1", access_key: str = "test"):
        key = (service, region, access_key)
        if key not in cache:
            cache[key] = session.client(
                service,
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key="test",
                config=BotoConfig(retries={"max_attempts": 1}, read_timeout=65),
            )
        return cache[key]

    return make


@pytest.fixture
def sqs(aws_client):
    return aws_client("sqs")


@pytest.fixture
def unique() -> str:
    """A short unique suffix for resource names, so tests never share state by accident."""
    return uuid.uuid4().hex[:10]


class CloudletProcess:
    """`cloudlet start` in a subprocess, for restart and crash tests."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(
        self, *extra: str, launcher: list[str] | None = None, env: dict[str, str] | None = None
    ) -> CloudletProcess:
        """`cloudlet start` with `extra` options; `launcher` replaces `python -m cloudlet`."""
        args = [
            *(launcher or [sys.executable, "-m", "cloudlet"]),
            "start",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        if "--ephemeral" not in extra:
            args += ["--data-dir", str(self.data_dir)]
        self.proc = subprocess.Popen(
            [*args, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"cloudlet exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            try:
                if http("GET", self.endpoint + "/_cloudlet/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError("cloudlet did not become healthy")

    def kill(self) -> None:
        """kill -9: no shutdown handler runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture
def cloudlet_process(tmp_path: Path) -> Iterator[CloudletProcess]:
    process = CloudletProcess(tmp_path / "data")
    yield process
    process.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """A factory of headless Chromium drivers (Debian's chromium + chromium-driver, Selenium).

    Skips on a developer machine without Chromium; in CI (CI=true) a missing browser fails.
    Extra flags go to Chromium, e.g. `--host-resolver-rules=MAP * 127.0.0.1` so that host names
    without DNS (LocalStack's, AWS's) reach the test server.
    """
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI") != "true":
            pytest.skip("chromium and chromium-driver are not installed (apt-get install ...)")
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are required in CI")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(*extra: str):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / f'chromium-profile-{len(drivers)}'}",
            *extra,
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
