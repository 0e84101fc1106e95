"""Destinations on SNS topics and EventBridge buses: the record travels as AWS sends it."""

from __future__ import annotations

import json
import uuid

import pytest

from .test_async import FAILS, Cloud


@pytest.fixture
def cloud(endpoint: str) -> Cloud:
    return Cloud(endpoint)


def test_on_success_to_an_sns_topic_publishes_the_record(cloud: Cloud, aws_client):
    sns = aws_client("sns")
    topic = sns.create_topic(Name=f"results-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, queue_arn = cloud.queue("sns-sub")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    name = cloud.function("def handler(event, context):\n    return {'ok': event['n']}\n")
    cloud.lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}}
    )
    cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 7}')
    record = cloud.record(url)
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"ok": 7}


def test_on_failure_to_an_event_bus_emits_an_invocation_result_event(cloud: Cloud, aws_client):
    events = aws_client("events")
    bus = events.create_event_bus(Name=f"results-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    bus_name = bus.rpartition("/")[2]
    url, queue_arn = cloud.queue("bus-target")
    events.put_rule(
        Name="failures",
        EventBusName=bus_name,
        EventPattern=json.dumps(
            {"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Failure"]}
        ),
    )
    events.put_targets(
        Rule="failures", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    name = cloud.function(FAILS)
    cloud.lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": bus}},
    )
    cloud.lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 3}')
    event = cloud.record(url)
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert event["detail"]["responsePayload"]["errorMessage"] == "boom: 3"
    assert bus in event["resources"]
