"""The `rest-json` protocol: REST routing and bindings (see `rest`) with JSON bodies.

Used by Lambda, API Gateway, X-Ray, SES v2, EventBridge Scheduler... Body members map exactly as in
the `json` protocol (epoch-second timestamps, base64 blobs), so the value mapping of
`protocols.json` is reused. Errors name their code in the `x-amzn-ErrorType` header, which is
where botocore's RestJSONParser looks first; the body carries the message (under `Message` when
the error shape spells it so, as Lambda's do) and the error shape's own members.
"""

from __future__ import annotations

from typing import Any

import orjson

from cloudlet.protocols import HttpResponse
from cloudlet.protocols.errors import AwsError, ParamValidationError
from cloudlet.protocols.json import decode_structure, decode_value, encode_structure, encode_value
from cloudlet.protocols.model import Operation, Shape
from cloudlet.protocols.rest import Bindings, RestCodec, write_bindings

_JSON = "application/json"
_MALFORMED = "Could not parse the request body as JSON"


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ParamValidationError("malformed", _MALFORMED) from None


class RestJsonCodec(RestCodec):
    protocol = "rest-json"
    body_content_type = _JSON

    # -- bodies ------------------------------------------------------------------------------
    def decode_body(self, shape: Shape, body: bytes) -> dict[str, Any]:
        data = _load(body)
        if not isinstance(data, dict):
            raise ParamValidationError("malformed", _MALFORMED)
        return decode_structure(shape, data)

    def decode_payload(self, shape: Shape, body: bytes) -> Any:
        data = _load(body)
        if shape.type == "structure" and not shape.is_document and not isinstance(data, dict):
            raise ParamValidationError("malformed", _MALFORMED)
        return decode_value(shape, data)

    def encode_body(
        self, operation: Operation, bindings: Bindings, values: dict[str, Any]
    ) -> bytes:
        return orjson.dumps(encode_structure(bindings.shape, values)) if values else b"{}"

    def encode_payload(self, name: str, shape: Shape, value: Any) -> bytes:
        return orjson.dumps(encode_value(shape, value))

    # -- errors ------------------------------------------------------------------------------
    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        code, status, _ = self.error_code_and_status(error)
        shape = self.model.error_shapes.get(error.code)
        headers = {
            "Content-Type": _JSON,
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": code,
            **error.headers,
        }
        if shape is None:
            body: dict[str, Any] = dict(error.fields)
            message_key = "message"
        else:
            members = shape.members
            _, values, _ = write_bindings(self.bindings(shape), error.fields, headers)
            body = encode_structure(shape, values)
            # Fields the model does not know still reach the client, as AWS sends them.
            body.update(
                (k, v) for k, v in error.fields.items() if k not in members and v is not None
            )
            message_key = (
                "Message" if "Message" in members and "message" not in members else "message"
            )
        if error.message or message_key not in body:
            body[message_key] = error.message
        return HttpResponse(status, headers, orjson.dumps(body))
