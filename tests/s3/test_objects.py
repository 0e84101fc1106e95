"""Objects through boto3 in both addressing styles, presigned URLs and plain HTTP."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
from tests.conftest import http
from tests.s3.conftest import error_of


def test_put_get_head_with_headers(s3, bucket):
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/file.txt",
        Body=b"hello world",
        ContentType="text/plain",
        ContentEncoding="identity",
        ContentDisposition='attachment; filename="f.txt"',
        ContentLanguage="en",
        CacheControl="max-age=60",
        Expires=expires,
        Metadata={"owner": "me", "Mixed-Case": "v"},
    )
    assert put["ETag"] == '"5eb63bbbe01eeed093cb22bb8f5acdc3"'
    got = s3.get_object(Bucket=bucket, Key="dir/file.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain"
    assert got["ContentEncoding"] == "identity"
    assert got["ContentDisposition"] == 'attachment; filename="f.txt"'
    assert got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "max-age=60"
    assert got["Metadata"] == {"owner": "me", "mixed-case": "v"}
    assert got["ExpiresString"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    head = s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert head["ContentLength"] == 11 and head["ETag"] == put["ETag"]
    missing = error_of(s3.get_object, Bucket=bucket, Key="nope")
    assert (missing["Code"], missing["Status"], missing["Key"]) == ("NoSuchKey", 404, "nope")
    assert error_of(s3.head_object, Bucket=bucket, Key="nope")["Status"] == 404
    overridden = s3.get_object(Bucket=bucket, Key="dir/file.txt", ResponseContentType="x/y")
    assert overridden["ContentType"] == "x/y"


def test_ranges(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-5")
    assert part["Body"].read() == b"2345"
    assert part["ContentRange"] == "bytes 2-5/10"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-100")["Body"].read() == b"56789"
    error = error_of(s3.get_object, Bucket=bucket, Key="r", Range="bytes=10-")
    assert (error["Code"], error["Status"]) == ("InvalidRange", 416)


def test_conditional_gets(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"x")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"x"
    assert error_of(s3.get_object, Bucket=bucket, Key="c", IfMatch='"nope"')["Status"] == 412
    assert error_of(s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag)["Status"] == 304
    later = modified + dt.timedelta(seconds=5)
    earlier = modified - dt.timedelta(seconds=5)
    assert error_of(s3.get_object, Bucket=bucket, Key="c", IfModifiedSince=later)["Status"] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=earlier)["Body"].read() == b"x"
    error = error_of(s3.get_object, Bucket=bucket, Key="c", IfUnmodifiedSince=earlier)
    assert (error["Code"], error["Status"]) == ("PreconditionFailed", 412)
    # If-Match that holds wins over a failing If-Unmodified-Since (RFC 7232).
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=earlier)
    assert (
        error_of(s3.put_object, Bucket=bucket, Key="c", Body=b"y", IfNoneMatch="*")["Status"] == 412
    )


def test_delete_and_delete_objects(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.delete_object(Bucket=bucket, Key="never-existed")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", ContentType="text/a", Metadata={"m": "1"})
    s3.copy_object(Bucket=bucket, Key="same-meta", CopySource={"Bucket": bucket, "Key": "src"})
    copied = s3.get_object(Bucket=bucket, Key="same-meta")
    assert (copied["Body"].read(), copied["ContentType"], copied["Metadata"]) == (
        b"data",
        "text/a",
        {"m": "1"},
    )
    s3.copy_object(
        Bucket=bucket,
        Key="new-meta",
        CopySource=f"{bucket}/src",
        MetadataDirective="REPLACE",
        ContentType="text/b",
        Metadata={"n": "2"},
    )
    replaced = s3.head_object(Bucket=bucket, Key="new-meta")
    assert (replaced["ContentType"], replaced["Metadata"]) == ("text/b", {"n": "2"})
    error = error_of(s3.copy_object, Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error["Code"] == "InvalidRequest"
    error = error_of(
        s3.copy_object,
        Bucket=bucket,
        Key="x",
        CopySource=f"{bucket}/src",
        CopySourceIfMatch='"nope"',
    )
    assert error["Status"] == 412
    s3.delete_object(Bucket=bucket, Key="src")  # the copies keep their data
    assert s3.get_object(Bucket=bucket, Key="new-meta")["Body"].read() == b"data"


def test_listing_v2_pages_prefixes_and_encoding(s3, bucket):
    keys = [f"photos/2024/{i:02d}.jpg" for i in range(7)] + ["photos/a b+c.txt", "top.txt"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, **kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    folded = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["photos/"]
    assert [o["Key"] for o in folded["Contents"]] == ["top.txt"]
    inner = s3.list_objects_v2(Bucket=bucket, Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["photos/2024/"]
    assert [o["Key"] for o in inner["Contents"]] == ["photos/a b+c.txt"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="photos/2024/05.jpg")
    assert after["Contents"][0]["Key"] == "photos/2024/06.jpg"
    status, _, body = http(
        "GET", f"{s3.meta.endpoint_url}/{bucket}?list-type=2&encoding-type=url&prefix=photos/a"
    )
    assert status == 200 and b"<Key>photos/a%20b%2Bc.txt</Key>" in body


def test_listing_v1_markers(s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    first = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in first["Contents"]] == ["k0", "k1"] and first["IsTruncated"]
    rest = s3.list_objects(Bucket=bucket, Marker="k1")
    assert [o["Key"] for o in rest["Contents"]] == ["k2", "k3", "k4"]
    paginator = s3.get_paginator("list_objects")
    assert (
        sum(
            len(p["Contents"])
            for p in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
        )
        == 5
    )


def test_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="a=1&b=2")
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "c", "Value": "3"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []


def test_virtual_hosted_style(s3, s3_virtual, bucket):
    s3_virtual.put_object(Bucket=bucket, Key="v/key.txt", Body=b"virtual")
    assert s3.get_object(Bucket=bucket, Key="v/key.txt")["Body"].read() == b"virtual"
    listed = s3_virtual.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["v/key.txt"]
    assert s3_virtual.head_bucket(Bucket=bucket)
    port = s3.meta.endpoint_url.rsplit(":", 1)[1]
    for host in (f"{bucket}.s3.localhost:{port}", f"{bucket}.s3.us-east-1.localhost:{port}"):
        status, _, body = http("GET", f"http://127.0.0.1:{port}/v/key.txt", headers={"Host": host})
        assert (status, body) == (200, b"virtual")


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_presigned_urls(s3, s3_virtual, bucket, style):
    client = s3 if style == "path" else s3_virtual
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "p.bin"}, ExpiresIn=300
    )
    request = urllib.request.Request(put_url, data=b"presigned!", method="PUT")
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p.bin"})
    with urllib.request.urlopen(get_url) as response:
        assert response.read() == b"presigned!"


def test_unsigned_requests_reach_s3(s3, bucket, endpoint):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"abc")
    status, headers, body = http("GET", f"{endpoint}/{bucket}/plain")
    assert (status, body) == (200, b"abc")
    assert headers["ETag"] == '"900150983cd24fb0d6963f7d28e17f72"'
