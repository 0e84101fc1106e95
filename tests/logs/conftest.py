"""Fixtures of the CloudWatch Logs tests (helpers live in support.py).

Tests that move the clock use `logs_clock` (a server of their own per worker), never the
session server: a moved clock stays moved.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer

from .support import ClockServer, Groups, server_now_ms


@pytest.fixture
def logs(aws_client):
    return aws_client("logs")


@pytest.fixture
def new_group(logs) -> Groups:
    return Groups(logs)


@pytest.fixture
def now_ms(endpoint) -> int:
    return server_now_ms(endpoint)


@pytest.fixture(scope="session")
def logs_clock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockServer]:
    data_dir = tmp_path_factory.mktemp("logs-clock")
    app = App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    server = BackgroundServer(app).start()
    yield ClockServer(server)
    server.stop()
