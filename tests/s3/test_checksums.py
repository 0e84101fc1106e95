"""Checksums as SDKs send them: headers, aws-chunked trailers, signed chunks; verified and returned."""

from __future__ import annotations

import base64
import hashlib
import http.client
import zlib

import crc32c
import pytest
from tests.s3.conftest import error_of


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def test_boto3_default_crc32_is_verified_and_returned(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"payload")
    assert put["ChecksumCRC32"] == crc32(b"payload")
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc32(b"payload") and got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == b"payload"
    assert s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["ChecksumCRC32"]


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("CRC32C", b64(crc32c.crc32c(b"data").to_bytes(4, "big"))),
        ("SHA1", b64(hashlib.sha1(b"data").digest())),
        ("SHA256", b64(hashlib.sha256(b"data").digest())),
    ],
)
def test_other_algorithms(s3, bucket, algorithm, expected):
    # botocore computes CRC32C only with awscrt installed: send the value itself then.
    how = (
        {f"Checksum{algorithm}": expected}
        if algorithm == "CRC32C"
        else {"ChecksumAlgorithm": algorithm}
    )
    put = s3.put_object(Bucket=bucket, Key=algorithm, Body=b"data", **how)
    assert put[f"Checksum{algorithm}"] == expected
    head = s3.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected


def test_mismatches_are_refused(s3, bucket):
    error = error_of(s3.put_object, Bucket=bucket, Key="bad", Body=b"x", ChecksumCRC32=crc32(b"y"))
    assert (error["Code"], error["Status"]) == ("BadDigest", 400)
    error = error_of(
        s3.put_object,
        Bucket=bucket,
        Key="bad",
        Body=b"x",
        ContentMD5=b64(hashlib.md5(b"y").digest()),
    )
    assert error["Code"] == "BadDigest"
    error = error_of(s3.put_object, Bucket=bucket, Key="bad", Body=b"x", ChecksumSHA256="short")
    assert error["Code"] == "InvalidRequest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def frame(data: bytes, size: int, signed: bool, trailer: str | None) -> bytes:
    out = b""
    sig = b";chunk-signature=" + b"0" * 64 if signed else b""
    for i in range(0, len(data), size):
        chunk = data[i : i + size]
        out += b"%x%s\r\n%s\r\n" % (len(chunk), sig, chunk)
    out += b"0" + sig + b"\r\n"
    if trailer:
        out += trailer.encode() + b"\r\n"
        if signed:
            out += b"x-amz-trailer-signature:" + b"0" * 64 + b"\r\n"
    return out + b"\r\n"


def put_chunked(
    endpoint: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    host = endpoint.split("//")[1]
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.request("PUT", path, body=body, headers={"Content-Length": str(len(body)), **headers})
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize("signed", [False, True])
def test_aws_chunked_with_trailer(s3, bucket, endpoint, signed):
    data = bytes(range(256)) * 1000
    trailer = f"x-amz-checksum-crc32:{crc32(data)}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        if signed
        else "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": str(len(data)),
    }
    status, body = put_chunked(
        endpoint, f"/{bucket}/chunked", frame(data, 65536, signed, trailer), headers
    )
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"] == crc32(data)
    assert "ContentEncoding" not in got
    bad = frame(data, 65536, signed, f"x-amz-checksum-crc32:{crc32(b'other')}")
    status, body = put_chunked(endpoint, f"/{bucket}/chunked2", bad, headers)
    assert status == 400 and b"BadDigest" in body


def test_signed_streaming_without_trailer(s3, bucket, endpoint):
    data = b"signed chunks " * 5000
    headers = {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": str(len(data)),
        "Content-Encoding": "aws-chunked",
    }
    status, body = put_chunked(
        endpoint, f"/{bucket}/signed", frame(data, 8192, True, None), headers
    )
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == data
