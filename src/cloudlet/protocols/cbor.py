"""The `smithy-rpc-v2-cbor` protocol: POST /service/<Service>/operation/<Operation>, CBOR bodies.

Used by CloudWatch: the first protocol its model lists, which newer SDKs speak (botocore prefers
the `json` protocol the model also lists, so boto3 reaches CloudWatch through the json codec).
The document model is awsJson's —
structures as maps keyed by member name, errors as `{"__type": ..., "message": ...}` — so the
value walk is shared with `protocols.json`; only the leaves differ: blobs are CBOR byte strings
and timestamps are epoch seconds under CBOR tag 1, both native, so nothing is base64 or text.
"""

from __future__ import annotations

from typing import Any

import cbor2

from cloudlet.protocols import Codec, HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError, ParamValidationError, UnknownOperation
from cloudlet.protocols.json import decode_structure, error_document, shape_encoder
from cloudlet.protocols.model import Operation, Shape
from cloudlet.protocols.timestamps import to_epoch

CONTENT_TYPE = "application/cbor"
_PROTOCOL_HEADER = "rpc-v2-cbor"
_EMPTY_MAP = b"\xa0"
_MALFORMED = "Start of structure or map found where not expected."


def _cbor_leaf(shape: Shape, value: Any) -> Any:
    """Blobs as byte strings, timestamps as tag 1 epoch seconds; floats (NaN too) are native."""
    kind = shape.type
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "timestamp":
        return cbor2.CBORTag(1, to_epoch(value))
    return value


encode_structure, encode_value = shape_encoder(_cbor_leaf)


class CborCodec(Codec):
    protocol = "smithy-rpc-v2-cbor"

    # -- requests ----------------------------------------------------------------------------
    def parse(self, request: HttpRequest) -> tuple[Operation, dict[str, Any]]:
        operation = self._operation(request.path)
        body = request.body
        if not body:
            return operation, {}  # operations without input send no body at all
        try:
            # cbor2 turns tag 1 into aware datetimes and joins indefinite-length items.
            data = cbor2.loads(body)
        except (cbor2.CBORError, ValueError, TypeError):
            raise ParamValidationError("malformed", _MALFORMED) from None
        if not isinstance(data, dict):
            raise ParamValidationError("malformed", _MALFORMED)
        if operation.input is None:
            return operation, {}
        # Values arrive typed (byte strings, tagged datetimes, numbers), for which awsJson's
        # decoder is the identity: it only resolves structures and drops unknown members.
        return operation, decode_structure(operation.input, data)

    def _operation(self, path: str) -> Operation:
        """The operation a `.../service/<Service>/operation/<Operation>` path names.

        The path may carry an endpoint prefix before `/service/`, so it is read from the end.
        """
        parts = path.rsplit("/", 4)
        if (
            len(parts) != 5
            or parts[1] != "service"
            or parts[3] != "operation"
            or parts[2] != self.model.target_prefix
            or not self.model.has_operation(parts[4])
        ):
            raise UnknownOperation(f"Unrecognized operation {path}")
        return self.model.operation(parts[4])

    # -- responses ---------------------------------------------------------------------------
    def _headers(self, request_id: str) -> dict[str, str]:
        return {
            "smithy-protocol": _PROTOCOL_HEADER,
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
        }

    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        if operation.output is None:
            # No output shape (Unit): no body, which is also what SDKs expect.
            return HttpResponse(
                200, {"smithy-protocol": _PROTOCOL_HEADER, "x-amzn-RequestId": request_id}, b""
            )
        # An output shape always gets a map, even an empty one: SDKs decode the body as one.
        body = cbor2.dumps(encode_structure(operation.output, result)) if result else _EMPTY_MAP
        return HttpResponse(200, self._headers(request_id), body)

    def serialize_error(
        self, error: AwsError, operation: Operation | None, request_id: str
    ) -> HttpResponse:
        status, extra, payload = error_document(self, error, encode_structure)
        headers = self._headers(request_id)
        headers.update(extra)
        return HttpResponse(status, headers, cbor2.dumps(payload))
