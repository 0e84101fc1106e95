"""Landing from LocalStack or moto: the endpoints and commands their users' scripts rely on."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from conftest import CloudletProcess, http


def test_localstack_health_lists_services_as_running(endpoint):
    status, _, body = http("GET", endpoint + "/_localstack/health")
    health = orjson.loads(body)
    assert status == 200
    assert health["services"]["sqs"] == "running"
    assert health["services"]["lambda"] == "running"
    assert "version" in health


def test_moto_reset_auth_is_accepted(endpoint):
    assert http("POST", endpoint + "/moto-api/reset-auth", b'{"allow_auth": 0}')[0] == 200


def test_cloudlet_aws_runs_the_cli_against_cloudlet(endpoint, sqs, unique):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["CLOUDLET_ENDPOINT"] = endpoint
    name = f"via-cloudlet-aws-{unique}"
    created = subprocess.run(
        [sys.executable, "-m", "cloudlet", "aws", "sqs", "create-queue", "--queue-name", name],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert orjson.loads(created.stdout)["QueueUrl"].endswith(f"/000000000000/{name}")
    assert name in str(sqs.list_queues(QueueNamePrefix=name).get("QueueUrls"))


def test_cloudlet_aws_reaches_start_sync_execution_despite_its_host_prefix(
    endpoint, aws_client, unique
):
    """The model sends StartSyncExecution to `sync-<host>`; `cloudlet aws` turns that off."""
    machine = aws_client("stepfunctions").create_state_machine(
        name=f"sync-cli-{unique}",
        type="EXPRESS",
        roleArn="arn:aws:iam::000000000000:role/sfn",
        definition=orjson.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": 42, "End": True}}}
        ).decode(),
    )["stateMachineArn"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["CLOUDLET_ENDPOINT"] = endpoint.replace("127.0.0.1", "localhost")  # a name, as users have
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudlet",
            "aws",
            "stepfunctions",
            "start-sync-execution",
            "--state-machine-arn",
            machine,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result["status"] == "SUCCEEDED" and result["output"] == "42"


def test_account_id_option_sets_the_default_account(tmp_path):
    process = CloudletProcess(tmp_path / "data")
    process.start("--account-id", "123456789012")
    try:
        sts = process.client("sts")
        assert sts.get_caller_identity()["Account"] == "123456789012"
        url = process.client("sqs").create_queue(QueueName="mine")["QueueUrl"]
        assert "/123456789012/mine" in url
    finally:
        process.stop()


def _public_site(s3, bucket: str) -> None:
    import json

    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>hello</h1>", ContentType="text/html")


def test_website_host_names_of_localstack_and_aws(aws_client, endpoint, unique):
    bucket = f"site-{unique}"
    _public_site(aws_client("s3"), bucket)
    for host in (
        f"{bucket}.s3-website.localhost.localstack.cloud",
        f"{bucket}.s3-website-us-east-1.amazonaws.com",
        f"{bucket}.s3-website.us-east-1.amazonaws.com",
        f"{bucket}.s3-website.localhost",
    ):
        status, _, body = http("GET", endpoint + "/", headers={"Host": host})
        assert status == 200, host
        assert body == b"<h1>hello</h1>"


def test_s3_virtual_host_of_localstack(aws_client, endpoint, unique):
    bucket = f"vh-{unique}"
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"virtual")
    status, _, body = http(
        "GET", endpoint + "/k.txt", headers={"Host": f"{bucket}.s3.localhost.localstack.cloud"}
    )
    # S3 request authorization is not enforced yet: the unsigned GET reads the object
    assert (status, body) == (200, b"virtual")


def test_website_host_names_in_a_browser(aws_client, endpoint, unique, chromium):
    """A browser reaches a bucket website by LocalStack's and AWS's host names (no DNS here:
    Chromium maps every host to this machine, keeping the port)."""
    bucket = f"browse-{unique}"
    _public_site(aws_client("s3"), bucket)
    port = endpoint.rsplit(":", 1)[1]
    driver = chromium("--host-resolver-rules=MAP * 127.0.0.1")
    for host in (
        f"{bucket}.s3-website.localhost.localstack.cloud",
        f"{bucket}.s3-website-us-east-1.amazonaws.com",
        f"{bucket}.s3-website.localhost",
    ):
        driver.get(f"http://{host}:{port}/")
        assert driver.find_element("tag name", "h1").text == "hello", host


def test_info_lists_every_url_form(endpoint):
    info = orjson.loads(http("GET", endpoint + "/_cloudlet/info")[2])
    aliases = info["url_aliases"]
    assert any(
        "execute-api.localhost.localstack.cloud" in u for u in aliases["apigateway_invoke_url"]
    )
    assert any("/_user_request_/" in u for u in aliases["apigateway_invoke_url"])
    assert any("/_aws/execute-api/" in u for u in aliases["apigateway_invoke_url"])
    assert any("s3-website-{region}.amazonaws.com" in u for u in aliases["s3_website"])
    assert any("localstack.cloud" in u for u in aliases["s3_virtual_host"])
    assert info["urls"]["s3_website_path"].endswith("/_cloudlet/s3-website/{bucket}/")
