"""A handler's SDK reaches this cloudlet through AWS_ENDPOINT_URL and its role credentials."""

from __future__ import annotations

import boto3

from runtime.conftest import payload_of


def test_boto3_in_a_handler_reaches_cloudlet(make_harness, unique):
    harness = make_harness(serve=True)
    spec = harness.function(
        {
            "app.py": """
                import boto3
                SQS = boto3.client("sqs")

                def handler(event, context):
                    return SQS.create_queue(QueueName=event["name"])["QueueUrl"]
            """
        },
        timeout_s=30,
        memory_mb=512,
    )
    name = f"from-lambda-{unique}"
    result = harness.invoke(spec, f'{{"name": "{name}"}}'.encode())
    assert result.function_error is None, result.payload
    assert payload_of(result).endswith(f"/000000000000/{name}")
    sqs = boto3.client(
        "sqs",
        endpoint_url=harness.server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"].endswith(name)
