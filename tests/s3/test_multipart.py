"""Multipart uploads: boto3's managed transfers and the API's rules, checksums included."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

from boto3.s3.transfer import TransferConfig
from tests.s3.conftest import error_of

MIB = 1024 * 1024


def test_upload_file_multipart_and_download(s3, bucket, tmp_path):
    source = tmp_path / "big.bin"
    data = os.urandom(12 * MIB + 123)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    md5s = b"".join(
        hashlib.md5(data[i : i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB)
    )
    assert head["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target), Config=config)
    assert target.read_bytes() == data
    assert s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)["ContentLength"] == 5 * MIB


def test_multipart_rules(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ContentType="text/x")["UploadId"]
    one = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"a" * 100)
    two = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=2, Body=b"b" * 100)
    listed = s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload]
    parts = [{"PartNumber": 1, "ETag": one["ETag"]}, {"PartNumber": 2, "ETag": two["ETag"]}]
    small = error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": parts},
    )
    assert small["Code"] == "EntityTooSmall"
    order = error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": parts[::-1]},
    )
    assert order["Code"] == "InvalidPartOrder"
    wrong = error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]},
    )
    assert wrong["Code"] == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload, MultipartUpload={"Parts": parts[1:]}
    )
    assert done["ETag"].endswith('-1"')
    got = s3.get_object(Bucket=bucket, Key="m")
    assert (got["Body"].read(), got["ContentType"]) == (b"b" * 100, "text/x")
    gone = error_of(s3.list_parts, Bucket=bucket, Key="m", UploadId=upload)
    assert (gone["Code"], gone["Status"]) == ("NoSuchUpload", 404)


def test_abort_and_upload_part_copy(s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789" * (MIB // 2))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="copy",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    )
    last = s3.upload_part_copy(
        Bucket=bucket,
        Key="copy",
        UploadId=upload,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange="bytes=0-9",
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="copy",
        UploadId=upload,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": last["CopyPartResult"]["ETag"]},
            ]
        },
    )
    body = s3.get_object(Bucket=bucket, Key="copy")["Body"].read()
    assert len(body) == 5 * MIB + 10 and body[-10:] == b"0123456789"
    other = s3.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="aborted", UploadId=other, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=other)
    assert (
        error_of(s3.abort_multipart_upload, Bucket=bucket, Key="aborted", UploadId=other)["Code"]
        == "NoSuchUpload"
    )


def crc(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def test_composite_and_full_object_checksums(s3, bucket):
    a, b = os.urandom(5 * MIB), os.urandom(1000)
    for kind in ("COMPOSITE", "FULL_OBJECT"):
        key = f"sum-{kind}"
        upload = s3.create_multipart_upload(
            Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32", ChecksumType=kind
        )["UploadId"]
        parts = []
        for number, data in ((1, a), (2, b)):
            part = s3.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="CRC32",
            )
            parts.append(
                {"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}
            )
        done = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
        )
        if kind == "COMPOSITE":
            expected = (
                base64.b64encode(zlib.crc32(crc(a) + crc(b)).to_bytes(4, "big")).decode() + "-2"
            )
        else:
            expected = base64.b64encode(crc(a + b)).decode()
        assert done["ChecksumCRC32"] == expected
        assert done["ChecksumType"] == kind
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumCRC32"] == expected
