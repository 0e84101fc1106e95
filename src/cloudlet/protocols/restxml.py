"""The `rest-xml` protocol: REST routing and bindings (see `rest`) with XML bodies.

Used by S3 (and Route 53 / CloudFront). Requests are parsed with ElementTree; responses are written
as text directly (no element tree), in model member order. Lists are wrapped in an element of the
member's name with one child per item (named by the list member's locationName, else `member`)
unless `flattened`, when each item is an element of its own; maps are `<entry><key/><value/></entry>`
likewise. `xmlAttribute` members become attributes (S3's `xsi:type` on Grantee) and `xmlNamespace`
traits become `xmlns` declarations. S3's own habits (root names, namespace, the bare `<Error>`
document, `x-amz-request-id`/`x-amz-id-2`, GetBucketLocation's text root) are rows of `quirks`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from xml.etree import ElementTree

from cloudlet.protocols import HttpResponse, quirks
from cloudlet.protocols.errors import AwsError, ParamValidationError
from cloudlet.protocols.model import Operation, ServiceModel, Shape
from cloudlet.protocols.rest import Bindings, RestCodec, float_text, write_bindings
from cloudlet.protocols.timestamps import format_timestamp, parse_timestamp, to_iso8601

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_XML = "application/xml"
_MALFORMED = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)

#: (member name, member shape, element name, xmlns declaration) for a structure's child elements
_Children = list[tuple[str, Shape, str, str]]
#: (member name, attribute name) for its xmlAttribute members
_Attributes = list[tuple[str, str]]


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")  # a raw CR would be read back as LF
    return text


def _escape_attr(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _xmlns(trait: Any) -> str:
    """The xmlns declaration of an xmlNamespace trait (a URI, or {"prefix", "uri"})."""
    if not trait:
        return ""
    if isinstance(trait, str):
        return f' xmlns="{trait}"'
    prefix = trait.get("prefix")
    return f' xmlns:{prefix}="{trait["uri"]}"' if prefix else f' xmlns="{trait["uri"]}"'


def _timestamp_text(shape: Shape, value: Any) -> str:
    fmt = shape.timestamp_format
    if fmt and fmt != "iso8601":
        return str(format_timestamp(value, fmt))
    text = to_iso8601(value)
    return text if "." in text else text[:-1] + ".000Z"  # AWS always writes milliseconds


def _scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type
    if kind == "string":
        return value
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        return float_text(value)
    if kind == "timestamp":
        return _timestamp_text(shape, value)
    if kind == "blob":
        return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
    return str(value)


def _local(tag: str) -> str:
    return tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag


class RestXmlCodec(RestCodec):
    protocol = "rest-xml"
    body_content_type = _XML

    def __init__(self, model: ServiceModel) -> None:
        super().__init__(model)
        name = model.name
        self.s3_style = name in quirks.S3_STYLE_RESPONSES
        self.namespace = quirks.XML_RESPONSE_NAMESPACES.get(name, "")
        self.roots = quirks.XML_RESPONSE_ROOTS.get(name, {})
        self._writers: dict[str, tuple[_Children, _Attributes]] = {}
        self._readers: dict[str, tuple[dict[str, tuple[str, Shape]], _Attributes]] = {}

    def response_headers(self, request_id: str) -> dict[str, str]:
        if self.s3_style:
            return {"x-amz-request-id": request_id, "x-amz-id-2": self.host_id(request_id)}
        return {"x-amzn-RequestId": request_id}

    @staticmethod
    def host_id(request_id: str) -> str:
        """S3's opaque `x-amz-id-2`/HostId: a base64 token, derived from the request id."""
        return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()

    # -- reading request bodies ----------------------------------------------------------------
    def _root(self, body: bytes) -> ElementTree.Element:
        try:
            return ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise ParamValidationError("malformed", _MALFORMED) from None

    def decode_body(self, shape: Shape, body: bytes) -> dict[str, Any]:
        return self._read_structure(shape, self._root(body))

    def decode_payload(self, shape: Shape, body: bytes) -> Any:
        return self._read(shape, self._root(body))

    def _reader(self, shape: Shape) -> tuple[dict[str, tuple[str, Shape]], _Attributes]:
        found = self._readers.get(shape.name)
        if found is None:
            tags: dict[str, tuple[str, Shape]] = {}
            attributes: _Attributes = []
            for name, member in shape.members.items():
                if member.location:
                    continue
                wire = member.location_name or name
                if member.trait("xmlAttribute"):
                    attributes.append((name, wire.rpartition(":")[2]))
                    continue
                tags[wire] = (name, member)
                if member.type == "list" and member.flattened and member.member.location_name:
                    # botocore writes flattened items under the member's name, AWS under the
                    # list member's name: accept both.
                    tags.setdefault(member.member.location_name, (name, member))
            found = self._readers[shape.name] = (tags, attributes)
        return found

    def _read_structure(self, shape: Shape, element: ElementTree.Element) -> dict[str, Any]:
        tags, attributes = self._reader(shape)
        out: dict[str, Any] = {}
        for child in element:
            entry = tags.get(_local(child.tag))
            if entry is None:
                continue  # AWS ignores elements it does not know
            name, member = entry
            if member.flattened and member.type == "list":
                out.setdefault(name, []).append(self._read(member.member, child))
            elif member.flattened and member.type == "map":
                key, value = self._read_entry(member, child)
                out.setdefault(name, {})[key] = value
            else:
                out[name] = self._read(member, child)
        if attributes and element.attrib:
            for name, local in attributes:
                for key, value in element.attrib.items():
                    if _local(key) == local:
                        out[name] = value
        return out

    def _read_entry(self, shape: Shape, element: ElementTree.Element) -> tuple[Any, Any]:
        key_shape, value_shape = shape.key, shape.value
        key_tag, value_tag = key_shape.location_name or "key", value_shape.location_name or "value"
        key = value = None
        for child in element:
            tag = _local(child.tag)
            if tag == key_tag:
                key = self._read(key_shape, child)
            elif tag == value_tag:
                value = self._read(value_shape, child)
        return key, value

    def _read(self, shape: Shape, element: ElementTree.Element) -> Any:
        kind = shape.type
        if kind == "structure":
            return self._read_structure(shape, element)
        if kind == "list":
            member = shape.member
            return [self._read(member, child) for child in element]
        if kind == "map":
            return dict(self._read_entry(shape, entry) for entry in element)
        text = element.text or ""
        if kind == "string":
            return text
        try:
            if kind in ("integer", "long"):
                return int(text)
            if kind in ("float", "double"):
                return float(text)
            if kind == "boolean":
                if text.strip() not in ("true", "false"):
                    raise ValueError(text)
                return text.strip() == "true"
            if kind == "timestamp":
                return parse_timestamp(text)
            if kind == "blob":
                return base64.b64decode(text)
        except (ValueError, binascii.Error, ParamValidationError):
            raise ParamValidationError("malformed", _MALFORMED) from None
        return text

    # -- writing response bodies ---------------------------------------------------------------
    def _writer(self, shape: Shape) -> tuple[_Children, _Attributes]:
        found = self._writers.get(shape.name)
        if found is None:
            children: _Children = []
            attributes: _Attributes = []
            for name, member in shape.members.items():
                if member.location:
                    continue  # headers and status codes are not part of the document
                wire = member.location_name or name
                if member.trait("xmlAttribute"):
                    attributes.append((name, wire))
                    continue
                if member.type == "list" and member.flattened:
                    wire = member.member.location_name or wire  # what botocore's parser reads
                children.append((name, member, wire, _xmlns(member.trait("xmlNamespace"))))
            found = self._writers[shape.name] = (children, attributes)
        return found

    def _write(self, out: list[str], shape: Shape, value: Any, tag: str, attrs: str = "") -> None:
        kind = shape.type
        if kind == "structure":
            self._write_structure(out, shape, value, tag, attrs)
        elif kind == "list":
            member = shape.member
            if shape.flattened:
                for item in value:
                    self._write(out, member, item, tag, attrs)
                return
            item_tag = member.location_name or "member"
            out.append(f"<{tag}{attrs}>")
            for item in value:
                self._write(out, member, item, item_tag)
            out.append(f"</{tag}>")
        elif kind == "map":
            self._write_map(out, shape, value, tag, attrs)
        else:
            out.append(f"<{tag}{attrs}>{_escape(_scalar_text(shape, value))}</{tag}>")

    def _write_structure(
        self, out: list[str], shape: Shape, data: dict[str, Any], tag: str, attrs: str
    ) -> None:
        if shape.is_document:
            raise NotImplementedError("document members have no XML form")
        children, attributes = self._writer(shape)
        for name, wire in attributes:
            value = data.get(name)
            if value is not None:
                attrs += f' {wire}="{_escape_attr(str(value))}"'
        out.append(f"<{tag}{attrs}>")
        for name, member, wire, xmlns in children:
            value = data.get(name)
            if value is not None:
                self._write(out, member, value, wire, xmlns)
        out.append(f"</{tag}>")

    def _write_map(
        self, out: list[str], shape: Shape, value: dict[str, Any], tag: str, attrs: str
    ) -> None:
        key_shape, value_shape = shape.key, shape.value
        key_tag, value_tag = key_shape.location_name or "key", value_shape.location_name or "value"
        flattened = shape.flattened
        if not flattened:
            out.append(f"<{tag}{attrs}>")
        for key, item in value.items():
            out.append(f"<{tag}>" if flattened else "<entry>")
            self._write(out, key_shape, key, key_tag)
            self._write(out, value_shape, item, value_tag)
            out.append(f"</{tag}>" if flattened else "</entry>")
        if not flattened:
            out.append(f"</{tag}>")

    def _document(self, shape: Shape, value: Any, root: str, xmlns: str) -> bytes:
        out = [_DECLARATION]
        self._write(
            out,
            shape,
            value,
            root,
            xmlns or (f' xmlns="{self.namespace}"' if self.namespace else ""),
        )
        return "".join(out).encode()

    def encode_payload(self, name: str, shape: Shape, value: Any) -> bytes:
        return self._document(
            shape, value, shape.location_name or name, _xmlns(shape.trait("xmlNamespace"))
        )

    def encode_body(
        self, operation: Operation, bindings: Bindings, values: dict[str, Any]
    ) -> bytes:
        shape = bindings.shape
        text_member = quirks.XML_TEXT_ROOT_OUTPUTS.get((self.model.name, operation.name))
        if text_member is not None:
            member = shape.members[text_member]
            value = values.get(text_member)
            xmlns = f' xmlns="{self.namespace}"' if self.namespace else ""
            text = "" if value is None else _escape(_scalar_text(member, value))
            return f"{_DECLARATION}<{text_member}{xmlns}>{text}</{text_member}>".encode()
        root = self.roots.get(operation.name) or shape.location_name or f"{operation.name}Response"
        return self._document(shape, values, root, _xmlns(shape.trait("xmlNamespace")))

    # -- errors --------------------------------------------------------------------------------
    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        code, status, sender_fault = self.error_code_and_status(error)
        headers = {**self.response_headers(request_id), **error.headers}
        if status == 304 or (operation is not None and operation.http_method == "HEAD"):
            return HttpResponse(status, headers, b"")  # HEAD and 304 answers carry no body
        fields: list[str] = []
        shape = self.model.error_shapes.get(error.code)
        members: dict[str, Shape] = {}
        if shape is not None:
            members = shape.members
            _, values, _ = write_bindings(self.bindings(shape), error.fields, headers)
            children, _ = self._writer(shape)
            for name, member, wire, xmlns in children:
                if values.get(name) is not None:
                    self._write(fields, member, values[name], wire, xmlns)
        for name, value in error.fields.items():
            # Fields the model does not know (S3's Key, BucketName, Resource...) go as text.
            if name not in members and value is not None:
                fields.append(f"<{name}>{_escape(str(value))}</{name}>")
        message = f"<Code>{_escape(code)}</Code><Message>{_escape(error.message)}</Message>"
        if self.s3_style:
            ids = f"<RequestId>{request_id}</RequestId><HostId>{headers['x-amz-id-2']}</HostId>"
            document = f"<Error>{message}{''.join(fields)}{ids}</Error>"
        else:
            kind = "Sender" if sender_fault else "Receiver"
            xmlns = f' xmlns="{self.namespace}"' if self.namespace else ""
            document = (
                f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type>{message}{''.join(fields)}</Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        headers["Content-Type"] = _XML
        return HttpResponse(status, headers, (_DECLARATION + document).encode())
