"""CORS as a browser meets it: preflight OPTIONS and headers on actual requests."""

from __future__ import annotations

from tests.conftest import http


def test_preflight_and_actual_request(s3, bucket, endpoint):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": ["http://app.example"],
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["content-type"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 60,
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"hi")
    url = f"{endpoint}/{bucket}/doc.txt"
    status, headers, _ = http(
        "OPTIONS",
        url,
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Max-Age"] == "60"
    status, _, body = http(
        "OPTIONS",
        url,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert status == 403 and b"CORSResponse" in body
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"})
    status, headers, body = http("GET", presigned, headers={"Origin": "http://app.example"})
    assert (status, body) == (200, b"hi")
    assert headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
