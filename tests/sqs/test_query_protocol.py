"""SQS in the query protocol, as older SDKs (and hand-written HTTP clients) speak it: form
parameters POSTed to the endpoint or to the queue URL, or sent as a GET query string, SigV4
signed, answered in XML in the 2012-11-05 namespace."""

from __future__ import annotations

import hashlib
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sqs.conftest import attributes_of, http

NS = "http://queue.amazonaws.com/doc/2012-11-05/"
Q = {"q": NS}


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = body.decode()
        self.xml = ET.fromstring(body)

    def find(self, path: str) -> str | None:
        return self.xml.findtext(path, namespaces=Q)

    def all(self, path: str) -> list[ET.Element]:
        return self.xml.findall(path, namespaces=Q)


def query(url: str, params: dict[str, str], method: str = "POST") -> Reply:
    """A SigV4-signed query request, formed as the query-era SDKs form it."""
    form = urllib.parse.urlencode({"Version": "2012-11-05", **params})
    if method == "GET":
        url, data, headers = f"{url}?{form}", None, {}
    else:
        data, headers = (
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(request)
    return Reply(*http(method, url, data, dict(request.headers)))


def error_of(reply: Reply) -> tuple[str | None, str | None, str | None]:
    assert reply.xml.tag == f"{{{NS}}}ErrorResponse"
    assert reply.find("q:RequestId")
    return (
        reply.find("q:Error/q:Type"),
        reply.find("q:Error/q:Code"),
        reply.find("q:Error/q:Message"),
    )


@pytest.fixture
def queue(endpoint, unique) -> str:
    reply = query(endpoint + "/", {"Action": "CreateQueue", "QueueName": f"query-{unique}"})
    assert reply.status == 200
    return reply.find("q:CreateQueueResult/q:QueueUrl")


def test_create_queue_with_attributes_answers_the_url_in_xml(endpoint, unique, sqs):
    reply = query(
        endpoint + "/",
        {
            "Action": "CreateQueue",
            "QueueName": f"query-{unique}",
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "40",
            "Tag.1.Key": "team",
            "Tag.1.Value": "core",
        },
    )
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/xml")
    assert reply.xml.tag == f"{{{NS}}}CreateQueueResponse"
    url = reply.find("q:CreateQueueResult/q:QueueUrl")
    assert url == f"{endpoint}/000000000000/query-{unique}"
    assert reply.find("q:ResponseMetadata/q:RequestId")
    assert attributes_of(sqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "40"}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core"}


def test_send_message_to_the_queue_url_with_message_attributes(queue):
    body = "a <tag> & \"quotes\" 'single' ünï ✓\r\n"
    reply = query(
        queue,
        {
            "Action": "SendMessage",
            "MessageBody": body,
            "MessageAttribute.1.Name": "text",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "hello",
            "MessageAttribute.2.Name": "count",
            "MessageAttribute.2.Value.DataType": "Number.int",
            "MessageAttribute.2.Value.StringValue": "42",
            "MessageAttribute.3.Name": "blob",
            "MessageAttribute.3.Value.DataType": "Binary",
            "MessageAttribute.3.Value.BinaryValue": "AAEC/w==",
        },
    )
    assert reply.status == 200
    assert reply.xml.tag == f"{{{NS}}}SendMessageResponse"
    assert (
        reply.find("q:SendMessageResult/q:MD5OfMessageBody")
        == hashlib.md5(body.encode()).hexdigest()
    )
    assert reply.find("q:SendMessageResult/q:MessageId")
    digest = reply.find("q:SendMessageResult/q:MD5OfMessageAttributes")

    received = query(
        queue,
        {"Action": "ReceiveMessage", "AttributeName.1": "All", "MessageAttributeName.1": "All"},
        "GET",
    )
    assert received.status == 200
    [message] = received.all("q:ReceiveMessageResult/q:Message")
    assert message.findtext("q:Body", namespaces=Q) == body
    assert message.findtext("q:MessageId", namespaces=Q) == reply.find(
        "q:SendMessageResult/q:MessageId"
    )
    assert message.findtext("q:MD5OfBody", namespaces=Q) == hashlib.md5(body.encode()).hexdigest()
    assert message.findtext("q:MD5OfMessageAttributes", namespaces=Q) == digest
    system = {
        a.findtext("q:Name", namespaces=Q): a.findtext("q:Value", namespaces=Q)
        for a in message.findall("q:Attribute", Q)
    }
    assert set(system) == {
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
    }
    assert system["ApproximateReceiveCount"] == "1"
    user = {
        a.findtext("q:Name", namespaces=Q): (
            a.findtext("q:Value/q:DataType", namespaces=Q),
            a.findtext("q:Value/q:StringValue", namespaces=Q)
            or a.findtext("q:Value/q:BinaryValue", namespaces=Q),
        )
        for a in message.findall("q:MessageAttribute", Q)
    }
    assert user == {
        "text": ("String", "hello"),
        "count": ("Number.int", "42"),
        "blob": ("Binary", "AAEC/w=="),
    }

    handle = message.findtext("q:ReceiptHandle", namespaces=Q)
    deleted = query(queue, {"Action": "DeleteMessage", "ReceiptHandle": handle})
    assert deleted.status == 200 and deleted.xml.tag == f"{{{NS}}}DeleteMessageResponse"


def test_the_same_md5_of_attributes_as_the_json_protocol(queue, sqs):
    attributes = {
        "a": {"DataType": "String", "StringValue": "x"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    json_digest = sqs.send_message(QueueUrl=queue, MessageBody="m", MessageAttributes=attributes)[
        "MD5OfMessageAttributes"
    ]
    reply = query(
        queue,
        {
            "Action": "SendMessage",
            "MessageBody": "m",
            "MessageAttribute.1.Name": "b",
            "MessageAttribute.1.Value.DataType": "Binary",
            "MessageAttribute.1.Value.BinaryValue": "AAE=",
            "MessageAttribute.2.Name": "a",
            "MessageAttribute.2.Value.DataType": "String",
            "MessageAttribute.2.Value.StringValue": "x",
        },
    )
    assert reply.find("q:SendMessageResult/q:MD5OfMessageAttributes") == json_digest


def test_an_empty_receive_is_an_empty_result(queue):
    reply = query(queue, {"Action": "ReceiveMessage"}, "GET")
    assert reply.status == 200
    assert reply.all("q:ReceiveMessageResult/q:Message") == []
    [result] = reply.all("q:ReceiveMessageResult")
    assert len(result) == 0 and not (result.text or "").strip()


def test_an_empty_receive_result_is_a_self_closing_element(queue):
    reply = query(queue, {"Action": "ReceiveMessage"}, "GET")
    assert "<ReceiveMessageResult/>" in reply.text.replace(" />", "/>")


def test_get_queue_attributes_by_get_on_the_queue_url(queue):
    reply = query(queue, {"Action": "GetQueueAttributes", "AttributeName.1": "All"}, "GET")
    assert reply.status == 200
    assert "<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:" in reply.text
    assert "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>" in reply.text
    reply = query(queue, {"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"}, "GET")
    names = [
        a.findtext("q:Name", namespaces=Q)
        for a in reply.all("q:GetQueueAttributesResult/q:Attribute")
    ]
    assert names == ["QueueArn"]


def test_a_queue_url_parameter_wins_over_the_request_path(endpoint, unique, queue):
    other = query(endpoint + "/", {"Action": "CreateQueue", "QueueName": f"other-{unique}"}).find(
        "q:CreateQueueResult/q:QueueUrl"
    )
    reply = query(
        queue,
        {"Action": "GetQueueAttributes", "QueueUrl": other, "AttributeName.1": "QueueArn"},
        "GET",
    )
    assert reply.find("q:GetQueueAttributesResult/q:Attribute/q:Value").endswith(f":other-{unique}")


def test_send_message_batch_and_its_entry_errors(queue):
    reply = query(
        queue,
        {
            "Action": "SendMessageBatch",
            "SendMessageBatchRequestEntry.1.Id": "good",
            "SendMessageBatchRequestEntry.1.MessageBody": "x",
            "SendMessageBatchRequestEntry.2.Id": "bad",
            "SendMessageBatchRequestEntry.2.MessageBody": "\x01",
        },
    )
    assert reply.status == 200
    [ok] = reply.all("q:SendMessageBatchResult/q:SendMessageBatchResultEntry")
    assert ok.findtext("q:Id", namespaces=Q) == "good"
    assert ok.findtext("q:MD5OfMessageBody", namespaces=Q) == hashlib.md5(b"x").hexdigest()
    [failed] = reply.all("q:SendMessageBatchResult/q:BatchResultErrorEntry")
    assert failed.findtext("q:Id", namespaces=Q) == "bad"
    assert failed.findtext("q:Code", namespaces=Q) == "InvalidMessageContents"
    assert failed.findtext("q:SenderFault", namespaces=Q) == "true"


def test_list_queues_answers_queue_url_elements(endpoint, queue, unique):
    reply = query(endpoint + "/", {"Action": "ListQueues", "QueueNamePrefix": f"query-{unique}"})
    assert [e.text for e in reply.all("q:ListQueuesResult/q:QueueUrl")] == [queue]


def test_errors_are_error_responses_with_query_codes(endpoint, queue, unique):
    missing = f"{endpoint}/000000000000/missing-{unique}"
    reply = query(missing, {"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"}, "GET")
    assert reply.status == 400
    kind, code, _ = error_of(reply)
    assert (kind, code) == ("Sender", "AWS.SimpleQueueService.NonExistentQueue")

    query(queue, {"Action": "PurgeQueue"})
    reply = query(queue, {"Action": "PurgeQueue"})
    assert reply.status == 403
    assert error_of(reply)[1:] == (
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        f"Only one PurgeQueue operation on query-{unique} is allowed every 60 seconds.",
    )

    reply = query(queue, {"Action": "ReceiveMessage", "MaxNumberOfMessages": "11"}, "GET")
    assert error_of(reply) == (
        "Sender",
        "InvalidParameterValue",
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
    )

    reply = query(queue, {"Action": "DeleteMessage", "ReceiptHandle": "garbage"})
    assert error_of(reply)[1:] == (
        "ReceiptHandleIsInvalid",
        'The input receipt handle "garbage" is not a valid receipt handle.',
    )

    reply = query(queue, {"Action": "FooBar"}, "GET")
    assert reply.status == 400
    assert error_of(reply)[:2] == ("Sender", "InvalidAction")


def test_a_missing_queue_is_worded_for_this_wsdl_version(endpoint, unique):
    reply = query(
        f"{endpoint}/000000000000/missing-{unique}", {"Action": "GetQueueAttributes"}, "GET"
    )
    assert error_of(reply)[2] == "The specified queue does not exist for this wsdl version."


def test_a_missing_message_body_is_missing_parameter(queue):
    reply = query(queue, {"Action": "SendMessage"}, "GET")
    assert error_of(reply) == (
        "Sender",
        "MissingParameter",
        "The request must contain the parameter MessageBody.",
    )


def test_an_unknown_attribute_name_is_invalid_attribute_name(queue):
    reply = query(queue, {"Action": "GetQueueAttributes", "AttributeName.1": "Foobar"}, "GET")
    assert error_of(reply) == ("Sender", "InvalidAttributeName", "Unknown Attribute Foobar.")
