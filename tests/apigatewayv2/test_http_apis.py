"""HTTP APIs: control plane, quick create, auto-deployed stages, routes, payload formats 2.0
and 1.0, HTTP proxies and the CORS configuration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from apigatewayv2.conftest import ECHO, get, json_of
from awslambda.conftest import error_of


def test_quick_create_and_payload_v2(v2, http_api, function, endpoint):
    arn = function(ECHO)
    api = http_api(Target=arn)
    api_id = api["ApiId"]
    assert len(api_id) == 10 and api["ApiEndpoint"].startswith(
        f"http://{api_id}.execute-api.localhost"
    )
    stage = v2.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True and stage["DeploymentId"]
    routes = v2.get_routes(ApiId=api_id)["Items"]
    assert [r["RouteKey"] for r in routes] == ["$default"]
    integration = v2.get_integration(ApiId=api_id, IntegrationId=routes[0]["Target"].split("/")[1])
    assert (
        integration["IntegrationType"] == "AWS_PROXY"
        and integration["PayloadFormatVersion"] == "2.0"
    )
    status, headers, body = get(
        endpoint,
        api_id,
        "/shop/items?a=1&a=2&b=x",
        "POST",
        b"hello",
        {"Content-Type": "text/plain", "Cookie": "c1=v1; c2=v2", "X-Custom": "yes"},
    )
    assert status == 200 and headers["apigw-requestid"]
    event = json_of(body)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/shop/items" and event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-custom"] == "yes" and "cookie" not in event["headers"]
    assert event["body"] == "hello" and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "000000000000" and context["apiId"] == api_id
    assert context["stage"] == "$default" and context["routeKey"] == "$default"
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/shop/items"
    assert context["requestId"] == headers["apigw-requestid"]


def test_routes_stages_and_payload_v1(v2, http_api, function, endpoint):
    arn = function(ECHO)
    api = http_api()
    api_id = api["ApiId"]
    v1 = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="1.0"
    )
    latest = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )
    for key, integration in (
        ("GET /items/{id}", v1),
        ("ANY /{proxy+}", latest),
        ("GET /items/special", latest),
    ):
        v2.create_route(
            ApiId=api_id, RouteKey=key, Target=f"integrations/{integration['IntegrationId']}"
        )
    dup = error_of(v2.create_route, ApiId=api_id, RouteKey="GET /items/{id}")
    assert dup["Code"] == "ConflictException"
    bad = error_of(v2.create_route, ApiId=api_id, RouteKey="FETCH /x")
    assert bad["Code"] == "BadRequestException"
    v2.create_stage(ApiId=api_id, StageName="dev", StageVariables={"color": "red"})
    assert get(endpoint, api_id, "/dev/items/7")[0] == 404  # not deployed yet
    deployment = v2.create_deployment(ApiId=api_id, StageName="dev")
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    status, _, body = get(endpoint, api_id, "/dev/items/7?q=1")
    event = json_of(body)
    assert status == 200 and event["version"] == "1.0"
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "7"}
    assert event["path"] == "/dev/items/7" and event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"q": "1"} and event["stageVariables"] == {
        "color": "red"
    }
    assert event["requestContext"].get("routeKey", True)
    assert event["requestContext"]["stage"] == "dev"
    status, _, body = get(endpoint, api_id, "/dev/items/special")
    assert json_of(body)["routeKey"] == "GET /items/special"
    status, _, body = get(endpoint, api_id, "/dev/other/deep/path", "DELETE")
    event = json_of(body)
    assert event["routeKey"] == "ANY /{proxy+}" and event["pathParameters"] == {
        "proxy": "other/deep/path"
    }
    assert event["rawPath"] == "/dev/other/deep/path" and event["stageVariables"] == {
        "color": "red"
    }
    assert get(endpoint, api_id, "/nostage/items/1")[0] == 404


def test_response_contract_v2(v2, http_api, function, endpoint):
    code = """
import base64

def handler(event, context):
    kind = event.get("rawQueryString")
    if kind == "plain":
        return {"hello": "world"}
    if kind == "cookies":
        return {"statusCode": 201, "cookies": ["a=1", "b=2"], "headers": {"x-h": "v"}, "body": "made"}
    if kind == "binary":
        return {"statusCode": 200, "isBase64Encoded": True, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(b"PNG").decode()}
    raise RuntimeError("boom")
"""
    api_id = http_api(Target=function(code))["ApiId"]
    status, headers, body = get(endpoint, api_id, "/?plain")
    assert status == 200 and json_of(body) == {"hello": "world"}
    status, headers, body = get(endpoint, api_id, "/?cookies")
    assert status == 201 and body == b"made" and headers["x-h"] == "v"
    assert get(endpoint, api_id, "/?binary")[2] == b"PNG"
    status, _, body = get(endpoint, api_id, "/?raise")
    assert (status, json_of(body)) == (500, {"message": "Internal Server Error"})


def test_cors_configuration(v2, http_api, function, endpoint):
    api = http_api(
        Target=function(ECHO),
        CorsConfiguration={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type"],
            "MaxAge": 300,
            "ExposeHeaders": ["x-id"],
        },
    )
    api_id = api["ApiId"]
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    status, headers, body = get(endpoint, api_id, "/anything", "OPTIONS", headers=preflight)
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-max-age"] == "300"
    status, headers, _ = get(endpoint, api_id, "/x", headers={"Origin": "https://app.example"})
    assert status == 200 and headers["access-control-expose-headers"] == "x-id"
    status, headers, _ = get(endpoint, api_id, "/x", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in headers
    v2.delete_cors_configuration(ApiId=api_id)
    assert "CorsConfiguration" not in v2.get_api(ApiId=api_id)
    status, headers, _ = get(endpoint, api_id, "/x", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in headers


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    class Echo(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = orjson.dumps(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": self.rfile.read(length).decode(),
                }
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_proxy_integrations(v2, http_api, backend, endpoint):
    api_id = http_api(Target=backend)["ApiId"]
    status, _, body = get(
        endpoint, api_id, "/a/b?x=1", "POST", b"data", {"Content-Type": "text/plain"}
    )
    echoed = json_of(body)
    assert status == 200 and echoed["path"] == "/a/b?x=1" and echoed["body"] == "data"
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="GET",
        IntegrationUri=f"{backend}/base/{{proxy}}",
        RequestParameters={
            "append:header.x-stage": "$context.stage",
            "overwrite:querystring.from": "gateway",
        },
    )
    v2.create_route(
        ApiId=api_id,
        RouteKey="ANY /api/{proxy+}",
        Target=f"integrations/{integration['IntegrationId']}",
    )
    status, _, body = get(endpoint, api_id, "/api/deep/er", "PUT")
    echoed = json_of(body)
    assert echoed["method"] == "GET" and echoed["path"] == "/base/deep/er?from=gateway"
    assert echoed["headers"]["x-stage"] == "$default"


def test_control_plane_errors_and_tags(v2, http_api):
    assert error_of(v2.get_api, ApiId="nope000000")["Code"] == "NotFoundException"
    assert (
        error_of(
            v2.create_api,
            Name="ws",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
        )["Code"]
        == "BadRequestException"
    )
    api = http_api(Tags={"a": "1"})
    api_id = api["ApiId"]
    assert (
        error_of(
            v2.create_integration,
            ApiId=api_id,
            IntegrationType="AWS_PROXY",
            IntegrationUri="arn:aws:lambda:us-east-1:000000000000:function:f",
        )["Code"]
        == "BadRequestException"
    )
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationUri="http://example.com",
        IntegrationMethod="GET",
    )
    route = v2.create_route(
        ApiId=api_id, RouteKey="GET /x", Target=f"integrations/{integration['IntegrationId']}"
    )
    in_use = error_of(
        v2.delete_integration, ApiId=api_id, IntegrationId=integration["IntegrationId"]
    )
    assert in_use["Code"] == "ConflictException"
    updated = v2.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="POST /x")
    assert updated["RouteKey"] == "POST /x"
    v2.update_api(ApiId=api_id, Description="d")
    assert v2.get_api(ApiId=api_id)["Description"] == "d"
    arn = f"arn:aws:apigateway:us-east-1::/apis/{api_id}"
    v2.tag_resource(ResourceArn=arn, Tags={"b": "2"})
    v2.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert v2.get_tags(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert api_id in [a["ApiId"] for a in v2.get_apis()["Items"]]
