"""The `json` protocol (awsJson1_0 / awsJson1_1): POST /, X-Amz-Target names the operation.

Used by SQS, EventBridge, CloudWatch Logs, Step Functions, DynamoDB... Timestamps travel as epoch
seconds, blobs as base64 strings; errors are `{"__type": ..., "message": ...}`.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

from cloudlet.protocols import Codec, HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError, ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Operation, Shape
from cloudlet.protocols.timestamps import parse_timestamp, to_epoch

_EMPTY_OBJECT = b"{}"


class JsonCodec(Codec):
    protocol = "json"

    def __init__(self, model) -> None:
        super().__init__(model)
        version = model.metadata.get("jsonVersion", "1.0")
        self.content_type = f"application/x-amz-json-{version}"
        self.query_compatible = "awsQueryCompatible" in model.metadata

    # -- requests ----------------------------------------------------------------------------
    def parse(self, request: HttpRequest) -> tuple[Operation, dict[str, Any]]:
        target = request.headers.get("x-amz-target", "")
        name = target.rpartition(".")[2]
        if not name or not self.model.has_operation(name):
            raise UnknownOperation(f"Unrecognized operation {target or '(none)'}")
        operation = self.model.operation(name)
        body = request.body
        if not body or body.isspace():
            return operation, {}
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ParamValidationError(
                "malformed", "Start of structure or map found where not expected."
            ) from None
        if not isinstance(data, dict):
            raise ParamValidationError(
                "malformed", "Start of structure or map found where not expected."
            )
        if operation.input is None:
            return operation, {}
        return operation, decode_structure(operation.input, data)

    # -- responses ---------------------------------------------------------------------------
    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        if operation.output is None or not result:
            body = _EMPTY_OBJECT
        else:
            body = orjson.dumps(encode_structure(operation.output, result))
        return HttpResponse(
            200,
            {"Content-Type": self.content_type, "x-amzn-RequestId": request_id},
            body,
        )

    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        status, extra, payload = error_document(self, error, encode_structure)
        headers = {"Content-Type": self.content_type, "x-amzn-RequestId": request_id, **extra}
        return HttpResponse(status, headers, orjson.dumps(payload))


def error_document(
    codec: Codec, error: AwsError, encode: StructureEncoder
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and body document of an error, shared by awsJson and RPC v2 CBOR.

    Both answer `{"__type": ..., "message": ...}` plus the error shape's own members; they differ
    only in how the document is encoded (`encode` maps the members' values for the format).
    """
    code, status, sender_fault = codec.error_code_and_status(error)
    shape = codec.model.error_shapes.get(error.code)
    headers = dict(error.headers)
    if "awsQueryCompatible" in codec.model.metadata:
        # The body carries the shape name; the query-era code travels in this header and is
        # what SDKs report as the error code.
        type_name = shape.name if shape is not None else code
        headers["x-amzn-query-error"] = f"{code};{'Sender' if sender_fault else 'Receiver'}"
    else:
        type_name = code
    payload: dict[str, Any] = {"__type": type_name, "message": error.message}
    if error.fields:
        payload.update(error.fields if shape is None else encode(shape, error.fields))
    return status, headers, payload


# -- value mapping, shared with rest-json and smithy-rpc-v2-cbor ---------------------------


def decode_structure(shape: Shape, data: dict[str, Any]) -> dict[str, Any]:
    """A JSON object of `shape` as params: member names, blobs and timestamps decoded, unknown
    members and nulls dropped (AWS ignores them)."""
    return _decoder(shape)(data)


def decode_value(shape: Shape, value: Any) -> Any:
    decode = _decoder(shape)
    return value if decode is None else decode(value)


#: A compiled decoder: value -> params. None means the value is taken as it is.
Decoder = Callable[[Any], Any] | None
_DECODERS: dict[int, tuple[Any, Decoder]] = {}


def _decoder(shape: Shape) -> Decoder:
    """The shape's decoder, built once. Values of plain types (strings, numbers, booleans, and
    lists of them) need no decoding, so only structures and the few special types cost a call."""
    entry = _DECODERS.get(id(shape.raw))
    if entry is None:  # kept with its raw dict, so the id is never reused
        entry = _DECODERS[id(shape.raw)] = (shape.raw, _build_decoder(shape))
    return entry[1]


def _build_decoder(shape: Shape) -> Decoder:
    kind = shape.type
    if kind == "structure":
        return None if shape.is_document else _structure_decoder(shape)
    if kind == "list":
        return _list_decoder(shape)
    if kind == "map":
        return _map_decoder(shape)
    if kind == "blob":
        return _decode_blob
    if kind == "timestamp":
        return parse_timestamp
    if kind in ("float", "double"):
        return _decode_float
    return None


def _structure_decoder(shape: Shape) -> Callable[[Any], Any]:
    table: dict[str, tuple[str, Decoder]] = {}  # filled on first use: shapes may be recursive

    plain: list[frozenset[str]] = []  # the keys whose values need no decoding

    def decode(data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # validation reports the wrong type
        if not table:
            table.update(
                {
                    key: (name, _decoder(m))
                    for key, (name, m) in shape.members_by_serialized_name.items()
                }
            )
            plain.append(frozenset(k for k, (name, m) in table.items() if k == name and m is None))
        if data.keys() <= plain[0] and None not in data.values():
            return data  # already what decoding would build (a batch's entries, mostly)
        out: dict[str, Any] = {}
        for key, value in data.items():
            entry = table.get(key)
            if entry is None or value is None:
                continue
            name, member = entry
            out[name] = value if member is None else member(value)
        return out

    return decode


def _list_decoder(shape: Shape) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        item = _decoder(shape.member)
        if item is None or not isinstance(value, list):
            return value
        return [item(v) if v is not None else None for v in value]

    return decode


def _map_decoder(shape: Shape) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        item = _decoder(shape.value)
        if item is None:
            return {k: v for k, v in value.items() if v is not None}
        return {k: item(v) for k, v in value.items() if v is not None}

    return decode


def _decode_blob(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ParamValidationError(
            "invalid",
            "1 validation error detected: Value at blob failed to satisfy constraint: Member must be base64",
        ) from None


_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _decode_float(value: Any) -> Any:
    return _FLOAT_WORDS.get(value, value) if isinstance(value, str) else value


Encoder = Callable[[Shape, Any], Any]
StructureEncoder = Callable[[Shape, dict[str, Any]], dict[str, Any]]

#: Types whose values every format carries as they are, so their lists and maps need no walk.
_NATIVE = frozenset(("string", "integer", "long", "boolean"))
#: Types whose encoding differs between formats; `shape_encoder`'s `leaf` maps them.
_LEAVES = frozenset(("blob", "timestamp", "float", "double"))


def shape_encoder(leaf: Encoder) -> tuple[StructureEncoder, Encoder]:
    """Build `(encode_structure, encode_value)` for a format with JSON's containers.

    JSON and CBOR walk results the same way (structures become maps keyed by member name, lists
    arrays, maps maps); they differ only in blobs, timestamps and floats, which `leaf(shape,
    value)` encodes. Closures rather than a `leaf` argument keep the recursion as cheap as before.
    """

    plain: dict[int, tuple[Any, frozenset[str]]] = {}

    def plain_keys(shape: Shape) -> frozenset[str]:
        """A structure's members that encode as they are, under their own names (strings,
        numbers, booleans, lists and maps of them)."""
        entry = plain.get(id(shape.raw))
        if entry is None:  # kept with its raw dict, so the id is never reused
            names = shape.serialized_names
            keys = frozenset(k for k, m in shape.members.items() if names[k] == k and _as_is(m))
            entry = plain[id(shape.raw)] = (shape.raw, keys)
        return entry[1]

    def encode_structure(shape: Shape, data: dict[str, Any]) -> dict[str, Any]:
        if data.keys() <= plain_keys(shape) and None not in data.values():
            return data  # the walk would copy it unchanged
        members = shape.members
        names = shape.serialized_names  # the locationName where a rest-json model renames one
        out: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            member = members.get(key)
            if member is None:
                continue  # never leak provider-internal fields
            out[names[key]] = encode_value(member, value)
        return out

    def encode_value(shape: Shape, value: Any) -> Any:
        kind = shape.type
        if kind == "structure":
            if shape.is_document:
                return value
            return encode_structure(shape, value)
        if kind == "list":
            member = shape.member
            if member.type in _NATIVE:
                return value
            if member.type == "structure" and not member.is_document:
                keys = plain_keys(member)  # a batch's results, mostly: passed through whole
                if all(v.keys() <= keys and None not in v.values() for v in value):
                    return value
                return [encode_structure(member, v) for v in value]
            return [encode_value(member, v) for v in value]
        if kind == "map":
            vshape = shape.value
            if vshape.type in _NATIVE:
                return value
            return {k: encode_value(vshape, v) for k, v in value.items()}
        if kind in _LEAVES:
            return leaf(shape, value)
        return value

    return encode_structure, encode_value


def _as_is(shape: Shape) -> bool:
    """Whether `encode_value` returns any value of this shape unchanged."""
    kind = shape.type
    if kind in _NATIVE or (kind == "structure" and shape.is_document):
        return True
    if kind == "list":
        return shape.member.type in _NATIVE
    if kind == "map":
        return shape.value.type in _NATIVE
    return False


_NON_FINITE = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def _json_leaf(shape: Shape, value: Any) -> Any:
    """Blobs as base64, timestamps as epoch seconds (ISO 8601 if modeled), NaN/Infinity as text."""
    kind = shape.type
    if kind == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode()
    if kind == "timestamp":
        fmt = shape.timestamp_format
        if fmt == "iso8601" and isinstance(value, dt.datetime):
            return value.isoformat()
        return to_epoch(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return _NON_FINITE.get(value, value)
    return value


encode_structure, encode_value = shape_encoder(_json_leaf)
