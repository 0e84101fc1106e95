"""Rules delivering to Lambda, SNS and CloudWatch Logs targets (SQS and buses: test_putevents)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

from .conftest import Cloud, wait_for

ECHO = "def handler(event, context):\n    return {'got': event}\n"


def function_zip(code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", code)
    return buffer.getvalue()


def source() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


def test_lambda_target_is_invoked_asynchronously_with_the_event(cloud: Cloud) -> None:
    lam = cloud.client("lambda")
    name = f"fn-{uuid.uuid4().hex[:10]}"
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler="app.handler",
        Role="arn:aws:iam::000000000000:role/r",
        Code={"ZipFile": function_zip(ECHO)},
    )["FunctionArn"]
    records, records_arn = cloud.queue("records")
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": records_arn}}
    )
    src = source()
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    cloud.events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}])
    sent = cloud.events.put_events(
        Entries=[{"Source": src, "DetailType": "t", "Detail": '{"k": "v"}'}]
    )["Entries"][0]["EventId"]
    [record] = cloud.bodies(records, timeout=30)
    assert record["requestPayload"]["id"] == sent
    assert record["responsePayload"]["got"]["detail"] == {"k": "v"}


def test_sns_target_publishes_the_event(cloud: Cloud) -> None:
    sns = cloud.client("sns")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, arn = cloud.queue("sub")
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    src = source()
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    cloud.events.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic}])
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": '{"n": 1}'}])
    [event] = cloud.bodies(url)
    assert (event["source"], event["detail"]) == (src, {"n": 1})


def test_log_group_target_writes_one_stream_per_event(cloud: Cloud) -> None:
    logs = cloud.client("logs")
    group = f"/aws/events/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    src = source()
    rule = f"rule-{uuid.uuid4().hex[:8]}"
    cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    group_arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    cloud.events.put_targets(Rule=rule, Targets=[{"Id": "logs", "Arn": group_arn}])
    sent = cloud.events.put_events(
        Entries=[{"Source": src, "DetailType": "t", "Detail": '{"n": 2}'}]
    )["Entries"][0]["EventId"]

    def found():
        return logs.filter_log_events(logGroupName=group).get("events")

    [event] = wait_for(found)
    assert event["logStreamName"] == sent
    assert json.loads(event["message"])["detail"] == {"n": 2}
