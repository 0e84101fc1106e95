"""SQS messages: content rules, attribute checksums and receipt handles."""

from __future__ import annotations

import binascii
import hashlib
import re
import struct
from typing import Any, NamedTuple

from cloudlet.protocols.errors import AwsError

# Characters SQS accepts in a body or string attribute: #x9 | #xA | #xD | #x20-#xD7FF |
# #xE000-#xFFFD | #x10000-#x10FFFF.
_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Letters and digits of any script, hyphens, underscores and periods (no leading, trailing or
# doubled period); up to 256 characters.
_ATTRIBUTE_NAME = re.compile(r"^(?!\.)(?!.*\.\.)(?!.*\.$)[\w.-]{1,256}$")
_RESERVED_PREFIXES = ("aws.", "amazon.")
_DATA_TYPE = re.compile(r"^(String|Number|Binary)(\.[^\s]{1,245})?$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_MAX_ATTRIBUTES = 10

SYSTEM_ATTRIBUTE_NAMES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check_body(body: str) -> None:
    if not body:
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.")
    bad = _INVALID_CHARS.search(body)
    if bad:
        raise AwsError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, the set of "
            "allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
        )


def check_batch_id(entry_id: str) -> None:
    if not _BATCH_ID.match(entry_id or ""):
        raise AwsError(
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
            "It can be at most 80 letters long.",
        )


def check_message_attributes(attributes: dict[str, dict[str, Any]]) -> int:
    """Validate message attributes as SQS does; returns their size in bytes."""
    if len(attributes) > _MAX_ATTRIBUTES:
        raise AwsError(
            "InvalidParameterValue",
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [{_MAX_ATTRIBUTES}].",
        )
    size = 0
    for name, value in attributes.items():
        if not _ATTRIBUTE_NAME.match(name) or name.lower().startswith(_RESERVED_PREFIXES):
            raise AwsError(
                "InvalidParameterValue",
                f"Message (user) attribute '{name}' must contain a non-empty name of valid characters.",
            )
        data_type = value.get("DataType") or ""
        if not _DATA_TYPE.match(data_type):
            raise AwsError(
                "InvalidParameterValue",
                f"The message attribute '{name}' has an invalid message attribute type, the set of supported "
                "type prefixes is Binary, Number, and String.",
            )
        size += len(name.encode()) + len(data_type.encode())
        if data_type.startswith("Binary"):
            blob = value.get("BinaryValue")
            if not blob:
                raise _empty_value(name, data_type)
            size += len(blob)
        else:
            text = value.get("StringValue")
            if not text:
                raise _empty_value(name, data_type)
            if _INVALID_CHARS.search(text):
                raise AwsError(
                    "InvalidParameterValue",
                    f"Message (user) attribute '{name}' contains invalid characters.",
                )
            if data_type.startswith("Number") and not _is_number(text):
                raise AwsError(
                    "InvalidParameterValue",
                    f"Could not cast message attribute '{name}' value to number.",
                )
            size += len(text.encode())
    return size


def payload_size(entry: dict[str, Any]) -> int:
    """A message's size as SQS counts it: body plus each attribute's name, type and value."""
    size = len(str(entry.get("MessageBody") or "").encode())
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType") or "").encode())
        if "BinaryValue" in value:
            size += len(bytes(value["BinaryValue"] or b""))
        else:
            size += len(str(value.get("StringValue") or "").encode())
    return size


def _empty_value(name: str, data_type: str) -> AwsError:
    base = data_type.split(".", 1)[0]
    return AwsError(
        "InvalidParameterValue",
        f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'.",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    """MD5 of message attributes exactly as SQS computes it (and SDKs verify it).

    Sorted by name; each attribute contributes its name, data type (4-byte big-endian length +
    UTF-8 bytes each), a transport byte (1 string/number, 2 binary) and its value (length +
    bytes).
    """
    buffer = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        _append(buffer, name.encode())
        _append(buffer, data_type.encode())
        if data_type.startswith("Binary"):
            buffer.append(2)
            _append(buffer, bytes(value["BinaryValue"]))
        else:
            buffer.append(1)
            _append(buffer, value["StringValue"].encode())
    return md5_hex(bytes(buffer))


def _append(buffer: bytearray, data: bytes) -> None:
    buffer += struct.pack(">I", len(data))
    buffer += data


def select_attributes(attributes: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """Message attributes a ReceiveMessage asked for: names, `All`, `.*` or `prefix.*`."""
    if not wanted or not attributes:
        return {}
    if "All" in wanted or ".*" in wanted or "*" in wanted:
        return attributes
    prefixes = tuple(w[:-2] for w in wanted if w.endswith(".*"))
    exact = set(wanted)
    return {
        k: v for k, v in attributes.items() if k in exact or (prefixes and k.startswith(prefixes))
    }


class Receipt(NamedTuple):
    """What a receipt handle names: one receive of a message of a queue."""

    queue_key: str
    seq: int
    token: str
    #: when that receive happened, and when it made the message visible again (ms)
    received_at: int
    visible_until: int


#: receipts use base64's URL-safe alphabet; binascii speaks the standard one, and is what makes
#: reading ten receipts of a batch cheap (base64's functions cost several times more)
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def make_receipt(queue_key: str, seq: int, token: str, received_at: int, visible_until: int) -> str:
    raw = f"{seq}:{token}:{received_at}:{visible_until}:{queue_key}".encode()
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).decode()


def read_receipt(handle: str) -> Receipt:
    """The receipt a handle carries; ReceiptHandleIsInvalid when it is not one of ours."""
    try:
        data = handle.encode().translate(_FROM_URLSAFE)
        raw = binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True).decode()
        seq, token, received_at, visible_until, queue_key = raw.split(":", 4)
        return Receipt(queue_key, int(seq), token, int(received_at), int(visible_until))
    except (ValueError, UnicodeDecodeError):
        raise AwsError(
            "ReceiptHandleIsInvalid",
            f'The input receipt handle "{handle}" is not a valid receipt handle.',
        ) from None


class ReceiptBook:
    """The receipt handles a server made or read lately, with what they carry.

    A handle usually comes back soon after its receive (a delete, ten in a batch); looking it
    up costs a dict lookup instead of decoding it (~1.3 microseconds each). A handle fully
    determines its receipt, so nothing here can go stale; the book only bounds its size.
    """

    LIMIT = 8192

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, int, str, int, int] | Receipt] = {}

    def make(
        self, queue_key: str, seq: int, token: str, received_at: int, visible_until: int
    ) -> str:
        handle = make_receipt(queue_key, seq, token, received_at, visible_until)
        known = self._known
        if len(known) >= self.LIMIT:
            self._forget_oldest()
        known[handle] = (queue_key, seq, token, received_at, visible_until)
        return handle

    def read(self, handle: str) -> Receipt:
        known = self._known.get(handle)
        if known.__class__ is Receipt:
            return known  # type: ignore[return-value]
        if known is not None:  # as make() kept it: a plain tuple, cheaper to keep
            receipt = self._known[handle] = tuple.__new__(Receipt, known)
            return receipt
        receipt = read_receipt(handle)
        if len(self._known) >= self.LIMIT:
            self._forget_oldest()
        self._known[handle] = receipt
        return receipt

    def _forget_oldest(self) -> None:
        known = self._known
        for handle in list(known)[: self.LIMIT // 2]:  # dicts keep insertion order
            del known[handle]
