"""Static websites through plain HTTP, in both URL forms: index and error documents, redirects,
routing rules, and 403 for what is not public."""

from __future__ import annotations

import json

import pytest
from tests.conftest import http


def public_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


@pytest.fixture
def site(s3, bucket):
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"docs", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="404.html", Body=b"not here", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="old", Body=b"", WebsiteRedirectLocation="/docs/")
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "404.html"},
            "RoutingRules": [
                {
                    "Condition": {"KeyPrefixEquals": "blog/"},
                    "Redirect": {"ReplaceKeyPrefixWith": "docs/", "HttpRedirectCode": "302"},
                }
            ],
        },
    )
    return bucket


def urls(endpoint: str, bucket: str) -> list[tuple[str, dict[str, str]]]:
    port = endpoint.rsplit(":", 1)[1]
    return [
        (f"{endpoint}/_cloudlet/s3-website/{bucket}", {}),
        (f"http://127.0.0.1:{port}", {"Host": f"{bucket}.s3-website.localhost:{port}"}),
    ]


def test_not_public_is_403(s3, site, endpoint):
    for base, headers in urls(endpoint, site):
        status, got, body = http("GET", base + "/", headers=headers)
        assert status == 403
        assert got["Content-Type"].startswith("text/html")
        assert b"<li>Code: AccessDenied</li>" in body


def test_public_site(s3, site, endpoint):
    s3.delete_public_access_block(Bucket=site)
    s3.put_bucket_policy(Bucket=site, Policy=public_policy(site))
    for base, headers in urls(endpoint, site):
        assert http("GET", base + "/", headers=headers)[2] == b"<h1>home</h1>"
        status, got, body = http("GET", base + "/docs/", headers=headers)
        assert (status, body, got["Content-Type"]) == (200, b"docs", "text/html")
        status, _, body = http("GET", base + "/missing.html", headers=headers)
        assert (status, body) == (404, b"not here")
        head = http("HEAD", base + "/index.html", headers=headers)
        assert head[0] == 200 and head[1]["Content-Length"] == "13"
    port = endpoint.rsplit(":", 1)[1]
    host = {"Host": f"{site}.s3-website.localhost:{port}"}
    status, got, _ = http_no_redirect("GET", f"http://127.0.0.1:{port}/docs", host)
    assert (status, got["Location"]) == (302, "/docs/")
    status, got, _ = http_no_redirect("GET", f"http://127.0.0.1:{port}/old", host)
    assert (status, got["Location"]) == (301, "/docs/")
    status, got, _ = http_no_redirect("GET", f"http://127.0.0.1:{port}/blog/post", host)
    assert (status, got["Location"]) == (
        302,
        f"http://{site}.s3-website.localhost:{port}/docs/post",
    )
    # RestrictPublicBuckets sets the public policy aside again.
    s3.put_public_access_block(
        Bucket=site,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    assert http("GET", f"{endpoint}/_cloudlet/s3-website/{site}/")[0] == 403


def test_redirect_all_and_missing_configuration(s3, bucket, endpoint):
    base = f"{endpoint}/_cloudlet/s3-website/{bucket}"
    status, _, body = http("GET", base + "/")
    assert status == 404 and b"NoSuchWebsiteConfiguration" in body
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}
        },
    )
    status, got, _ = http_no_redirect("GET", base + "/a/b", {})
    assert (status, got["Location"]) == (301, "https://example.com/a/b")
    assert http("GET", f"{endpoint}/_cloudlet/s3-website/no-such-bucket-here/")[0] == 404


def test_info_reports_website_urls(endpoint):
    info = json.loads(http("GET", endpoint + "/_cloudlet/info")[2])
    assert info["urls"]["s3_website"].startswith("http://{bucket}.s3-website.localhost:")
    assert info["urls"]["s3_website_path"].endswith("/_cloudlet/s3-website/{bucket}/")


def http_no_redirect(method: str, url: str, headers: dict[str, str]):
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    conn.request(method, parts.path or "/", headers=headers)
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()
