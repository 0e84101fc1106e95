"""Dead-letter queues through boto3: redrive after maxReceiveCount receives, the policies that
configure it, and message move tasks that redrive a dead-letter queue."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from sqs.conftest import arn_of, attributes_of, error_of, receive_all, redrive, wait_for


def dead_letter_pipe(
    sqs, new_queue, max_receives: int = 1, *, fifo: bool = False
) -> tuple[str, str]:
    """(source url, dlq url): the source redrives to the DLQ after `max_receives` receives."""
    extra = {"ContentBasedDeduplication": "true"} if fifo else {}
    dlq = new_queue("dlq", fifo=fifo, **extra)
    source = new_queue(
        "src", fifo=fifo, **extra, RedrivePolicy=redrive(arn_of(sqs, dlq), max_receives)
    )
    return source, dlq


def dead_letter(sqs, source: str, dlq: str, bodies: list[str], max_receives: int = 1) -> None:
    """Send `bodies` to the source and receive them until all sit in the DLQ."""
    for body in bodies:
        sqs.send_message(QueueUrl=source, MessageBody=body)
    for _ in range(max_receives):
        receive_all(sqs, source, len(bodies), VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    wait_for(
        lambda: (
            attributes_of(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"]
            == str(len(bodies))
        )
    )


def count(sqs, url: str) -> int:
    return int(
        attributes_of(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"]
    )


# -- redrive --------------------------------------------------------------------------------------


def test_a_message_moves_to_the_dlq_after_max_receive_count_receives(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue, max_receives=2)
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison", MessageAttributes=attributes)
    for receive_count in ("1", "2"):
        [message] = sqs.receive_message(
            QueueUrl=source, VisibilityTimeout=0, AttributeNames=["All"]
        )["Messages"]
        assert message["Attributes"]["ApproximateReceiveCount"] == receive_count
    assert "Messages" not in sqs.receive_message(
        QueueUrl=source
    )  # a third receive moves it instead

    [moved] = sqs.receive_message(
        QueueUrl=dlq,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=5,
    )["Messages"]
    assert (moved["MessageId"], moved["Body"]) == (sent["MessageId"], "poison")
    assert moved["MessageAttributes"] == attributes
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    assert count(sqs, source) == 0


def test_with_max_receive_count_1_the_second_receive_dead_letters(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue, max_receives=1)
    sent = sqs.send_message(QueueUrl=source, MessageBody="test")
    first = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0).get("Messages")
    second = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0).get("Messages")
    assert first and not second
    [moved] = sqs.receive_message(
        QueueUrl=dlq, WaitTimeSeconds=5, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"]
    )["Messages"]
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Attributes"] == {"DeadLetterQueueSourceArn": arn_of(sqs, source)}


def test_a_fifo_queue_dead_letters_to_a_fifo_queue(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue, max_receives=2, fifo=True)
    sent = sqs.send_message(QueueUrl=source, MessageBody="foobar", MessageGroupId="1")
    for _ in range(3):
        sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
    [moved] = sqs.receive_message(
        QueueUrl=dlq, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert (moved["MessageId"], moved["Body"]) == (sent["MessageId"], "foobar")
    assert moved["Attributes"]["MessageGroupId"] == "1"


def test_list_dead_letter_source_queues(sqs, new_queue):
    dlq = new_queue("dlq")
    policy = redrive(arn_of(sqs, dlq), 50)
    sources = {new_queue("src", RedrivePolicy=policy) for _ in range(3)}
    new_queue("unrelated")
    assert set(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sources

    pages = list(
        sqs.get_paginator("list_dead_letter_source_queues").paginate(
            QueueUrl=dlq, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["queueUrls"]) for p in pages] == [2, 1]
    assert {u for p in pages for u in p["queueUrls"]} == sources
    assert sqs.list_dead_letter_source_queues(QueueUrl=new_queue())["queueUrls"] == []


# -- RedrivePolicy / RedriveAllowPolicy validation ------------------------------------------------


def test_redrive_policy_validation(sqs, new_queue):
    dlq_arn = arn_of(sqs, new_queue("dlq"))
    url = new_queue()

    def reason(policy: dict) -> str:
        value = json.dumps(policy)
        error = error_of(
            sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": value}
        )
        assert error["Code"] == "InvalidParameterValue"
        prefix = f"Value {value} for parameter RedrivePolicy is invalid. Reason: "
        assert error["Message"].startswith(prefix)
        return error["Message"][len(prefix) :]

    assert (
        reason({"deadLetterTargetArn": "dummy", "maxReceiveCount": 42})
        == "Invalid value for deadLetterTargetArn."
    )
    assert (
        reason({"deadLetterTargetArn": dlq_arn + "-missing", "maxReceiveCount": 5})
        == "Dead letter target does not exist."
    )
    assert (
        reason({"maxReceiveCount": 5})
        == "Redrive policy does not contain mandatory attribute: deadLetterTargetArn."
    )
    assert (
        reason({"deadLetterTargetArn": dlq_arn})
        == "Redrive policy does not contain mandatory attribute: maxReceiveCount."
    )
    for bad in (0, 1001):
        assert reason({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": bad}) == (
            f"Invalid value for maxReceiveCount: {bad}, valid values are from 1 to 1000 both inclusive."
        )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive(dlq_arn, 1000)})
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "7"})
        },
    )


def test_the_dead_letter_queue_must_be_of_the_same_type(sqs, new_queue):
    standard_dlq = arn_of(sqs, new_queue("dlq"))
    fifo = new_queue(fifo=True)
    value = redrive(standard_dlq, 3)
    error = error_of(sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"RedrivePolicy": value})
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        f"Value {value} for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.."
    )


@pytest.mark.parametrize(
    "policy",
    [
        {"redrivePermission": "someQueues"},
        {"redrivePermission": "byQueue"},
        {
            "redrivePermission": "allowAll",
            "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:x"],
        },
        {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [f"arn:aws:sqs:us-east-1:000000000000:q{i}" for i in range(11)],
        },
    ],
    ids=[
        "unknown-permission",
        "byQueue-without-sources",
        "sources-without-byQueue",
        "eleven-sources",
    ],
)
def test_invalid_redrive_allow_policies_are_rejected(sqs, new_queue, policy):
    value = json.dumps(policy)
    error = error_of(
        sqs.set_queue_attributes, QueueUrl=new_queue(), Attributes={"RedriveAllowPolicy": value}
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"].startswith(
        f"Value {value} for parameter RedriveAllowPolicy is invalid."
    )


def test_redrive_allow_policy_decides_which_sources_may_use_a_dlq(sqs, new_queue):
    allowed, refused = new_queue("allowed"), new_queue("refused")
    dlq = new_queue("dlq")
    sqs.set_queue_attributes(
        QueueUrl=dlq,
        Attributes={
            "RedriveAllowPolicy": json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [arn_of(sqs, allowed)]}
            )
        },
    )
    assert (
        json.loads(attributes_of(sqs, dlq, "RedriveAllowPolicy")["RedriveAllowPolicy"])[
            "redrivePermission"
        ]
        == "byQueue"
    )
    sqs.set_queue_attributes(
        QueueUrl=allowed, Attributes={"RedrivePolicy": redrive(arn_of(sqs, dlq), 3)}
    )
    error = error_of(
        sqs.set_queue_attributes,
        QueueUrl=refused,
        Attributes={"RedrivePolicy": redrive(arn_of(sqs, dlq), 3)},
    )
    assert error["Code"] == "InvalidParameterValue"

    closed = new_queue("closed-dlq")
    sqs.set_queue_attributes(
        QueueUrl=closed,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})},
    )
    error = error_of(
        sqs.set_queue_attributes,
        QueueUrl=allowed,
        Attributes={"RedrivePolicy": redrive(arn_of(sqs, closed), 3)},
    )
    assert error["Code"] == "InvalidParameterValue"


# -- message move tasks ---------------------------------------------------------------------------


def test_a_move_task_moves_dead_letters_to_a_destination(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue)
    dead_letter(sqs, source, dlq, ["message-1", "message-2"])
    destination = new_queue("dest")
    dlq_arn, destination_arn = arn_of(sqs, dlq), arn_of(sqs, destination)

    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=destination_arn)[
        "TaskHandle"
    ]
    decoded = json.loads(base64.b64decode(handle))
    assert decoded["sourceArn"] == dlq_arn and uuid.UUID(decoded["taskId"])

    moved = receive_all(sqs, destination, 2)
    assert sorted(m["Body"] for m in moved) == ["message-1", "message-2"]
    [task] = wait_for(
        lambda: [
            t
            for t in sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
            if t["Status"] == "COMPLETED"
        ]
    )
    assert {k: v for k, v in task.items() if k != "StartedTimestamp"} == {
        "ApproximateNumberOfMessagesMoved": 2,
        "ApproximateNumberOfMessagesToMove": 2,
        "DestinationArn": destination_arn,
        "SourceArn": dlq_arn,
        "Status": "COMPLETED",
    }
    assert isinstance(task["StartedTimestamp"], int)
    assert count(sqs, dlq) == 0


def test_a_move_task_without_destination_returns_each_message_to_its_source(sqs, new_queue):
    dlq = new_queue("dlq")
    policy = redrive(arn_of(sqs, dlq), 1)
    first, second = new_queue("src", RedrivePolicy=policy), new_queue("src", RedrivePolicy=policy)
    for url, body in ((first, "from-first"), (second, "from-second")):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        for _ in range(2):
            sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    wait_for(lambda: count(sqs, dlq) == 2)

    sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq))
    assert [m["Body"] for m in receive_all(sqs, first, 1)] == ["from-first"]
    assert [m["Body"] for m in receive_all(sqs, second, 1)] == ["from-second"]
    [task] = wait_for(
        lambda: [
            t
            for t in sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"]
            if t["Status"] == "COMPLETED"
        ]
    )
    assert "DestinationArn" not in task
    assert task["ApproximateNumberOfMessagesMoved"] == 2


def test_a_move_task_ends_when_a_message_has_no_source_to_return_to(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue)
    sqs.send_message(QueueUrl=dlq, MessageBody="sent to the dead-letter queue directly")
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    [task] = wait_for(
        lambda: [
            t
            for t in sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
            if t["Status"] != "RUNNING"
        ]
    )
    assert task["Status"] == "FAILED"
    assert count(sqs, dlq) == 1 and count(sqs, source) == 0


def test_a_running_move_task_can_be_listed_and_cancelled(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue)
    dead_letter(sqs, source, dlq, [f"message-{i}" for i in range(5)])
    destination = new_queue("dest")
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]

    error = error_of(
        sqs.start_message_move_task, SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination)
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
    )
    [running] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert running["Status"] == "RUNNING"
    assert running["TaskHandle"] == handle
    assert running["MaxNumberOfMessagesPerSecond"] == 1
    assert running["ApproximateNumberOfMessagesToMove"] == 5

    cancelled = sqs.cancel_message_move_task(TaskHandle=handle)
    assert 0 <= cancelled["ApproximateNumberOfMessagesMoved"] < 5
    [task] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["Status"] == "CANCELLED"
    assert "TaskHandle" not in task
    assert count(sqs, dlq) > 0  # the rest stays in the dead-letter queue


def test_a_move_task_fails_when_its_destination_is_deleted(sqs, new_queue):
    source, dlq = dead_letter_pipe(sqs, new_queue)
    dead_letter(sqs, source, dlq, [f"message-{i}" for i in range(4)])
    destination = new_queue("dest")
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=arn_of(sqs, destination), MaxNumberOfMessagesPerSecond=1
    )
    sqs.delete_queue(QueueUrl=destination)
    [task] = wait_for(
        lambda: [
            t
            for t in sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
            if t["Status"] != "RUNNING"
        ]
    )
    assert task["Status"] == "FAILED"
    assert task["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert count(sqs, dlq) > 0


def test_move_task_errors(sqs, new_queue):
    not_a_dlq = arn_of(sqs, new_queue())
    error = error_of(sqs.start_message_move_task, SourceArn=not_a_dlq)
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "Source queue must be configured as a Dead Letter Queue.",
    )

    _, dlq = dead_letter_pipe(sqs, new_queue)
    error = error_of(
        sqs.start_message_move_task,
        SourceArn=arn_of(sqs, dlq),
        DestinationArn=not_a_dlq + "-missing",
    )
    assert error["Code"] == "ResourceNotFoundException"
    assert (
        error["Message"]
        == "The resource that you specified for the DestinationArn parameter doesn't exist."
    )

    error = error_of(sqs.cancel_message_move_task, TaskHandle="foobared")
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "Value for parameter TaskHandle is invalid.",
    )

    def handle(source_arn: str) -> str:
        return base64.b64encode(
            json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
        ).decode()

    error = error_of(
        sqs.cancel_message_move_task,
        TaskHandle=handle("arn:aws:sqs:us-east-1:000000000000:no-such-queue"),
    )
    assert error["Code"] == "ResourceNotFoundException"
    assert (
        error["Message"]
        == "The resource that you specified for the SourceArn parameter doesn't exist."
    )
    error = error_of(sqs.cancel_message_move_task, TaskHandle=handle(arn_of(sqs, dlq)))
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        "Task does not exist.",
    )


def test_resource_not_found_is_http_404(sqs, new_queue):
    _, dlq = dead_letter_pipe(sqs, new_queue)
    error = error_of(
        sqs.start_message_move_task,
        SourceArn=arn_of(sqs, dlq),
        DestinationArn=arn_of(sqs, dlq) + "-missing",
    )
    assert (error["Code"], error["Status"]) == ("ResourceNotFoundException", 404)
