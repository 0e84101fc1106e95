"""What a boto3 user waits for: SQS calls from one client thread, cloudlet vs a canned server.

Target (issue 2): SendMessage, ReceiveMessage and DeleteMessageBatch reach at least 80% of the
throughput the same client achieves against a server that returns canned responses.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config
from canned_server import BODY

SECONDS = float(os.environ.get("SECONDS_PER_CASE", "3"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client(port: int):
    return boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}),
    )


def wait_ready(sqs) -> None:
    for _ in range(500):
        try:
            sqs.get_queue_url(QueueName="bench")
            return
        except Exception:
            time.sleep(0.01)


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
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cloudlet",
            "start",
            "--port",
            str(cloudlet_port),
            "--data-dir",
            data_dir,
            "--log-level",
            "warning",
        ]
    )
    try:
        reference = client(canned_port)
        wait_ready(reference)
        canned_rates = measure(reference, "http://127.0.0.1/000000000000/bench", ["x"])

        sqs = client(cloudlet_port)
        for _ in range(500):
            try:
                url = sqs.create_queue(QueueName="bench")["QueueUrl"]
                break
            except Exception:
                time.sleep(0.01)
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
