"""Helpers of the API Gateway tests: REST APIs deleted afterwards, Lambda functions shared per
module, and plain HTTP calls to invoke URLs (path-style, which needs no DNS)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from awslambda.conftest import ROLE, RUNTIME, make_zip
from conftest import http

#: a proxy handler answering with the event it got
ECHO_PROXY = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(event)}
"""


@pytest.fixture
def apigw(aws_client):
    return aws_client("apigateway")


@pytest.fixture
def lam(aws_client):
    return aws_client("lambda")


@pytest.fixture
def rest_api(apigw) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create REST APIs, deleted at the end of the test."""
    made: list[str] = []

    def make(**kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("name", f"api-{uuid.uuid4().hex[:8]}")
        api = apigw.create_rest_api(**kwargs)
        made.append(api["id"])
        return api

    yield make
    for api_id in made:
        with contextlib.suppress(ClientError):
            apigw.delete_rest_api(restApiId=api_id)


@pytest.fixture(scope="module")
def function(aws_client) -> Iterator[Callable[[str], str]]:
    """Create Lambda functions from handler source (one per distinct source in a module);
    returns the function's ARN."""
    lam = aws_client("lambda")
    made: dict[str, str] = {}

    def make(code: str) -> str:
        if code not in made:
            name = f"apigw-{uuid.uuid4().hex[:10]}"
            out = lam.create_function(
                FunctionName=name,
                Runtime=RUNTIME,
                Handler="app.handler",
                Role=ROLE,
                Code={"ZipFile": make_zip({"app.py": code})},
            )
            made[code] = out["FunctionArn"]
        return made[code]

    yield make
    for arn in made.values():
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=arn)


def lambda_uri(arn: str, region: str = "us-east-1") -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def method_with(
    apigw, api_id: str, resource_id: str, verb: str = "GET", **integration: Any
) -> None:
    """PutMethod (no auth) and PutIntegration in one go."""
    apigw.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE"
    )
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **integration)


def proxy_api(apigw, rest_api, arn: str, path_part: str = "{proxy+}") -> tuple[str, str]:
    """An API with `ANY /<path_part>` proxied to a function, deployed to `test`: (id, resource)."""
    api = rest_api()
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart=path_part
    )
    method_with(
        apigw,
        api["id"],
        resource["id"],
        "ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn),
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    return api["id"], resource["id"]


def call(
    endpoint: str,
    api_id: str,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    stage: str = "test",
) -> tuple[int, dict[str, str], bytes]:
    """A request to a stage through the path-style invoke URL."""
    return http(method, f"{endpoint}/_cloudlet/apigateway/{api_id}/{stage}{path}", body, headers)


def json_of(body: bytes) -> Any:
    return orjson.loads(body)
