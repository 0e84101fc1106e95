"""API Gateway -> Lambda proxy: what the gateway adds over invoking the function directly.

Targets (API Gateway issue), on this 2-core machine:
- p50 latency added by a REST API stage with an AWS_PROXY integration, over a direct warm
  Invoke of the same function, under 1 ms (both measured with one keep-alive HTTP connection,
  so no SDK cost hides or adds anything);
- at least 1,000 requests/s through one stage with 8 concurrent HTTP clients (wrk).
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from common import client, free_port, handler_zip, start_cloudlet, until_ready

CALLS = int(os.environ.get("CALLS", "2000"))
DURATION = os.environ.get("DURATION", "5s")
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def p50_ms(
    connection: http.client.HTTPConnection, method: str, path: str, headers: dict, body: bytes
) -> float:
    def once() -> None:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")

    for _ in range(200):
        once()
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        once()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def signed_invoke(port: int, name: str) -> tuple[str, dict[str, str]]:
    path = f"/2015-03-31/functions/{name}/invocations"
    request = AWSRequest(
        method="POST",
        url=f"http://127.0.0.1:{port}{path}",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(request)
    return path, dict(request.headers)


def deploy_api(port: int, function_arn: str) -> str:
    apigw = client("apigateway", port)
    api = apigw.create_rest_api(name="bench")
    resource = apigw.create_resource(
        restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}"
    )
    apigw.put_method(
        restApiId=api["id"], resourceId=resource["id"], httpMethod="ANY", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=resource["id"],
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api["id"], stageName="bench")
    return api["id"]


def wrk(url: str) -> str:
    return subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{DURATION}", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def main() -> None:
    port = free_port()
    data_dir = tempfile.mkdtemp()
    server = start_cloudlet(port, data_dir)
    try:
        lam = client("lambda", port)
        until_ready(lam.list_functions)
        arn = lam.create_function(
            FunctionName="proxied",
            Runtime="python3.12",
            Handler="app.handler",
            Role="arn:aws:iam::000000000000:role/bench",
            Code={"ZipFile": handler_zip(HANDLER)},
        )["FunctionArn"]
        api_id = deploy_api(port, arn)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        path, headers = signed_invoke(port, "proxied")
        direct = p50_ms(connection, "POST", path, headers, b"{}")
        stage_path = f"/_cloudlet/apigateway/{api_id}/bench/items/42"
        through = p50_ms(connection, "GET", stage_path, {"User-Agent": "bench"}, b"")
        print(f"direct warm Invoke p50:          {direct:.3f} ms")
        print(f"through API Gateway (proxy) p50: {through:.3f} ms")
        print(f"added by API Gateway p50:        {through - direct:.3f} ms (target < 1 ms)")
        if shutil.which("wrk"):
            out = wrk(f"http://127.0.0.1:{port}{stage_path}")
            rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
            print(
                f"wrk, 8 connections, one stage:   {float(rate.group(1)) if rate else 0:,.0f} requests/s (target >= 1,000)"
            )
            latency = re.search(r"50%\s+(\S+)", out)
            print(f"wrk p50 latency:                 {latency.group(1) if latency else '?'}")
        else:
            print("wrk not installed: throughput not measured (apt-get install wrk)")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
