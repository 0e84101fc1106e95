"""FIFO queues through boto3: order within a message group, a group held while in flight,
deduplication, sequence numbers and the FIFO parameter rules."""

from __future__ import annotations

import hashlib
import time

import pytest

from sqs.conftest import attributes_of, error_of, receive_all


def bodies(messages: list[dict]) -> list[str]:
    return [m["Body"] for m in messages]


def send(sqs, url: str, body: str, group: str = "g", **kwargs) -> dict:
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **kwargs)


@pytest.fixture
def fifo(new_queue):
    """A FIFO queue with content-based deduplication."""
    return new_queue(fifo=True, ContentBasedDeduplication="true")


def test_messages_of_a_group_arrive_in_order_one_by_one(sqs, fifo):
    for i in range(5):
        send(sqs, fifo, f"m{i}")
    received = []
    for _ in range(5):
        [message] = sqs.receive_message(QueueUrl=fifo)["Messages"]
        received.append(message["Body"])
        sqs.delete_message(QueueUrl=fifo, ReceiptHandle=message["ReceiptHandle"])
    assert received == [f"m{i}" for i in range(5)]
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo)


def test_a_receive_of_many_returns_the_messages_of_a_group_together_and_in_order(sqs, fifo):
    send(sqs, fifo, "g1-m1", "group-1")
    send(sqs, fifo, "g2-m1", "group-2")  # interleaved
    send(sqs, fifo, "g1-m2", "group-1")
    send(sqs, fifo, "g1-m3", "group-1")
    messages = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert bodies(messages) == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_a_group_is_held_while_one_of_its_messages_is_in_flight_and_other_groups_proceed(sqs, fifo):
    for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")]:
        send(sqs, fifo, body, group)
    [a1] = sqs.receive_message(QueueUrl=fifo)["Messages"]
    assert a1["Body"] == "a1"
    [b1] = sqs.receive_message(QueueUrl=fifo)["Messages"]
    assert b1["Body"] == "b1"  # group a is held: a2 must wait for a1
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)

    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=a1["ReceiptHandle"])
    assert bodies(sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]) == ["a2"]
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=b1["ReceiptHandle"])
    assert bodies(sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]) == ["b2"]


def test_a_partly_deleted_group_stays_held(sqs, fifo):
    for body, group in [
        ("g1-m1", "1"),
        ("g2-m1", "2"),
        ("g1-m2", "1"),
        ("g2-m2", "2"),
        ("g1-m3", "1"),
        ("g3-m1", "3"),
    ]:
        send(sqs, fifo, body, group)
    first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=2)["Messages"]
    assert bodies(first) == ["g1-m1", "g1-m2"]
    sqs.delete_message(QueueUrl=fifo, ReceiptHandle=first[0]["ReceiptHandle"])
    # g1-m2 is still in flight, so g1-m3 waits
    assert bodies(sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]) == [
        "g2-m1",
        "g2-m2",
        "g3-m1",
    ]


def test_releasing_the_head_of_a_group_makes_it_available_while_later_ones_are_in_flight(sqs, fifo):
    for body, group in [("g1-m1", "1"), ("g1-m2", "1"), ("g2-m1", "2")]:
        send(sqs, fifo, body, group)
    first = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=2, VisibilityTimeout=30)[
        "Messages"
    ]
    assert bodies(first) == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(
        QueueUrl=fifo, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    messages = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=3)["Messages"]
    assert sorted(bodies(messages)) == ["g1-m1", "g2-m1"]


def test_after_the_visibility_timeout_the_group_comes_back_in_the_same_order(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"order-{time.monotonic_ns()}.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "5"},
    )["QueueUrl"]
    for i in range(3):
        send(sqs, url, f"message-{i}", "1", MessageDeduplicationId=str(i))
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == [
        "message-0",
        "message-1",
        "message-2",
    ]
    clock_server.advance("6s")
    messages = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    assert bodies(messages["Messages"]) == ["message-0", "message-1", "message-2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in messages["Messages"]} == {"2"}


# -- deduplication --------------------------------------------------------------------------------


def test_a_repeated_deduplication_id_is_accepted_but_not_delivered_for_5_minutes(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"dedup-{time.monotonic_ns()}.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    first = send(sqs, url, "original", MessageDeduplicationId="same")
    repeat = send(sqs, url, "repeat", MessageDeduplicationId="same")
    assert repeat["MD5OfMessageBody"] == hashlib.md5(b"repeat").hexdigest()
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert (message["Body"], message["MessageId"]) == ("original", first["MessageId"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    send(
        sqs, url, "after delete", MessageDeduplicationId="same"
    )  # deleting does not end the interval
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock_server.advance("4m")
    send(sqs, url, "still within", MessageDeduplicationId="same")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock_server.advance("61s")
    send(sqs, url, "after five minutes", MessageDeduplicationId="same")
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["after five minutes"]


def test_content_based_deduplication_uses_the_body(sqs, fifo):
    send(sqs, fifo, '{"foo": "bar"}')
    send(sqs, fifo, '{"foo": "bar"}')
    send(sqs, fifo, '{"foo": "baz"}')
    send(sqs, fifo, '{"foo": "bar"}', MessageDeduplicationId="explicit")  # an explicit id wins
    messages = sqs.receive_message(
        QueueUrl=fifo,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["MessageDeduplicationId"],
    )
    assert bodies(messages["Messages"]) == ['{"foo": "bar"}', '{"foo": "baz"}', '{"foo": "bar"}']
    ids = [m["Attributes"]["MessageDeduplicationId"] for m in messages["Messages"]]
    assert ids[0] == hashlib.sha256(b'{"foo": "bar"}').hexdigest()
    assert ids[2] == "explicit"


def test_deduplication_scope_queue_spans_groups(sqs, fifo):
    send(sqs, fifo, "same body", "group-1")
    send(sqs, fifo, "same body", "group-2")
    messages = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1


def test_deduplication_scope_message_group_is_per_group(sqs, new_queue):
    url = new_queue(
        fifo=True,
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
        ContentBasedDeduplication="true",
    )
    send(sqs, url, "same body", "group-1")
    send(sqs, url, "same body", "group-2")
    send(sqs, url, "same body", "group-2")
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    assert sorted(m["Attributes"]["MessageGroupId"] for m in messages) == ["group-1", "group-2"]


def test_purge_forgets_deduplication_ids(sqs, new_queue):
    url = new_queue(fifo=True)
    send(sqs, url, "message-1", MessageDeduplicationId="dedup")
    sqs.purge_queue(QueueUrl=url)
    send(sqs, url, "message-2", MessageDeduplicationId="dedup")
    assert bodies(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]) == ["message-2"]


# -- sequence numbers and attributes --------------------------------------------------------------


def test_sequence_numbers_increase_and_come_back_on_receive(sqs, fifo):
    sent = [send(sqs, fifo, f"m{i}") for i in range(3)]
    batch = sqs.send_message_batch(
        QueueUrl=fifo,
        Entries=[{"Id": f"b{i}", "MessageBody": f"b{i}", "MessageGroupId": "g"} for i in range(3)],
    )["Successful"]
    numbers = [s["SequenceNumber"] for s in sent] + [
        b["SequenceNumber"] for b in sorted(batch, key=lambda b: b["Id"])
    ]
    assert all(n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    assert len(set(numbers)) == 6
    received = receive_all(sqs, fifo, 6, MessageSystemAttributeNames=["SequenceNumber"])
    assert bodies(received) == ["m0", "m1", "m2", "b0", "b1", "b2"]
    assert [m["Attributes"]["SequenceNumber"] for m in received] == numbers


def test_fifo_system_attributes(sqs, new_queue):
    url = new_queue(fifo=True, VisibilityTimeout=0)
    sent = send(sqs, url, "message-body-1", "group-1", MessageDeduplicationId="dedup-1")
    for receive_count in ("1", "2"):
        [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        attributes = message["Attributes"]
        assert set(attributes) == {
            "ApproximateFirstReceiveTimestamp",
            "ApproximateReceiveCount",
            "MessageDeduplicationId",
            "MessageGroupId",
            "SenderId",
            "SentTimestamp",
            "SequenceNumber",
        }
        assert attributes["ApproximateReceiveCount"] == receive_count
        assert (attributes["MessageDeduplicationId"], attributes["MessageGroupId"]) == (
            "dedup-1",
            "group-1",
        )
        assert attributes["SequenceNumber"] == sent["SequenceNumber"]


# -- FIFO parameter rules -------------------------------------------------------------------------


def test_fifo_queue_names_must_end_in_fifo(sqs, unique):
    error = error_of(
        sqs.create_queue, QueueName=f"nofifo-{unique}", Attributes={"FifoQueue": "true"}
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
        "must end with .fifo suffix and be 1 to 80 in length."
    )
    # a .fifo name without FifoQueue=true is an (invalid) standard queue name
    assert (
        error_of(sqs.create_queue, QueueName=f"std-{unique}.fifo")["Code"]
        == "InvalidParameterValue"
    )
    longest = "f" * 75 + ".fifo"
    assert sqs.create_queue(QueueName=longest, Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ].endswith(longest)
    too_long = "f" * 76 + ".fifo"
    assert error_of(sqs.create_queue, QueueName=too_long, Attributes={"FifoQueue": "true"})[
        "Code"
    ] == ("InvalidParameterValue")


def test_message_group_id_is_required(sqs, fifo):
    error = error_of(sqs.send_message, QueueUrl=fifo, MessageBody="x")
    assert (error["Code"], error["Message"]) == (
        "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
    )


def test_a_deduplication_id_is_required_without_content_based_deduplication(sqs, new_queue):
    url = new_queue(fifo=True)
    error = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    )


def test_a_batch_entry_missing_fifo_parameters_fails_the_whole_batch(sqs, new_queue):
    url = new_queue(fifo=True)
    good = {"Id": "good", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}
    error = error_of(
        sqs.send_message_batch,
        QueueUrl=url,
        Entries=[good, {"Id": "no-group", "MessageBody": "x", "MessageDeduplicationId": "d2"}],
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "The request must contain the parameter MessageGroupId.",
    )
    error = error_of(
        sqs.send_message_batch,
        QueueUrl=url,
        Entries=[good, {"Id": "no-dedup", "MessageBody": "x", "MessageGroupId": "g"}],
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"].startswith(
        "The queue should either have ContentBasedDeduplication enabled"
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_delay_seconds_per_message_is_rejected_but_zero_is_fine(sqs, fifo):
    error = error_of(
        sqs.send_message, QueueUrl=fifo, MessageBody="message-1", MessageGroupId="1", DelaySeconds=2
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
    )
    sent = send(sqs, fifo, "Hello World!", DelaySeconds=0)
    assert (
        sqs.receive_message(QueueUrl=fifo)["Messages"][0]["MD5OfBody"] == sent["MD5OfMessageBody"]
    )


def test_a_fifo_queue_delay_holds_the_messages_in_order(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"delayed-{time.monotonic_ns()}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "60"},
    )["QueueUrl"]
    for i in range(3):
        send(sqs, url, f"message-{i}")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock_server.advance("61s")
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]) == [
        "message-0",
        "message-1",
        "message-2",
    ]


def test_deleting_with_an_expired_receipt_handle_fails_on_fifo_queues(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"expired-{time.monotonic_ns()}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "VisibilityTimeout": "5",
        },
    )["QueueUrl"]
    send(sqs, url, "g1-m1")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    clock_server.advance("6s")
    error = error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle=handle)
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    )
    assert attributes_of(sqs, url, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "1"
    }

    fresh = sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=fresh, VisibilityTimeout=60)
    clock_server.advance("10s")  # beyond the receive's 5 s, within the extended 60 s
    sqs.delete_message(QueueUrl=url, ReceiptHandle=fresh)
    assert attributes_of(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
    ) == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
