"""The `query` and `ec2` protocols: form-encoded requests, XML responses.

Used by SNS, IAM, STS, CloudFormation, SES, CloudWatch (one of its three protocols), EC2, and by
older SDKs still speaking query to SQS. A request is `Action=<Operation>&Version=...` plus the
input members as form pairs, POSTed as application/x-www-form-urlencoded or sent as a GET query
string. Nested members are spelled with dotted keys exactly as botocore's QuerySerializer and
EC2Serializer write them (`A.B`, `A.member.1`, flattened `A.1`, `A.entry.1.key`, EC2's
capitalised names and `A.1` lists). Responses are XML in AWS's envelopes:

    <OpResponse xmlns=...><OpResult>...</OpResult><ResponseMetadata>...</ResponseMetadata></OpResponse>
    <OpResponse xmlns=...><requestId>...</requestId>...</OpResponse>                          (EC2)

Decoding runs in two steps: the dotted keys become a tree of dicts (one split per key), then a
table compiled once per structure shape maps each wire name to its member and decoder. Encoding
uses per-structure tables of (member, element name, encoder) and appends to one list of strings.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from cloudlet.protocols import Codec, HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError, ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Operation, ServiceModel, Shape
from cloudlet.protocols.quirks import (
    LEGACY_QUERY_MESSAGES,
    LEGACY_QUERY_SERVICES,
    LEGACY_QUERY_TRAITS,
    LEGACY_QUERY_URL_MEMBERS,
)
from cloudlet.protocols.timestamps import format_timestamp, parse_timestamp

#: A decoded form tree: a leaf value, or the children under a dotted prefix.
Node: TypeAlias = "str | dict[str, Node]"
Decoder = Callable[[Node], Any]
#: encoder(out, element_name, value) appends the XML of `value` to `out`
Encoder = Callable[[list[str], str, Any], None]

_CONTENT_TYPE = "text/xml"
_SKIP: Any = object()  # a decoder's answer for a node that carries no value of its shape
_ENVELOPE_KEYS = frozenset({"Action", "Version"})


class _BadScalar(Exception):
    """A scalar that does not parse; the enclosing structure names the parameter."""

    def __init__(self, text: str, expected: str) -> None:
        super().__init__(text)
        self.text = text
        self.expected = expected


# -- requests: form pairs -> tree ---------------------------------------------------------------


def form_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's parameters: the query string, then a form-encoded body."""
    pairs = list(request.query_multi) if request.query else []
    body = request.body
    if body and request.method != "GET":
        content_type = request.headers.get("content-type", "")
        if not content_type or "x-www-form-urlencoded" in content_type:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ParamValidationError(
                    "malformed", "The request body is not valid UTF-8."
                ) from None
            pairs.extend(parse_qsl(text, keep_blank_values=True))
    return pairs


def build_tree(pairs: list[tuple[str, str]]) -> dict[str, Node]:
    """Dotted keys as nested dicts: `A.member.1.B=x` -> {"A": {"member": {"1": {"B": "x"}}}}.

    A key that is both a leaf and a prefix (never sent by SDKs) keeps its children.
    """
    root: dict[str, Node] = {}
    for key, value in pairs:
        if "." not in key:
            if not isinstance(root.get(key), dict):
                root[key] = value
            continue
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = parts[-1]
        if not isinstance(node.get(last), dict):
            node[last] = value
    return root


# -- requests: scalar decoders ------------------------------------------------------------------


def _decode_string(node: Node) -> Any:
    return node if isinstance(node, str) else _SKIP


def _decode_integer(node: Node) -> Any:
    if not isinstance(node, str):
        return _SKIP
    try:
        return int(node)
    except ValueError:
        raise _BadScalar(node, "an integer") from None


def _decode_float(node: Node) -> Any:
    if not isinstance(node, str):
        return _SKIP
    try:
        return float(node)  # also reads NaN, Infinity, -Infinity as botocore writes them
    except ValueError:
        raise _BadScalar(node, "a number") from None


def _decode_boolean(node: Node) -> Any:
    if not isinstance(node, str):
        return _SKIP
    lowered = node.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise _BadScalar(node, "a boolean")


def _decode_timestamp(node: Node) -> Any:
    if not isinstance(node, str):
        return _SKIP
    return parse_timestamp(node)


def _decode_blob(node: Node) -> Any:
    if not isinstance(node, str):
        return _SKIP
    try:
        return base64.b64decode(node, validate=True)
    except (binascii.Error, ValueError):
        raise _BadScalar(node, "base64 encoded") from None


_SCALAR_DECODERS: dict[str, Decoder] = {
    "string": _decode_string,
    "character": _decode_string,
    "integer": _decode_integer,
    "long": _decode_integer,
    "byte": _decode_integer,
    "short": _decode_integer,
    "float": _decode_float,
    "double": _decode_float,
    "boolean": _decode_boolean,
    "timestamp": _decode_timestamp,
    "blob": _decode_blob,
}

#: What a map entry whose value carries nothing on the wire holds (an empty container is sent
#: as nothing at all).
_EMPTY_VALUES: dict[str, Callable[[], Any]] = {"structure": dict, "map": dict, "list": list}


def _empty_list(node: Node) -> Any:
    """`A=` is how botocore sends an empty list under its own name when items use another."""
    return [] if node == "" else _SKIP


def _decode_entry(node: Node) -> Any:
    return node if isinstance(node, dict) else _SKIP


def _single(value: Any) -> Any:
    return _SKIP if value is _SKIP else [value]


def _indexed(items: dict[str, Node], decode: Decoder) -> list[Any]:
    """List items keyed "1", "2", ... in index order; gaps (items that sent nothing) close up."""
    keyed = sorted((int(k), v) for k, v in items.items() if k.isdigit())
    out = []
    for _, child in keyed:
        value = decode(child)
        if value is not _SKIP:
            out.append(value)
    return out


# -- responses: scalar encoders -----------------------------------------------------------------


def xml_escape(text: str) -> str:
    """Escape element text; a carriage return is kept as a character reference, as AWS does."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _encode_string(out: list[str], tag: str, value: Any) -> None:
    text = value if isinstance(value, str) else str(value)
    out.append(f"<{tag}>{xml_escape(text)}</{tag}>")


def _encode_boolean(out: list[str], tag: str, value: Any) -> None:
    flag = value.lower() == "true" if isinstance(value, str) else bool(value)
    out.append(f"<{tag}>{'true' if flag else 'false'}</{tag}>")


def _encode_integer(out: list[str], tag: str, value: Any) -> None:
    out.append(f"<{tag}>{int(value)}</{tag}>")


def _float_text(value: Any) -> str:
    number = float(value)
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    return str(value) if isinstance(value, int) else repr(number)


def _encode_float(out: list[str], tag: str, value: Any) -> None:
    out.append(f"<{tag}>{_float_text(value)}</{tag}>")


def _encode_blob(out: list[str], tag: str, value: Any) -> None:
    data = value.encode() if isinstance(value, str) else value
    out.append(f"<{tag}>{base64.b64encode(data).decode()}</{tag}>")


def _timestamp_encoder(fmt: str) -> Encoder:
    def encode(out: list[str], tag: str, value: Any) -> None:
        if isinstance(value, str):
            value = parse_timestamp(value)
        out.append(f"<{tag}>{format_timestamp(value, fmt)}</{tag}>")

    return encode


_SCALAR_ENCODERS: dict[str, Encoder] = {
    "string": _encode_string,
    "character": _encode_string,
    "integer": _encode_integer,
    "long": _encode_integer,
    "byte": _encode_integer,
    "short": _encode_integer,
    "float": _encode_float,
    "double": _encode_float,
    "boolean": _encode_boolean,
    "blob": _encode_blob,
}


# -- legacy query services ----------------------------------------------------------------------


def legacy_query_description(service: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The query-era description of a service whose current model speaks JSON.

    Merges the query names of `quirks.LEGACY_QUERY_TRAITS` over the current description and gives
    every output the "<Operation>Result" wrapper query services use. Works on plain dicts, so
    tests can build the same model for botocore's own query serializer and parser.
    """
    traits = LEGACY_QUERY_TRAITS[service]
    shapes = dict(raw["shapes"])
    for shape_name, patch in traits["shapes"].items():
        shape = dict(shapes[shape_name])
        for key, value in patch.items():
            if key in ("member", "key", "value"):
                shape[key] = {**shape[key], **value}
            elif key == "members":
                shape["members"] = {
                    name: {**ref, **value.get(name, {})} for name, ref in shape["members"].items()
                }
            else:
                shape[key] = value
        shapes[shape_name] = shape
    operations = {}
    for name, op in raw["operations"].items():
        if "output" in op and "resultWrapper" not in op["output"]:
            op = {**op, "output": {**op["output"], "resultWrapper": f"{name}Result"}}
        operations[name] = op
    metadata = {**raw["metadata"], "xmlNamespace": traits["xmlNamespace"]}
    return {**raw, "metadata": metadata, "operations": operations, "shapes": shapes}


# -- the codecs ---------------------------------------------------------------------------------


class QueryCodec(Codec):
    """awsQuery: form-encoded requests, `<OpResponse><OpResult>` XML responses."""

    protocol = "query"

    def __init__(self, model: ServiceModel) -> None:
        super().__init__(model)
        #: the model as the wire sees it: the model itself, or its query-era variant
        self.wire = model
        if model.name in LEGACY_QUERY_SERVICES:
            self.wire = ServiceModel(model.name, legacy_query_description(model.name, model.raw))
        self.url_member = LEGACY_QUERY_URL_MEMBERS.get(model.name)
        metadata = self.wire.metadata
        namespace = metadata.get("xmlNamespace") or (
            f"https://{metadata['endpointPrefix']}.amazonaws.com/doc/{metadata['apiVersion']}/"
        )
        self.namespace = namespace if namespace.endswith("/") else namespace + "/"
        self._decode_tables: dict[str, dict[str, tuple[str, Decoder]]] = {}
        self._encode_tables: dict[str, list[tuple[str, str, Encoder]]] = {}

    # -- requests ----------------------------------------------------------------------------
    def parse(self, request: HttpRequest) -> tuple[Operation, dict[str, Any]]:
        pairs = form_pairs(request)
        action = next((v for k, v in reversed(pairs) if k == "Action"), "")
        if not action or not self.model.has_operation(action):
            raise UnknownOperation(
                f"The action {action} is not valid for this web service."
                if action
                else "Missing required parameter Action."
            )
        operation = self.model.operation(action)
        wire_input = self.wire.operation(action).input
        if wire_input is None:
            return operation, {}
        tree = build_tree([(k, v) for k, v in pairs if k not in _ENVELOPE_KEYS])
        params = self._decode_structure(wire_input.name, tree) if tree else {}
        if self.url_member and self.url_member not in params:
            self._fill_from_url(request, wire_input, params)
        return operation, params

    def _fill_from_url(self, request: HttpRequest, shape: Shape, params: dict[str, Any]) -> None:
        """A legacy request addressed to the resource URL (see quirks.LEGACY_QUERY_URL_MEMBERS)."""
        if request.path not in ("", "/") and self.url_member in shape.members:
            params[self.url_member] = f"http://{request.host or 'localhost'}{request.path}"

    def _decode_structure(self, shape_name: str, node: Node) -> Any:
        if not isinstance(node, dict):
            return _SKIP
        table = self._decode_tables.get(shape_name)
        if table is None:
            table = self._compile_decode_table(shape_name)
        out: dict[str, Any] = {}
        for key, child in node.items():
            entry = table.get(key)
            if entry is None:
                continue  # AWS ignores parameters it does not know
            try:
                value = entry[1](child)
            except _BadScalar as exc:
                raise ParamValidationError(
                    "invalid",
                    f"Value ({exc.text}) for parameter {key} is invalid. Must be {exc.expected}.",
                    member=entry[0],
                ) from None
            if value is not _SKIP:
                out[entry[0]] = value
        return out

    def _compile_decode_table(self, shape_name: str) -> dict[str, tuple[str, Decoder]]:
        table: dict[str, tuple[str, Decoder]] = {}
        self._decode_tables[shape_name] = table  # before compiling members: shapes may recurse
        for member_name, member in self.wire.shape(shape_name).members.items():
            for wire_name, decoder in self._member_wire_names(member_name, member):
                table[wire_name] = (member_name, decoder)
        return table

    def _member_wire_names(self, name: str, member: Shape) -> list[tuple[str, Decoder]]:
        """The keys a member travels under, as QuerySerializer names them."""
        decoder = self.decoder(member)
        wire_name = member.location_name or name
        if member.type == "list" and member.flattened:
            item_name = member.member.location_name
            if item_name and item_name != wire_name:
                # Items take the item name (`AttributeName.1`); an empty list keeps the list's
                # own name (`AttributeNames=`).
                return [(item_name, decoder), (wire_name, _empty_list)]
        return [(wire_name, decoder)]

    def decoder(self, shape: Shape) -> Decoder:
        """The decoder of a value of `shape` (as seen through its reference)."""
        kind = shape.type
        if kind == "structure":
            name = shape.name
            return lambda node: self._decode_structure(name, node)
        if kind == "list":
            return self._list_decoder(shape)
        if kind == "map":
            return self._map_decoder(shape)
        return _SCALAR_DECODERS.get(kind, _decode_string)

    def _list_decoder(self, shape: Shape) -> Decoder:
        item = self.decoder(shape.member)
        items_key = None if shape.flattened else (shape.member.location_name or "member")

        def decode(node: Node) -> Any:
            if isinstance(node, str):
                # `A=` is botocore's empty list; `A=x` (AWS's own SQS examples) is one item.
                return [] if node == "" else _single(item(node))
            items = node if items_key is None else node.get(items_key)
            return _indexed(items, item) if isinstance(items, dict) else _SKIP

        return decode

    def _map_names(self, shape: Shape) -> tuple[str, str]:
        return shape.key.location_name or "key", shape.value.location_name or "value"

    def _map_decoder(self, shape: Shape) -> Decoder:
        key_decoder, value_decoder = self.decoder(shape.key), self.decoder(shape.value)
        key_name, value_name = self._map_names(shape)
        empty = _EMPTY_VALUES.get(shape.value.type)
        flattened = shape.flattened

        def decode(node: Node) -> Any:
            if not isinstance(node, dict):
                return {} if node == "" else _SKIP
            entries = node if flattened else node.get("entry")
            if not isinstance(entries, dict):
                return _SKIP
            out: dict[Any, Any] = {}
            for entry in _indexed(entries, _decode_entry):
                key = key_decoder(entry.get(key_name, _SKIP))
                raw = entry.get(value_name)
                if key is _SKIP or (raw is None and empty is None):
                    continue
                value = empty() if raw is None else value_decoder(raw)
                if value is not _SKIP:
                    out[key] = value
            return out

        return decode

    # -- responses ---------------------------------------------------------------------------
    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        name = operation.name
        output = self.wire.operation(name).output
        out = [f'<{name}Response xmlns="{self.namespace}">']
        if output is not None:
            wrapper = output.ref.get("resultWrapper")
            if wrapper:
                start = len(out)
                out.append(f"<{wrapper}>")
                self.encode_members(output.name, result, out)
                if len(out) == start + 1:  # nothing inside: AWS writes <OpResult/>
                    out[start] = f"<{wrapper}/>"
                else:
                    out.append(f"</{wrapper}>")
            else:
                self.encode_members(output.name, result, out)
        out.append(
            f"<ResponseMetadata><RequestId>{xml_escape(request_id)}</RequestId></ResponseMetadata>"
            f"</{name}Response>"
        )
        return self._response(200, out, request_id)

    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        code, status, sender_fault = self.error_code_and_status(error)
        message = LEGACY_QUERY_MESSAGES.get((self.model.name, error.code), error.message)
        out = [
            f'<ErrorResponse xmlns="{self.namespace}"><Error>'
            f"<Type>{'Sender' if sender_fault else 'Receiver'}</Type>"
            f"<Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
        ]
        self._encode_error_fields(error, out)
        out.append(f"</Error><RequestId>{xml_escape(request_id)}</RequestId></ErrorResponse>")
        return self._response(status, out, request_id, error.headers)

    def _encode_error_fields(self, error: AwsError, out: list[str]) -> None:
        """Extra members of a modeled error, inside <Error> where botocore looks for them."""
        shape = self.model.error_shapes.get(error.code)
        if not error.fields or shape is None:
            return
        fields = {
            k: v for k, v in error.fields.items() if k.lower() not in ("code", "message", "type")
        }
        self.encode_members(shape.name, fields, out)

    def _response(
        self, status: int, out: list[str], request_id: str, extra: dict[str, str] | None = None
    ) -> HttpResponse:
        headers = {"Content-Type": _CONTENT_TYPE, "x-amzn-RequestId": request_id}
        if extra:
            headers.update(extra)
        return HttpResponse(status, headers, "".join(out).encode())

    def encode_members(self, shape_name: str, data: dict[str, Any], out: list[str]) -> None:
        """Append the members of structure `shape_name` found in `data` (others are ignored)."""
        table = self._encode_tables.get(shape_name)
        if table is None:
            table = self._compile_encode_table(shape_name)
        for member_name, tag, encoder in table:
            value = data.get(member_name)
            if value is not None:
                encoder(out, tag, value)

    def _compile_encode_table(self, shape_name: str) -> list[tuple[str, str, Encoder]]:
        table: list[tuple[str, str, Encoder]] = []
        self._encode_tables[shape_name] = table  # before compiling members: shapes may recurse
        for member_name, member in self.wire.shape(shape_name).members.items():
            if member.location in ("header", "headers", "statusCode"):
                continue
            table.append(
                (member_name, self._element_name(member_name, member), self.encoder(member))
            )
        return table

    @staticmethod
    def _element_name(name: str, member: Shape) -> str:
        """The element a member is written as (botocore's `_member_key_name`)."""
        if member.type == "list" and member.flattened:
            item_name = member.member.location_name
            if item_name:
                return item_name
        return member.location_name or name

    def encoder(self, shape: Shape) -> Encoder:
        """The encoder of a value of `shape` (as seen through its reference)."""
        kind = shape.type
        if kind == "structure":
            name = shape.name

            def encode_structure(out: list[str], tag: str, value: Any) -> None:
                out.append(f"<{tag}>")
                self.encode_members(name, value, out)
                out.append(f"</{tag}>")

            return encode_structure
        if kind == "list":
            return self._list_encoder(shape)
        if kind == "map":
            return self._map_encoder(shape)
        if kind == "timestamp":
            return _timestamp_encoder(shape.timestamp_format or "iso8601")
        return _SCALAR_ENCODERS.get(kind, _encode_string)

    def _list_encoder(self, shape: Shape) -> Encoder:
        item = self.encoder(shape.member)
        if shape.flattened:
            # One element per item, named by the enclosing structure's table.
            def encode_flat(out: list[str], tag: str, value: Any) -> None:
                for element in value:
                    if element is not None:
                        item(out, tag, element)

            return encode_flat
        item_tag = shape.member.location_name or "member"

        def encode_wrapped(out: list[str], tag: str, value: Any) -> None:
            out.append(f"<{tag}>")
            for element in value:
                if element is not None:
                    item(out, item_tag, element)
            out.append(f"</{tag}>")

        return encode_wrapped

    def _map_encoder(self, shape: Shape) -> Encoder:
        key_encoder, value_encoder = self.encoder(shape.key), self.encoder(shape.value)
        key_tag = shape.key.location_name or "key"
        value_tag = shape.value.location_name or "value"

        def entries(out: list[str], value: dict[Any, Any], open_tag: str, close_tag: str) -> None:
            for key, item in value.items():
                if item is None:
                    continue
                out.append(open_tag)
                key_encoder(out, key_tag, key)
                value_encoder(out, value_tag, item)
                out.append(close_tag)

        if shape.flattened:
            return lambda out, tag, value: entries(out, value, f"<{tag}>", f"</{tag}>")

        def encode_wrapped(out: list[str], tag: str, value: Any) -> None:
            out.append(f"<{tag}>")
            entries(out, value, "<entry>", "</entry>")
            out.append(f"</{tag}>")

        return encode_wrapped


class Ec2Codec(QueryCodec):
    """The EC2 dialect: capitalised query names, `A.N` lists, `<requestId>` and `<Response>`."""

    protocol = "ec2"
    _XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

    def _member_wire_names(self, name: str, member: Shape) -> list[tuple[str, Decoder]]:
        return [(_ec2_name(member, name), self.decoder(member))]

    def _list_decoder(self, shape: Shape) -> Decoder:
        # EC2 lists are always `A.1`, `A.2`, whatever the model says; an empty list sends nothing.
        item = self.decoder(shape.member)

        def decode(node: Node) -> Any:
            if isinstance(node, str):
                return [] if node == "" else _single(item(node))
            return _indexed(node, item)

        return decode

    def _map_names(self, shape: Shape) -> tuple[str, str]:
        return _ec2_name(shape.key, "key"), _ec2_name(shape.value, "value")

    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        name = operation.name
        output = self.wire.operation(name).output
        out = [
            f'{self._XML_DECLARATION}<{name}Response xmlns="{self.namespace}">'
            f"<requestId>{xml_escape(request_id)}</requestId>"
        ]
        if output is not None:
            self.encode_members(output.name, result, out)
        out.append(f"</{name}Response>")
        return self._response(200, out, request_id)

    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        code, status, _ = self.error_code_and_status(error)
        out = [
            f"{self._XML_DECLARATION}<Response><Errors><Error>"
            f"<Code>{xml_escape(code)}</Code><Message>{xml_escape(error.message)}</Message>"
        ]
        self._encode_error_fields(error, out)
        out.append(f"</Error></Errors><RequestID>{xml_escape(request_id)}</RequestID></Response>")
        return self._response(status, out, request_id, error.headers)


def _ec2_name(shape: Shape, default: str) -> str:
    """EC2's input name: queryName, else the locationName capitalised, else the member name."""
    query_name = shape.trait("queryName")
    if query_name:
        return query_name
    location_name = shape.location_name
    if location_name:
        return location_name[0].upper() + location_name[1:]
    return default
