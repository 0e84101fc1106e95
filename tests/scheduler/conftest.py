"""Helpers of the Scheduler tests: EventBridge's (clients, queues, clocks of servers of their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from events.conftest import Cloud, error_of, wait_for

__all__ = ["ROLE", "Cloud", "error_of", "wait_for"]

ROLE = "arn:aws:iam::000000000000:role/scheduler-role"


@pytest.fixture(scope="session")
def cloud(endpoint: str) -> Cloud:
    return Cloud(endpoint)


@pytest.fixture
def scheduler(cloud: Cloud):
    return cloud.client("scheduler")


@pytest.fixture(scope="module")
def clock_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A server of this module's own: its clock may be moved."""
    data_dir = tmp_path_factory.mktemp("scheduler-clock")
    server = BackgroundServer(App(Config(port=0, data_dir=str(data_dir), log_level="warning")))
    server.start()
    yield Cloud(server.endpoint, server)
    server.stop()
