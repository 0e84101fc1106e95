"""What a boto3 user waits for: SQS calls from one client thread, cloudlet vs a canned server.

Target (issue 2): SendMessage, ReceiveMessage and DeleteMessageBatch reach at least 80% of the
throughput the same client achieves against a server that returns canned responses.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from canned_server import BODY
from common import client, free_port, start_cloudlet, until_ready

SECONDS = float(os.environ.get("SECONDS_PER_CASE", "3"))


def rate(call) -> float:
    for _ in range(50):
        call()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS:
        call()
        count += 1
    return count / elapsed


def measure(sqs, url: str, handles: list[str]) -> dict[str, float]:
    entries = [{"Id": str(i), "ReceiptHandle": handles[i % len(handles)]} for i in range(10)]
    return {
        "SendMessage": rate(lambda: sqs.send_message(QueueUrl=url, MessageBody=BODY)),
        "ReceiveMessage": rate(lambda: sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)),
        "DeleteMessageBatch": rate(lambda: sqs.delete_message_batch(QueueUrl=url, Entries=entries)),
    }


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
        canned_rates = measure(reference, "http://127.0.0.1/000000000000/bench", ["x"])

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
        cloudlet_rates = measure(sqs, url, handles)
    finally:
        canned.terminate()
        server.terminate()
        canned.wait()
        server.wait()
    for name, reference_rate in canned_rates.items():
        ours = cloudlet_rates[name]
        print(
            f"{name:<20} cloudlet {ours:7.0f} calls/s   canned {reference_rate:7.0f} calls/s   "
            f"ratio {ours / reference_rate:5.0%}   target >= 80%"
        )


if __name__ == "__main__":
    main()
