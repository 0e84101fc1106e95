"""Round trips of the `query` and `ec2` codecs against botocore's own serializers and parsers.

For every operation of the services below: (1) botocore's QuerySerializer / EC2Serializer builds a
request from generated params and our codec must parse the same operation and params back;
(2) our XML response for a generated result must parse through botocore's QueryParser /
EC2QueryParser into the same dict; (3) errors parse into botocore's Error code and message, and
modeled error fields come back. SQS runs through its query-era model (the current JSON model plus
`quirks.LEGACY_QUERY_TRAITS`), as an SDK from before SQS moved to JSON would; the hand-written tests
at the end check the wire against AWS's documented examples, which the round trip cannot do.
"""

from __future__ import annotations

import pathlib
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import botocore.model
import botocore.session
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.protocols import HttpRequest, get_codec
from cloudlet.protocols.errors import AwsError, ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Shape, load_service_model
from cloudlet.protocols.query import QueryCodec, legacy_query_description
from cloudlet.protocols.quirks import (
    LEGACY_QUERY_MESSAGES,
    LEGACY_QUERY_SERVICES,
    QUERY_ERROR_CODES,
    QUERY_ERROR_STATUS,
)
from shapegen import operation_inputs, operation_outputs, values

#: service -> protocol spoken to it here (CloudWatch lists query among three; SQS is legacy)
SERVICES = {
    "sns": "query",
    "iam": "query",
    "sts": "query",
    "cloudformation": "query",
    "ses": "query",
    "cloudwatch": "query",
    "sqs": "query",
    "ec2": "ec2",
}
_RELAXED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
_SMALL = settings(max_examples=3, deadline=None, suppress_health_check=_RELAXED)
# The first example hypothesis tries is the minimal one (required members only); EC2 gets one more.
_EC2 = settings(max_examples=2, deadline=None, suppress_health_check=_RELAXED)


@cache
def codec(service: str) -> QueryCodec:
    return get_codec(load_service_model(service), SERVICES[service])  # type: ignore[return-value]


@cache
def botocore_model(service: str) -> botocore.model.ServiceModel:
    """botocore's model of the service as a query client sees it."""
    session = botocore.session.get_session()
    if service not in LEGACY_QUERY_SERVICES:
        return session.get_service_model(service)
    raw = session.get_component("data_loader").load_service_model(service, "service-2")
    return botocore.model.ServiceModel(legacy_query_description(service, raw), service)


@cache
def strategies(service: str, name: str) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """Input and output strategies of an operation, built once (building them costs more than
    drawing from them)."""
    operation = codec(service).wire.operation(name)
    return operation_inputs(operation), operation_outputs(operation)


def _cases(services: list[str]) -> list[Any]:
    return [
        pytest.param(service, name, id=f"{service}.{name}")
        for service in services
        for name in load_service_model(service).operation_names
    ]


_QUERY_SERVICES = [s for s in SERVICES if s != "ec2"]


# -- normalization: what the wire cannot carry --------------------------------------------------

_GONE: Any = object()


def _empty_of(shape: Shape) -> Any:
    return [] if shape.type == "list" else {}


def sent_params(shape: Shape, value: Any, *, ec2: bool) -> Any:
    """`value` as it survives the form encoding (_GONE when nothing is sent for it).

    - An empty structure or map sends no key at all, so it comes back absent.
    - An empty list is `A=` in query (back as []) but sends nothing in EC2 (back absent).
    - A list item that sends nothing leaves a gap in the indexes, which closes up.
    - A map entry always sends its key; a value that sends nothing is its shape's empty value.
    """
    kind = shape.type
    if kind == "structure":
        members = shape.members
        out = {}
        for key, item in value.items():
            sent = sent_params(members[key], item, ec2=ec2)
            if sent is not _GONE:
                out[key] = sent
        return out or _GONE
    if kind == "map":
        out = {}
        for key, item in value.items():
            sent = sent_params(shape.value, item, ec2=ec2)
            out[key] = _empty_of(shape.value) if sent is _GONE else sent
        return out or _GONE
    if kind == "list":
        if not value:
            return _GONE if ec2 else []
        items = [sent_params(shape.member, item, ec2=ec2) for item in value]
        return [item for item in items if item is not _GONE] or _GONE
    return value


def sent_xml(shape: Shape, value: Any) -> Any:
    """`value` as it survives XML: only an empty flattened list or map leaves no element."""
    kind = shape.type
    if kind == "structure":
        out = {}
        for key, item in value.items():
            sent = sent_xml(shape.members[key], item)
            if sent is not _GONE:
                out[key] = sent
        return out
    if kind == "list":
        if not value and shape.flattened:
            return _GONE
        return [sent_xml(shape.member, item) for item in value]
    if kind == "map":
        if not value and shape.flattened:
            return _GONE
        return {key: sent_xml(shape.value, item) for key, item in value.items()}
    return value


# -- wire helpers -------------------------------------------------------------------------------


def to_http_request(serialized: dict[str, Any]) -> HttpRequest:
    """botocore's request dict as the server receives it (botocore urlencodes a dict body)."""
    headers = {k.lower(): v for k, v in serialized["headers"].items()}
    body = serialized["body"]
    if isinstance(body, dict):
        body = urlencode(list(body.items()), doseq=True).encode()
    return HttpRequest(serialized["method"], serialized["url_path"], "", headers, body)


def botocore_parse(service: str, response: Any, shape: Any) -> dict[str, Any]:
    parser = create_parser(SERVICES[service])
    wire = {"status_code": response.status, "headers": response.headers, "body": response.body}
    return parser.parse(wire, shape)


# -- (1) requests and (2) responses ---------------------------------------------------------------


def check_request(service: str, name: str, params: dict[str, Any]) -> None:
    ours = codec(service)
    operation_model = botocore_model(service).operation_model(name)
    serializer = create_serializer(SERVICES[service], include_validation=False)
    request = to_http_request(serializer.serialize_to_request(params, operation_model))
    operation, parsed = ours.parse(request)
    assert operation.name == name
    shape = ours.wire.operation(name).input
    expected = sent_params(shape, params, ec2=service == "ec2") if shape is not None else {}
    assert parsed == ({} if expected is _GONE else expected), name


def check_response(service: str, name: str, result: dict[str, Any]) -> None:
    ours = codec(service)
    response = ours.serialize(ours.model.operation(name), result, "req-1")
    assert response.status == 200
    assert response.headers["x-amzn-RequestId"] == "req-1"
    assert response.headers["Content-Type"] == "text/xml"
    output_shape = botocore_model(service).operation_model(name).output_shape
    parsed = botocore_parse(service, response, output_shape)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == "req-1"
    shape = ours.wire.operation(name).output
    assert parsed == (sent_xml(shape, result) if shape is not None else {}), name


@pytest.mark.parametrize(("service", "name"), _cases(_QUERY_SERVICES))
@_SMALL
@given(data=st.data())
def test_query_roundtrip(service: str, name: str, data: st.DataObject) -> None:
    inputs, outputs = strategies(service, name)
    check_request(service, name, data.draw(inputs, label="params"))
    check_response(service, name, data.draw(outputs, label="result"))


# EC2 has 765 operations; a hypothesis test per operation costs more in per-test overhead than in
# testing, so they run in batches, each operation's draws and failures named after it.
_EC2_BATCHES = [
    names[i : i + 40]
    for names in [load_service_model("ec2").operation_names]
    for i in range(0, len(names), 40)
]


@contextmanager
def operation_named(service: str, name: str) -> Iterator[None]:
    """Name the operation in any failure raised inside."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"operation: {service}.{name}")
        raise


@pytest.mark.parametrize("names", [pytest.param(b, id=f"{b[0]}..{b[-1]}") for b in _EC2_BATCHES])
@_EC2
@given(data=st.data())
def test_ec2_roundtrip(names: list[str], data: st.DataObject) -> None:
    for name in names:
        with operation_named("ec2", name):
            inputs, outputs = strategies("ec2", name)
            check_request("ec2", name, data.draw(inputs, label=f"{name} params"))
            check_response("ec2", name, data.draw(outputs, label=f"{name} result"))


# -- (3) errors ---------------------------------------------------------------------------------


def _error_shapes(service: str) -> list[str]:
    return sorted({shape.name for shape in load_service_model(service).error_shapes.values()})


def _wire_code(service: str, shape_name: str) -> str:
    override = QUERY_ERROR_CODES.get(service, {}).get(shape_name)
    if override:
        return override
    return (
        botocore_model(service)
        .shape_for(shape_name)
        .metadata.get("error", {})
        .get("code", shape_name)
    )


@pytest.mark.parametrize("service", list(SERVICES))
@settings(max_examples=2, deadline=None, suppress_health_check=_RELAXED)
@given(data=st.data())
def test_error_roundtrip(service: str, data: st.DataObject) -> None:
    ours = codec(service)
    model = botocore_model(service)
    any_operation = model.operation_model(model.operation_names[0])
    for shape_name in _error_shapes(service):
        shape = ours.wire.shape(shape_name)
        fields = data.draw(values(shape), label=shape_name)
        response = ours.serialize_error(
            AwsError(shape_name, "it <broke> & why", fields=fields), None, "r-9"
        )
        error_shape = model.shape_for(shape_name)
        modeled = error_shape.metadata.get("error", {}).get("httpStatusCode", 400)
        assert response.status == QUERY_ERROR_STATUS.get(service, {}).get(shape_name, modeled)
        parsed = botocore_parse(service, response, any_operation.output_shape)
        assert parsed["Error"]["Code"] == _wire_code(service, shape_name)
        worded = LEGACY_QUERY_MESSAGES.get((service, shape_name), "it <broke> & why")
        assert parsed["Error"]["Message"] == worded
        assert parsed["ResponseMetadata"]["RequestId"] == "r-9"
        # botocore parses modeled fields with the error shape, as its client does.
        modeled = botocore_parse(service, response, error_shape)
        skipped = {"code", "message", "type"}
        expected = sent_xml(shape, {k: v for k, v in fields.items() if k.lower() not in skipped})
        assert {k: v for k, v in modeled.items() if k.lower() not in skipped} == expected


def test_unmodeled_error_keeps_code_and_status() -> None:
    response = codec("sns").serialize_error(
        AwsError("Throttling", "Rate exceeded", status=400), None, "r"
    )
    parsed = botocore_parse("sns", response, None)
    assert response.status == 400
    assert parsed["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    server = codec("iam").serialize_error(
        AwsError("InternalFailure", "oops", status=500), None, "r"
    )
    assert server.status == 500 and b"<Type>Receiver</Type>" in server.body


# -- requests the codec must refuse -------------------------------------------------------------


def _form(body: str, path: str = "/") -> HttpRequest:
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", "host": "h"}
    return HttpRequest("POST", path, "", headers, body.encode())


def test_action_absent_or_unknown() -> None:
    with pytest.raises(UnknownOperation):
        codec("sns").parse(_form("Version=2010-03-31&TopicArn=x"))
    with pytest.raises(UnknownOperation):
        codec("sns").parse(_form("Action=Nope&Version=2010-03-31"))


def test_bad_scalar_names_the_parameter() -> None:
    with pytest.raises(ParamValidationError) as info:
        codec("sqs").parse(_form("Action=ReceiveMessage&QueueUrl=q&MaxNumberOfMessages=ten"))
    assert info.value.kind == "invalid"
    assert "MaxNumberOfMessages" in info.value.message


def test_get_query_string_and_unknown_params() -> None:
    request = HttpRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15&Bogus=1")
    operation, params = codec("sts").parse(request)
    assert operation.name == "GetCallerIdentity" and params == {}


# -- AWS's documented examples ------------------------------------------------------------------


def _squash(xml: str) -> str:
    return re.sub(r">\s+<", "><", xml.strip())


SQS_NS = "http://queue.amazonaws.com/doc/2012-11-05/"

# SendMessage, from the SQS API reference (query API era): request sent to the queue URL.
SQS_SEND_QUERY = (
    "Action=SendMessage&MessageBody=This+is+a+test+message"
    "&MessageAttribute.1.Name=my_attribute_name_1"
    "&MessageAttribute.1.Value.StringValue=my_attribute_value_1"
    "&MessageAttribute.1.Value.DataType=String"
    "&MessageAttribute.2.Name=my_attribute_name_2"
    "&MessageAttribute.2.Value.StringValue=my_attribute_value_2"
    "&MessageAttribute.2.Value.DataType=String"
    "&Expires=2020-05-05T22%3A52%3A43PST&Version=2012-11-05"
)
SQS_SEND_RESPONSE = """
<SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
    <SendMessageResult>
        <MD5OfMessageBody>fafb00f5732ab283681e124bf8747ed1</MD5OfMessageBody>
        <MD5OfMessageAttributes>3ae8f24a165a8cedc005670c81a27295</MD5OfMessageAttributes>
        <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>
    </SendMessageResult>
    <ResponseMetadata>
        <RequestId>27daac76-34dd-47df-bd01-1f6e873584a0</RequestId>
    </ResponseMetadata>
</SendMessageResponse>
"""


def test_sqs_send_message_as_documented() -> None:
    sqs = codec("sqs")
    request = HttpRequest(
        "GET", "/123456789012/MyQueue/", SQS_SEND_QUERY, {"host": "sqs.us-east-2.amazonaws.com"}
    )
    operation, params = sqs.parse(request)
    assert operation.name == "SendMessage"
    assert params == {
        "QueueUrl": "http://sqs.us-east-2.amazonaws.com/123456789012/MyQueue/",
        "MessageBody": "This is a test message",
        "MessageAttributes": {
            "my_attribute_name_1": {"StringValue": "my_attribute_value_1", "DataType": "String"},
            "my_attribute_name_2": {"StringValue": "my_attribute_value_2", "DataType": "String"},
        },
    }
    result = {
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "MD5OfMessageAttributes": "3ae8f24a165a8cedc005670c81a27295",
        "MD5OfMessageBody": "fafb00f5732ab283681e124bf8747ed1",
    }
    response = sqs.serialize(operation, result, "27daac76-34dd-47df-bd01-1f6e873584a0")
    assert response.body.decode() == _squash(SQS_SEND_RESPONSE)


# ReceiveMessage, from the SQS API reference (query API era), plus a message attribute in the
# layout the same reference gives for MessageAttribute (Name, then Value with its members).
SQS_RECEIVE_QUERY = "Action=ReceiveMessage&MaxNumberOfMessages=5&VisibilityTimeout=15&AttributeName=All&Version=2012-11-05"
SQS_RECEIVE_RESPONSE = """
<ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
  <ReceiveMessageResult>
    <Message>
      <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>
      <ReceiptHandle>MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+CwLj1FjgXUv1uSj1gUPAWV66FU/WeR4mq2OKpEGYWbnLmpRCJVAyeMjeU5ZBdtcQ+QEauMZc8ZRv37sIW2iJKq3M9MFx1YvV11A2x/KSbkJ0=</ReceiptHandle>
      <MD5OfBody>fafb00f5732ab283681e124bf8747ed1</MD5OfBody>
      <Body>This is a test message</Body>
      <Attribute>
        <Name>SenderId</Name>
        <Value>195004372649</Value>
      </Attribute>
      <Attribute>
        <Name>SentTimestamp</Name>
        <Value>1238099229000</Value>
      </Attribute>
      <Attribute>
        <Name>ApproximateReceiveCount</Name>
        <Value>5</Value>
      </Attribute>
      <Attribute>
        <Name>ApproximateFirstReceiveTimestamp</Name>
        <Value>1250700979248</Value>
      </Attribute>
      <MessageAttribute>
        <Name>my_attribute_name_1</Name>
        <Value>
          <StringValue>my_attribute_value_1</StringValue>
          <DataType>String</DataType>
        </Value>
      </MessageAttribute>
    </Message>
  </ReceiveMessageResult>
  <ResponseMetadata>
    <RequestId>b6633655-283d-45b4-aee4-4e84e0ae6afa</RequestId>
  </ResponseMetadata>
</ReceiveMessageResponse>
"""


def test_sqs_receive_message_as_documented() -> None:
    sqs = codec("sqs")
    request = _form(SQS_RECEIVE_QUERY, path="/123456789012/MyQueue/")
    operation, params = sqs.parse(request)
    assert operation.name == "ReceiveMessage"
    assert params == {
        "QueueUrl": "http://h/123456789012/MyQueue/",
        "MaxNumberOfMessages": 5,
        "VisibilityTimeout": 15,
        "AttributeNames": ["All"],
    }
    message = {
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "ReceiptHandle": "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+CwLj1FjgXUv1uSj1gUPAWV66FU/WeR4mq2OKpEGYWbnLmpRCJVAyeMjeU5ZBdtcQ+QEauMZc8ZRv37sIW2iJKq3M9MFx1YvV11A2x/KSbkJ0=",
        "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
        "Body": "This is a test message",
        "Attributes": {
            "SenderId": "195004372649",
            "SentTimestamp": "1238099229000",
            "ApproximateReceiveCount": "5",
            "ApproximateFirstReceiveTimestamp": "1250700979248",
        },
        "MessageAttributes": {
            "my_attribute_name_1": {"StringValue": "my_attribute_value_1", "DataType": "String"}
        },
    }
    response = sqs.serialize(
        operation, {"Messages": [message]}, "b6633655-283d-45b4-aee4-4e84e0ae6afa"
    )
    assert response.body.decode() == _squash(SQS_RECEIVE_RESPONSE)


def test_sqs_batch_and_list_names() -> None:
    """Query-era names of entries, attribute names and empty lists."""
    sqs = codec("sqs")
    _, params = sqs.parse(
        _form(
            "Action=SendMessageBatch&QueueUrl=q"
            "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x"
            "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y"
            "&SendMessageBatchRequestEntry.2.DelaySeconds=5"
        )
    )
    assert params == {
        "QueueUrl": "q",
        "Entries": [
            {"Id": "a", "MessageBody": "x"},
            {"Id": "b", "MessageBody": "y", "DelaySeconds": 5},
        ],
    }
    _, params = sqs.parse(_form("Action=GetQueueAttributes&QueueUrl=q&AttributeNames="))
    assert params == {"QueueUrl": "q", "AttributeNames": []}
    _, params = sqs.parse(_form("Action=TagQueue&QueueUrl=q&Tag.1.Key=k&Tag.1.Value=v"))
    assert params == {"QueueUrl": "q", "Tags": {"k": "v"}}


# EC2 error response, from the EC2 API reference ("Example error response").
EC2_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Errors>
    <Error>
      <Code>InvalidInstanceID.NotFound</Code>
      <Message>The instance ID 'i-1a2b3c4d' does not exist</Message>
    </Error>
  </Errors>
  <RequestID>ea966190-f9aa-478e-9ede-example</RequestID>
</Response>
"""


def test_ec2_error_as_documented() -> None:
    error = AwsError("InvalidInstanceID.NotFound", "The instance ID 'i-1a2b3c4d' does not exist")
    response = codec("ec2").serialize_error(error, None, "ea966190-f9aa-478e-9ede-example")
    assert response.status == 400
    assert response.headers["x-amzn-RequestId"] == "ea966190-f9aa-478e-9ede-example"
    expected = _squash(EC2_ERROR).replace("?>\n", "?>").replace("?><", "?>\n<")
    assert response.body.decode() == expected


def test_ec2_response_envelope() -> None:
    ec2 = codec("ec2")
    operation = ec2.model.operation("DescribeRegions")
    result = {"Regions": [{"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com"}]}
    body = ec2.serialize(operation, result, "rid").body.decode()
    assert body == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        "<requestId>rid</requestId><regionInfo><item><regionName>us-east-1</regionName>"
        "<regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo>"
        "</DescribeRegionsResponse>"
    )
    _, params = ec2.parse(_form("Action=DescribeRegions&RegionName.1=us-east-1&DryRun=true"))
    assert params == {"RegionNames": ["us-east-1"], "DryRun": True}
