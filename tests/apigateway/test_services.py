"""AWS service integrations (Step Functions StartExecution, SQS SendMessage) and HTTP /
HTTP_PROXY integrations to a real local HTTP server."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from apigateway.conftest import call, json_of, method_with
from awslambda.conftest import wait_for

ROLE = "arn:aws:iam::000000000000:role/apigw"


def test_step_functions_start_execution(apigw, aws_client, rest_api, endpoint):
    sfn = aws_client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}",
        roleArn=ROLE,
        definition=json.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        ),
    )["stateMachineArn"]
    api = rest_api()
    template = (
        f'{{"input": "$util.escapeJavaScript($input.json(\'$\'))", "stateMachineArn": "{machine}"}}'
    )
    method_with(
        apigw,
        api["id"],
        api["rootResourceId"],
        "POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri="arn:aws:apigateway:us-east-1:states:action/StartExecution",
        requestTemplates={"application/json": template},
    )
    apigw.put_method_response(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST", statusCode="200"
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    try:
        status, _, body = call(
            endpoint, api["id"], "/", "POST", b'{"order": 7}', {"Content-Type": "application/json"}
        )
        assert status == 200, body
        arn = json_of(body)["executionArn"]
        done = wait_for(
            lambda: (
                sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
                and sfn.describe_execution(executionArn=arn)
            )
        )
        assert json.loads(done["output"]) == {"order": 7}
    finally:
        sfn.delete_state_machine(stateMachineArn=machine)


def test_sqs_send_message(apigw, aws_client, rest_api, endpoint):
    sqs = aws_client("sqs")
    name = f"q-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    api = rest_api()
    method_with(
        apigw,
        api["id"],
        api["rootResourceId"],
        "POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:sqs:path/000000000000/{name}",
        requestParameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        requestTemplates={
            "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
        },
    )
    apigw.put_method_response(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST", statusCode="200"
    )
    apigw.put_integration_response(
        restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST", statusCode="200"
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    try:
        status, _, body = call(
            endpoint,
            api["id"],
            "/",
            "POST",
            b'{"hello": "queue & co"}',
            {"Content-Type": "application/json"},
        )
        assert status == 200, body
        assert b"<MessageId>" in body
        message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]
        assert json.loads(message["Body"]) == {"hello": "queue & co"}
    finally:
        sqs.delete_queue(QueueUrl=queue)


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    """A real HTTP server that echoes what it got, as JSON."""

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
            status = 404 if "missing" in self.path else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "echo")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_proxy(apigw, rest_api, backend, endpoint):
    api = rest_api()
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}"
    )
    apigw.put_method(
        restApiId=api["id"],
        resourceId=resource["id"],
        httpMethod="ANY",
        authorizationType="NONE",
        requestParameters={"method.request.path.proxy": True},
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=resource["id"],
        httpMethod="ANY",
        type="HTTP_PROXY",
        integrationHttpMethod="ANY",
        uri=f"{backend}/base/{{proxy}}",
        requestParameters={
            "integration.request.path.proxy": "method.request.path.proxy",
            "integration.request.header.X-From": "'gateway'",
        },
    )
    apigw.create_deployment(restApiId=api["id"], stageName="test")
    status, headers, body = call(
        endpoint, api["id"], "/a/b?x=1", "PUT", b"data", {"Content-Type": "text/plain"}
    )
    assert status == 200 and headers["X-Backend"] == "echo"
    echoed = json_of(body)
    assert echoed["method"] == "PUT" and echoed["path"] == "/base/a/b?x=1"
    assert echoed["body"] == "data" and echoed["headers"]["x-from"] == "gateway"
    assert call(endpoint, api["id"], "/missing")[0] == 404


def test_http_integration_with_templates(apigw, rest_api, backend, endpoint):
    api = rest_api()
    api_id, root = api["id"], api["rootResourceId"]
    apigw.put_method(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        authorizationType="NONE",
        requestParameters={"method.request.querystring.item": True},
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        type="HTTP",
        integrationHttpMethod="POST",
        uri=f"{backend}/items/{{item}}",
        requestParameters={"integration.request.path.item": "method.request.querystring.item"},
        requestTemplates={"application/json": "{\"wrapped\": $input.json('$')}"},
    )
    for status in ("200", "404"):
        apigw.put_method_response(
            restApiId=api_id,
            resourceId=root,
            httpMethod="POST",
            statusCode=status,
            responseParameters={"method.response.header.X-Backend": False},
        )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="200",
        responseParameters={
            "method.response.header.X-Backend": "integration.response.header.X-Backend"
        },
        responseTemplates={
            "application/json": '{"sent": $input.path(\'$.body\'), "path": "$input.path(\'$.path\')"}'
        },
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=root,
        httpMethod="POST",
        statusCode="404",
        selectionPattern="4\\d{2}",
    )
    apigw.create_deployment(restApiId=api_id, stageName="test")
    status, headers, body = call(
        endpoint, api_id, "/?item=42", "POST", b'{"n": 1}', {"Content-Type": "application/json"}
    )
    assert status == 200 and headers["X-Backend"] == "echo"
    out = json_of(body)
    assert out["path"] == "/items/42" and out["sent"] == {"wrapped": {"n": 1}}
    assert (
        call(
            endpoint, api_id, "/?item=missing", "POST", b"{}", {"Content-Type": "application/json"}
        )[0]
        == 404
    )
