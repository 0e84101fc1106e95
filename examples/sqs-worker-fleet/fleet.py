"""A worker fleet that scales with its queue's backlog — the classic decoupled tier.

A producer enqueues jobs; a supervisor reads ApproximateNumberOfMessages and runs between
MIN_WORKERS and MAX_WORKERS worker threads, each long-polling the queue. Jobs that keep failing
land in a dead-letter queue after three receives. Runs unchanged against AWS or cloudlet:

    cloudlet start --ephemeral &
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python examples/sqs-worker-fleet/fleet.py 500
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import boto3

MIN_WORKERS, MAX_WORKERS, JOBS_PER_WORKER = 1, 8, 25


def client():
    return boto3.client(
        "sqs",
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def setup(sqs, name: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    queue = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive}
    )["QueueUrl"]
    return queue, dlq


def produce(sqs, queue: str, count: int) -> None:
    for start in range(0, count, 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"job": i, "poison": i % 100 == 99})}
            for i in range(start, min(start + 10, count))
        ]
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)


class Fleet:
    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.done: list[int] = []
        self.peak = 0
        self._lock = threading.Lock()
        self._workers: list[tuple[threading.Thread, threading.Event]] = []

    def work(self, stop: threading.Event) -> None:
        sqs = client()
        while not stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in messages.get("Messages", []):
                job = json.loads(message["Body"])
                if job["poison"]:
                    continue  # never deleted: redelivered, then dead-lettered
                with self._lock:
                    self.done.append(job["job"])
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def scale_to(self, wanted: int) -> None:
        while len(self._workers) < wanted:
            stop = threading.Event()
            thread = threading.Thread(target=self.work, args=(stop,), daemon=True)
            thread.start()
            self._workers.append((thread, stop))
        while len(self._workers) > wanted:
            self._workers.pop()[1].set()
        self.peak = max(self.peak, len(self._workers))

    def stop(self) -> None:
        self.scale_to(0)


def run(total: int, name: str = "fleet-jobs", timeout: float = 120) -> dict[str, int]:
    sqs = client()
    queue, dlq = setup(sqs, name)
    produce(sqs, queue, total)
    fleet = Fleet(queue)
    deadline = time.monotonic() + timeout
    expected_poison = total // 100
    try:
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])[
                "Attributes"
            ]
            backlog = int(attributes["ApproximateNumberOfMessages"])
            in_flight = int(attributes["ApproximateNumberOfMessagesNotVisible"])
            fleet.scale_to(max(MIN_WORKERS, min(MAX_WORKERS, -(-backlog // JOBS_PER_WORKER))))
            dead = int(
                sqs.get_queue_attributes(
                    QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            print(
                f"backlog={backlog:5d} in_flight={in_flight:4d} workers={len(fleet._workers)} done={len(fleet.done)} dead={dead}"
            )
            if backlog == 0 and in_flight == 0 and dead >= expected_poison:
                break
            time.sleep(0.2)
    finally:
        fleet.stop()
    return {"done": len(set(fleet.done)), "dead": dead, "peak_workers": fleet.peak}


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
