"""Event source mappings from SQS: the event Lambda builds, batching, partial failures, dead
letters, enabling and disabling, scaling, FIFO order, the API's states and errors, and restarts."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import ROLE, RUNTIME, error_of, make_zip, wait_for

#: sends what it received (and its process id) to the queue named by RESULTS, then answers as
#: the message bodies ask: "fail" fails the batch, "bad" is reported as a batch item failure,
#: "self-delete" is deleted by the handler (with the record's receipt handle) before failing
RECORDER = """
import json, os, time
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    started = time.time()
    bodies = [r["body"] for r in event["Records"]]
    if any(b.startswith("slow") for b in bodies):
        time.sleep(0.4)
    sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=json.dumps(
        {"pid": os.getpid(), "start": started, "end": time.time(), "event": event}))
    for record in event["Records"]:  # the receipt handle works with SQS's DeleteMessage
        if record["body"] == "self-delete":
            name = record["eventSourceARN"].rsplit(":", 1)[1]
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
    if "fail" in bodies or "self-delete" in bodies:
        raise RuntimeError("failing the batch")
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("bad")
    ]}
"""


class Setup:
    def __init__(self, aws_client: Callable[..., Any]) -> None:
        self.lam = aws_client("lambda")
        self.sqs = aws_client("sqs")
        self.mappings: list[str] = []
        self.functions: list[str] = []

    def queue(self, prefix: str = "src", **attributes: str) -> tuple[str, str]:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        if attributes.get("FifoQueue") == "true":
            name += ".fifo"
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def recorder(self, results: str, name: str | None = None, **kwargs: Any) -> str:
        name = name or f"fn-{uuid.uuid4().hex[:10]}"
        kwargs.setdefault("Timeout", 10)
        self.lam.create_function(
            FunctionName=name,
            Runtime=RUNTIME,
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": make_zip({"app.py": RECORDER})},
            Environment={"Variables": {"RESULTS": results}},
            **kwargs,
        )
        self.functions.append(name)
        return name

    def mapping(self, function: str, source_arn: str, **kwargs: Any) -> dict[str, Any]:
        out = self.lam.create_event_source_mapping(
            FunctionName=function, EventSourceArn=source_arn, **kwargs
        )
        self.mappings.append(out["UUID"])
        return out

    def state(self, mapping: str, wanted: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            config = self.lam.get_event_source_mapping(UUID=mapping)
            return config if config["State"] == wanted else None

        return wait_for(reached, timeout=10)

    def results(self, url: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The first invocations a recorder reported, until they hold `count` records."""
        got: list[dict[str, Any]] = []

        def enough() -> bool:
            for message in self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                got.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return sum(len(r["event"]["Records"]) for r in got) >= count

        wait_for(enough, timeout=timeout)
        return got

    def empty(self, url: str, timeout: float = 30) -> None:
        def drained() -> bool:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            values = attributes["Attributes"]
            return (
                values["ApproximateNumberOfMessages"] == "0"
                and values["ApproximateNumberOfMessagesNotVisible"] == "0"
            )

        wait_for(drained, timeout=timeout)

    def send(self, url: str, bodies: list[str], **extra: Any) -> None:
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(i), "MessageBody": body, **extra}
                for i, body in enumerate(bodies[start : start + 10])
            ]
            self.sqs.send_message_batch(QueueUrl=url, Entries=entries)


@pytest.fixture
def setup(aws_client) -> Iterator[Setup]:
    made = Setup(aws_client)
    yield made
    for mapping in made.mappings:
        with contextlib.suppress(made.lam.exceptions.ResourceNotFoundException):
            made.lam.delete_event_source_mapping(UUID=mapping)
    for function in made.functions:
        made.lam.delete_function(FunctionName=function)


def test_the_sqs_event_is_lambdas_and_processed_messages_are_deleted(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    attributes = {
        "Kind": {"DataType": "String", "StringValue": "order"},
        "Count": {"DataType": "Number", "StringValue": "3"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = setup.sqs.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes=attributes)
    created = setup.mapping(function, arn)
    assert (created["State"], created["StateTransitionReason"]) == ("Creating", "USER_INITIATED")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    [record] = setup.results(results, 1)[0]["event"]["Records"]
    setup.empty(url)
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        arn,
        "us-east-1",
    )
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "Kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "Count": {
            "stringValue": "3",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "Blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    config = setup.state(created["UUID"], "Enabled")
    assert config["LastProcessingResult"] == "OK"


def test_handlers_can_delete_with_the_records_receipt_handle(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue(VisibilityTimeout="1")
    function = setup.recorder(results, Timeout=1)
    setup.sqs.send_message(QueueUrl=url, MessageBody="self-delete")
    setup.mapping(function, arn)
    setup.results(results, 1)
    setup.empty(url)  # the batch failed, yet the message is gone: the handler's delete worked


def test_batch_size_and_batching_window(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    setup.send(url, [f"m{i}" for i in range(7)])
    setup.mapping(function, arn, BatchSize=3)
    sizes = [len(r["event"]["Records"]) for r in setup.results(results, 7)]
    assert sum(sizes) == 7 and max(sizes) <= 3
    setup.empty(url)

    other, other_arn = setup.queue()
    setup.send(other, [f"w{i}" for i in range(25)])
    setup.mapping(function, other_arn, BatchSize=50, MaximumBatchingWindowInSeconds=1)
    sizes = [len(r["event"]["Records"]) for r in setup.results(results, 25)]
    assert max(sizes) > 10  # more than one receive's worth in one invocation
    setup.empty(other)


def test_partial_batch_failures_return_only_the_failed_messages(setup: Setup):
    results, _ = setup.queue("results")
    dlq, dlq_arn = setup.queue("dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url, arn = setup.queue(VisibilityTimeout="1", RedrivePolicy=redrive)
    function = setup.recorder(results, Timeout=1)
    setup.send(url, ["good-1", "bad-1", "good-2", "bad-2"])
    setup.mapping(function, arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])

    def dead_lettered() -> list[str]:
        messages = setup.sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        found.extend(m["Body"] for m in messages)
        return len(found) >= 2

    found: list[str] = []
    wait_for(dead_lettered, timeout=30)
    assert sorted(found) == ["bad-1", "bad-2"]
    setup.empty(url)
    seen = [r["body"] for i in setup.results(results, 6) for r in i["event"]["Records"]]
    assert seen.count("good-1") == seen.count("good-2") == 1  # deleted after the first batch


def test_failed_batches_reach_the_queues_dead_letter_queue(setup: Setup):
    results, _ = setup.queue("results")
    dlq, dlq_arn = setup.queue("dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url, arn = setup.queue(VisibilityTimeout="1", RedrivePolicy=redrive)
    function = setup.recorder(results, Timeout=1)
    setup.sqs.send_message(QueueUrl=url, MessageBody="fail")
    created = setup.mapping(function, arn)

    def dead_lettered() -> list[dict[str, Any]]:
        return setup.sqs.receive_message(
            QueueUrl=dlq, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])

    [message] = wait_for(dead_lettered, timeout=30)
    assert message["Body"] == "fail"
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"  # 2 by Lambda, 1 here
    config = setup.lam.get_event_source_mapping(UUID=created["UUID"])
    assert config["LastProcessingResult"] == "PROBLEM: Function call failed"


def test_disable_and_enable(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    created = setup.mapping(function, arn, Enabled=False)
    setup.state(created["UUID"], "Disabled")
    setup.send(url, ["a", "b"])
    attributes = setup.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "2"
    enabling = setup.lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    assert enabling["State"] == "Enabling"
    setup.state(created["UUID"], "Enabled")
    setup.empty(url)
    disabling = setup.lam.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    assert disabling["State"] == "Disabling"
    setup.state(created["UUID"], "Disabled")
    setup.send(url, ["c"])
    updating = setup.lam.update_event_source_mapping(UUID=created["UUID"], BatchSize=5)
    assert (updating["State"], updating["BatchSize"]) == ("Updating", 5)
    setup.state(created["UUID"], "Disabled")
    assert setup.sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "c"


def test_a_mapping_waits_while_its_function_is_deleted(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    created = setup.state(setup.mapping(function, arn)["UUID"], "Enabled")
    setup.lam.delete_function(FunctionName=function)
    setup.functions.remove(function)

    def parked() -> bool:
        config = setup.lam.get_event_source_mapping(UUID=created["UUID"])
        return config["LastProcessingResult"].startswith("PROBLEM: Function not found")

    wait_for(parked)
    setup.sqs.send_message(QueueUrl=url, MessageBody="kept for later")
    setup.recorder(results, name=function)  # the same function again: polling resumes
    [record] = setup.results(results, 1)[0]["event"]["Records"]
    assert (record["body"], record["attributes"]["ApproximateReceiveCount"]) == (
        "kept for later",
        "1",
    )
    setup.empty(url)


def test_pollers_scale_out_with_the_backlog(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    setup.send(url, [f"slow-{i}" for i in range(16)])
    setup.mapping(function, arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": 4})
    invocations = setup.results(results, 16)
    setup.empty(url)
    assert len({i["pid"] for i in invocations}) > 1
    overlapping = any(
        a["start"] < b["end"] and b["start"] < a["end"] and a["pid"] != b["pid"]
        for a in invocations
        for b in invocations
    )
    assert overlapping  # more than one environment ran at the same time


def test_fifo_queues_keep_each_groups_order(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue(FifoQueue="true", ContentBasedDeduplication="true")
    function = setup.recorder(results)
    for i in range(6):
        for group in ("g1", "g2"):
            setup.sqs.send_message(QueueUrl=url, MessageBody=f"{group}-{i}", MessageGroupId=group)
    setup.mapping(function, arn, BatchSize=2)
    records = [r for i in setup.results(results, 12) for r in i["event"]["Records"]]
    for group in ("g1", "g2"):
        bodies = [r["body"] for r in records if r["attributes"]["MessageGroupId"] == group]
        assert bodies == [f"{group}-{i}" for i in range(6)]
    assert {"SequenceNumber", "MessageDeduplicationId"} <= set(records[0]["attributes"])
    setup.empty(url)


def test_api_answers_and_errors(setup: Setup):
    lam = setup.lam
    results, _ = setup.queue("results")
    _, arn = setup.queue()
    function = setup.recorder(results)
    created = setup.mapping(function, arn, BatchSize=5)
    mapping = created["UUID"]
    assert created["FunctionArn"].endswith(f":function:{function}")
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{mapping}")
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"]) == (5, 0)
    duplicate = error_of(lam.create_event_source_mapping, FunctionName=function, EventSourceArn=arn)
    assert (duplicate["Code"], duplicate["Status"]) == ("ResourceConflictException", 409)
    assert duplicate["Message"].endswith(f"existing mapping with UUID {mapping}")
    listed = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping]
    by_source = lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=1)
    assert [m["UUID"] for m in by_source["EventSourceMappings"]] == [mapping]
    _, other_arn = setup.queue()
    bad = error_of(
        lam.create_event_source_mapping,
        FunctionName=function,
        EventSourceArn=other_arn,
        BatchSize=20,
    )
    assert bad["Message"] == (
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    )
    filtered = error_of(
        lam.create_event_source_mapping,
        FunctionName=function,
        EventSourceArn=other_arn,
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": [{"prefix": 1}]}}'}]},
    )
    assert filtered["Code"] == "InvalidParameterValueException"
    assert filtered["Message"] == "Invalid filter pattern definition."
    _, short_arn = setup.queue(VisibilityTimeout="5")
    slow = error_of(
        lam.create_event_source_mapping, FunctionName=function, EventSourceArn=short_arn
    )
    assert (
        slow["Message"]
        == "Queue visibility timeout: 5 seconds is less than Function timeout: 10 seconds"
    )
    missing = error_of(lam.get_event_source_mapping, UUID=str(uuid.uuid4()))
    assert (missing["Code"], missing["Status"]) == ("ResourceNotFoundException", 404)
    deleted = lam.delete_event_source_mapping(UUID=mapping)
    assert deleted["State"] == "Deleting"

    def gone() -> bool:  # deleted asynchronously, as on AWS: "Deleting" until the poller stops
        try:
            state = lam.get_event_source_mapping(UUID=mapping)["State"]
        except lam.exceptions.ResourceNotFoundException:
            return True
        assert state == "Deleting"
        return False

    wait_for(gone, timeout=10)


def test_mappings_poll_again_after_a_restart(cloudlet_process):
    cloudlet_process.start()
    lam, sqs = cloudlet_process.client("lambda"), cloudlet_process.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    lam.create_function(
        FunctionName="worker",
        Runtime=RUNTIME,
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip({"app.py": "def handler(event, context):\n    return None\n"})},
    )
    mapping = lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=arn["QueueArn"])
    cloudlet_process.kill()
    cloudlet_process.start()
    lam, sqs = cloudlet_process.client("lambda"), cloudlet_process.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="after the restart")

    def drained() -> bool:
        values = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            values["ApproximateNumberOfMessages"]
            == values["ApproximateNumberOfMessagesNotVisible"]
            == "0"
        )

    wait_for(drained, timeout=30)
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled"


def test_filter_criteria_pass_matching_messages_and_delete_the_rest(setup: Setup):
    results, _ = setup.queue("results")
    url, arn = setup.queue()
    function = setup.recorder(results)
    setup.send(
        url,
        [
            json.dumps({"kind": "order", "n": 1}),
            json.dumps({"kind": "refund", "n": 2}),
            "plain text, not JSON",
            json.dumps({"kind": "order", "n": 3}),
        ],
    )
    pattern = {"body": {"kind": ["order"]}}
    created = setup.mapping(
        function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]}
    )
    assert json.loads(created["FilterCriteria"]["Filters"][0]["Pattern"]) == pattern
    seen = setup.results(results, 2)
    bodies = sorted(json.loads(r["body"])["n"] for got in seen for r in got["event"]["Records"])
    assert bodies == [1, 3]
    setup.empty(url)  # the messages no filter accepted are deleted, not retried
