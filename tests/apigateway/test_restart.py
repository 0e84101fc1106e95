"""Deployed APIs survive a restart: the stage answers as before, from the stored snapshot."""

from __future__ import annotations

from conftest import http


def test_stage_serves_after_restart(cloudlet_process):
    cloudlet_process.start()
    apigw = cloudlet_process.client("apigateway")
    api = apigw.create_rest_api(name="durable")
    root = api["rootResourceId"]
    apigw.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=root,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(
        restApiId=api["id"], resourceId=root, httpMethod="GET", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api["id"],
        resourceId=root,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"stage": "$context.stage"}'},
    )
    apigw.create_deployment(restApiId=api["id"], stageName="live")
    url = f"{cloudlet_process.endpoint}/_cloudlet/apigateway/{api['id']}/live/"
    assert http("GET", url)[2] == b'{"stage": "live"}'
    cloudlet_process.kill()
    cloudlet_process.start()
    assert http("GET", url)[2] == b'{"stage": "live"}'
