"""`aws logs tail` (a command of AWS CLI v2 only) against cloudlet, with and without --follow.

The `awscli` package on PyPI is CLI v1, which has no `logs tail`; Debian's `awscli` package is v2.
These tests look for a v2 `aws` on PATH and in the usual install places.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time

import pytest


def _cli_v2() -> str | None:
    candidates = [shutil.which("aws"), "/usr/bin/aws", "/usr/local/bin/aws"]
    for path in dict.fromkeys(c for c in candidates if c and os.path.exists(c)):
        try:
            version = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if version.startswith("aws-cli/2."):
            return path
    return None


AWS_V2 = _cli_v2()
# CI installs it (.ci/run); a developer machine without it skips, CI never does.
pytestmark = pytest.mark.skipif(
    AWS_V2 is None and os.environ.get("CI") != "true",
    reason="AWS CLI v2 not installed (apt-get install awscli)",
)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
        "PYTHONUNBUFFERED": "1",
    }


def test_tail_prints_recent_events_of_every_stream(new_group, endpoint, now_ms):
    name = new_group("/test/", "web", "db")
    new_group.put(name, "web", [(now_ms - 3000, "GET / 200"), (now_ms - 1000, "GET /x 404")])
    new_group.put(name, "db", [(now_ms - 2000, "slow query")])
    new_group.put(name, "db", [(now_ms - 3_600_000, "an hour ago")])  # before --since 10m
    done = subprocess.run(
        [AWS_V2, "logs", "tail", name, "--endpoint-url", endpoint],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ", 2)[1:] for line in lines] == [
        ["web", "GET / 200"],
        ["db", "slow query"],
        ["web", "GET /x 404"],
    ]
    filtered = subprocess.run(
        [AWS_V2, "logs", "tail", name, "--since", "2h", "--filter-pattern", "?404 ?hour",
         "--format", "short", "--endpoint-url", endpoint],
        capture_output=True, text=True, env=_env(), timeout=60,
    )  # fmt: skip
    assert [line.split(" ", 1)[1] for line in filtered.stdout.splitlines()] == [
        "an hour ago",
        "GET /x 404",
    ]


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines, read on a thread so the test can wait with a deadline."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue[str], deadline: float) -> str:
    try:
        return lines.get(timeout=max(deadline - time.monotonic(), 0))
    except queue.Empty:
        raise AssertionError("aws logs tail --follow printed nothing before the deadline") from None


def test_tail_follow_prints_events_as_they_arrive(new_group, endpoint, now_ms, server_clock_ms):
    name = new_group("/test/", "s")
    new_group.put(name, "s", [(now_ms - 1000, "before")])
    process = subprocess.Popen(
        [AWS_V2, "logs", "tail", name, "--follow", "--format", "short", "--endpoint-url", endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    try:
        lines = _lines_of(process)
        deadline = time.monotonic() + 30
        assert _next_line(lines, deadline).endswith(" before")
        # --follow polls every 5 s; each new event must show up once, in order.
        new_group.put(name, "s", [(server_clock_ms(), "during 1"), (server_clock_ms(), "during 2")])
        assert _next_line(lines, deadline).endswith(" during 1")
        assert _next_line(lines, deadline).endswith(" during 2")
        new_group.put(name, "s", [(server_clock_ms(), "during 3")])
        assert _next_line(lines, deadline).endswith(" during 3")
        assert process.poll() is None
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def server_clock_ms(endpoint):
    from .support import server_now_ms

    return lambda: server_now_ms(endpoint)
