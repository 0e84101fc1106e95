"""Start-up time (process start -> first successful boto3 call) and idle memory of `cloudlet start`.

Target (issue 2): under 0.3 s median, idle RSS under 60 MB, on a 2-core machine.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time

import boto3
from common import client, free_port, start_cloudlet, until_ready


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_run(client_for) -> tuple[float, float]:
    port = free_port()
    sqs = client_for(port)
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        proc = start_cloudlet(port, data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            until_ready(sqs.list_queues)
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
        return client("sqs", port, session, connect_timeout=0.05, read_timeout=5)

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
