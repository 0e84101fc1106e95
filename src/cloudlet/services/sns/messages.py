"""Published messages: SNS's input rules, and the documents deliveries carry.

Envelopes are written exactly as AWS writes them — a pretty-printed JSON object with `"Key" : value`
lines in a fixed order, message attributes one per line as compact `{"Type":...,"Value":...}` —
because subscribers sometimes compare or log them verbatim. Signatures cover the canonical string
AWS documents (see `signing.canonical`), never the JSON text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services.sns.common import invalid

MAX_SIZE = 262_144  # a message plus its attributes, and a whole PublishBatch
_ATTRIBUTE_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.-]")
_STRUCTURE_KEYS = frozenset(
    {"default", "http", "https", "email", "email-json", "sms", "sqs", "lambda", "firehose"}
    | {"application", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "GCM", "FCM"}
    | {"ADM", "BAIDU", "MPNS", "WNS", "MACOS", "MACOS_SANDBOX"}
)


@dataclass(slots=True)
class Message:
    """One published message, validated; what every delivery of it is built from."""

    message_id: str
    topic_arn: str
    message: str
    subject: str | None
    attributes: dict[str, dict[str, str]]  # {name: {"DataType", "StringValue"|"BinaryValue"(b64)}}
    timestamp: str
    structure: dict[str, str] | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    sequence: str | None = None
    base_url: str = ""
    trace: str | None = None
    signatures: dict[tuple[str, str], str] = field(default_factory=dict)

    def text_for(self, protocol: str) -> str:
        """The message a protocol receives (MessageStructure=json picks per protocol)."""
        if self.structure is None:
            return self.message
        return self.structure.get(protocol, self.structure["default"])


def check_subject(params: dict[str, Any]) -> str | None:
    if "Subject" not in params or params["Subject"] is None:
        return None
    subject = params["Subject"]
    if not subject or len(subject) >= 100 or not subject.isprintable() or not subject.isascii():
        raise invalid("Subject")
    return subject


def check_structure(params: dict[str, Any]) -> dict[str, str] | None:
    """MessageStructure=json: the per-protocol messages (non-string values are ignored)."""
    if params.get("MessageStructure") != "json":
        if params.get("MessageStructure"):
            raise invalid("MessageStructure")
        return None
    try:
        parsed = orjson.loads(params["Message"])
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid("Message Structure - JSON message body failed to parse")
    structure = {k: v for k, v in parsed.items() if isinstance(v, str) and k in _STRUCTURE_KEYS}
    if "default" not in structure:
        raise invalid("Message Structure - No default entry in JSON message body")
    return structure


def _attribute_error(message: str) -> AwsError:
    return AwsError("ParameterValueInvalid", message)


def check_attribute_name(name: str) -> None:
    if len(name.encode()) >= 256:
        raise _attribute_error("Length of message attribute name must be less than 256 bytes.")
    bad = _ATTRIBUTE_NAME_CHAR.search(name)
    if bad:
        raise _attribute_error(
            f"Invalid non-alphanumeric character '#x{ord(bad.group()):X}' was found in the message "
            "attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots."
        )
    if name.startswith("."):
        raise _attribute_error(
            "Invalid message attribute name starting with character '.' was found."
        )
    if name.endswith("."):
        raise _attribute_error(
            "Invalid message attribute name ending with character '.' was found."
        )
    if ".." in name:
        raise _attribute_error("Message attribute name can not have successive '.' character.")


def check_attributes(
    attributes: dict[str, dict[str, Any]],
) -> tuple[dict[str, dict[str, str]], int]:
    """Validate MessageAttributes; returns them in stored form and their size in bytes."""
    out: dict[str, dict[str, str]] = {}
    size = 0
    for name, value in attributes.items():
        check_attribute_name(name)
        data_type = value.get("DataType") or ""
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or data_type.endswith("."):
            raise _attribute_error(
                f"The message attribute '{name}' has an invalid message attribute type, the set of "
                "supported type prefixes is Binary, Number, and String."
            )
        size += len(name.encode()) + len(data_type.encode())
        if base == "Binary":
            out[name], size = _binary(name, value), size + len(value.get("BinaryValue") or b"")
        else:
            out[name] = _text(name, data_type, base, value)
            size += len(out[name]["StringValue"].encode())
    return out, size


def _binary(name: str, value: dict[str, Any]) -> dict[str, str]:
    if "StringValue" in value and "BinaryValue" not in value:
        raise _attribute_error(
            f"The message attribute '{name}' with type 'Binary' must use field 'Binary'."
        )
    blob = value.get("BinaryValue")
    if not blob:
        raise _attribute_error(
            f"The message attribute '{name}' must contain non-empty message attribute value for "
            "message attribute type 'Binary'."
        )
    return {"DataType": value["DataType"], "BinaryValue": base64.b64encode(bytes(blob)).decode()}


def _text(name: str, data_type: str, base: str, value: dict[str, Any]) -> dict[str, str]:
    if "BinaryValue" in value and "StringValue" not in value:
        raise _attribute_error(
            f"The message attribute '{name}' with type '{base}' must use field 'String'."
        )
    text = value.get("StringValue")
    if not text:
        raise _attribute_error(
            f"The message attribute '{name}' must contain non-empty message attribute value for "
            f"message attribute type '{base}'."
        )
    if data_type == "String.Array":
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError:
            items = None
        if not isinstance(items, list) or any(isinstance(i, dict | list) for i in items):
            raise _attribute_error(
                f"The message attribute '{name}' with type 'String.Array' must be a JSON array of "
                "strings, numbers, booleans or nulls."
            )
    elif base == "Number" and not _is_number(text):
        raise _attribute_error(f"Could not cast message attribute '{name}' value to number.")
    return {"DataType": data_type, "StringValue": text}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


def attributes_size(attributes: dict[str, dict[str, Any]] | None) -> int:
    """How much message attributes count towards the size limit (name, type and value)."""
    size = 0
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType") or "").encode())
        if value.get("BinaryValue") is not None:
            size += len(bytes(value["BinaryValue"]))
        else:
            size += len(str(value.get("StringValue") or "").encode())
    return size


def check_size(message: str, attributes_size: int) -> None:
    if len(message.encode()) + attributes_size > MAX_SIZE:
        raise invalid("Message too long")


def content_dedup_id(message: str) -> str:
    """ContentBasedDeduplication: the SHA-256 of the message, as SNS passes it to SQS."""
    return hashlib.sha256(message.encode()).hexdigest()


# -- what deliveries carry ------------------------------------------------------------------------


def envelope_attributes(attributes: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Attributes as envelopes show them: {"Type", "Value"} (binary values base64)."""
    return {
        name: {"Type": a["DataType"], "Value": a.get("StringValue", a.get("BinaryValue", ""))}
        for name, a in attributes.items()
    }


def sqs_attributes(attributes: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Attributes as SendMessage takes them, for raw deliveries to SQS."""
    out: dict[str, dict[str, Any]] = {}
    for name, a in attributes.items():
        if "BinaryValue" in a:
            out[name] = {
                "DataType": a["DataType"],
                "BinaryValue": base64.b64decode(a["BinaryValue"]),
            }
        else:
            out[name] = {"DataType": a["DataType"], "StringValue": a["StringValue"]}
    return out


def pretty(
    fields: list[tuple[str, Any]], attributes: dict[str, dict[str, str]] | None = None
) -> str:
    """An SNS JSON document in AWS's layout."""
    lines = [f'  "{key}" : {orjson.dumps(value).decode()}' for key, value in fields]
    if attributes:
        entries = ",\n".join(
            f"    {orjson.dumps(name).decode()} : {orjson.dumps(value).decode()}"
            for name, value in attributes.items()
        )
        lines.append(f'  "MessageAttributes" : {{\n{entries}\n  }}')
    return "{\n" + ",\n".join(lines) + "\n}"


def notification_fields(
    message: Message, text: str, *, fifo: bool, unsubscribe_url: str, signing: dict[str, str]
) -> list[tuple[str, Any]]:
    """The fields of a Notification, in AWS's order. `signing` holds SignatureVersion, Signature
    and SigningCertURL (FIFO topics send none)."""
    fields: list[tuple[str, Any]] = [("Type", "Notification"), ("MessageId", message.message_id)]
    if fifo and message.sequence:
        fields.append(("SequenceNumber", message.sequence))
    fields.append(("TopicArn", message.topic_arn))
    if message.subject is not None:
        fields.append(("Subject", message.subject))
    fields += [("Message", text), ("Timestamp", message.timestamp)]
    if not fifo:
        fields += [(k, signing[k]) for k in ("SignatureVersion", "Signature", "SigningCertURL")]
    fields.append(("UnsubscribeURL", unsubscribe_url))
    return fields


def lambda_event(
    message: Message,
    text: str,
    subscription_arn: str,
    unsubscribe_url: str,
    signing: dict[str, str],
) -> bytes:
    """The event a subscribed function receives."""
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": message.message_id,
            "TopicArn": message.topic_arn,
            "Subject": message.subject,
            "Message": text,
            "Timestamp": message.timestamp,
            "SignatureVersion": signing["SignatureVersion"],
            "Signature": signing["Signature"],
            "SigningCertUrl": signing["SigningCertURL"],
            "UnsubscribeUrl": unsubscribe_url,
            "MessageAttributes": envelope_attributes(message.attributes),
        },
    }
    return orjson.dumps({"Records": [record]})


def confirmation_fields(
    kind: str,
    *,
    message_id: str,
    token: str,
    topic_arn: str,
    text: str,
    subscribe_url: str,
    timestamp: str,
) -> list[tuple[str, Any]]:
    """A SubscriptionConfirmation or UnsubscribeConfirmation, before signing."""
    return [
        ("Type", kind),
        ("MessageId", message_id),
        ("Token", token),
        ("TopicArn", topic_arn),
        ("Message", text),
        ("SubscribeURL", subscribe_url),
        ("Timestamp", timestamp),
    ]
