"""Long polling through boto3: a waiting ReceiveMessage answers as soon as a message becomes
available — sent, undelayed, released or unblocked — and concurrent polls get distinct messages.

Timings are asserted only as "well before the wait time ran out", never tighter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from sqs.conftest import wait_for

WAIT = 10  # seconds a poll may wait; every poll that should be woken must return well before
SHORT_WAIT = 4  # a poll that were not woken would cost this whole wait


def client(endpoint: str):
    """A client of its own: boto3 clients are not shared between threads here."""
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 1}, read_timeout=65),
    )


def client_for(sqs):
    return client(sqs.meta.endpoint_url)


def later(seconds: float, action: Callable[[], Any]) -> threading.Thread:
    """Run `action` on another thread after `seconds` (a stand-in for another producer)."""
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def timed_receive(sqs, url: str, **kwargs: Any) -> tuple[list[dict], float]:
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", [])
    return messages, time.monotonic() - started


def waiters(server, url: str) -> int:
    """How many receives are parked on the queue (cloudlet's wake-up topic of the queue)."""
    account, name = url.rsplit("/", 2)[-2:]
    return server.app.notifier.waiting(f"queue:sqs/{account}/us-east-1/{name}")


def test_a_long_poll_returns_as_soon_as_a_message_is_sent(sqs, new_queue):
    url = new_queue()
    later(0.3, lambda: sqs.send_message(QueueUrl=url, MessageBody="arrived"))
    messages, took = timed_receive(client_for(sqs), url, WaitTimeSeconds=WAIT)
    assert [m["Body"] for m in messages] == ["arrived"]
    assert took < WAIT / 2


def test_a_long_poll_does_not_wait_when_messages_are_there(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    messages, took = timed_receive(sqs, url, WaitTimeSeconds=WAIT, MaxNumberOfMessages=3)
    assert messages
    assert took < WAIT / 2


def test_a_long_poll_of_an_empty_queue_waits_the_wait_time(sqs, new_queue):
    messages, took = timed_receive(sqs, new_queue(), WaitTimeSeconds=1)
    assert messages == []
    assert took >= 0.9


def test_a_delayed_message_is_received_by_a_poll_that_waits_for_it(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    messages, took = timed_receive(sqs, url, WaitTimeSeconds=WAIT)
    assert [m["Body"] for m in messages] == ["delayed"]
    assert took < WAIT / 2


def test_a_message_whose_visibility_timeout_runs_out_is_received_by_a_waiting_poll(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="again")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)
    messages, took = timed_receive(sqs, url, WaitTimeSeconds=WAIT)
    assert [m["Body"] for m in messages] == ["again"]
    assert took < WAIT / 2


def test_the_queue_default_wait_time_applies_when_the_receive_names_none(sqs, new_queue):
    url = new_queue(ReceiveMessageWaitTimeSeconds=WAIT)
    messages, took = timed_receive(sqs, url, WaitTimeSeconds=0)  # an explicit 0 does not wait
    assert messages == [] and took < WAIT / 2
    later(0.3, lambda: sqs.send_message(QueueUrl=url, MessageBody="waited for"))
    messages, took = timed_receive(client_for(sqs), url)
    assert [m["Body"] for m in messages] == ["waited for"]
    assert took < WAIT / 2


def test_releasing_a_message_wakes_a_waiting_poll(sqs, server, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="released")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0][
        "ReceiptHandle"
    ]
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(timed_receive, client_for(sqs), url, WaitTimeSeconds=WAIT)
        wait_for(lambda: waiters(server, url) == 1)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        messages, took = poll.result()
    assert [m["Body"] for m in messages] == ["released"]
    assert took < WAIT / 2


def test_shortening_a_visibility_timeout_wakes_a_waiting_poll_in_time(sqs, server, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="sooner")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0][
        "ReceiptHandle"
    ]
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(timed_receive, client_for(sqs), url, WaitTimeSeconds=SHORT_WAIT)
        wait_for(lambda: waiters(server, url) == 1)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=1)
        messages, took = poll.result()
    assert [m["Body"] for m in messages] == ["sooner"]
    assert took < SHORT_WAIT - 1.5


def test_deleting_the_in_flight_message_of_a_fifo_group_wakes_a_waiting_poll(
    sqs, server, new_queue
):
    url = new_queue(fifo=True, ContentBasedDeduplication="true")
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0][
        "ReceiptHandle"
    ]
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(timed_receive, client_for(sqs), url, WaitTimeSeconds=SHORT_WAIT)
        wait_for(lambda: waiters(server, url) == 1)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
        messages, took = poll.result()
    assert [m["Body"] for m in messages] == ["second"]
    assert took < SHORT_WAIT - 1.5


def test_a_dead_lettered_message_wakes_a_poll_waiting_on_the_dead_letter_queue(
    sqs, server, new_queue
):
    import json

    dlq = new_queue("dlq")
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = new_queue(
        "src", RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    )
    sqs.send_message(QueueUrl=source, MessageBody="poison")
    sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(timed_receive, client_for(sqs), dlq, WaitTimeSeconds=SHORT_WAIT)
        wait_for(lambda: waiters(server, dlq) == 1)
        assert "Messages" not in sqs.receive_message(QueueUrl=source)  # moves it to the DLQ
        messages, took = poll.result()
    assert [m["Body"] for m in messages] == ["poison"]
    assert took < SHORT_WAIT - 1.5


def test_concurrent_long_polls_each_get_distinct_messages(sqs, server, new_queue):
    url = new_queue()
    polls = 8
    clients = [client_for(sqs) for _ in range(polls)]
    with ThreadPoolExecutor(polls) as pool:
        futures = [pool.submit(timed_receive, c, url, WaitTimeSeconds=WAIT) for c in clients]
        wait_for(lambda: waiters(server, url) == polls)
        sent = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)]
        )
        results = [f.result() for f in futures]
    received = [m["MessageId"] for messages, _ in results for m in messages]
    assert all(len(messages) == 1 for messages, _ in results)  # every poll got one
    assert len(set(received)) == polls  # and no message went to two of them
    assert set(received) <= {s["MessageId"] for s in sent["Successful"]}
    assert all(took < WAIT / 2 for _, took in results)
    leftover = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(leftover) == 2 and not {m["MessageId"] for m in leftover} & set(received)


def test_concurrent_polls_and_senders_lose_and_duplicate_nothing(sqs, new_queue):
    url = new_queue()
    total, pollers = 60, 4
    received: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        own = client_for(sqs)
        while True:
            with lock:
                if len(received) >= total:
                    return
            response = own.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in response.get("Messages", []):
                own.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                with lock:
                    received.append(message["Body"])

    def produce(start: int) -> None:
        own = client_for(sqs)
        for i in range(start, total, 2):
            own.send_message(QueueUrl=url, MessageBody=f"m{i}")

    with ThreadPoolExecutor(pollers + 2) as pool:
        consumers = [pool.submit(consume) for _ in range(pollers)]
        producers = [pool.submit(produce, start) for start in (0, 1)]
        for future in producers + consumers:
            future.result(timeout=60)
    assert sorted(received) == sorted(f"m{i}" for i in range(total))
