"""Versioning: version ids, delete markers, reads by version, ListObjectVersions, suspension."""

from __future__ import annotations

from tests.s3.conftest import error_of


def test_versions_and_delete_markers(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="doc")
    assert marker["DeleteMarker"] is True
    missing = error_of(s3.get_object, Bucket=bucket, Key="doc")
    assert missing["Code"] == "NoSuchKey"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert [m["IsLatest"] for m in versions["DeleteMarkers"]] == [True]
    error = error_of(s3.get_object, Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
    assert error["Status"] == 405
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    assert error_of(s3.get_object, Bucket=bucket, Key="doc", VersionId="x" * 32)["Code"] == (
        "NoSuchVersion"
    )


def test_suspended_versioning_overwrites_null(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")  # the "null" version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"after")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"after"


def test_version_paging(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("a", "b"):
        for n in range(3):
            s3.put_object(Bucket=bucket, Key=key, Body=str(n).encode())
    paginator = s3.get_paginator("list_object_versions")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert sum(len(p.get("Versions", [])) for p in pages) == 6
    assert len(pages) == 3
