"""An SQS event source mapping draining a backlog through a no-op Python function.

Starts `cloudlet start` in a subprocess, fills a queue with MESSAGES messages, creates a disabled
mapping, then measures from UpdateEventSourceMapping(Enabled=True) until the queue is empty
(no visible and no in-flight messages), for a few BatchSize / MaximumBatchingWindowInSeconds
settings.

Target (issue): at least 3,000 messages/s with BatchSize 10 or more.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from common import client, free_port, handler_zip, start_cloudlet, until_ready

NOOP = "def handler(event, context):\n    return None\n"


def fill(port: int, url: str, count: int) -> None:
    """Send `count` small messages with SendMessageBatch from a few client threads."""

    def send(start: int) -> None:
        sqs = client("sqs", port)
        for first in range(start, count, 40):
            entries = [
                {"Id": str(i), "MessageBody": f'{{"job": {first + i}}}'}
                for i in range(min(10, count - first))
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(0, 40, 10)))


def backlog(sqs, url: str) -> int:
    values = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(values["ApproximateNumberOfMessages"]) + int(
        values["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(port: int, case: int, count: int, batch: int, window: int) -> float:
    """Seconds from enabling a mapping to an empty queue."""
    lam, sqs = client("lambda", port), client("sqs", port)
    url = sqs.create_queue(QueueName=f"bench-{case}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    fill(port, url, count)
    assert backlog(sqs, url) == count
    mapping = lam.create_event_source_mapping(
        FunctionName="noop",
        EventSourceArn=arn["QueueArn"],
        BatchSize=batch,
        MaximumBatchingWindowInSeconds=window,
        Enabled=False,
    )["UUID"]
    while lam.get_event_source_mapping(UUID=mapping)["State"] != "Disabled":
        time.sleep(0.01)
    started = time.perf_counter()
    lam.update_event_source_mapping(UUID=mapping, Enabled=True)
    while backlog(sqs, url):
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    lam.delete_event_source_mapping(UUID=mapping)
    return elapsed


def main(args: argparse.Namespace) -> None:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="cloudlet-bench-")
    server = start_cloudlet(port, data_dir, stdout=subprocess.DEVNULL)
    try:
        lam = client("lambda", port)
        until_ready(lambda: lam.list_functions())
        lam.create_function(
            FunctionName="noop",
            Runtime="python3.12",
            Handler="app.handler",
            Role="arn:aws:iam::000000000000:role/bench",
            Code={"ZipFile": handler_zip(NOOP)},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName="noop")
        lam.invoke(FunctionName="noop")  # a warm environment, as a running service has
        cases = [(10, 0), (100, 1), (1000, 1)] if not args.batch else [(args.batch, args.window)]
        for index, (batch, window) in enumerate(cases):
            seconds = drain(port, index, args.messages, batch, window)
            print(
                f"BatchSize {batch:>5}, window {window} s: {args.messages} messages in "
                f"{seconds:6.2f} s = {args.messages / seconds:8.0f} msgs/s   (target >= 3,000)"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=0, help="one BatchSize instead of the set")
    parser.add_argument("--window", type=int, default=1)
    main(parser.parse_args())
