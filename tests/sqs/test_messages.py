"""SQS messages through boto3: send, receive, delete, attributes and their MD5s, limits,
delays, visibility, receipt handles, retention and the batch operations.

boto3 (unlike the Java, .NET and Go SDKs) does not verify the MD5s SQS answers, so every MD5 is
checked here against an independent implementation of AWS's algorithm and against digests
recorded from AWS itself.
"""

from __future__ import annotations

import hashlib
import struct
import time

import pytest

from sqs.conftest import attributes_of, error_of, receive_all

# Digests AWS answered for these inputs (recorded against AWS by LocalStack's snapshot tests).
AWS_MD5_OF_MSG = "6e2baaf3b97dbeef01c0043275f9a0e7"  # body "msg"
THREE_STRINGS = {
    "Help.Me": {"DataType": "String", "StringValue": "Me"},
    "Hello": {"DataType": "String", "StringValue": "There"},
    "General": {"DataType": "String", "StringValue": "Kenobi"},
}
AWS_MD5_OF_THREE_STRINGS = "4c360f3fdafd970e05fae2f149d997f5"
AWS_MD5_OF_GENERAL_HELLO = "fca026605781cb4126a1e9044df24232"
AWS_MD5_OF_HELLO = "a311262e065454b75da111d535b8dacd"
AWS_MD5_OF_HELLO_HELP_ME = "83fee93c1bcd8b9a5a923ffacdc636c7"
TRACEPARENT = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
AWS_MD5_OF_BINARY = "8cbe4db156db8a94db8b801b7addb984"  # {"attr1": Binary TRACEPARENT}
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
AWS_MD5_OF_TRACE_HEADER = "5ae4d5d7636402d80f4eb6d213245a88"

INVALID_CONTENTS = (
    "Invalid binary character '#x7' was found in the message body, the set of allowed characters is "
    "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
)


def md5_of_attributes(attributes: dict) -> str:
    """AWS's algorithm, written from the SQS developer guide independently of cloudlet's code."""
    data = b""
    for name in sorted(attributes):
        value = attributes[name]
        for part in (name.encode(), value["DataType"].encode()):
            data += struct.pack("!I", len(part)) + part
        if "BinaryValue" in value:
            data += b"\x02" + struct.pack("!I", len(value["BinaryValue"])) + value["BinaryValue"]
        else:
            text = value["StringValue"].encode()
            data += b"\x01" + struct.pack("!I", len(text)) + text
    return hashlib.md5(data).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# -- send / receive / delete ----------------------------------------------------------------------


def test_send_receive_delete(sqs, new_queue):
    url = new_queue()
    sent = sqs.send_message(QueueUrl=url, MessageBody="msg")
    assert sent["MD5OfMessageBody"] == AWS_MD5_OF_MSG
    assert "MD5OfMessageAttributes" not in sent and "SequenceNumber" not in sent

    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "msg"
    assert message["MD5OfBody"] == AWS_MD5_OF_MSG
    assert set(message) == {"MessageId", "ReceiptHandle", "MD5OfBody", "Body"}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight now

    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # gone, not merely hidden
    assert attributes_of(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
    ) == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


@pytest.mark.parametrize(
    "body",
    [
        '"&quot;&quot;\r',
        '{\r\n"id": 1}',
        "tab\there",
        "ünïcödé ✓ 𝄞 😀",
        "<xml>&amp;</xml>",
        "\ue000\ufffd",
    ],
)
def test_bodies_round_trip_exactly_with_their_md5(sqs, new_queue, body):
    url = new_queue()
    assert sqs.send_message(QueueUrl=url, MessageBody=body)["MD5OfMessageBody"] == md5(body)
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5(body)


def test_receive_returns_up_to_max_number_of_messages(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)]
    )
    sqs.send_message(QueueUrl=url, MessageBody="m10")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4)["Messages"]
    assert len(first) == 4
    rest = receive_all(sqs, url, 7)
    assert sorted(m["Body"] for m in first + rest) == sorted(f"m{i}" for i in range(11))
    assert len({m["MessageId"] for m in first + rest}) == 11


@pytest.mark.parametrize("count", [0, 11])
def test_max_number_of_messages_outside_1_to_10_is_invalid(sqs, new_queue, count):
    error = error_of(sqs.receive_message, QueueUrl=new_queue(), MaxNumberOfMessages=count)
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
    )


def test_wait_time_seconds_over_20_is_invalid(sqs, new_queue):
    error = error_of(sqs.receive_message, QueueUrl=new_queue(), WaitTimeSeconds=21)
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
    )


# -- message attributes ---------------------------------------------------------------------------

ALL_TYPES = {
    "text": {"DataType": "String", "StringValue": "hello ✓"},
    "count": {"DataType": "Number", "StringValue": "-12.5e3"},
    "blob": {"DataType": "Binary", "BinaryValue": TRACEPARENT},
    "custom.text": {"DataType": "String.order-id", "StringValue": "A-17"},
    "custom.number": {"DataType": "Number.float", "StringValue": "3.14"},
    "custom.blob": {"DataType": "Binary.gif", "BinaryValue": bytes(range(256))},
}


def test_attributes_of_every_type_round_trip_with_aws_md5(sqs, new_queue):
    url = new_queue()
    sent = sqs.send_message(QueueUrl=url, MessageBody="typed", MessageAttributes=ALL_TYPES)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(ALL_TYPES)
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"] == ALL_TYPES
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_attribute_md5s_match_digests_recorded_from_aws(sqs, new_queue):
    url = new_queue()
    sent = sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=THREE_STRINGS)
    assert (
        sent["MD5OfMessageAttributes"]
        == AWS_MD5_OF_THREE_STRINGS
        == md5_of_attributes(THREE_STRINGS)
    )
    binary = {"attr1": {"DataType": "Binary", "BinaryValue": TRACEPARENT}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=binary)
    assert sent["MD5OfMessageAttributes"] == AWS_MD5_OF_BINARY == md5_of_attributes(binary)


@pytest.mark.parametrize(
    ("names", "expected", "digest"),
    [
        (["All"], set(THREE_STRINGS), AWS_MD5_OF_THREE_STRINGS),
        ([".*"], set(THREE_STRINGS), AWS_MD5_OF_THREE_STRINGS),
        (["*"], set(THREE_STRINGS), AWS_MD5_OF_THREE_STRINGS),
        (["Hello", "General"], {"Hello", "General"}, AWS_MD5_OF_GENERAL_HELLO),
        (["Foo", "Hello"], {"Hello"}, AWS_MD5_OF_HELLO),
        (["Hel.*"], {"Hello", "Help.Me"}, AWS_MD5_OF_HELLO_HELP_ME),
        (["Foo", "Help"], set(), None),
        ([], set(), None),
    ],
)
def test_receive_selects_message_attributes_by_name_and_prefix(
    sqs, new_queue, names, expected, digest
):
    url = new_queue(VisibilityTimeout=0)
    sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=THREE_STRINGS)
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=names)["Messages"]
    assert set(message.get("MessageAttributes") or {}) == expected
    assert message.get("MD5OfMessageAttributes") == digest


def test_an_empty_attribute_value_is_invalid(sqs, new_queue):
    error = error_of(
        sqs.send_message,
        QueueUrl=new_queue(),
        MessageBody="test",
        MessageAttributes={"ErrorDetails": {"StringValue": "", "DataType": "String"}},
    )
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
    )


@pytest.mark.parametrize(
    "attributes",
    [
        {"aWs.reserved": {"DataType": "String", "StringValue": "v"}},
        {"AMAZON.reserved": {"DataType": "String", "StringValue": "v"}},
        {".leading-dot": {"DataType": "String", "StringValue": "v"}},
        {"trailing-dot.": {"DataType": "String", "StringValue": "v"}},
        {"double..dot": {"DataType": "String", "StringValue": "v"}},
        {"bad!char": {"DataType": "String", "StringValue": "v"}},
        {"L" * 257: {"DataType": "String", "StringValue": "v"}},
        {"kind": {"DataType": "Invalid", "StringValue": "v"}},
        {"kind": {"DataType": "Number." + "L" * 256, "StringValue": "1"}},
        {"number": {"DataType": "Number", "StringValue": "twelve"}},
        {"control": {"DataType": "String", "StringValue": f"bad-{chr(8)}"}},
        {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
    ],
    ids=[
        "aws.",
        "amazon.",
        "leading-dot",
        "trailing-dot",
        "double-dot",
        "bad-char",
        "name-too-long",
        "bad-type",
        "type-too-long",
        "not-a-number",
        "control-char",
        "eleven-attributes",
    ],
)
def test_invalid_message_attributes_are_invalid_parameter_value(sqs, new_queue, attributes):
    error = error_of(
        sqs.send_message, QueueUrl=new_queue(), MessageBody="test", MessageAttributes=attributes
    )
    assert error["Code"] == "InvalidParameterValue"


def test_ten_attributes_with_unicode_names_are_fine(sqs, new_queue):
    attributes = {f"attr.{i}øßä": {"DataType": "String", "StringValue": "valid"} for i in range(10)}
    sent = sqs.send_message(QueueUrl=new_queue(), MessageBody="test", MessageAttributes=attributes)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)


# -- system attributes ----------------------------------------------------------------------------


def test_aws_trace_header_has_its_own_md5_and_comes_back_when_asked(sqs, new_queue):
    url = new_queue(VisibilityTimeout=0)
    user = {"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}}
    plain = sqs.send_message(QueueUrl=url, MessageBody="test", MessageAttributes=user)
    traced = sqs.send_message(
        QueueUrl=url,
        MessageBody="test",
        MessageAttributes=user,
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": TRACE_HEADER}
        },
    )
    assert "MD5OfMessageSystemAttributes" not in plain
    assert traced["MD5OfMessageSystemAttributes"] == AWS_MD5_OF_TRACE_HEADER
    assert (
        traced["MD5OfMessageAttributes"] == plain["MD5OfMessageAttributes"]
    )  # system ones do not count

    messages = receive_all(sqs, url, 2, MessageSystemAttributeNames=["AWSTraceHeader"])
    by_id = {m["MessageId"]: m for m in messages}
    assert by_id[traced["MessageId"]]["Attributes"] == {"AWSTraceHeader": TRACE_HEADER}
    assert by_id[plain["MessageId"]].get("Attributes", {}) == {}


def test_system_attributes_of_a_standard_message(sqs, new_queue):
    url = new_queue(VisibilityTimeout=0)
    before = int(time.time() * 1000)
    sqs.send_message(QueueUrl=url, MessageBody="msg")
    [first] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    [second] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])[
        "Messages"
    ]  # the older parameter
    attributes = first["Attributes"]
    assert set(attributes) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }
    assert attributes["ApproximateReceiveCount"] == "1"
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert (
        second["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == attributes["ApproximateFirstReceiveTimestamp"]
    )
    sent_at = int(attributes["SentTimestamp"])  # epoch milliseconds
    assert (
        before - 5000
        <= sent_at
        <= int(attributes["ApproximateFirstReceiveTimestamp"])
        <= time.time() * 1000 + 5000
    )
    [third] = sqs.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["SenderId", "SequenceNumber"]
    )["Messages"]
    assert set(third["Attributes"]) == {"SenderId"}


# -- size and content limits ----------------------------------------------------------------------


def test_message_size_counts_body_and_attributes_against_maximum_message_size(sqs, new_queue):
    url = new_queue(MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)  # exactly the limit
    attribute = {"k": {"DataType": "String", "StringValue": "x"}}  # 1 + 6 + 1 bytes
    sqs.send_message(QueueUrl=url, MessageBody="a" * (1024 - 8), MessageAttributes=attribute)
    error = error_of(
        sqs.send_message, QueueUrl=url, MessageBody="a" * (1024 - 7), MessageAttributes=attribute
    )
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    assert (
        error_of(sqs.send_message, QueueUrl=url, MessageBody="é" * 513)["Code"]
        == "InvalidParameterValue"
    )  # bytes


def test_the_default_limit_is_one_mebibyte(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1048576)
    error = error_of(sqs.send_message, QueueUrl=url, MessageBody="a" * 1048577)
    assert (
        error["Message"]
        == "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )


def test_invalid_characters_are_invalid_message_contents(sqs, new_queue):
    url = new_queue()
    error = error_of(sqs.send_message, QueueUrl=url, MessageBody="bell\x07")
    assert error["Code"] == "InvalidMessageContents"
    assert error["Message"] == INVALID_CONTENTS
    for body in ("nul\x00", "vt\x0b", "esc\x1b", "nonchar\uffff"):
        assert (
            error_of(sqs.send_message, QueueUrl=url, MessageBody=body)["Code"]
            == "InvalidMessageContents"
        )
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=url, MessageBody="\x01")


def test_message_deduplication_id_is_not_for_standard_queues(sqs, new_queue):
    error = error_of(
        sqs.send_message, QueueUrl=new_queue(), MessageBody="x", MessageDeduplicationId="d"
    )
    assert error["Code"] == "InvalidParameterValue"


# -- delays ---------------------------------------------------------------------------------------


def test_a_delayed_message_is_counted_as_delayed_and_arrives_after_its_delay(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert attributes_of(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"
    ) == {
        "ApproximateNumberOfMessages": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }
    assert [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ] == ["now"]
    [late] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert late["Body"] == "later"


def test_delays_per_message_and_per_queue_follow_the_clock(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"delays-{time.monotonic_ns()}", Attributes={"DelaySeconds": "120"}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="message delay", DelaySeconds=900)
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)

    def bodies() -> list[str]:
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=43200
        )
        return [m["Body"] for m in received.get("Messages", [])]

    assert bodies() == ["no delay"]  # an explicit 0 overrides the queue's delay
    clock_server.advance("119s")
    assert bodies() == []
    clock_server.advance("2s")
    assert bodies() == ["queue delay"]
    clock_server.advance("780s")
    assert bodies() == ["message delay"]


def test_delay_seconds_over_900_is_invalid(sqs, new_queue):
    assert error_of(sqs.send_message, QueueUrl=new_queue(), MessageBody="x", DelaySeconds=901)[
        "Code"
    ] == ("InvalidParameterValue")


# -- visibility -----------------------------------------------------------------------------------


def test_visibility_timeout_hides_a_message_until_it_expires(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(
        QueueName=f"vis-{time.monotonic_ns()}", Attributes={"VisibilityTimeout": "30"}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job")
    [first] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert attributes_of(sqs, url, "ApproximateNumberOfMessagesNotVisible") == {
        "ApproximateNumberOfMessagesNotVisible": "1"
    }
    clock_server.advance("29s")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock_server.advance("2s")
    [second] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], VisibilityTimeout=600)[
        "Messages"
    ]
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert (
        second["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
    )
    clock_server.advance("599s")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the receive's own timeout applies


def test_change_message_visibility_to_zero_releases_it_and_later_extends_it(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="job")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]
    assert again["MessageId"] == message["MessageId"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=600
    )
    assert "Messages" not in sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=2
    )  # outlived its 1 s


def test_change_visibility_of_a_deleted_message_is_invalid_parameter_value(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="foo")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    error = error_of(
        sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
        "available for visibility timeout change."
    )


def test_change_visibility_after_the_timeout_ran_out_is_accepted_and_changes_nothing(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(QueueName=f"expired-{time.monotonic_ns()}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=10)["Messages"][0]["ReceiptHandle"]
    clock_server.advance("11s")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=300)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "job"  # still visible


def test_a_message_stays_hidden_at_most_12_hours_after_a_receive(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(QueueName=f"twelve-{time.monotonic_ns()}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="long job")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=43200)["Messages"][0][
        "ReceiptHandle"
    ]
    clock_server.advance("1h")
    error = error_of(
        sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43200
    )
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the "
        "message is beyond the limit [43200 seconds]"
    )
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=39600)


def test_the_legacy_attribute_names_parameter_takes_message_system_attribute_names(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="msg")
    [message] = sqs.receive_message(
        QueueUrl=url, AttributeNames=["ApproximateReceiveCount", "SentTimestamp"]
    )["Messages"]
    assert set(message["Attributes"]) == {"ApproximateReceiveCount", "SentTimestamp"}


@pytest.mark.parametrize("operation", ["delete_message", "change_message_visibility"])
def test_a_handle_that_is_not_a_receipt_handle_is_receipt_handle_is_invalid(
    sqs, new_queue, operation
):
    kwargs = {"VisibilityTimeout": 60} if operation == "change_message_visibility" else {}
    error = error_of(
        getattr(sqs, operation), QueueUrl=new_queue(), ReceiptHandle="garbage", **kwargs
    )
    assert error["Code"] == "ReceiptHandleIsInvalid"
    assert error["Message"] == 'The input receipt handle "garbage" is not a valid receipt handle.'


def test_a_receipt_handle_of_another_queue_is_invalid(sqs, new_queue):
    first, second = new_queue(), new_queue()
    sqs.send_message(QueueUrl=first, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=first)["Messages"][0]["ReceiptHandle"]
    error = error_of(sqs.delete_message, QueueUrl=second, ReceiptHandle=handle)
    assert error["Code"] == "ReceiptHandleIsInvalid"


def test_deleting_twice_or_with_an_old_handle_is_no_error(sqs, new_queue):
    url = new_queue()
    sqs.send_message(QueueUrl=url, MessageBody="foo")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    for _ in range(3):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    sqs.send_message(QueueUrl=url, MessageBody="bar")
    old = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(
        QueueUrl=url, ReceiptHandle=old
    )  # its visibility ran out, it was not received again
    assert attributes_of(sqs, url, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "0"
    }


# -- retention ------------------------------------------------------------------------------------


def test_messages_expire_after_the_retention_period(clock_server):
    sqs = clock_server.client()
    short = sqs.create_queue(
        QueueName=f"short-{time.monotonic_ns()}", Attributes={"MessageRetentionPeriod": "60"}
    )["QueueUrl"]
    default = sqs.create_queue(QueueName=f"default-{time.monotonic_ns()}")["QueueUrl"]
    for url in (short, default):
        sqs.send_message(QueueUrl=url, MessageBody="kept for a while")
    clock_server.advance("59s")
    assert attributes_of(sqs, short, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "1"
    }
    clock_server.advance("2s")
    assert "Messages" not in sqs.receive_message(QueueUrl=short)
    assert attributes_of(sqs, short, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "0"
    }

    clock_server.advance("3d")
    assert attributes_of(sqs, default, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "1"
    }
    clock_server.advance("2d")  # past the default of 4 days
    assert "Messages" not in sqs.receive_message(QueueUrl=default)
    assert attributes_of(sqs, default, "ApproximateNumberOfMessages") == {
        "ApproximateNumberOfMessages": "0"
    }


# -- batches --------------------------------------------------------------------------------------


def test_send_message_batch_answers_each_entry_with_its_md5s(sqs, new_queue):
    url = new_queue()
    entries = [
        {
            "Id": f"entry-{i}",
            "MessageBody": f"body-{i}",
            "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}},
        }
        for i in range(10)
    ]
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert result.get("Failed", []) == []
    by_id = {entry["Id"]: entry for entry in result["Successful"]}
    assert set(by_id) == {e["Id"] for e in entries}
    for entry in entries:
        answer = by_id[entry["Id"]]
        assert answer["MD5OfMessageBody"] == md5(entry["MessageBody"])
        assert answer["MD5OfMessageAttributes"] == md5_of_attributes(entry["MessageAttributes"])
    received = receive_all(sqs, url, 10, MessageAttributeNames=["All"])
    assert {m["MessageId"] for m in received} == {a["MessageId"] for a in result["Successful"]}


def test_send_message_batch_fails_single_entries(sqs, new_queue):
    url = new_queue(MaximumMessageSize=1024)
    entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(7)]
    entries += [
        {"Id": "bad-chars", "MessageBody": "\x01"},
        {"Id": "too-big", "MessageBody": "a" * 1025},
        {"Id": "bad-delay", "MessageBody": "x", "DelaySeconds": 901},
    ]
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in result["Successful"]) == [str(i) for i in range(7)]
    failed = {entry["Id"]: entry for entry in result["Failed"]}
    assert set(failed) == {"bad-chars", "too-big", "bad-delay"}
    assert failed["bad-chars"]["Code"] == "InvalidMessageContents"
    assert failed["too-big"]["Code"] == "InvalidParameterValue"
    assert (
        failed["too-big"]["Message"]
        == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    assert all(entry["SenderFault"] is True for entry in failed.values())
    assert sorted(m["Body"] for m in receive_all(sqs, url, 7)) == [str(i) for i in range(7)]


def test_a_batch_of_messages_of_the_queue_limit_may_exceed_it_in_total(sqs, new_queue):
    url = new_queue(MaximumMessageSize=2048)
    attribute = {"k": {"DataType": "String", "StringValue": "x"}}
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "MessageBody": "a" * 2040, "MessageAttributes": attribute},
            {"Id": "2", "MessageBody": "a"},
        ],
    )
    assert len(result["Successful"]) == 2


def test_a_batch_longer_than_one_mebibyte_is_batch_request_too_long(sqs, new_queue):
    url = new_queue()
    entries = [{"Id": str(i), "MessageBody": "a" * 300_000} for i in range(4)]
    error = error_of(sqs.send_message_batch, QueueUrl=url, Entries=entries)
    assert error["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert (
        error["Message"]
        == "Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes."
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # nothing of it was sent


@pytest.mark.parametrize(
    "operation", ["send_message_batch", "delete_message_batch", "change_message_visibility_batch"]
)
def test_batch_request_errors(sqs, new_queue, operation):
    url = new_queue()
    call = getattr(sqs, operation)

    def entry(entry_id: str) -> dict:
        if operation == "send_message_batch":
            return {"Id": entry_id, "MessageBody": "x"}
        extra = {"VisibilityTimeout": 10} if operation == "change_message_visibility_batch" else {}
        return {"Id": entry_id, "ReceiptHandle": "handle", **extra}

    assert (
        error_of(call, QueueUrl=url, Entries=[])["Code"]
        == "AWS.SimpleQueueService.EmptyBatchRequest"
    )

    error = error_of(call, QueueUrl=url, Entries=[entry(f"e{i}") for i in range(11)])
    assert error["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert error["Message"] == "Maximum number of entries per request are 10. You have sent 11."

    error = error_of(call, QueueUrl=url, Entries=[entry("same"), entry("same")])
    assert error["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"

    for bad in ("", "invalid:id", "x" * 81):
        error = error_of(call, QueueUrl=url, Entries=[entry(bad)])
        assert error["Code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
        assert error["Message"] == (
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
            "It can be at most 80 letters long."
        )


def test_delete_message_batch_deletes_and_fails_per_entry(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)]
    )
    messages = receive_all(sqs, url, 3)
    entries = [
        {"Id": f"ok-{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
    ]
    entries.append({"Id": "bad", "ReceiptHandle": "garbage"})
    result = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in result["Successful"]) == ["ok-0", "ok-1", "ok-2"]
    [failed] = result["Failed"]
    assert failed["Id"] == "bad"
    assert failed["Code"] == "ReceiptHandleIsInvalid"
    assert failed["SenderFault"] is True
    assert attributes_of(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"
    ) == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_change_message_visibility_batch_changes_and_fails_per_entry(sqs, new_queue):
    url = new_queue()
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(2)]
    )
    messages = receive_all(sqs, url, 2, VisibilityTimeout=600)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[1]["ReceiptHandle"])
    result = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "release",
                "ReceiptHandle": messages[0]["ReceiptHandle"],
                "VisibilityTimeout": 0,
            },
            {
                "Id": "deleted",
                "ReceiptHandle": messages[1]["ReceiptHandle"],
                "VisibilityTimeout": 0,
            },
            {"Id": "garbage", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["release"]
    failed = {entry["Id"]: entry["Code"] for entry in result["Failed"]}
    assert failed == {"deleted": "InvalidParameterValue", "garbage": "ReceiptHandleIsInvalid"}
    [again] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert again["MessageId"] == messages[0]["MessageId"]


def test_receive_and_md5_of_binary_attribute_in_batch(sqs, new_queue):
    url = new_queue()
    attributes = {"attr1": {"DataType": "Binary", "BinaryValue": TRACEPARENT}}
    result = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "b", "MessageBody": "test", "MessageAttributes": attributes}]
    )
    assert result["Successful"][0]["MD5OfMessageAttributes"] == AWS_MD5_OF_BINARY
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["attr1"])["Messages"]
    assert message["MessageAttributes"]["attr1"]["BinaryValue"] == TRACEPARENT
