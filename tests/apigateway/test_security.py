"""API keys and usage plans (403, throttling, quotas), Lambda TOKEN and REQUEST authorizers
with their cache, IAM authorization, and request validation."""

from __future__ import annotations

import uuid

import orjson

from apigateway.conftest import ECHO_PROXY, call, json_of, lambda_uri

#: a TOKEN/REQUEST authorizer: "allow" / "deny" tokens; counts its calls (warm globals)
AUTHORIZER = """
CALLS = [0]

def handler(event, context):
    CALLS[0] += 1
    count = CALLS[0]
    token = event.get("authorizationToken") or (event.get("headers") or {}).get("X-Token") or ""
    if token == "unauthorized":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {
        "principalId": "user-" + token,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"calls": count, "kind": event["type"], "admin": True},
    }
"""


def keyed_api(apigw, rest_api, arn: str) -> str:
    api = rest_api()
    apigw.put_method(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn),
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    return api["id"]


def test_api_keys_and_usage_plans(apigw, rest_api, function, endpoint):
    api_id = keyed_api(apigw, rest_api, function(ECHO_PROXY))
    value = uuid.uuid4().hex * 2
    key = apigw.create_api_key(name="client", value=value, enabled=True)
    plan = apigw.create_usage_plan(
        name="basic",
        apiStages=[{"apiId": api_id, "stage": "test"}],
        quota={"limit": 3, "period": "DAY"},
    )
    try:
        assert call(endpoint, api_id, "/")[0] == 403
        status, _headers, body = call(endpoint, api_id, "/", headers={"x-api-key": value})
        assert (status, json_of(body)) == (403, {"message": "Forbidden"})  # not in a plan yet
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        status, _, body = call(endpoint, api_id, "/", headers={"x-api-key": value})
        assert status == 200
        identity = json_of(body)["requestContext"]["identity"]
        assert identity["apiKey"] == value and identity["apiKeyId"] == key["id"]
        assert call(endpoint, api_id, "/", headers={"x-api-key": value})[0] == 200
        assert call(endpoint, api_id, "/", headers={"x-api-key": value})[0] == 200
        status, _, body = call(endpoint, api_id, "/", headers={"x-api-key": value})
        assert (status, json_of(body)) == (429, {"message": "Limit Exceeded"})
        usage = apigw.get_usage(
            usagePlanId=plan["id"], startDate="2024-01-01", endDate="2030-01-01"
        )
        assert usage["items"][key["id"]] == [[3, 0]]
        apigw.update_api_key(
            apiKey=key["id"],
            patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}],
        )
        assert call(endpoint, api_id, "/", headers={"x-api-key": value})[0] == 403
    finally:
        apigw.delete_usage_plan(usagePlanId=plan["id"])
        apigw.delete_api_key(apiKey=key["id"])


def test_usage_plan_throttle(apigw, rest_api, function, endpoint):
    api_id = keyed_api(apigw, rest_api, function(ECHO_PROXY))
    value = uuid.uuid4().hex * 2
    key = apigw.create_api_key(name="burst", value=value, enabled=True)
    plan = apigw.create_usage_plan(
        name="tiny",
        apiStages=[{"apiId": api_id, "stage": "test"}],
        throttle={"burstLimit": 2, "rateLimit": 0.001},
    )
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    try:
        statuses = [call(endpoint, api_id, "/", headers={"x-api-key": value})[0] for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        _status, _headers, body = call(endpoint, api_id, "/", headers={"x-api-key": value})
        assert json_of(body) == {"message": "Too Many Requests"}
    finally:
        apigw.delete_usage_plan(usagePlanId=plan["id"])
        apigw.delete_api_key(apiKey=key["id"])


def authorized_api(apigw, rest_api, function, kind: str, ttl: int) -> str:
    api = rest_api()
    params = {"identitySource": "method.request.header.X-Token"} if kind == "REQUEST" else {}
    authorizer = apigw.create_authorizer(
        restApiId=api["id"],
        name="auth",
        type=kind,
        authorizerUri=lambda_uri(function(AUTHORIZER)),
        authorizerResultTtlInSeconds=ttl,
        **params,
    )
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}"
    )
    apigw.put_method(
        restApiId=api["id"],
        resourceId=resource["id"],
        httpMethod="ANY",
        authorizationType="CUSTOM",
        authorizerId=authorizer["id"],
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=resource["id"],
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function(ECHO_PROXY)),
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    return api["id"]


def test_token_authorizer_and_cache(apigw, rest_api, function, endpoint):
    api_id = authorized_api(apigw, rest_api, function, "TOKEN", 300)
    status, _headers, body = call(endpoint, api_id, "/a")
    assert (status, json_of(body)) == (401, {"message": "Unauthorized"})
    status, _, body = call(endpoint, api_id, "/a", headers={"Authorization": "allow-1"})
    assert status == 200, body
    authorizer = json_of(body)["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-allow-1" and authorizer["kind"] == "TOKEN"
    first_calls = authorizer["calls"]
    status, _, body = call(endpoint, api_id, "/a", headers={"Authorization": "allow-1"})
    assert json_of(body)["requestContext"]["authorizer"]["calls"] == first_calls  # cached
    status, _, body = call(endpoint, api_id, "/b", headers={"Authorization": "deny-1"})
    assert status == 403
    assert json_of(body) == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }
    status, _, body = call(endpoint, api_id, "/b", headers={"Authorization": "unauthorized"})
    assert status == 401


def test_request_authorizer_without_cache(apigw, rest_api, function, endpoint):
    api_id = authorized_api(apigw, rest_api, function, "REQUEST", 0)
    counts = []
    for _ in range(2):
        status, _, body = call(endpoint, api_id, "/x", headers={"X-Token": "allow-2"})
        assert status == 200
        context = json_of(body)["requestContext"]["authorizer"]
        assert context["kind"] == "REQUEST"
        counts.append(context["calls"])
    assert counts[1] == counts[0] + 1
    assert call(endpoint, api_id, "/x", headers={"X-Token": "nope"})[0] == 403


def test_iam_authorization(apigw, rest_api, endpoint):
    api = rest_api()
    apigw.put_method(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        authorizationType="AWS_IAM",
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": "{}"},
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    assert call(endpoint, api["id"], "/")[0] == 403
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00"
    }
    assert call(endpoint, api["id"], "/", headers=signed)[0] == 200


def test_request_validation(apigw, rest_api, endpoint):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    apigw.create_model(
        restApiId=api_id,
        name="Address",
        contentType="application/json",
        schema=orjson.dumps(
            {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
        ).decode(),
    )
    apigw.create_model(
        restApiId=api_id,
        name="Order",
        contentType="application/json",
        schema=orjson.dumps(
            {
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["qty", "address"],
                "properties": {
                    "qty": {"type": "integer", "minimum": 1},
                    "address": {
                        "$ref": f"https://apigateway.amazonaws.com/restapis/{api_id}/models/Address"
                    },
                },
            }
        ).decode(),
    )
    validator = apigw.create_request_validator(
        restApiId=api_id, name="all", validateRequestBody=True, validateRequestParameters=True
    )
    apigw.put_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        authorizationType="NONE",
        requestValidatorId=validator["id"],
        requestModels={"application/json": "Order"},
        requestParameters={
            "method.request.querystring.store": True,
            "method.request.header.x-trace": False,
        },
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api_id, resourceId=root, httpMethod="POST", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        responseTemplates={"application/json": '{"ok": true}'},
    )
    apigw.create_deployment(restApiId=api_id, stageName="test")
    json_type = {"Content-Type": "application/json"}
    good = orjson.dumps({"qty": 2, "address": {"city": "Oslo"}})
    status, headers, body = call(endpoint, api_id, "/", "POST", good, json_type)
    assert (status, json_of(body)) == (
        400,
        {"message": "Missing required request parameters: [store]"},
    )
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert call(endpoint, api_id, "/?store=1", "POST", good, json_type)[0] == 200
    for bad in (b'{"qty": 0, "address": {"city": "x"}}', b'{"qty": 1, "address": {}}', b"not json"):
        status, _, body = call(endpoint, api_id, "/?store=1", "POST", bad, json_type)
        assert (status, json_of(body)) == (400, {"message": "Invalid request body"}), bad
