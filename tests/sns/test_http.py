"""HTTP/S subscribers: a real local HTTP server confirms, receives signed messages, fails and is
retried by the delivery policy on cloudlet's clock, and dead-letters what it never takes."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Cloud, Endpoint, http, verify_signature, wait_for


def confirm(cloud: Cloud, server: Endpoint, topic: str) -> str:
    """Subscribe the server and follow the SubscribeURL it got; returns the subscription ARN."""
    assert cloud.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=server.url)[
        "SubscriptionArn"
    ] == ("pending confirmation")
    [request] = server.wait("SubscriptionConfirmation")
    status, _, body = http("GET", request.json["SubscribeURL"])
    assert status == 200, body
    [sub] = [
        s["SubscriptionArn"]
        for s in cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    ]
    assert sub.encode() in body
    return sub


def test_confirmation_notifications_and_unsubscribe(cloud, endpoint_server):
    topic = cloud.topic()
    cloud.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint_server.url)
    [request] = endpoint_server.wait("SubscriptionConfirmation")
    message = request.json
    assert list(message) == [
        "Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
        "SignatureVersion", "Signature", "SigningCertURL",
    ]  # fmt: skip
    assert message["Message"] == (
        f"You have chosen to subscribe to the topic {topic}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )
    assert message["SubscribeURL"] == (
        f"{cloud.endpoint}/?Action=ConfirmSubscription&TopicArn={topic}&Token={message['Token']}"
    )
    assert request.headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert request.headers["x-amz-sns-topic-arn"] == topic
    assert request.headers["x-amz-sns-message-id"] == message["MessageId"]
    assert "x-amz-sns-subscription-arn" not in request.headers
    assert request.headers["content-type"] == "text/plain; charset=UTF-8"
    assert request.headers["user-agent"] == "Amazon Simple Notification Service Agent"
    verify_signature(message)
    [pending] = cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    cloud.sns.publish(TopicArn=topic, Message="not yet")  # pending subscriptions get nothing

    status, _, body = http("GET", message["SubscribeURL"])
    assert status == 200 and b"<ConfirmSubscriptionResult>" in body
    [sub] = [
        s["SubscriptionArn"]
        for s in cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    ]
    attributes = cloud.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    policy = json.loads(attributes["EffectiveDeliveryPolicy"])
    assert policy["healthyRetryPolicy"]["numRetries"] == 3
    assert policy["requestPolicy"] == {"headerContentType": "text/plain; charset=UTF-8"}

    published = cloud.sns.publish(TopicArn=topic, Message="hello over http", Subject="hi")
    [note] = endpoint_server.wait("Notification")
    assert (
        note.json["Message"] == "hello over http"
        and note.json["MessageId"] == published["MessageId"]
    )
    assert note.headers["x-amz-sns-subscription-arn"] == sub
    assert note.headers["x-amz-sns-message-id"] == published["MessageId"]
    verify_signature(note.json)

    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    cloud.sns.publish(TopicArn=topic, Message="raw body")
    raw = endpoint_server.wait("Notification", 2)[1]
    assert raw.body == b"raw body" and raw.headers["x-amz-sns-rawdelivery"] == "true"

    cloud.sns.unsubscribe(SubscriptionArn=sub)
    [goodbye] = endpoint_server.wait("UnsubscribeConfirmation")
    assert goodbye.headers["x-amz-sns-subscription-arn"] == sub
    assert goodbye.json["Message"].startswith(f"You have chosen to deactivate subscription {sub}.")
    verify_signature(goodbye.json)
    assert cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    # its SubscribeURL restores the subscription
    assert http("GET", goodbye.json["SubscribeURL"])[0] == 200
    [back] = cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert back["SubscriptionArn"] == sub


def test_content_type_from_delivery_policy(cloud, endpoint_server):
    topic = cloud.topic()
    sub = confirm(cloud, endpoint_server, topic)
    policy = {"requestPolicy": {"headerContentType": "application/json"}}
    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy)
    )
    cloud.sns.publish(TopicArn=topic, Message="typed")
    [note] = endpoint_server.wait("Notification")
    assert note.headers["content-type"] == "application/json"


def keep_advancing(cloud: Cloud, condition: Any, step: str = "20s", timeout: float = 15.0) -> Any:
    """Move the clock on until `condition` holds: retries fall due, wherever they were scheduled."""

    def check() -> Any:
        found = condition()
        if not found:
            cloud.advance(step)
        return found

    return wait_for(check, timeout, interval=0.05)


def test_retries_until_the_endpoint_answers(clock_cloud, endpoint_server):
    cloud = clock_cloud
    topic = cloud.topic()
    confirm(cloud, endpoint_server, topic)
    endpoint_server.statuses = [500, 503]
    published = cloud.sns.publish(TopicArn=topic, Message="eventually")
    attempts = keep_advancing(
        cloud, lambda: (n := endpoint_server.of_type("Notification")) and len(n) >= 3 and n
    )
    assert {a.json["MessageId"] for a in attempts} == {published["MessageId"]}
    assert all(a.body == attempts[0].body for a in attempts)  # retries resend the same message
    cloud.advance("60s")
    assert len(endpoint_server.of_type("Notification")) == 3


def test_dead_letter_queue_after_retries_run_out(clock_cloud, endpoint_server):
    cloud = clock_cloud
    topic = cloud.topic()
    sub = confirm(cloud, endpoint_server, topic)
    dlq_url, dlq_arn = cloud.queue()
    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}),
    )
    policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 5, "maxDelayTarget": 5}}
    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy)
    )
    endpoint_server.status = 500
    cloud.sns.publish(TopicArn=topic, Message="never taken")
    keep_advancing(cloud, lambda: not cloud.nothing_in_without_receiving(dlq_url), step="5s")
    assert len(endpoint_server.of_type("Notification")) == 3  # the first attempt and two retries
    body = json.loads(cloud.receive(dlq_url, 1)[0]["Body"])
    assert body["Message"] == "never taken" and body["Type"] == "Notification"


def test_client_errors_are_not_retried(clock_cloud, endpoint_server):
    cloud = clock_cloud
    topic = cloud.topic()
    sub = confirm(cloud, endpoint_server, topic)
    dlq_url, dlq_arn = cloud.queue()
    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}),
    )
    cloud.sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    endpoint_server.status = 404
    cloud.sns.publish(
        TopicArn=topic,
        Message="refused",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    [dead] = cloud.receive(dlq_url, 1, MessageAttributeNames=["All"])
    assert dead["Body"] == "refused"
    assert dead["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    assert len(endpoint_server.of_type("Notification")) == 1
