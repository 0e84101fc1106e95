"""Round trips of the `rest-json` and `rest-xml` codecs against botocore, for every operation.

Requests: botocore's serializer builds the wire request from generated params (URL prepared by
botocore itself, path-style), our codec must route it to the same operation and parse back the
same params. Responses: our codec serializes a generated result, botocore's parser must read back
the same dict. Errors: our error document parsed by botocore yields the code, message and the
error shape's own members. A few hand-written cases compare with the AWS API reference.

Normalizations, each because the wire cannot carry the distinction:
- an empty list/map in the query string or headers, or an empty blob/string body, is not sent;
- a rest-json structure payload that is absent is sent as `{}` (botocore's empty body);
- on responses botocore always reports the status-code member, the header maps (maybe `{}`) and
  the payload (`b""`, `""` or `{}` when absent), and in XML an empty flattened list is no element;
- deprecated S3 operations share their successor's request exactly (GetBucketLifecycle is
  GetBucketLifecycleConfiguration on the wire) and ListDirectoryBuckets is ListBuckets unless it
  sends `max-directory-buckets`: AWS tells those apart by endpoint, routed here to one of each.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.awsrequest import (
    AWSResponse,
    HeadersDict,
    create_request_object,
    prepare_request_dict,
)
from botocore.config import Config
from botocore.handlers import parse_get_bucket_location
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudlet.protocols import AwsError, Codec, HttpRequest, HttpResponse, get_codec
from cloudlet.protocols.errors import ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Shape, load_service_model
from shapegen import operation_inputs, operation_outputs, structures

SERVICES = ["lambda", "apigateway", "xray", "sesv2", "scheduler", "s3"]
ENDPOINT = "http://127.0.0.1:4566"

FAST = settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

#: Operations whose requests are another's on the wire (see the module docstring).
WIRE_TWINS = {
    ("s3", "GetBucketLifecycle"): "GetBucketLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutBucketLifecycleConfiguration",
    ("s3", "GetBucketNotification"): "GetBucketNotificationConfiguration",
    ("s3", "PutBucketNotification"): "PutBucketNotificationConfiguration",
    ("s3", "ListDirectoryBuckets"): "ListBuckets",
}


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _botocore_model(service: str) -> Any:
    return _session().get_service_model(service)


def _codec(service: str) -> Codec:
    return get_codec(load_service_model(service))


def _operations() -> list[Any]:
    return [
        pytest.param(service, name, id=f"{service}.{name}")
        for service in SERVICES
        for name in load_service_model(service).operation_names
    ]


def _error_shapes() -> list[Any]:
    return [
        pytest.param(service, name, id=f"{service}.{name}")
        for service in SERVICES
        for name, shape in load_service_model(service).error_shapes.items()
        if name == shape.name  # error_shapes is also keyed by wire code
    ]


# -- wire conversions ----------------------------------------------------------------------------


def _request_from_botocore(serialized: dict[str, Any]) -> HttpRequest:
    """botocore's request as the edge hands it to a codec: URL built by botocore itself."""
    headers = {k.lower(): v for k, v in serialized["headers"].items()}
    body = serialized["body"]
    if isinstance(body, str):
        body = body.encode()
    prepare_request_dict(serialized, ENDPOINT)
    url = urlsplit(create_request_object(serialized).prepare().url)
    return HttpRequest(serialized["method"], url.path, url.query, headers, body or b"")


def _response_dict(response: HttpResponse, streaming: bool = False) -> dict[str, Any]:
    """Our HttpResponse as the dict botocore's parsers read (headers case-insensitive)."""
    headers = HeadersDict()
    for key, value in response.headers.items():
        headers[key] = value
    body: Any = response.body
    if streaming:  # as botocore's endpoint hands streaming outputs over
        body = StreamingBody(io.BytesIO(body), len(body))
    return {"status_code": response.status, "headers": headers, "body": body, "context": {}}


def _has_host_label(shape: Shape | None) -> list[str]:
    return [n for n, m in shape.members.items() if m.trait("hostLabel")] if shape else []


# -- expected values -----------------------------------------------------------------------------


def _payload_default(shape: Shape, member: Shape) -> Any:
    return b"" if member.type == "blob" else "" if member.type == "string" else {}


def _expected_request(protocol: str, shape: Shape | None, params: dict[str, Any]) -> dict[str, Any]:
    if shape is None:
        return {}
    out = dict(params)
    payload = shape.payload_member
    for name, member in shape.members.items():
        value = out.get(name)
        if member.location == "querystring" and member.type == "map" and value:
            value = out[name] = {k: v for k, v in value.items() if v != []}
        if member.location in ("querystring", "header", "headers") and value in ([], {}):
            del out[name]  # nothing on the wire
        elif name == payload and member.type in ("blob", "string") and value in (b"", ""):
            del out[name]
        elif (
            name == payload
            and value is None
            and member.type == "structure"
            and protocol == "rest-json"
        ):
            out[name] = {}  # botocore sends {} for an absent structure payload
    if protocol == "rest-xml":
        out = _xml_comparable(shape, out)
    return out


def _xml_tag(name: str, member: Shape) -> str:
    """The element name botocore's XML parser reads a member from."""
    if member.type == "list" and member.flattened and member.member.location_name:
        return member.member.location_name
    return member.location_name or name


def _xml_comparable(shape: Shape, value: Any) -> Any:
    """What XML can carry of a value.

    An empty flattened list or map is no element at all. Members sharing one element name (the
    deprecated S3 notification shapes have `Event` and a flattened `Events` of `<Event>`) are
    read from the same elements by botocore, exactly as from AWS: they are left out of the
    comparison.
    """
    kind = shape.type
    if kind == "structure" and isinstance(value, dict) and not shape.is_document:
        members = shape.members
        tags = [_xml_tag(n, m) for n, m in members.items() if not m.location]
        shared = {t for t in tags if tags.count(t) > 1}
        out = {}
        for name, item in value.items():
            member = members[name]
            if member.flattened and member.type in ("list", "map") and not item:
                continue
            if not member.location and _xml_tag(name, member) in shared:
                continue
            out[name] = _xml_comparable(member, item)
        return out
    if kind == "list":
        return [_xml_comparable(shape.member, v) for v in value]
    if kind == "map":
        return {k: _xml_comparable(shape.value, v) for k, v in value.items()}
    return value


def _expected_response(
    protocol: str, shape: Shape, result: dict[str, Any], status: int
) -> dict[str, Any]:
    out = dict(result)
    for name, member in shape.members.items():
        if member.location == "statusCode":
            out[name] = status
        elif member.location == "headers":
            out.setdefault(name, {})
        elif member.location == "header" and out.get(name) == []:
            del out[name]
        elif name == shape.payload_member:
            out.setdefault(name, _payload_default(shape, member))
    if protocol == "rest-xml":
        out = _xml_comparable(shape, out)
    return out


# -- requests and responses ----------------------------------------------------------------------


# The @given tests are one-line calls: hypothesis re-reads a test's source for every run (its
# database key), which costs time in proportion to the source's length.


@pytest.mark.parametrize(("service", "operation"), _operations())
@FAST
@given(data=st.data())
@seed(20060301)  # reproducible across runs, like the rest of the suite
def test_request_roundtrip(service: str, operation: str, data: st.DataObject) -> None:
    _check_request(service, operation, data)


@pytest.mark.parametrize(("service", "operation"), _operations())
@FAST
@given(data=st.data())
@seed(20060301)  # reproducible across runs, like the rest of the suite
def test_response_roundtrip(service: str, operation: str, data: st.DataObject) -> None:
    _check_response(service, operation, data)


def _check_request(service: str, operation: str, data: st.DataObject) -> None:
    codec = _codec(service)
    ours = codec.model.operation(operation)
    params = data.draw(operation_inputs(ours), label="params")
    for label in _has_host_label(ours.input):
        params[label] = "route-1"  # host labels must be DNS-safe; the edge reads the host, not us
    op_model = _botocore_model(service).operation_model(operation)
    serializer = create_serializer(codec.protocol, include_validation=False)
    request = _request_from_botocore(serializer.serialize_to_request(params, op_model))

    parsed_op, parsed = codec.parse(request)
    _read_streams(parsed)

    twin = WIRE_TWINS.get((service, operation))
    if twin is not None and parsed_op.name == twin:
        return  # same request on the wire; AWS routes it to the current operation too
    assert parsed_op.name == operation
    assert parsed == _expected_request(codec.protocol, ours.input, params)


def _read_streams(params: dict[str, Any]) -> None:
    """S3's streaming payloads arrive as async chunk iterators (protocols.streams): read them, as
    the provider would, so they compare as bytes (an empty body is no member, as on the wire)."""
    import asyncio

    for name, value in list(params.items()):
        if hasattr(value, "__aiter__") and hasattr(value, "read"):
            data = asyncio.run(value.read())
            if data:
                params[name] = data
            else:
                del params[name]


def _check_response(service: str, operation: str, data: st.DataObject) -> None:
    codec = _codec(service)
    ours = codec.model.operation(operation)
    output = ours.output
    if output is not None and any(m.is_event_stream for m in output.members.values()):
        pytest.skip("event-stream responses are framed by an event-stream writer, not the codec")
    result = data.draw(operation_outputs(ours), label="result")
    for name, member in output.members.items() if output else ():
        if member.location == "statusCode" and name in result:
            result[name] = 200 + result[name] % 3  # a success status, or botocore reads an error
    response = codec.serialize(ours, result, "req-1")
    op_model = _botocore_model(service).operation_model(operation)

    wire = _response_dict(response, streaming=op_model.has_streaming_output)
    parsed = create_parser(codec.protocol).parse(wire, op_model.output_shape)
    if (service, operation) == ("s3", "GetBucketLocation"):
        # botocore reads this document with a handler; an empty element (us-east-1) is None.
        parse_get_bucket_location(parsed, SimpleNamespace(raw=True, content=response.body))
        result.setdefault("LocationConstraint", None)
    metadata = parsed.pop("ResponseMetadata")
    if op_model.has_streaming_output:
        name = output.payload_member
        parsed[name] = parsed[name].read()

    assert metadata["RequestId"] == "req-1"
    assert 200 <= response.status < 300
    if output is None:
        assert parsed == {}
        return
    if codec.protocol == "rest-xml":
        parsed = _xml_comparable(output, parsed)
    assert parsed == _expected_response(codec.protocol, output, result, response.status)


# -- errors --------------------------------------------------------------------------------------


def _message_member(shape: Shape) -> str | None:
    return next((n for n in shape.members if n.lower() == "message"), None)


def _parse_error(service: str, response: HttpResponse) -> tuple[dict[str, Any], dict[str, Any]]:
    """(generic error dict, modeled members) as botocore's endpoint builds them."""
    parser = create_parser(_codec(service).protocol)
    generic = parser.parse(_response_dict(response), None)
    shape = _botocore_model(service).shape_for_error_code(generic["Error"]["Code"])
    modeled = parser.parse(_response_dict(response), shape) if shape is not None else {}
    return generic, modeled


@pytest.mark.parametrize(("service", "shape_name"), _error_shapes())
@settings(FAST, max_examples=2)
@given(data=st.data())
@seed(20060301)  # reproducible across runs, like the rest of the suite
def test_modeled_error_roundtrip(service: str, shape_name: str, data: st.DataObject) -> None:
    _check_modeled_error(service, shape_name, data)


def _check_modeled_error(service: str, shape_name: str, data: st.DataObject) -> None:
    codec = _codec(service)
    shape = codec.model.error_shapes[shape_name]
    message_member = _message_member(shape)  # carried by AwsError.message, not by fields
    fields = {
        k: v for k, v in data.draw(structures(shape), label="fields").items() if k != message_member
    }
    error = AwsError(shape_name, "it went wrong", fields=fields)
    wire_code, status, _ = codec.error_code_and_status(error)

    response = codec.serialize_error(error, None, "req-1")
    generic, modeled = _parse_error(service, response)

    assert response.status == status
    assert generic["Error"]["Code"] == wire_code
    assert generic["Error"]["Message"] == "it went wrong"
    assert generic["ResponseMetadata"]["RequestId"] == "req-1"
    expected = _expected_response(codec.protocol, shape, fields, status)
    if message_member is not None:
        expected[message_member] = "it went wrong"
    assert modeled == expected


@pytest.mark.parametrize("service", SERVICES)
def test_unmodeled_error(service: str) -> None:
    codec = _codec(service)
    response = codec.serialize_error(
        AwsError("SomethingUnusual", 'odd <&> "x"', status=418), None, "r"
    )
    generic, _ = _parse_error(service, response)
    assert response.status == 418
    assert generic["Error"]["Code"] == "SomethingUnusual"
    assert generic["Error"]["Message"] == 'odd <&> "x"'


# -- S3 and Lambda through a real botocore client ------------------------------------------------


class _Served:
    """A botocore client whose requests our codec answers, with `handler` as the provider."""

    def __init__(self, service: str) -> None:
        self.codec = _codec(service)
        self.handler: Any = lambda op, params: {}
        self.seen: tuple[str, dict[str, Any]] | None = None
        self.wire: HttpResponse | None = None
        self.client = _session().create_client(
            service,
            region_name="us-east-1",
            endpoint_url=ENDPOINT,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
        )
        self.client.meta.events.register("before-send", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        operation, params = self.codec.parse(
            HttpRequest(request.method, url.path, url.query, headers, body)
        )
        self.seen = (operation.name, params)
        try:
            self.wire = self.codec.serialize(operation, self.handler(operation, params), "req-1")
        except AwsError as error:
            self.wire = self.codec.serialize_error(error, operation, "req-1")
        return AWSResponse(request.url, self.wire.status, self.wire.headers, _Raw(self.wire.body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


@cache
def _served(service: str) -> _Served:
    return _Served(service)


def _canonical(element: ElementTree.Element) -> tuple:
    """An element as (tag, text, children sorted): sibling order of distinct tags is free."""
    children = sorted(_canonical(child) for child in element)
    return (element.tag, (element.text or "").strip(), tuple(children))


#: The sample response of ListObjectsV2 in the Amazon S3 API reference ("Example 1: Listing keys").
AWS_LIST_OBJECTS_V2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix/>
    <KeyCount>205</KeyCount>
    <MaxKeys>1000</MaxKeys>
    <IsTruncated>false</IsTruncated>
    <Contents>
        <Key>my-image.jpg</Key>
        <LastModified>2009-10-12T17:50:30.000Z</LastModified>
        <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
        <Size>434234</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
</ListBucketResult>"""


def test_s3_list_objects_v2_matches_aws_example() -> None:
    served = _served("s3")
    served.handler = lambda op, params: {
        "Name": params["Bucket"],
        "Prefix": "",
        "KeyCount": 205,
        "MaxKeys": 1000,
        "IsTruncated": False,
        "Contents": [
            {
                "Key": "my-image.jpg",
                "LastModified": dt.datetime(2009, 10, 12, 17, 50, 30, tzinfo=dt.UTC),
                "ETag": '"fba9dede5f27731c9771645a39863328"',
                "Size": 434234,
                "StorageClass": "STANDARD",
                "InternalNote": "providers may keep extra keys; they never reach the wire",
            }
        ],
    }
    listed = served.client.list_objects_v2(Bucket="bucket")

    assert served.seen == ("ListObjectsV2", {"Bucket": "bucket", "EncodingType": "url"})
    wire = served.wire
    assert wire is not None and wire.status == 200
    assert wire.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert _canonical(ElementTree.fromstring(wire.body)) == _canonical(
        ElementTree.fromstring(AWS_LIST_OBJECTS_V2)
    )
    assert wire.headers["Content-Type"] == "application/xml"
    assert wire.headers["x-amz-request-id"] == "req-1"
    assert wire.headers["x-amz-id-2"]
    assert listed["Contents"][0]["Key"] == "my-image.jpg"
    assert listed["Contents"][0]["Size"] == 434234


#: The REST error response example of the Amazon S3 API reference ("Error responses").
AWS_NO_SUCH_KEY = b"""<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>"""


def test_s3_no_such_key_matches_aws_example() -> None:
    codec = _codec("s3")
    error = AwsError(
        "NoSuchKey",
        "The resource you requested does not exist",
        fields={"Resource": "/mybucket/myfoto.jpg"},
    )
    wire = codec.serialize_error(error, codec.model.operation("GetObject"), "4442587FB7D0A2F9")

    ours = ElementTree.fromstring(wire.body)
    theirs = ElementTree.fromstring(AWS_NO_SUCH_KEY)
    # AWS adds the HostId (x-amz-id-2) after the RequestId; the example leaves it out.
    assert [(e.tag, e.text) for e in ours][:-1] == [(e.tag, e.text) for e in theirs]
    assert ours[-1].tag == "HostId" and ours[-1].text == wire.headers["x-amz-id-2"]
    assert ours.tag == "Error" and not ours.attrib
    assert wire.status == 404
    assert wire.headers["Content-Type"] == "application/xml"
    assert wire.headers["x-amz-request-id"] == "4442587FB7D0A2F9"

    served = _served("s3")

    def missing(op: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise error

    served.handler = missing
    with pytest.raises(served.client.exceptions.NoSuchKey) as caught:
        served.client.get_object(Bucket="mybucket", Key="myfoto.jpg")
    assert caught.value.response["Error"]["Message"] == "The resource you requested does not exist"
    assert caught.value.response["ResponseMetadata"]["HostId"]
    with pytest.raises(served.client.exceptions.ClientError) as caught:
        served.client.head_object(Bucket="mybucket", Key="myfoto.jpg")
    assert served.wire is not None and served.wire.body == b""  # HEAD answers carry no body
    assert caught.value.response["Error"]["Code"] == "404"


def test_s3_get_bucket_location_and_empty_put() -> None:
    served = _served("s3")
    served.handler = lambda op, params: {"LocationConstraint": "eu-west-1"}
    assert served.client.get_bucket_location(Bucket="b")["LocationConstraint"] == "eu-west-1"
    assert served.wire is not None
    assert served.wire.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>'
    )
    served.handler = lambda op, params: {}  # us-east-1: an empty element, which boto3 reads as None
    assert served.client.get_bucket_location(Bucket="b")["LocationConstraint"] is None

    served.handler = lambda op, params: {}
    served.client.put_bucket_tagging(Bucket="b", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    name, params = served.seen or ("", {})
    assert name == "PutBucketTagging"
    assert params["Tagging"] == {"TagSet": [{"Key": "k", "Value": "v"}]}
    assert params["ChecksumAlgorithm"] == "CRC32"  # boto3's flexible checksums header
    assert served.wire is not None and served.wire.status == 200 and served.wire.body == b""


def test_s3_object_keys_and_metadata_path_style() -> None:
    served = _served("s3")
    served.handler = lambda op, params: {"ETag": '"abc"'}
    served.client.put_object(
        Bucket="bucket",
        Key="dir/sub dir/a+b%c.txt",
        Body=b"hello",
        Metadata={"Color": "blue"},
        ContentType="text/plain",
    )
    name, params = served.seen or ("", {})
    _read_streams(params)
    assert name == "PutObject"
    assert params["Key"] == "dir/sub dir/a+b%c.txt"
    assert params["Body"] == b"hello"
    assert params["Metadata"] == {"color": "blue"}  # HTTP header names are case-insensitive
    assert params["ContentType"] == "text/plain"


def test_s3_acl_grantee_type_is_an_xsi_attribute() -> None:
    """S3 writes the grantee type as `xsi:type` (GetBucketAcl in the S3 API reference)."""
    served = _served("s3")
    grants = [
        {
            "Grantee": {"Type": "CanonicalUser", "ID": "abc", "DisplayName": "me"},
            "Permission": "FULL_CONTROL",
        },
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ",
        },
    ]
    served.handler = lambda op, params: {"Owner": {"ID": "abc"}, "Grants": grants}
    assert served.client.get_bucket_acl(Bucket="b")["Grants"] == grants
    assert served.wire is not None
    assert (
        b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
        in served.wire.body
    )
    served.handler = lambda op, params: {}
    served.client.put_bucket_acl(
        Bucket="b", AccessControlPolicy={"Grants": grants, "Owner": {"ID": "abc"}}
    )
    name, params = served.seen or ("", {})
    assert name == "PutBucketAcl"
    assert params["AccessControlPolicy"] == {"Grants": grants, "Owner": {"ID": "abc"}}


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("GET", "/b/k", "", {}, "GetObject"),
        ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", {"x-amz-copy-source": "/o/k"}, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {"x-amz-copy-source": "/o/k"}, "UploadPartCopy"),
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/a/b/c", "", {}, "DeleteObject"),
        ("GET", "/b", "", {}, "ListObjects"),
        ("GET", "/b", "list-type=2&prefix=x", {}, "ListObjectsV2"),
        ("GET", "/b/", "list-type=2", {}, "ListObjectsV2"),
        ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
        ("GET", "/b", "analytics", {}, "ListBucketAnalyticsConfigurations"),
        ("GET", "/b", "analytics&id=a", {}, "GetBucketAnalyticsConfiguration"),
        ("GET", "/", "", {}, "ListBuckets"),
        ("GET", "/", "max-directory-buckets=5", {}, "ListDirectoryBuckets"),
        ("HEAD", "/b/", "", {}, "HeadBucket"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "select&select-type=2", {}, "SelectObjectContent"),
    ],
)
def test_s3_routing(
    method: str, path: str, query: str, headers: dict[str, str], expected: str
) -> None:
    operation, _ = _codec("s3").parse(HttpRequest(method, path, query, headers))
    assert operation.name == expected


def test_unknown_route_and_malformed_bodies() -> None:
    with pytest.raises(UnknownOperation):
        _codec("lambda").parse(HttpRequest("GET", "/2015-03-31/nothing-here"))
    with pytest.raises(UnknownOperation):
        _codec("s3").parse(HttpRequest("PATCH", "/b"))
    with pytest.raises(ParamValidationError) as caught:
        _codec("s3").parse(HttpRequest("PUT", "/b", "tagging", body=b"<Tagging><TagSet>"))
    assert caught.value.kind == "malformed"
    assert caught.value.message.startswith("The XML you provided was not well-formed")
    with pytest.raises(ParamValidationError) as caught:
        _codec("lambda").parse(HttpRequest("POST", "/2015-03-31/functions", body=b"{nope"))
    assert caught.value.kind == "malformed"


def test_lambda_invoke() -> None:
    codec = _codec("lambda")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
    request = HttpRequest(
        "POST",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-function/invocations",
        "Qualifier=prod",
        {
            "x-amz-invocation-type": "Event",
            "x-amz-log-type": "Tail",
            "content-type": "application/json",
        },
        b'{"key": 1}',
    )
    operation, params = codec.parse(request)
    assert operation.name == "Invoke"
    assert params == {
        "FunctionName": arn,
        "Qualifier": "prod",
        "InvocationType": "Event",
        "LogType": "Tail",
        "Payload": b'{"key": 1}',
    }

    accepted = codec.serialize(operation, {"StatusCode": 202, "Payload": b""}, "rid")
    assert (accepted.status, accepted.body, accepted.headers["x-amzn-RequestId"]) == (
        202,
        b"",
        "rid",
    )

    served = _served("lambda")
    served.handler = lambda op, params: {
        "StatusCode": 200,
        "Payload": b'{"errorMessage": "boom"}',
        "FunctionError": "Unhandled",
        "ExecutedVersion": "$LATEST",
    }
    answer = served.client.invoke(
        FunctionName="my-function", InvocationType="RequestResponse", Payload=b"{}"
    )
    assert served.seen == (
        "Invoke",
        {"FunctionName": "my-function", "InvocationType": "RequestResponse", "Payload": b"{}"},
    )
    assert served.wire is not None and served.wire.headers["X-Amz-Function-Error"] == "Unhandled"
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    assert answer["ExecutedVersion"] == "$LATEST"
    assert answer["Payload"].read() == b'{"errorMessage": "boom"}'


def test_lambda_error_through_client() -> None:
    served = _served("lambda")

    def missing(op: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise AwsError(
            "ResourceNotFoundException", "Function not found: x", fields={"Type": "User"}
        )

    served.handler = missing
    with pytest.raises(served.client.exceptions.ResourceNotFoundException) as caught:
        served.client.get_function(FunctionName="x")
    assert served.wire is not None
    assert served.wire.status == 404
    assert served.wire.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert caught.value.response["Error"]["Message"] == "Function not found: x"
    assert caught.value.response["Type"] == "User"
