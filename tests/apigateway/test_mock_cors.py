"""MOCK integrations, the console's "Enable CORS" set-up, request/response templates and
parameters, integration response selection, and gateway responses."""

from __future__ import annotations

from apigateway.conftest import call, json_of, method_with

CORS_HEADERS = "'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'"


def enable_cors(apigw, api_id: str, resource_id: str, methods: str) -> None:
    """What the console's "Enable CORS" does: an OPTIONS method answered by a MOCK."""
    apigw.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": True,
            "method.response.header.Access-Control-Allow-Methods": True,
            "method.response.header.Access-Control-Allow-Origin": True,
        },
        responseModels={"application/json": "Empty"},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": CORS_HEADERS,
            "method.response.header.Access-Control-Allow-Methods": f"'{methods}'",
            "method.response.header.Access-Control-Allow-Origin": "'*'",
        },
        responseTemplates={"application/json": ""},
    )


def test_console_cors(apigw, rest_api, endpoint):
    api = rest_api()
    api_id = api["id"]
    resource = apigw.create_resource(
        restApiId=api_id, parentId=api["rootResourceId"], pathPart="items"
    )
    method_with(
        apigw,
        api_id,
        resource["id"],
        "GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        statusCode="200",
        responseParameters={"method.response.header.Access-Control-Allow-Origin": True},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=resource["id"],
        httpMethod="GET",
        statusCode="200",
        responseParameters={"method.response.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={"application/json": '{"items": []}'},
    )
    enable_cors(apigw, api_id, resource["id"], "GET,OPTIONS")
    apigw.create_deployment(restApiId=api_id, stageName="test")
    status, headers, body = call(
        endpoint,
        api_id,
        "/items",
        "OPTIONS",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 200 and body == b""
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == CORS_HEADERS.strip("'")
    status, headers, body = call(
        endpoint, api_id, "/items", headers={"Origin": "http://localhost:3000"}
    )
    assert status == 200 and json_of(body) == {"items": []}
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_mock_templates_and_selection(apigw, rest_api, endpoint):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    method_with(
        apigw,
        api_id,
        root,
        "POST",
        type="MOCK",
        requestTemplates={
            "application/json": '#if($input.path(\'$.fail\'))\n{"statusCode": 404}\n#else\n{"statusCode": 200}\n#end'
        },
    )
    for status in ("200", "404"):
        apigw.put_method_response(
            restApiId=api_id, resourceId=root, httpMethod="POST", statusCode=status
        )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        responseTemplates={
            "application/json": '{"stage": "$context.stage", "who": "$input.params(\'who\')", "var": "$stageVariables.v"}'
        },
        responseParameters={
            "method.response.header.X-Who": "method.request.header.x-who",
            "method.response.header.X-Fixed": "'yes'",
        },
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="404",
        selectionPattern="404",
        responseTemplates={"application/json": '{"error": "not here"}'},
    )
    apigw.create_deployment(restApiId=api_id, stageName="test", variables={"v": "sv"})
    status, headers, body = call(
        endpoint,
        api_id,
        "/?who=me",
        "POST",
        b"{}",
        {"Content-Type": "application/json", "X-Who": "hdr"},
    )
    assert status == 200
    assert json_of(body) == {"stage": "test", "who": "me", "var": "sv"}
    assert headers["X-Who"] == "hdr" and headers["X-Fixed"] == "yes"
    status, _, body = call(
        endpoint, api_id, "/", "POST", b'{"fail": true}', {"Content-Type": "application/json"}
    )
    assert (status, json_of(body)) == (404, {"error": "not here"})


def test_passthrough_behaviour_and_overrides(apigw, rest_api, endpoint):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    method_with(
        apigw,
        api_id,
        root,
        "PUT",
        type="MOCK",
        passthroughBehavior="NEVER",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(restApiId=api_id, resourceId=root, httpMethod="PUT", statusCode="200")
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="PUT",
        statusCode="200",
        responseTemplates={
            "application/json": '#set($context.responseOverride.status = 418)\n#set($context.responseOverride.header.Teapot = "short")\n{"ok": true}'
        },
    )
    apigw.create_deployment(restApiId=api_id, stageName="test")
    status, headers, body = call(
        endpoint, api_id, "/", "PUT", b"<x/>", {"Content-Type": "application/xml"}
    )
    assert (status, json_of(body)) == (415, {"message": "Unsupported Media Type"})
    status, headers, body = call(
        endpoint, api_id, "/", "PUT", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 418 and headers["Teapot"] == "short" and json_of(body) == {"ok": True}


def test_custom_gateway_responses(apigw, rest_api, endpoint):
    api = rest_api()
    method_with(apigw, api["id"], api["rootResourceId"], "GET", type="MOCK")
    apigw.put_gateway_response(
        restApiId=api["id"],
        responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={
            "application/json": '{"error": $context.error.messageString, "type": "$context.error.responseType"}'
        },
    )
    apigw.put_gateway_response(
        restApiId=api["id"],
        responseType="MISSING_AUTHENTICATION_TOKEN",
        statusCode="404",
        responseTemplates={"application/json": '{"missing": $context.error.messageString}'},
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    status, headers, body = call(endpoint, api["id"], "/nothing")
    assert (status, json_of(body)) == (404, {"missing": "Missing Authentication Token"})
    apigw.update_stage(
        restApiId=api["id"],
        stageName="test",
        patchOperations=[{"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "0"}],
    )
    status, headers, body = call(endpoint, api["id"], "/")
    assert status == 429 and headers["Access-Control-Allow-Origin"] == "*"
    assert json_of(body) == {"error": "Too Many Requests", "type": "THROTTLED"}
