"""What a boto3 user waits for: SQS calls from one client thread, cloudlet vs a canned server.

Target (issue 2): SendMessage, ReceiveMessage and DeleteMessageBatch reach at least 80% of the
throughput the same client achieves against a server that returns canned responses.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from canned_server import BODY
from common import client, free_port, start_cloudlet, until_ready

ROUNDS = int(os.environ.get("ROUNDS", "9"))
SECONDS = float(os.environ.get("SECONDS_PER_ROUND", "1"))


def rate(call) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        call()
        count += 1
    return count / elapsed


def calls(sqs, url: str, handles: list[str]) -> dict[str, Callable[[], Any]]:
    entries = [{"Id": str(i), "ReceiptHandle": handles[i % len(handles)]} for i in range(10)]
    return {
        "SendMessage": lambda: sqs.send_message(QueueUrl=url, MessageBody=BODY),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=url, VisibilityTimeout=0),
        "DeleteMessageBatch": lambda: sqs.delete_message_batch(QueueUrl=url, Entries=entries),
    }


def compare(ours: dict[str, Callable[[], Any]], canned: dict[str, Callable[[], Any]]) -> None:
    """Alternate short rounds against the two servers, so that a machine whose speed drifts
    (other work, frequency) weighs on both alike; the ratio is the median of the rounds'.
    Nine rounds by default: on a shared machine a median of five still moved by a few points
    between runs of the same code."""
    for name in ours:
        for call in (ours[name], canned[name]):
            for _ in range(100):  # warm up
                call()
        pairs = [(rate(ours[name]), rate(canned[name])) for _ in range(ROUNDS)]
        ratio = statistics.median(o / c for o, c in pairs)
        print(
            f"{name:<20} cloudlet {statistics.median(o for o, _ in pairs):7.0f} calls/s   "
            f"canned {statistics.median(c for _, c in pairs):7.0f} calls/s   "
            f"ratio {ratio:5.0%}   target >= 80%"
        )


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    canned_port, cloudlet_port = free_port(), free_port()
    canned = subprocess.Popen(
        [sys.executable, os.path.join(here, "canned_server.py"), str(canned_port)]
    )
    data_dir = tempfile.mkdtemp()
    server = start_cloudlet(cloudlet_port, data_dir)
    try:
        reference = client("sqs", canned_port)
        until_ready(lambda: reference.get_queue_url(QueueName="bench"))
        canned_calls = calls(reference, "http://127.0.0.1/000000000000/bench", ["x"])

        sqs = client("sqs", cloudlet_port)
        url = until_ready(lambda: sqs.create_queue(QueueName="bench"))["QueueUrl"]
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        )
        handles = [
            m["ReceiptHandle"]
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)[
                "Messages"
            ]
        ]
        compare(calls(sqs, url, handles), canned_calls)
    finally:
        canned.terminate()
        server.terminate()
        canned.wait()
        server.wait()


if __name__ == "__main__":
    main()
