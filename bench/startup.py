"""Start-up time (process start -> first successful boto3 call) and idle memory of `cloudlet start`.

Target (issue 2): under 0.3 s median, idle RSS under 60 MB, on a 2-core machine.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_run(client_for) -> tuple[float, float]:
    port = free_port()
    client = client_for(port)
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloudlet",
                "start",
                "--port",
                str(port),
                "--data-dir",
                data_dir,
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    client.list_queues()
                    break
                except Exception:
                    time.sleep(0.002)
            elapsed = time.perf_counter() - started
            time.sleep(1.0)
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
    return elapsed, rss


def main() -> None:
    runs = int(os.environ.get("RUNS", "10"))
    session = boto3.session.Session()

    def client_for(port: int):
        return session.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, connect_timeout=0.05, read_timeout=5),
        )

    one_run(client_for)  # warm the page cache
    results = [one_run(client_for) for _ in range(runs)]
    times = sorted(r[0] for r in results)
    rss = sorted(r[1] for r in results)
    print(
        f"start -> first boto3 call: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {times[0] * 1000:.0f}, max {times[-1] * 1000:.0f}, {runs} runs)   target < 300 ms"
    )
    print(f"idle RSS after first call: median {statistics.median(rss):.1f} MiB   target < 60 MiB")


if __name__ == "__main__":
    main()
