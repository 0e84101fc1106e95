"""AWS_PROXY to Lambda: the payload format 1.0 event as AWS builds it, the proxy response
contract, route matching, the invoke URL forms and stage variables."""

from __future__ import annotations

import base64

from apigateway.conftest import ECHO_PROXY, call, json_of, lambda_uri, method_with, proxy_api
from conftest import http

RESPONDER = """
import base64, json

def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind")
    if kind == "multi":
        return {"statusCode": 201, "headers": {"X-One": "1"},
                "multiValueHeaders": {"X-Many": ["a", "b"], "Set-Cookie": ["a=1", "b=2"]},
                "body": "made"}
    if kind == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG").decode(), "isBase64Encoded": True}
    if kind == "extra":
        return {"statusCode": 200, "body": "x", "unexpected": True}
    if kind == "dict-body":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if kind == "raise":
        raise ValueError("boom")
    if kind == "plain":
        return "just a string"
    return {"statusCode": "202", "body": json.dumps({"ok": True})}
"""


def test_proxy_event_fields(apigw, rest_api, function, endpoint):
    api_id, resource_id = proxy_api(apigw, rest_api, function(ECHO_PROXY))
    apigw.update_stage(
        restApiId=api_id,
        stageName="test",
        patchOperations=[{"op": "replace", "path": "/variables/color", "value": "blue"}],
    )
    status, headers, body = call(
        endpoint,
        api_id,
        "/shop/items?size=L&tag=a&tag=b",
        "POST",
        b'{"n": 1}',
        {"Content-Type": "application/json", "X-Custom": "yes", "User-Agent": "tester/1"},
    )
    assert status == 200
    event = json_of(body)
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/shop/items"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Custom"] == "yes"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["queryStringParameters"] == {"size": "L", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"size": ["L"], "tag": ["a", "b"]}
    assert event["pathParameters"] == {"proxy": "shop/items"}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["body"] == '{"n": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "000000000000"
    assert context["apiId"] == api_id and context["resourceId"] == resource_id
    assert context["resourcePath"] == "/{proxy+}" and context["httpMethod"] == "POST"
    assert context["stage"] == "test" and context["path"] == "/test/shop/items"
    assert context["protocol"] == "HTTP/1.1"
    assert context["requestId"] == headers["x-amzn-RequestId"]
    assert context["extendedRequestId"] and isinstance(context["requestTimeEpoch"], int)
    assert context["requestTime"].endswith("+0000")
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tester/1"
    assert context["domainName"].startswith(api_id)
    status, _, body = call(endpoint, api_id, "/x")
    event = json_of(body)
    assert event["queryStringParameters"] is None and event["body"] is None


def test_proxy_response_contract(apigw, rest_api, function, endpoint):
    api_id, _ = proxy_api(apigw, rest_api, function(RESPONDER))
    status, _, body = call(endpoint, api_id, "/r")
    assert status == 202 and json_of(body) == {"ok": True}
    status, headers, body = call(endpoint, api_id, "/r?kind=multi")
    assert status == 201 and body == b"made"
    assert headers["X-One"] == "1" and headers["X-Many"] == "a,b"
    for kind in ("extra", "dict-body", "raise", "plain"):
        status, headers, body = call(endpoint, api_id, f"/r?kind={kind}")
        assert (status, json_of(body)) == (502, {"message": "Internal server error"}), kind


def test_binary_media_types(apigw, rest_api, function, endpoint):
    arn = function(ECHO_PROXY + "\n" + RESPONDER.replace("def handler", "def other"))
    api = rest_api(binaryMediaTypes=["image/*"])
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="up"
    )
    method_with(
        apigw,
        api["id"],
        resource["id"],
        "POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn),
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    status, _, body = call(
        endpoint, api["id"], "/up", "POST", b"\x89PNG\x00", {"Content-Type": "image/png"}
    )
    event = json_of(body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"
    binary_api, _ = proxy_api(apigw, rest_api, function(RESPONDER))
    apigw.update_rest_api(
        restApiId=binary_api,
        patchOperations=[{"op": "add", "path": "/binaryMediaTypes/image~1png"}],
    )
    apigw.create_deployment(restApiId=binary_api, stageName="test")
    status, _headers, body = call(
        endpoint, binary_api, "/r?kind=binary", headers={"Accept": "image/png"}
    )
    assert status == 200 and body == b"\x89PNG"


def test_routes_most_specific_first(apigw, rest_api, function, endpoint):
    arn = function(ECHO_PROXY)
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")
    item = apigw.create_resource(restApiId=api_id, parentId=items["id"], pathPart="{id}")
    special = apigw.create_resource(restApiId=api_id, parentId=items["id"], pathPart="special")
    greedy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    for resource, verb in (
        (items, "GET"),
        (item, "GET"),
        (special, "GET"),
        (greedy, "ANY"),
        ({"id": root}, "GET"),
    ):
        method_with(
            apigw,
            api_id,
            resource["id"],
            verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(arn),
        )
    apigw.create_deployment(restApiId=api_id, stageName="test")

    def resource_of(path: str, verb: str = "GET") -> tuple[str, dict | None]:
        status, _, body = call(endpoint, api_id, path, verb)
        assert status == 200, (path, status, body)
        event = json_of(body)
        return event["resource"], event["pathParameters"]

    assert resource_of("/") == ("/", None)
    assert resource_of("/items") == ("/items", None)
    assert resource_of("/items/") == ("/items", None)
    assert resource_of("/items/special") == ("/items/special", None)
    assert resource_of("/items/a%20b") == ("/items/{id}", {"id": "a b"})
    assert resource_of("/items/7/more") == ("/{proxy+}", {"proxy": "items/7/more"})
    assert resource_of("/items", "DELETE") == ("/{proxy+}", {"proxy": "items"})


def test_missing_routes_and_stages(apigw, rest_api, function, endpoint):
    api = rest_api()
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="only"
    )
    method_with(
        apigw,
        api["id"],
        resource["id"],
        "GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    status, headers, body = call(endpoint, api["id"], "/other")
    assert (status, json_of(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert call(endpoint, api["id"], "/only", "POST")[0] == 403
    assert call(endpoint, api["id"], "/only", stage="nostage")[0] == 403
    assert call(endpoint, "nosuchapi0", "/only")[0] == 403


def test_invoke_url_forms_and_info(apigw, rest_api, function, endpoint):
    api_id, _ = proxy_api(apigw, rest_api, function(ECHO_PROXY))
    port = endpoint.rpartition(":")[2]
    forms = [
        (f"{endpoint}/_cloudlet/apigateway/{api_id}/test/a/b", {}),
        (f"{endpoint}/_aws/execute-api/{api_id}/test/a/b", {}),
        (f"{endpoint}/restapis/{api_id}/test/_user_request_/a/b", {}),
        (f"{endpoint}/test/a/b", {"Host": f"{api_id}.execute-api.localhost:{port}"}),
        (
            f"{endpoint}/test/a/b",
            {"Host": f"{api_id}.execute-api.localhost.localstack.cloud:{port}"},
        ),
    ]
    for url, headers in forms:
        status, _, body = http("GET", url, headers=headers)
        assert status == 200, url
        assert json_of(body)["path"] == "/a/b"
    info = json_of(http("GET", f"{endpoint}/_cloudlet/info")[2])
    assert (
        info["urls"]["apigateway_invoke_url"]
        == f"http://{{api_id}}.execute-api.localhost:{port}/{{stage}}/"
    )
    assert info["urls"]["apigateway_invoke_url_path"].endswith(
        "/_cloudlet/apigateway/{api_id}/{stage}/"
    )


def test_stage_variables_in_lambda_uri(apigw, rest_api, function, lam, endpoint):
    arn = function(ECHO_PROXY)
    name = arn.rpartition(":")[2]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    api = rest_api()
    method_with(
        apigw,
        api["id"],
        api["rootResourceId"],
        "GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn + ":${stageVariables.alias}"),
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test", variables={"alias": "live"})
    status, _, body = call(endpoint, api["id"], "/")
    assert status == 200 and json_of(body)["stageVariables"] == {"alias": "live"}


def test_proxy_event_keeps_header_names_and_repeats_as_sent(apigw, rest_api, function, endpoint):
    import http.client

    api_id, _ = proxy_api(apigw, rest_api, function(ECHO_PROXY))
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", f"/_cloudlet/apigateway/{api_id}/test/spelled")
    for name, value in (("x-lower", "1"), ("X-UPPER", "2"), ("X-Rep", "a"), ("X-Rep", "b")):
        connection.putheader(name, value)
    connection.endheaders()
    event = json_of(connection.getresponse().read())
    connection.close()
    assert event["headers"]["x-lower"] == "1"
    assert event["headers"]["X-UPPER"] == "2"
    assert event["headers"]["X-Rep"] == "b"  # the last value, as API Gateway's single-value map
    assert event["multiValueHeaders"]["X-Rep"] == ["a", "b"]
