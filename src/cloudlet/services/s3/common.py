"""What the parts of S3 share: document kinds, names, times, and AWS's errors with their fields."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import secrets
from typing import Any

from cloudlet.protocols.errors import AwsError

BUCKET = "s3.bucket"  # key: bucket name (names are global, as on AWS)
OBJECT = "s3.object"  # key: "<bucket>/<key>"; doc {"v": [versions, newest first]}
UPLOAD = "s3.upload"  # key: "<bucket>/<upload id>"
PART = "s3.part"  # key: "<bucket>/<upload id>/<part number, 5 digits>"

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_KEY_BYTES = 1024
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def object_key(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def owner_id(account: str) -> str:
    """The canonical user id S3 shows for an account: 64 hex digits, stable per account."""
    return hashlib.sha256(f"cloudlet-canonical-{account}".encode()).hexdigest()


def owner(account: str) -> dict[str, str]:
    return {"ID": owner_id(account)}


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def iso(ms: int) -> str:
    """eventTime as S3 writes it: milliseconds and a Z."""
    return utc(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_ms(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return int(float(value) * 1000)


def new_version_id() -> str:
    """32 URL-safe characters, as S3's version ids look."""
    return secrets.token_urlsafe(24).replace("-", ".")[:32]


def new_upload_id() -> str:
    return secrets.token_urlsafe(48).replace("-", ".")


def quoted(etag: str) -> str:
    return f'"{etag}"'


def check_bucket_name(name: str) -> None:
    """AWS's general purpose bucket naming rules."""
    ok = bool(_BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name
    ok = ok and "-." not in name and not name.startswith(_BAD_PREFIXES)
    ok = ok and not name.endswith(_BAD_SUFFIXES)
    if ok:
        try:
            ipaddress.IPv4Address(name)
            ok = False
        except ValueError:
            pass
    if not ok:
        raise AwsError(
            "InvalidBucketName", "The specified bucket is not valid.", fields={"BucketName": name}
        )


# -- errors -----------------------------------------------------------------------------------


def no_such_bucket(name: str) -> AwsError:
    return AwsError(
        "NoSuchBucket", "The specified bucket does not exist", fields={"BucketName": name}
    )


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", fields={"Key": key})


def no_such_version(key: str, version_id: str) -> AwsError:
    return AwsError(
        "NoSuchVersion",
        "The specified version does not exist.",
        status=404,
        fields={"Key": key, "VersionId": version_id},
    )


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        fields={"UploadId": upload_id},
    )


def invalid_argument(message: str, name: str = "", value: Any = None) -> AwsError:
    fields = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return AwsError("InvalidArgument", message, status=400, fields=fields)


def invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequest", message, status=400)


def malformed_xml() -> AwsError:
    return AwsError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        status=400,
    )


def not_found_config(code: str, message: str, bucket: str) -> AwsError:
    return AwsError(code, message, status=404, fields={"BucketName": bucket})


def precondition_failed(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        status=412,
        fields={"Condition": condition},
    )


def access_denied(message: str = "Access Denied") -> AwsError:
    return AwsError("AccessDenied", message, status=403)
