"""The REST API control plane through boto3: APIs, resources, methods, integrations, deployments,
stages, models, validators, authorizers, gateway responses, tags, with AWS's ids and errors."""

from __future__ import annotations

import re

import pytest

from awslambda.conftest import error_of

ID10 = re.compile(r"^[a-z0-9]{10}$")


def test_rest_api_lifecycle(apigw, rest_api):
    api = rest_api(description="pets", tags={"team": "a"}, binaryMediaTypes=["image/png"])
    assert ID10.match(api["id"]) and ID10.match(api["rootResourceId"])
    assert api["apiKeySource"] == "HEADER"
    assert api["endpointConfiguration"] == {"types": ["EDGE"]}
    got = apigw.get_rest_api(restApiId=api["id"])
    assert got["name"] == api["name"] and got["tags"] == {"team": "a"}
    assert api["id"] in [a["id"] for a in apigw.get_rest_apis()["items"]]
    updated = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "replace", "path": "/minimumCompressionSize", "value": "1024"},
            {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"},
            {"op": "remove", "path": "/binaryMediaTypes/image~1png"},
            {"op": "replace", "path": "/endpointConfiguration/types/EDGE", "value": "REGIONAL"},
        ],
    )
    assert updated["name"] == "renamed" and updated["minimumCompressionSize"] == 1024
    assert updated["binaryMediaTypes"] == ["image/jpeg"]
    assert updated["endpointConfiguration"]["types"] == ["REGIONAL"]
    bad = error_of(
        apigw.update_rest_api,
        restApiId=api["id"],
        patchOperations=[{"op": "replace", "path": "/nope", "value": "x"}],
    )
    assert bad["Code"] == "BadRequestException" and bad["Status"] == 400
    models = {m["name"] for m in apigw.get_models(restApiId=api["id"])["items"]}
    assert models == {"Empty", "Error"}
    apigw.delete_rest_api(restApiId=api["id"])
    gone = error_of(apigw.get_rest_api, restApiId=api["id"])
    assert gone["Code"] == "NotFoundException" and gone["Status"] == 404


def test_resources_tree(apigw, rest_api):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    pets = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="pets")
    pet = apigw.create_resource(restApiId=api_id, parentId=pets["id"], pathPart="{petId}")
    assert pet["path"] == "/pets/{petId}" and pet["parentId"] == pets["id"]
    dup = error_of(apigw.create_resource, restApiId=api_id, parentId=root, pathPart="pets")
    assert dup["Code"] == "ConflictException"
    second_var = error_of(
        apigw.create_resource, restApiId=api_id, parentId=pets["id"], pathPart="{name}"
    )
    assert second_var["Code"] == "BadRequestException"
    greedy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    below = error_of(apigw.create_resource, restApiId=api_id, parentId=greedy["id"], pathPart="x")
    assert below["Code"] == "BadRequestException"
    apigw.put_method(
        restApiId=api_id, resourceId=pet["id"], httpMethod="GET", authorizationType="NONE"
    )
    plain = {r["path"]: r for r in apigw.get_resources(restApiId=api_id)["items"]}
    assert plain["/pets/{petId}"]["resourceMethods"] == {"GET": {}}
    embedded = {
        r["path"]: r for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]
    }
    assert embedded["/pets/{petId}"]["resourceMethods"]["GET"]["authorizationType"] == "NONE"
    moved = apigw.update_resource(
        restApiId=api_id,
        resourceId=pets["id"],
        patchOperations=[{"op": "replace", "path": "/pathPart", "value": "animals"}],
    )
    assert moved["path"] == "/animals"
    assert apigw.get_resource(restApiId=api_id, resourceId=pet["id"])["path"] == "/animals/{petId}"
    apigw.delete_resource(restApiId=api_id, resourceId=pets["id"])
    assert error_of(apigw.get_resource, restApiId=api_id, resourceId=pet["id"])["Status"] == 404
    assert (
        error_of(apigw.delete_resource, restApiId=api_id, resourceId=root)["Code"]
        == "BadRequestException"
    )


def test_methods_integrations_and_responses(apigw, rest_api):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    validator = apigw.create_request_validator(
        restApiId=api_id, name="all", validateRequestBody=True, validateRequestParameters=True
    )
    method = apigw.put_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="post",
        authorizationType="NONE",
        apiKeyRequired=True,
        requestParameters={"method.request.querystring.q": True},
        requestModels={"application/json": "Empty"},
        requestValidatorId=validator["id"],
    )
    assert method["httpMethod"] == "POST" and method["apiKeyRequired"] is True
    patched = apigw.update_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        patchOperations=[
            {"op": "replace", "path": "/apiKeyRequired", "value": "false"},
            {"op": "add", "path": "/requestParameters/method.request.header.x-a", "value": "false"},
        ],
    )
    assert patched["apiKeyRequired"] is False
    assert patched["requestParameters"]["method.request.header.x-a"] is False
    missing_uri = error_of(
        apigw.put_integration,
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        type="HTTP",
        integrationHttpMethod="GET",
    )
    assert missing_uri["Code"] == "BadRequestException"
    integration = apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        type="HTTP",
        integrationHttpMethod="GET",
        uri="http://example.com/{id}",
        requestParameters={"integration.request.path.id": "method.request.querystring.q"},
        timeoutInMillis=5000,
    )
    assert integration["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert integration["timeoutInMillis"] == 5000 and integration["connectionType"] == "INTERNET"
    no_response = error_of(
        apigw.put_integration_response,
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
    )
    assert no_response["Code"] == "NotFoundException"
    apigw.put_method_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        responseParameters={"method.response.header.X-A": False},
    )
    response = apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        selectionPattern="2\\d{2}",
        responseTemplates={"application/json": "$input.body"},
    )
    assert response["selectionPattern"] == "2\\d{2}"
    got = apigw.get_method(restApiId=api_id, resourceId=root, httpMethod="POST")
    assert got["methodIntegration"]["integrationResponses"]["200"]["statusCode"] == "200"
    assert got["methodResponses"]["200"]["responseParameters"] == {
        "method.response.header.X-A": False
    }
    updated = apigw.update_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        patchOperations=[{"op": "replace", "path": "/uri", "value": "http://example.org/{id}"}],
    )
    assert updated["uri"] == "http://example.org/{id}"
    apigw.delete_integration_response(
        restApiId=api_id, resourceId=root, httpMethod="POST", statusCode="200"
    )
    apigw.delete_integration(restApiId=api_id, resourceId=root, httpMethod="POST")
    assert (
        error_of(apigw.get_integration, restApiId=api_id, resourceId=root, httpMethod="POST")[
            "Code"
        ]
        == "NotFoundException"
    )
    apigw.delete_method(restApiId=api_id, resourceId=root, httpMethod="POST")
    assert (
        error_of(apigw.get_method, restApiId=api_id, resourceId=root, httpMethod="POST")["Code"]
        == "NotFoundException"
    )


def test_deployments_and_stages(apigw, rest_api):
    api = rest_api()
    api_id = api["id"]
    empty = error_of(apigw.create_deployment, restApiId=api_id, stageName="x")
    assert empty["Code"] == "BadRequestException"
    apigw.put_method(
        restApiId=api_id,
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw.put_integration(
        restApiId=api_id, resourceId=api["rootResourceId"], httpMethod="GET", type="MOCK"
    )
    first = apigw.create_deployment(
        restApiId=api_id, stageName="dev", variables={"a": "1"}, description="one"
    )
    assert re.match(r"^[a-z0-9]{6}$", first["id"])
    stage = apigw.get_stage(restApiId=api_id, stageName="dev")
    assert stage["deploymentId"] == first["id"] and stage["variables"] == {"a": "1"}
    second = apigw.create_deployment(restApiId=api_id)
    assert (
        error_of(apigw.create_stage, restApiId=api_id, stageName="dev", deploymentId=second["id"])[
            "Code"
        ]
        == "ConflictException"
    )
    apigw.create_stage(
        restApiId=api_id, stageName="prod", deploymentId=second["id"], tags={"t": "1"}
    )
    assert {s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]} == {"dev", "prod"}
    updated = apigw.update_stage(
        restApiId=api_id,
        stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/deploymentId", "value": second["id"]},
            {"op": "replace", "path": "/variables/b", "value": "2"},
            {"op": "remove", "path": "/variables/a"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "50"},
        ],
    )
    assert updated["deploymentId"] == second["id"] and updated["variables"] == {"b": "2"}
    assert updated["methodSettings"]["*/*"]["throttlingRateLimit"] == 100.0
    assert updated["methodSettings"]["*/*"]["throttlingBurstLimit"] == 50
    busy = error_of(apigw.delete_deployment, restApiId=api_id, deploymentId=second["id"])
    assert busy["Code"] == "BadRequestException"
    apigw.delete_deployment(restApiId=api_id, deploymentId=first["id"])
    assert len(apigw.get_deployments(restApiId=api_id)["items"]) == 1
    summary = apigw.get_deployment(
        restApiId=api_id, deploymentId=second["id"], embed=["apisummary"]
    )
    assert summary["apiSummary"]["/"]["GET"]["authorizationType"] == "NONE"
    apigw.delete_stage(restApiId=api_id, stageName="prod")
    assert (
        error_of(apigw.get_stage, restApiId=api_id, stageName="prod")["Code"] == "NotFoundException"
    )


def test_models_validators_authorizers(apigw, rest_api):
    api_id = rest_api()["id"]
    model = apigw.create_model(
        restApiId=api_id, name="Pet", contentType="application/json", schema='{"type": "object"}'
    )
    assert apigw.get_model(restApiId=api_id, modelName="Pet")["id"] == model["id"]
    assert (
        error_of(apigw.create_model, restApiId=api_id, name="Pet", contentType="application/json")[
            "Code"
        ]
        == "ConflictException"
    )
    updated = apigw.update_model(
        restApiId=api_id,
        modelName="Pet",
        patchOperations=[{"op": "replace", "path": "/description", "value": "a pet"}],
    )
    assert updated["description"] == "a pet"
    apigw.delete_model(restApiId=api_id, modelName="Pet")
    validator = apigw.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True
    )
    assert validator["validateRequestParameters"] is False
    assert apigw.get_request_validators(restApiId=api_id)["items"][0]["name"] == "body"
    auth = apigw.create_authorizer(
        restApiId=api_id,
        name="tok",
        type="TOKEN",
        authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations",
    )
    assert auth["identitySource"] == "method.request.header.Authorization"
    assert auth["authorizerResultTtlInSeconds"] == 300
    patched = apigw.update_authorizer(
        restApiId=api_id,
        authorizerId=auth["id"],
        patchOperations=[{"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}],
    )
    assert patched["authorizerResultTtlInSeconds"] == 0
    bad = error_of(
        apigw.put_method,
        restApiId=api_id,
        resourceId=apigw.get_rest_api(restApiId=api_id)["rootResourceId"],
        httpMethod="GET",
        authorizationType="CUSTOM",
        authorizerId="nope00",
    )
    assert bad["Code"] == "BadRequestException"
    apigw.delete_authorizer(restApiId=api_id, authorizerId=auth["id"])
    assert apigw.get_authorizers(restApiId=api_id)["items"] == []


def test_gateway_responses_and_tags(apigw, rest_api):
    api_id = rest_api()["id"]
    default = apigw.get_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    assert default["defaultResponse"] is True and default["statusCode"] == "403"
    put = apigw.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={"application/json": '{"error": $context.error.messageString}'},
    )
    assert put["defaultResponse"] is False
    kinds = {r["responseType"] for r in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert {"THROTTLED", "DEFAULT_4XX", "UNAUTHORIZED"} <= kinds
    apigw.delete_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    assert (
        apigw.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")["defaultResponse"]
        is True
    )
    arn = f"arn:aws:apigateway:us-east-1::/restapis/{api_id}"
    apigw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    apigw.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"b": "2"}


def test_api_keys_and_usage_plans(apigw, rest_api):
    api = rest_api()
    apigw.put_method(
        restApiId=api["id"],
        resourceId=api["rootResourceId"],
        httpMethod="GET",
        authorizationType="NONE",
    )
    apigw.put_integration(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET", type="MOCK"
    )
    apigw.create_deployment(restApiId=api["id"], stageName="v1")
    key = apigw.create_api_key(name="k1", value="a" * 30, enabled=True)
    assert ID10.match(key["id"]) and key["value"] == "a" * 30
    assert "value" not in apigw.get_api_key(apiKey=key["id"])
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == "a" * 30
    assert error_of(apigw.create_api_key, name="k2", value="a" * 30)["Code"] == "ConflictException"
    generated = apigw.create_api_key(name="gen")
    assert len(generated["value"]) == 40 and generated["enabled"] is False
    missing_stage = error_of(
        apigw.create_usage_plan, name="p", apiStages=[{"apiId": api["id"], "stage": "nope"}]
    )
    assert missing_stage["Code"] == "BadRequestException"
    plan = apigw.create_usage_plan(
        name="p",
        apiStages=[{"apiId": api["id"], "stage": "v1"}],
        throttle={"rateLimit": 10, "burstLimit": 5},
        quota={"limit": 100, "period": "DAY"},
    )
    plan_key = apigw.create_usage_plan_key(
        usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY"
    )
    assert plan_key == {**plan_key, "id": key["id"], "type": "API_KEY", "name": "k1"}
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [
        key["id"]
    ]
    assert [p["id"] for p in apigw.get_usage_plans(keyId=key["id"])["items"]] == [plan["id"]]
    updated = apigw.update_usage_plan(
        usagePlanId=plan["id"],
        patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "20"},
            {"op": "replace", "path": "/quota/limit", "value": "200"},
        ],
    )
    assert updated["throttle"]["rateLimit"] == 20.0 and updated["quota"]["limit"] == 200
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate="2024-01-01", endDate="2024-01-02")
    assert usage["items"] == {key["id"]: [[0, 200]]}
    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    apigw.delete_usage_plan(usagePlanId=plan["id"])
    apigw.delete_api_key(apiKey=key["id"])
    apigw.delete_api_key(apiKey=generated["id"])
    assert error_of(apigw.get_api_key, apiKey=key["id"])["Code"] == "NotFoundException"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_import_and_export_openapi(apigw, fmt):
    import orjson
    import yaml

    definition = {
        "openapi": "3.0.1",
        "info": {"title": "imported", "version": "1"},
        "paths": {
            "/pets/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                    "security": [{"api_key": []}],
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {
                            "default": {
                                "statusCode": "200",
                                "responseTemplates": {
                                    "application/json": '{"id": "$input.params(\'id\')"}'
                                },
                            }
                        },
                    },
                }
            }
        },
        "components": {
            "schemas": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
        },
    }
    body = orjson.dumps(definition) if fmt == "json" else yaml.safe_dump(definition).encode()
    api = apigw.import_rest_api(body=body)
    try:
        assert api["name"] == "imported"
        resources = {
            r["path"]: r
            for r in apigw.get_resources(restApiId=api["id"], embed=["methods"])["items"]
        }
        method = resources["/pets/{id}"]["resourceMethods"]["GET"]
        assert method["apiKeyRequired"] is True
        assert method["requestParameters"] == {"method.request.path.id": True}
        assert method["methodIntegration"]["type"] == "MOCK"
        assert method["methodIntegration"]["integrationResponses"]["200"]["responseTemplates"]
        assert "Pet" in {m["name"] for m in apigw.get_models(restApiId=api["id"])["items"]}
        apigw.create_deployment(restApiId=api["id"], stageName="s")
        exported = apigw.get_export(
            restApiId=api["id"],
            stageName="s",
            exportType="oas30",
            parameters={"extensions": "integrations"},
        )
        doc = orjson.loads(exported["body"].read())
        assert doc["openapi"].startswith("3.0") and "/pets/{id}" in doc["paths"]
        assert (
            doc["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"]["type"] == "mock"
        )
        swagger = apigw.get_export(
            restApiId=api["id"], stageName="s", exportType="swagger", accepts="application/yaml"
        )
        assert yaml.safe_load(swagger["body"].read())["swagger"] == "2.0"
        apigw.put_rest_api(
            restApiId=api["id"],
            mode="overwrite",
            body=orjson.dumps(
                {**definition, "paths": {"/other": definition["paths"]["/pets/{id}"]}}
            ),
        )
        paths = {r["path"] for r in apigw.get_resources(restApiId=api["id"])["items"]}
        assert paths == {"/", "/other"}
    finally:
        apigw.delete_rest_api(restApiId=api["id"])
