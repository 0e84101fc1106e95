"""Wire protocols: HTTP request -> (operation, params) and (result | error) -> HTTP response.

One codec per protocol family, driven by botocore's model of the service. A codec never knows
which service it serves beyond what the model says; a service's wire quirks live in
`protocols.quirks`, one row each with its reason.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from cloudlet.protocols.errors import AwsError, ParamValidationError
from cloudlet.protocols.model import Operation, ServiceModel

__all__ = [
    "AwsError",
    "Codec",
    "HttpRequest",
    "HttpResponse",
    "ParamValidationError",
    "get_codec",
    "validation_error",
]


@dataclass
class HttpRequest:
    """An HTTP request as the codecs see it. Header names are lower case."""

    method: str
    path: str  # raw (still percent-encoded) path, without the query string
    query: str = ""  # raw query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: the body when the edge left it unread (large or of unknown length; see `protocols.streams`)
    stream: Any = None
    #: the headers as the client spelled and repeated them, for the few consumers that pass them
    #: on verbatim (API Gateway's proxy event): (name, value) byte pairs
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @cached_property
    def header_list(self) -> list[tuple[str, str]]:
        """`raw_headers` decoded, in order; falls back to `headers` for requests built in code."""
        if not self.raw_headers:
            return list(self.headers.items())
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers]

    async def load(self) -> bytes:
        """Read a body the edge left unread, whole, into `body` (for operations that do not
        stream their payload)."""
        if self.stream is not None:
            self.body = await self.stream.read()
            self.stream = None
        return self.body

    @cached_property
    def query_params(self) -> dict[str, str]:
        """The query string decoded; the last value wins for repeated keys."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @cached_property
    def query_multi(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@dataclass
class HttpResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: bytes, or an async iterable of bytes sent in chunks (`protocols.streams.FileBody`)
    body: Any = b""


class Codec:
    """Base of the protocol codecs; one instance per (service model, protocol)."""

    protocol: str = ""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model

    def parse(self, request: HttpRequest) -> tuple[Operation, dict[str, Any]]:
        """Find the operation a request calls and decode its params (not yet validated)."""
        raise NotImplementedError

    def streams_payload(self, request: HttpRequest) -> bool:
        """Whether the operation a request calls reads its payload as a stream, so the edge may
        hand it the body unread (see `protocols.streams`)."""
        return False

    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        raise NotImplementedError

    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        raise NotImplementedError

    # helpers shared by the codecs ------------------------------------------------------------
    def error_code_and_status(self, error: AwsError) -> tuple[str, int, bool]:
        """The wire code, HTTP status and sender-fault flag of an error, from the model if it knows it."""
        from cloudlet.protocols.quirks import QUERY_ERROR_CODES, QUERY_ERROR_STATUS

        shape = self.model.error_shapes.get(error.code)
        if shape is None:
            return error.code, error.status, error.sender_fault
        code = QUERY_ERROR_CODES.get(self.model.name, {}).get(shape.name, shape.error_code)
        status = QUERY_ERROR_STATUS.get(self.model.name, {}).get(shape.name, shape.error_status)
        return code, status, shape.error_sender_fault


_CODECS = {
    "json": "cloudlet.protocols.json:JsonCodec",
    "rest-json": "cloudlet.protocols.restjson:RestJsonCodec",
    "rest-xml": "cloudlet.protocols.restxml:RestXmlCodec",
    "query": "cloudlet.protocols.query:QueryCodec",
    "ec2": "cloudlet.protocols.query:Ec2Codec",
    "smithy-rpc-v2-cbor": "cloudlet.protocols.cbor:CborCodec",
}
_codec_cache: dict[tuple[str, str], Codec] = {}


def get_codec(model: ServiceModel, protocol: str | None = None) -> Codec:
    """The codec for `model` speaking `protocol` (default: the model's own), built once."""
    protocol = protocol or model.protocol
    key = (model.name, protocol)
    codec = _codec_cache.get(key)
    if codec is None:
        module_name, _, class_name = _CODECS[protocol].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        codec = _codec_cache[key] = cls(model)
    return codec


# Which error each protocol family answers for input its model rejects.
_VALIDATION_CODES: dict[str, dict[str, str]] = {
    "json": {
        "missing": "ValidationException",
        "invalid": "ValidationException",
        "malformed": "SerializationException",
    },
    "rest-json": {
        "missing": "ValidationException",
        "invalid": "ValidationException",
        "malformed": "SerializationException",
    },
    "smithy-rpc-v2-cbor": {
        "missing": "ValidationException",
        "invalid": "ValidationException",
        "malformed": "SerializationException",
    },
    "query": {
        "missing": "MissingParameter",
        "invalid": "InvalidParameterValue",
        "malformed": "MalformedQueryString",
    },
    "ec2": {
        "missing": "MissingParameter",
        "invalid": "InvalidParameterValue",
        "malformed": "MalformedQueryString",
    },
    "rest-xml": {
        "missing": "InvalidArgument",
        "invalid": "InvalidArgument",
        "malformed": "MalformedXML",
    },
}


def validation_error(protocol: str, exc: ParamValidationError, service: str = "") -> AwsError:
    """The AwsError a protocol family answers for input that breaks the model."""
    from cloudlet.protocols.quirks import VALIDATION_CODE_OVERRIDES

    code = (
        VALIDATION_CODE_OVERRIDES.get((service, exc.kind)) or _VALIDATION_CODES[protocol][exc.kind]
    )
    message = exc.message
    if code == "MissingParameter" and exc.member:
        # Query-era services name the first missing parameter as the caller spells it.
        name = exc.member.split(".")[0]
        message = f"The request must contain the parameter {name[:1].upper()}{name[1:]}."
    return AwsError(code, message, status=400)
