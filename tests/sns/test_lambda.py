"""Lambda subscribers: a real function receives the SNS event (and writes it to a queue)."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile

from .conftest import unique, verify_signature

FORWARDER = """
import json, os
import boto3

sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
"""


def make_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
    return buffer.getvalue()


def test_function_receives_the_sns_event(cloud, aws_client):
    lam = aws_client("lambda")
    url, _ = cloud.queue()
    name = unique("fn")
    function = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Code={"ZipFile": make_zip(FORWARDER)},
        Environment={"Variables": {"QUEUE_URL": url}},
    )
    try:
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        topic = cloud.topic()
        sub = cloud.sns.subscribe(
            TopicArn=topic, Protocol="lambda", Endpoint=function["FunctionArn"]
        )
        published = cloud.sns.publish(
            TopicArn=topic,
            Message="to a function",
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
        )
        event = json.loads(cloud.receive(url, 1, timeout=30)[0]["Body"])
        [record] = event["Records"]
        assert record["EventSource"] == "aws:sns"
        assert record["EventVersion"] == "1.0"
        assert record["EventSubscriptionArn"] == sub["SubscriptionArn"]
        sns = record["Sns"]
        assert sns["Type"] == "Notification"
        assert sns["MessageId"] == published["MessageId"]
        assert (sns["TopicArn"], sns["Message"], sns["Subject"]) == (topic, "to a function", None)
        assert sns["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
        assert sns["UnsubscribeUrl"].endswith(sub["SubscriptionArn"])
        verify_signature(sns, cert_field="SigningCertUrl")
    finally:
        lam.delete_function(FunctionName=name)


def test_missing_function_dead_letters(cloud):
    topic = cloud.topic()
    dlq_url, dlq_arn = cloud.queue()
    cloud.sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=f"arn:aws:lambda:us-east-1:000000000000:function:{unique('gone')}",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})},
    )
    cloud.sns.publish(TopicArn=topic, Message="nobody home")
    body = json.loads(cloud.receive(dlq_url, 1)[0]["Body"])
    assert (body["Type"], body["Message"]) == ("Notification", "nobody home")
