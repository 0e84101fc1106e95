"""Publishing to SQS subscribers: the envelope AWS sends, raw delivery, message structure, message
attributes, batches, FIFO order and deduplication, filter policies."""

from __future__ import annotations

import json
import re

from .conftest import error_of, verify_signature

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_envelope_as_aws_sends_it(cloud):
    topic = cloud.topic()
    url, sub = cloud.subscribed_queue(topic)
    published = cloud.sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={
            "store": {"DataType": "String", "StringValue": "example_corp"},
            "price": {"DataType": "Number", "StringValue": "99.12"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
        },
    )
    [message] = cloud.receive(url, 1)
    body = json.loads(message["Body"])
    assert list(body) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert body["Type"] == "Notification"
    assert body["MessageId"] == published["MessageId"]
    assert (body["TopicArn"], body["Subject"], body["Message"]) == (topic, "greeting", "hello")
    assert ISO_MS.match(body["Timestamp"])
    assert body["SignatureVersion"] == "1"
    assert body["UnsubscribeURL"] == f"{cloud.endpoint}/?Action=Unsubscribe&SubscriptionArn={sub}"
    assert body["MessageAttributes"] == {
        "store": {"Type": "String", "Value": "example_corp"},
        "price": {"Type": "Number", "Value": "99.12"},
        "blob": {"Type": "Binary", "Value": "AgME"},
    }
    assert message["Body"].startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')
    verify_signature(body)


def test_signature_version_2(cloud):
    topic = cloud.topic(SignatureVersion="2")
    url, _ = cloud.subscribed_queue(topic)
    cloud.sns.publish(TopicArn=topic, Message="signed with SHA256")
    body = json.loads(cloud.receive(url, 1)[0]["Body"])
    assert body["SignatureVersion"] == "2"
    assert "Subject" not in body
    verify_signature(body)


def test_raw_delivery_keeps_attributes(cloud):
    topic = cloud.topic()
    url, _ = cloud.subscribed_queue(topic, RawMessageDelivery="true")
    cloud.sns.publish(
        TopicArn=topic,
        Message="Test msg",
        MessageAttributes={
            "attr1": {"DataType": "Number", "StringValue": "99.12"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
        },
    )
    [message] = cloud.receive(url, 1, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert message["Body"] == "Test msg"
    assert message["MessageAttributes"] == {
        "attr1": {"DataType": "Number", "StringValue": "99.12"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
    }
    assert message["Attributes"]["SenderId"]


def test_message_structure_json(cloud):
    topic = cloud.topic()
    url, _ = cloud.subscribed_queue(topic)
    cloud.sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "sqs": '{"field": "value"}', "email": "x"}),
    )
    cloud.sns.publish(
        TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "only default"})
    )
    bodies = [json.loads(m["Body"])["Message"] for m in cloud.receive(url, 2)]
    assert set(bodies) == {'{"field": "value"}', "only default"}
    for message, text in (
        (
            json.dumps({"sqs": "x"}),
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ),
        (
            json.dumps({"default": 1}),
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ),
        ("not json", "Invalid parameter: Message Structure - JSON message body failed to parse"),
    ):
        error = error_of(
            cloud.sns.publish, TopicArn=topic, MessageStructure="json", Message=message
        )
        assert (error["Code"], error["Message"]) == ("InvalidParameter", text)


def test_publish_validation(cloud):
    topic = cloud.topic()
    for kwargs, code, message in (
        ({"Message": ""}, "InvalidParameter", "Invalid parameter: Empty message"),
        ({"Message": "m", "Subject": ""}, "InvalidParameter", "Invalid parameter: Subject"),
        ({"Message": "x" * 262_145}, "InvalidParameter", "Invalid parameter: Message too long"),
        (
            {
                "Message": "m",
                "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "abc"}},
            },
            "ParameterValueInvalid",
            "Could not cast message attribute 'a' value to number.",
        ),
        (
            {"Message": "m", "MessageAttributes": {"a": {"DataType": "Date", "StringValue": "x"}}},
            "ParameterValueInvalid",
            "The message attribute 'a' has an invalid message attribute type, the set of supported "
            "type prefixes is Binary, Number, and String.",
        ),
        (
            {"Message": "m", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}},
            "ParameterValueInvalid",
            "The message attribute 'a' must contain non-empty message attribute value for message "
            "attribute type 'String'.",
        ),
        (
            {
                "Message": "m",
                "MessageAttributes": {".a": {"DataType": "String", "StringValue": "x"}},
            },
            "ParameterValueInvalid",
            "Invalid message attribute name starting with character '.' was found.",
        ),
        (
            {"Message": "m", "MessageDeduplicationId": "d"},
            "InvalidParameter",
            "Invalid parameter: MessageDeduplicationId Reason: The request includes "
            "MessageDeduplicationId parameter that is not valid for this topic type",
        ),
    ):
        error = error_of(cloud.sns.publish, TopicArn=topic, **kwargs)
        assert (error["Code"], error["Message"]) == (code, message), kwargs
    error = error_of(cloud.sns.publish, TopicArn=topic + "-gone", Message="m")
    assert (error["Code"], error["Message"], error["Status"]) == (
        "NotFound",
        "Topic does not exist",
        404,
    )
    error = error_of(
        cloud.sns.publish, TopicArn="arn:aws:sns:eu-west-1:000000000000:x", Message="m"
    )
    assert error["Message"] == "Invalid parameter: TopicArn"


def test_publish_batch(cloud):
    topic = cloud.topic()
    url, _ = cloud.subscribed_queue(topic, RawMessageDelivery="true")
    entries = [{"Id": str(i), "Message": f"m{i}"} for i in range(5)]
    entries.append({"Id": "empty", "Message": ""})
    answer = cloud.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert [s["Id"] for s in answer["Successful"]] == ["0", "1", "2", "3", "4"]
    assert answer["Failed"] == [
        {
            "Id": "empty",
            "Code": "InvalidParameter",
            "Message": "Invalid parameter: Empty message",
            "SenderFault": True,
        }
    ]
    assert sorted(m["Body"] for m in cloud.receive(url, 5)) == [f"m{i}" for i in range(5)]
    for batch, code, message in (
        (
            [{"Id": str(i), "Message": "m"} for i in range(11)],
            "TooManyEntriesInBatchRequest",
            "The batch request contains more entries than permissible.",
        ),
        (
            [{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}],
            "BatchEntryIdsNotDistinct",
            "Two or more batch entries in the request have the same Id.",
        ),
        (
            [{"Id": str(i), "Message": "x" * 30_000} for i in range(10)],
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit.",
        ),
    ):
        error = error_of(cloud.sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=batch)
        assert (error["Code"], error["Message"]) == (code, message)
    error = error_of(
        cloud.sns.publish_batch, TopicArn=topic + "-gone", PublishBatchRequestEntries=entries[:1]
    )
    assert error["Code"] == "NotFound"


def test_fifo_order_and_deduplication(cloud):
    topic = cloud.topic(fifo=True, ContentBasedDeduplication="true")
    url, _ = cloud.subscribed_queue(topic, fifo=True)
    sequences = []
    for i in range(10):
        for group in ("g1", "g2"):
            answer = cloud.sns.publish(TopicArn=topic, Message=f"{group}-{i}", MessageGroupId=group)
            sequences.append(int(answer["SequenceNumber"]))
    assert sequences == sorted(sequences) and len(set(sequences)) == 20
    first = cloud.sns.publish(
        TopicArn=topic, Message="once", MessageGroupId="g1", MessageDeduplicationId="d1"
    )
    again = cloud.sns.publish(
        TopicArn=topic, Message="once more", MessageGroupId="g1", MessageDeduplicationId="d1"
    )
    assert again["MessageId"] == first["MessageId"]
    assert again["SequenceNumber"] == first["SequenceNumber"]
    received = cloud.receive(url, 21, timeout=20, AttributeNames=["All"])
    by_group: dict[str, list[str]] = {}
    for message in received:
        body = json.loads(message["Body"])
        assert "Signature" not in body and body["SequenceNumber"]
        by_group.setdefault(message["Attributes"]["MessageGroupId"], []).append(body["Message"])
    assert by_group["g2"] == [f"g2-{i}" for i in range(10)]
    assert by_group["g1"] == [f"g1-{i}" for i in range(10)] + ["once"]
    assert cloud.nothing_in(url)
    for kwargs, text in (
        ({}, "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"),
    ):
        error = error_of(cloud.sns.publish, TopicArn=topic, Message="m", **kwargs)
        assert error["Message"] == text
    plain = cloud.topic(fifo=True)
    error = error_of(cloud.sns.publish, TopicArn=plain, Message="m", MessageGroupId="g")
    assert error["Message"] == (
        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )


def test_filter_policy_on_attributes(cloud):
    topic = cloud.topic()
    policy = {"store": ["example_corp"], "price": [{"numeric": [">", 0, "<=", 100]}]}
    url, _ = cloud.subscribed_queue(
        topic, RawMessageDelivery="true", FilterPolicy=json.dumps(policy)
    )
    other, _ = cloud.subscribed_queue(topic, RawMessageDelivery="true")

    def publish(text: str, **attributes: tuple[str, str]) -> None:
        cloud.sns.publish(
            TopicArn=topic,
            Message=text,
            MessageAttributes={
                k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()
            },
        )

    publish("match", store=("String", "example_corp"), price=("Number", "99.5"))
    publish("too expensive", store=("String", "example_corp"), price=("Number", "150"))
    publish("other store", store=("String", "other"), price=("Number", "1"))
    publish("no attributes")
    assert [m["Body"] for m in cloud.receive(url, 1)] == ["match"]
    assert len(cloud.receive(other, 4)) == 4
    assert cloud.nothing_in(url)


def test_filter_policy_on_body(cloud):
    topic = cloud.topic()
    policy = {"order": {"status": ["paid"], "total": [{"numeric": [">=", 10]}]}}
    url, _ = cloud.subscribed_queue(
        topic,
        RawMessageDelivery="true",
        FilterPolicy=json.dumps(policy),
        FilterPolicyScope="MessageBody",
    )
    for body in (
        {"order": {"status": "paid", "total": 12}},
        {"order": {"status": "open", "total": 12}},
        {"order": {"status": "paid", "total": 3}},
    ):
        cloud.sns.publish(TopicArn=topic, Message=json.dumps(body))
    cloud.sns.publish(TopicArn=topic, Message="not json at all")
    assert [json.loads(m["Body"]) for m in cloud.receive(url, 1)] == [
        {"order": {"status": "paid", "total": 12}}
    ]
    assert cloud.nothing_in(url)


def test_missing_queue_goes_to_dead_letter_queue(cloud):
    topic = cloud.topic()
    _, gone_arn = cloud.queue()
    dlq_url, dlq_arn = cloud.queue()
    sub = cloud.sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone_arn,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )["SubscriptionArn"]
    cloud.sqs.delete_queue(
        QueueUrl=cloud.sqs.get_queue_url(QueueName=gone_arn.rsplit(":", 1)[1])["QueueUrl"]
    )
    cloud.sns.publish(TopicArn=topic, Message="undeliverable")
    body = json.loads(cloud.receive(dlq_url, 1)[0]["Body"])
    assert (body["Message"], body["UnsubscribeURL"].endswith(sub)) == ("undeliverable", True)


def test_trace_header_reaches_sqs(cloud):
    topic = cloud.topic()
    url, _ = cloud.subscribed_queue(topic)
    trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    cloud.sns.meta.events.register_first("before-sign.sns.Publish", add_header)
    try:
        cloud.sns.publish(TopicArn=topic, Message="traced")
    finally:
        cloud.sns.meta.events.unregister("before-sign.sns.Publish", add_header)
    [message] = cloud.receive(url, 1, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert message["Attributes"]["AWSTraceHeader"] == trace
