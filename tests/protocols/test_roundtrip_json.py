"""Round trips of the `json` and `smithy-rpc-v2-cbor` codecs against botocore, for every operation.

Requests: botocore's serializer builds the wire request from generated params, our codec must
parse back the same operation and params. Responses: our codec serializes a generated result,
botocore's parser must read back the same dict. Errors go through a real botocore client (its
`before-send` hook answers with our codec) so the exception class boto3 users catch is checked too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.session
import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.client import ClientCreator
from botocore.config import Config
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudlet.protocols import AwsError, Codec, HttpRequest, HttpResponse, get_codec
from cloudlet.protocols.errors import ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Shape, load_service_model
from shapegen import operation_inputs, operation_outputs, structures

#: (service, protocol) pairs under test. CloudWatch's model names RPC v2 CBOR as its protocol (the
#: one newer SDKs speak) but also lists json, which botocore prefers: boto3 sends it awsJson 1.0.
CASES = [
    ("sqs", "json"),
    ("events", "json"),
    ("logs", "json"),
    ("stepfunctions", "json"),
    ("cloudwatch", "smithy-rpc-v2-cbor"),
    ("cloudwatch", "json"),
]
_SHORT = {"json": "json", "smithy-rpc-v2-cbor": "cbor"}


def _case_id(service: str, protocol: str, name: str) -> str:
    return f"{service}-{_SHORT[protocol]}.{name}"


FAST = settings(
    max_examples=4,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _botocore_model(service: str):
    return _session().get_service_model(service)


def _codec(service: str, protocol: str) -> Codec:
    return get_codec(load_service_model(service), protocol)


def _operations() -> list[Any]:
    return [
        pytest.param(service, protocol, name, id=_case_id(service, protocol, name))
        for service, protocol in CASES
        for name in load_service_model(service).operation_names
    ]


def _error_shapes() -> list[Any]:
    return [
        pytest.param(service, protocol, name, id=_case_id(service, protocol, name))
        for service, protocol in CASES
        for name, shape in load_service_model(service).error_shapes.items()
        if name == shape.name  # error_shapes is also keyed by wire code
    ]


# -- wire conversions ----------------------------------------------------------------------------


def _request_from_botocore(serialized: dict[str, Any]) -> HttpRequest:
    """botocore's request dict as the HttpRequest the edge hands a codec."""
    query = serialized["query_string"]
    if isinstance(query, dict):
        query = urlencode(query, doseq=True)
    body = serialized["body"]
    if isinstance(body, str):
        body = body.encode()
    headers = {k.lower(): v for k, v in serialized["headers"].items()}
    return HttpRequest(serialized["method"], serialized["url_path"], query, headers, body or b"")


def _response_dict(response: HttpResponse) -> dict[str, Any]:
    """Our HttpResponse as the dict botocore's parsers read (headers case-insensitive)."""
    headers = HeadersDict()
    for key, value in response.headers.items():
        headers[key] = value
    return {"status_code": response.status, "headers": headers, "body": response.body}


# -- requests and responses ----------------------------------------------------------------------


@pytest.mark.parametrize(("service", "protocol", "operation"), _operations())
@FAST
@given(data=st.data())
def test_request_roundtrip(
    service: str, protocol: str, operation: str, data: st.DataObject
) -> None:
    codec = _codec(service, protocol)
    params = data.draw(operation_inputs(codec.model.operation(operation)), label="params")
    op_model = _botocore_model(service).operation_model(operation)
    serializer = create_serializer(protocol, include_validation=False)
    request = _request_from_botocore(serializer.serialize_to_request(params, op_model))

    parsed_op, parsed = codec.parse(request)

    assert parsed_op.name == operation
    assert parsed == params


@pytest.mark.parametrize(("service", "protocol", "operation"), _operations())
@FAST
@given(data=st.data())
def test_response_roundtrip(
    service: str, protocol: str, operation: str, data: st.DataObject
) -> None:
    codec = _codec(service, protocol)
    ours = codec.model.operation(operation)
    if ours.output is not None and any(m.is_event_stream for m in ours.output.members.values()):
        pytest.skip("event-stream responses are framed by the event-stream writer, not the codec")
    result = data.draw(operation_outputs(ours), label="result")
    response = codec.serialize(ours, result, "req-1")
    op_model = _botocore_model(service).operation_model(operation)

    parsed = create_parser(protocol).parse(_response_dict(response), op_model.output_shape)

    assert response.status == 200
    assert response.headers["x-amzn-RequestId"] == "req-1"
    # botocore's RPC v2 parser adds no RequestId when the operation has no output shape.
    parsed.pop("ResponseMetadata")
    assert parsed == result


# -- errors, through a real client ---------------------------------------------------------------

Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]


class _Served:
    """A botocore client whose requests our codec answers, with `handler` as the provider."""

    def __init__(self, service: str, protocol: str) -> None:
        self.codec = _codec(service, protocol)
        self.handler: Handler = lambda op, params: {}
        self.wire: HttpResponse | None = None
        with _client_protocol(protocol):
            self.client = _session().create_client(
                service,
                region_name="us-east-1",
                endpoint_url="http://127.0.0.1:4566",
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(retries={"total_max_attempts": 1}),
            )
        assert self.client.meta.service_model.resolved_protocol == protocol
        self.client.meta.events.register("before-send", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        # After signing botocore holds some header values as bytes; the edge sees text.
        headers = {
            k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
        }
        http = HttpRequest(request.method, url.path, url.query, headers, body)
        operation, params = self.codec.parse(http)
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


@contextmanager
def _client_protocol(protocol: str) -> Iterator[None]:
    """Make the next client speak `protocol`, one its model lists but botocore would not pick.

    botocore picks the first protocol of its own priority order (json before CBOR); newer SDKs
    speak CloudWatch's CBOR, so the client is built from a model copy listing only `protocol`.
    """
    original = ClientCreator._load_service_model

    def load(self: ClientCreator, service_name: str, api_version: str | None = None) -> Any:
        model = original(self, service_name, api_version)
        if protocol in model.metadata.get("protocols", ()):
            raw = dict(model._service_description)  # the loader caches the original: copy
            raw["metadata"] = {**raw["metadata"], "protocol": protocol, "protocols": [protocol]}
            model = ServiceModel(raw, service_name=service_name)
        return model

    ClientCreator._load_service_model = load  # type: ignore[method-assign]
    try:
        yield
    finally:
        ClientCreator._load_service_model = original  # type: ignore[method-assign]


@cache
def _served(service: str, protocol: str) -> _Served:
    return _Served(service, protocol)


def _call_failing(service: str, protocol: str, error: AwsError) -> Any:
    """Call a parameterless operation of `service` whose provider raises `error`; the exception."""
    served = _served(service, protocol)

    def fail(op: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise error

    served.handler = fail
    method = getattr(served.client, xform_name(_parameterless_operation(service)))
    with pytest.raises(served.client.exceptions.ClientError) as caught:
        method()
    return caught.value


@cache
def _parameterless_operation(service: str) -> str:
    model = load_service_model(service)
    return next(
        name
        for name in sorted(model.operation_names)
        if (op := model.operation(name)).input is None or not op.input.required
    )


def _message_member(shape: Shape) -> str | None:
    return next((n for n in shape.members if n.lower() == "message"), None)


@pytest.mark.parametrize(("service", "protocol", "shape_name"), _error_shapes())
@settings(FAST, max_examples=3)
@given(data=st.data())
def test_modeled_error_roundtrip(
    service: str, protocol: str, shape_name: str, data: st.DataObject
) -> None:
    shape = load_service_model(service).error_shapes[shape_name]
    message_member = _message_member(shape)  # carried by AwsError.message, not by fields
    fields = {
        k: v for k, v in data.draw(structures(shape), label="fields").items() if k != message_member
    }
    error = AwsError(shape_name, "it went wrong", fields=fields)
    wire_code, status, _ = _codec(service, protocol).error_code_and_status(error)

    exc = _call_failing(service, protocol, error)

    assert exc.response["Error"]["Code"] == wire_code
    assert exc.response["Error"]["Message"] == "it went wrong"
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert exc.response["ResponseMetadata"]["RequestId"] == "req-1"
    # The class boto3 users catch: this shape's, or one sharing its code (CloudWatch has aliases).
    model = _botocore_model(service)
    code = model.shape_for(shape_name).error_code
    assert type(exc).__name__ in {s.name for s in model.error_shapes if s.error_code == code}
    if model.shape_for_error_code(wire_code) is not None:
        # botocore adds modeled members only when the reported code names a shape (not for SQS,
        # whose query-era codes name none: the same holds against AWS).
        for key, value in fields.items():
            assert exc.response[key] == value, key


@pytest.mark.parametrize(("service", "protocol"), CASES, ids=[_case_id(*c, "") for c in CASES])
def test_unmodeled_error(service: str, protocol: str) -> None:
    exc = _call_failing(service, protocol, AwsError("SomethingUnusual", "odd", status=400))
    assert exc.response["Error"]["Code"] == "SomethingUnusual"
    assert exc.response["Error"]["Message"] == "odd"
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert type(exc).__name__ == "ClientError"

    exc = _call_failing(service, protocol, AwsError("InternalFailure", "ours", status=500))
    assert exc.response["Error"]["Code"] == "InternalFailure"
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_sqs_queue_does_not_exist_matches_aws() -> None:
    """SQS answers JSON with the shape name in __type and the query-era code in a header.

    AWS sends `x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender`; botocore
    reports that code as Error.Code and keeps the shape name as QueryErrorCode, which its SQS
    handler uses to pick `QueueDoesNotExist`, so both the code and the class match AWS.
    """
    served = _served("sqs", "json")

    def missing(op: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise AwsError("QueueDoesNotExist", "The specified queue does not exist.")

    served.handler = missing
    client = served.client
    with pytest.raises(client.exceptions.QueueDoesNotExist) as caught:
        client.get_queue_url(QueueName="nope")

    assert served.wire is not None
    assert (
        served.wire.headers["x-amzn-query-error"]
        == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert served.wire.status == 400
    error = caught.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist"
    assert error["Type"] == "Sender"
    assert error["Message"] == "The specified queue does not exist."


# -- RPC v2 CBOR specifics -----------------------------------------------------------------------

_CBOR = ("cloudwatch", "smithy-rpc-v2-cbor")
_CW_PATH = "/service/GraniteServiceVersion20100801/operation/"


def test_cbor_success_through_client() -> None:
    served = _served(*_CBOR)
    served.handler = lambda op, params: {
        "DashboardEntries": [{"DashboardName": params["DashboardNamePrefix"]}]
    }
    listed = served.client.list_dashboards(DashboardNamePrefix="ops")
    assert listed["DashboardEntries"] == [{"DashboardName": "ops"}]
    assert served.wire is not None
    assert served.wire.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert served.wire.headers["Content-Type"] == "application/cbor"
    assert served.wire.headers["x-amzn-RequestId"] == "req-1"


def test_cbor_query_compatible_error_header() -> None:
    exc = _call_failing(*_CBOR, AwsError("InvalidParameterValueException", "bad"))
    wire = _served(*_CBOR).wire
    assert wire is not None
    assert wire.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert exc.response["Error"]["Code"] == "InvalidParameterValue"
    assert type(exc).__name__ in ("InvalidParameterValueException", "InvalidParameterValue")


def test_cbor_operation_without_output_sends_no_body() -> None:
    codec = _codec(*_CBOR)
    response = codec.serialize(codec.model.operation("DeleteAlarms"), {}, "req-1")
    assert response.body == b""
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"


@pytest.mark.parametrize(
    "path",
    [
        _CW_PATH + "NoSuchThing",
        "/service/SomeOtherService/operation/ListMetrics",
        "/",
        "/operation/ListMetrics",
    ],
)
def test_cbor_unknown_operation(path: str) -> None:
    with pytest.raises(UnknownOperation):
        _codec(*_CBOR).parse(HttpRequest("POST", path, body=b"\xa0"))


@pytest.mark.parametrize("body", [b"\xa1\x61", b"\x81\x01", b"\xff"])
def test_cbor_malformed_body(body: bytes) -> None:
    with pytest.raises(ParamValidationError) as caught:
        _codec(*_CBOR).parse(HttpRequest("POST", _CW_PATH + "ListMetrics", body=body))
    assert caught.value.kind == "malformed"


def test_cbor_accepts_endpoint_path_prefix() -> None:
    request = HttpRequest("POST", "/prefix" + _CW_PATH + "ListMetrics", body=b"\xa0")
    operation, params = _codec(*_CBOR).parse(request)
    assert (operation.name, params) == ("ListMetrics", {})
