"""Failed deliveries: retries on cloudlet's clock, dead-letter queues with AWS's attributes, and
retries that survive a restart."""

from __future__ import annotations

import json
import uuid

from cloudlet.server import free_port

from .conftest import Cloud, Endpoint, wait_for


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_rule(cloud: Cloud, url: str, **target) -> tuple[str, str]:
    """A rule sending source `<src>` to an API destination at `url`: (source, rule ARN)."""
    conn = cloud.events.create_connection(
        Name=unique("conn"),
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    dest = cloud.events.create_api_destination(
        Name=unique("dest"), ConnectionArn=conn, InvocationEndpoint=url, HttpMethod="POST"
    )["ApiDestinationArn"]
    src, rule = f"test.{uuid.uuid4().hex[:8]}", unique("rule")
    arn = cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))["RuleArn"]
    cloud.events.put_targets(Rule=rule, Targets=[{"Id": "api", "Arn": dest, **target}])
    return src, arn


def attributes(message: dict) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def test_retries_then_dead_letter_queue(clock_cloud: Cloud, endpoint_server: Endpoint) -> None:
    cloud = clock_cloud
    endpoint_server.status = 500
    dlq, dlq_arn = cloud.queue("dlq")
    url = endpoint_server.url + "/failing"
    src, rule_arn = api_rule(
        cloud,
        url,
        RetryPolicy={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        DeadLetterConfig={"Arn": dlq_arn},
    )
    sent = cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": "{}"}])
    for attempts in (1, 2, 3):
        wait_for(lambda n=attempts: len(endpoint_server.calls("/failing")) >= n)
        if attempts < 3:
            cloud.advance("10s")
    [message] = cloud.messages(dlq, MessageAttributeNames=["All"])
    assert json.loads(message["Body"])["id"] == sent["Entries"][0]["EventId"]
    found = attributes(message)
    assert found["RULE_ARN"] == rule_arn
    assert found["TARGET_ARN"].startswith("arn:aws:events:us-east-1:000000000000:api-destination/")
    assert found["ERROR_CODE"] == "SDK_CLIENT_ERROR"
    assert "500" in found["ERROR_MESSAGE"]
    assert found["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert found["RETRY_ATTEMPTS"] == "2"
    assert len(endpoint_server.calls("/failing")) == 3


def test_event_age_ends_retries(clock_cloud: Cloud, endpoint_server: Endpoint) -> None:
    cloud = clock_cloud
    endpoint_server.status = 503
    dlq, dlq_arn = cloud.queue("dlq")
    src, _ = api_rule(
        cloud,
        endpoint_server.url + "/aging",
        RetryPolicy={"MaximumEventAgeInSeconds": 60},
        DeadLetterConfig={"Arn": dlq_arn},
    )
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: endpoint_server.calls("/aging"))
    cloud.advance("2m")
    [message] = cloud.messages(dlq, MessageAttributeNames=["All"])
    assert attributes(message)["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"


def test_missing_function_goes_to_the_dead_letter_queue_without_retries(clock_cloud: Cloud) -> None:
    cloud = clock_cloud
    dlq, dlq_arn = cloud.queue("dlq")
    src, rule = f"test.{uuid.uuid4().hex[:8]}", unique("rule")
    cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    missing = "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist"
    cloud.events.put_targets(
        Rule=rule, Targets=[{"Id": "fn", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}]
    )
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": "{}"}])
    [message] = cloud.messages(dlq, MessageAttributeNames=["All"])
    found = attributes(message)
    assert (found["ERROR_CODE"], found["RETRY_ATTEMPTS"], found["TARGET_ARN"]) == (
        "NO_RESOURCE",
        "0",
        missing,
    )
    assert "EXHAUSTED_RETRY_CONDITION" not in found


def test_pending_retries_survive_a_crash(cloudlet_process) -> None:
    port = free_port()  # nothing listens here yet: deliveries fail and wait for their retry
    cloudlet_process.start()
    cloud = Cloud(cloudlet_process.endpoint)
    src, _ = api_rule(cloud, f"http://127.0.0.1:{port}/later")
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": '{"n": 1}'}])
    cloudlet_process.kill()
    endpoint = Endpoint(port)
    try:
        cloudlet_process.start()
        cloud = Cloud(cloudlet_process.endpoint)
        cloud.advance("10m")
        [call] = wait_for(lambda: endpoint.calls("/later"), timeout=15)
        assert json.loads(call["body"])["detail"] == {"n": 1}
    finally:
        endpoint.close()
