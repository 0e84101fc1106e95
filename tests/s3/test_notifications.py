"""Event notifications to SQS, Lambda, SNS and EventBridge, in AWS's record format."""

from __future__ import annotations

import json
import uuid

from tests.awslambda.conftest import make_zip
from tests.s3.conftest import error_of, wait_for


def receive_all(sqs, url: str, count: int) -> list[dict]:
    got: list[dict] = []

    def enough() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= count

    wait_for(enough)
    return got


def test_sqs_records_with_filters(s3, sqs, bucket):
    url = sqs.create_queue(QueueName=f"s3-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "in/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert config["QueueConfigurations"][0]["Id"] == "uploads"
    [test] = receive_all(sqs, url, 1)
    assert (test["Event"], test["Bucket"], test["Service"]) == ("s3:TestEvent", bucket, "Amazon S3")
    s3.put_object(Bucket=bucket, Key="in/skip.txt", Body=b"no")
    s3.put_object(Bucket=bucket, Key="in/a b.csv", Body=b"12345")
    s3.copy_object(Bucket=bucket, Key="in/copy.csv", CopySource=f"{bucket}/in/a b.csv")
    s3.delete_object(Bucket=bucket, Key="in/copy.csv")
    records = [m["Records"][0] for m in receive_all(sqs, url, 3)]
    assert [r["eventName"] for r in records] == [
        "ObjectCreated:Put",
        "ObjectCreated:Copy",
        "ObjectRemoved:Delete",
    ]
    put = records[0]
    assert put["eventVersion"] == "2.1" and put["eventSource"] == "aws:s3"
    assert put["awsRegion"] == "us-east-1"
    assert put["s3"]["configurationId"] == "uploads"
    assert put["s3"]["bucket"]["name"] == bucket
    assert put["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert put["s3"]["object"]["key"] == "in/a+b.csv"
    assert put["s3"]["object"]["size"] == 5
    assert put["s3"]["object"]["eTag"] == "827ccb0eea8a706c4c34a16891f84e7b"
    assert "x-amz-request-id" in put["responseElements"]
    assert records[0]["s3"]["object"]["sequencer"] < records[1]["s3"]["object"]["sequencer"]
    bad = error_of(
        s3.put_bucket_notification_configuration,
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn + "-missing", "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    assert bad["Code"] == "InvalidArgument"


def test_lambda_and_eventbridge(s3, bucket, aws_client, server):
    lam, logs = aws_client("lambda"), aws_client("logs")
    name = f"s3-handler-{uuid.uuid4().hex[:8]}"
    code = make_zip(
        {
            "app.py": "def handler(event, context):\n    print('GOT', event['Records'][0]['eventName'], event['Records'][0]['s3']['object']['key'])\n"
        }
    )
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/r",
        Code={"ZipFile": code},
    )["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:Put"]}
            ],
            "EventBridgeConfiguration": {},
        },
    )
    server.app.events.clear()
    s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"jpeg")
    s3.delete_object(Bucket=bucket, Key="photo.jpg")

    def logged() -> bool:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}").get("events", [])
        except logs.exceptions.ResourceNotFoundException:
            return False
        return any("GOT ObjectCreated:Put photo.jpg" in e["message"] for e in events)

    wait_for(logged, timeout=30)
    events = server.app.events.recent(source="aws.s3")
    assert [e["detail-type"] for e in events] == ["Object Created", "Object Deleted"]
    created, deleted = events
    assert created["detail"]["object"]["key"] == "photo.jpg"
    assert created["detail"]["reason"] == "PutObject"
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"
    lam.delete_function(FunctionName=name)


def test_sns_topic(s3, sqs, aws_client, bucket):
    sns = aws_client("sns")
    topic = sns.create_topic(Name=f"s3-topic-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"s3-sns-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket=bucket, Key="via-sns", Body=b"x")
    [message] = receive_all(sqs, url, 1)
    assert message["Records"][0]["s3"]["object"]["key"] == "via-sns"
