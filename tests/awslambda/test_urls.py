"""Function URLs served: the payload-format-2.0 event, the response contract, both URL forms, CORS."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import ECHO

#: answers with the event it got, so the test can look at it
EVENT = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""

#: answers as the request's `mode` query parameter asks
RESPONDS = """
import base64

def handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "bare":
        return {"just": "a value"}
    if mode == "text":
        return "Hello, world!"
    if mode == "binary":
        return {"statusCode": 201, "headers": {"Content-Type": "image/png", "X-Custom": "yes"},
                "cookies": ["a=1; Max-Age=60", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"],
                "body": base64.b64encode(b"\\x89PNG\\x00").decode(), "isBase64Encoded": True}
    if mode == "cors":
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil.test"},
                "body": "ok"}
    raise RuntimeError("unexpected")
"""


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    host: str | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A plain HTTP request; `host` connects to 127.0.0.1 and sends that Host header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    sent = dict(headers or {})
    if host:
        sent["Host"] = host
    connection.request(method, target, body=body, headers=sent)
    response = connection.getresponse()
    out = response.status, response.headers, response.read()
    connection.close()
    return out


@pytest.fixture
def url_of(lam, create):
    """Create a function with a URL; returns (path-style URL, host-style URL, host header)."""

    def make(code: str, **url_config: Any) -> tuple[str, str, str]:
        name = create(code=code)["FunctionName"]
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        url_config.setdefault("AuthType", "NONE")
        config = lam.create_function_url_config(FunctionName=name, **url_config)
        host_style = config["FunctionUrl"]
        parts = urlsplit(host_style)
        url_id = parts.hostname.split(".")[0]
        path_style = f"http://127.0.0.1:{parts.port}/_cloudlet/lambda-url/{url_id}/"
        return path_style, host_style, parts.netloc

    return make


def test_get_with_query_headers_and_cookies(url_of):
    path_style, _, _ = url_of(EVENT)
    status, headers, body = request(
        path_style + "orders/42?a=1&a=2&b=x%20y",
        headers={"X-Custom": "one", "Cookie": "session=abc; theme=dark", "User-Agent": "tests/1"},
    )
    assert status == 200 and headers["content-type"] == "application/json"
    event = json.loads(body)
    url_id = urlsplit(path_style).path.split("/")[3]
    assert (event["version"], event["routeKey"]) == ("2.0", "$default")
    assert event["rawPath"] == "/orders/42"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "one" and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["accountId"] == "anonymous"
    assert (context["apiId"], context["domainPrefix"]) == (url_id, url_id)
    assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.localhost"
    assert context["http"] == {
        "method": "GET",
        "path": "/orders/42",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1",
    }
    assert (context["routeKey"], context["stage"]) == ("$default", "$default")
    assert context["requestId"] == headers["x-amzn-requestid"]
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith(" +0000")


def test_host_style_and_post_bodies(url_of):
    _, host_style, host = url_of(EVENT)
    status, _, body = request(
        host_style + "submit",
        method="POST",
        body=b'{"hello": "world"}',
        headers={"Content-Type": "application/json"},
        host=host,
    )
    assert status == 200
    event = json.loads(body)
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["rawPath"] == "/submit"
    assert (event["body"], event["isBase64Encoded"]) == ('{"hello": "world"}', False)
    status, _, body = request(
        host_style,
        method="PUT",
        body=b"\x00\xffbinary",
        headers={"Content-Type": "application/octet-stream"},
        host=host,
    )
    event = json.loads(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xffbinary"


def test_response_contract(url_of):
    path_style, _, _ = url_of(RESPONDS)
    status, headers, body = request(path_style + "?mode=binary")
    assert status == 201
    assert body == b"\x89PNG\x00"
    assert (headers["content-type"], headers["x-custom"]) == ("image/png", "yes")
    assert headers.get_all("set-cookie") == [
        "a=1; Max-Age=60",
        "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]
    status, headers, body = request(path_style + "?mode=bare")
    assert (status, headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {"just": "a value"}
    status, _, body = request(path_style + "?mode=text")
    assert (status, body) == (200, b'"Hello, world!"')
    status, _, body = request(path_style + "?mode=error")
    assert (status, body) == (502, b"Internal Server Error")
    status, _, _ = request(path_style.replace("/lambda-url/", "/lambda-url/nosuchurl"))
    assert status == 403


def test_cors_preflight_and_response_headers(url_of):
    cors = {
        "AllowOrigins": ["https://app.example"],
        "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["x-custom"],
        "ExposeHeaders": ["x-request"],
        "MaxAge": 300,
        "AllowCredentials": True,
    }
    path_style, _, _ = url_of(RESPONDS, Cors=cors)
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    status, headers, body = request(path_style, method="OPTIONS", headers=preflight)
    assert (status, body) == (200, b"")  # answered by the URL itself, not the function
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "x-custom"
    assert headers["access-control-max-age"] == "300"
    assert headers["access-control-allow-credentials"] == "true"
    status, headers, _ = request(
        path_style, method="OPTIONS", headers={**preflight, "Origin": "https://other.example"}
    )
    assert status == 200 and "access-control-allow-origin" not in headers
    status, headers, body = request(
        path_style + "?mode=cors", headers={"Origin": "https://app.example"}
    )
    assert (status, body) == (200, b"ok")
    assert headers["access-control-allow-origin"] == "https://app.example"  # config wins
    assert headers["access-control-expose-headers"] == "x-request"


def test_function_url_config_names_a_working_url(lam, url_of, endpoint):
    _, host_style, host = url_of(ECHO, AuthType="AWS_IAM")
    port = urlsplit(endpoint).port
    assert host_style.endswith(f".lambda-url.us-east-1.localhost:{port}/")
    status, _, body = request(host_style, host=host)  # AWS_IAM: accepted, not enforced yet
    assert status == 200 and json.loads(body)["event"]["requestContext"]["http"]["method"] == "GET"
    status, _, info = request(endpoint + "/_cloudlet/info")
    urls = json.loads(info)["urls"]
    assert urls["lambda_function_url_path"] == endpoint + "/_cloudlet/lambda-url/{url_id}/"
    assert urls["lambda_function_url"] == (
        "http://{url_id}.lambda-url.{region}.localhost" + f":{port}/"
    )
