"""Subscriptions: endpoints per protocol, attributes, idempotency, listing, unsubscribing."""

from __future__ import annotations

import json

from .conftest import error_of, http, unique


def test_sqs_subscription_is_confirmed_at_once(cloud):
    topic = cloud.topic()
    _, queue_arn = cloud.queue()
    sub = cloud.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    attributes = cloud.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes == {
        "ConfirmationWasAuthenticated": "true",
        "Endpoint": queue_arn,
        "Owner": "000000000000",
        "PendingConfirmation": "false",
        "Protocol": "sqs",
        "RawMessageDelivery": "false",
        "SubscriptionArn": sub,
        "SubscriptionPrincipal": "arn:aws:iam::000000000000:root",
        "TopicArn": topic,
    }
    # the same endpoint again is the same subscription; other attributes are refused
    again = cloud.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    assert again["SubscriptionArn"] == sub
    error = error_of(
        cloud.sns.subscribe,
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    assert error["Message"] == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    )


def test_endpoint_rules(cloud):
    topic = cloud.topic()
    cases = [
        (
            "carrier-pigeon",
            "x",
            "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon",
        ),
        (
            "sqs",
            "https://sqs.us-east-1.amazonaws.com/000000000000/q",
            "Invalid parameter: SQS endpoint ARN",
        ),
        (
            "http",
            "https://example.com",
            "Invalid parameter: Endpoint must match the specified protocol",
        ),
        ("sms", "invalid-number", "Invalid SMS endpoint: invalid-number"),
        (
            "sqs",
            "arn:aws:sqs:us-east-1:000000000000:q.fifo",
            "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be "
            "subscribed to standard SNS topics",
        ),
    ]
    for protocol, endpoint, message in cases:
        error = error_of(cloud.sns.subscribe, TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        assert (error["Code"], error["Message"]) == ("InvalidParameter", message)
    error = error_of(
        cloud.sns.subscribe,
        TopicArn=topic + "-gone",
        Protocol="sqs",
        Endpoint="arn:aws:sqs:us-east-1:000000000000:q",
    )
    assert (error["Code"], error["Message"]) == ("NotFound", "Topic does not exist")


def test_attributes_validation_and_updates(cloud):
    topic = cloud.topic()
    _, queue_arn = cloud.queue()
    error = error_of(
        cloud.sns.subscribe,
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "wrongvalue"},
    )
    assert error["Message"] == (
        "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [wrongvalue]. "
        "Must be true or false."
    )
    error = error_of(
        cloud.sns.subscribe,
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"FilterPolicy": "{invalid"},
    )
    assert error["Message"].startswith("Invalid parameter: Attributes Reason: FilterPolicy: ")
    sub = cloud.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    set_ = cloud.sns.set_subscription_attributes
    set_(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    set_(
        SubscriptionArn=sub,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"kind": ["a"]}),
    )
    dlq = "arn:aws:sqs:us-east-1:000000000000:dead"
    set_(
        SubscriptionArn=sub,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": dlq}),
    )
    attributes = cloud.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == {"kind": ["a"]}
    assert attributes["FilterPolicyScope"] == "MessageAttributes"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq}
    for name, value, message in (
        ("Fake", "x", "Invalid parameter: AttributeName"),
        (
            "RawMessageDelivery",
            "",
            "Invalid parameter: RawMessageDelivery: Invalid value []. Must be true or false.",
        ),
        (
            "RedrivePolicy",
            json.dumps({"deadLetterTargetArn": "nope"}),
            "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn",
        ),
    ):
        error = error_of(set_, SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
        assert error["Message"] == message
    error = error_of(
        set_, SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="{invalid"
    )
    assert error["Message"].startswith("Invalid parameter: FilterPolicy: ")


def test_list_and_unsubscribe(cloud):
    topic = cloud.topic()
    subs = [cloud.subscribed_queue(topic)[1] for _ in range(3)]
    email = f"{unique('u')}@example.com"
    cloud.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    listed = cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert {s["SubscriptionArn"] for s in listed} == {*subs, "PendingConfirmation"}
    assert all(s["TopicArn"] == topic and s["Owner"] == "000000000000" for s in listed)
    everything = []
    token = None
    while True:
        page = cloud.sns.list_subscriptions(**({"NextToken": token} if token else {}))
        everything += page["Subscriptions"]
        token = page.get("NextToken")
        if not token:
            break
    assert set(subs) <= {s["SubscriptionArn"] for s in everything}
    attributes = cloud.sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsPending"]) == ("3", "1")
    cloud.sns.unsubscribe(SubscriptionArn=subs[0])
    cloud.sns.unsubscribe(SubscriptionArn=subs[0])  # again: still a success, as on AWS
    attributes = cloud.sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsDeleted"]) == ("2", "1")
    error = error_of(cloud.sns.get_subscription_attributes, SubscriptionArn=subs[0])
    assert (error["Code"], error["Message"]) == ("NotFound", "Subscription does not exist")
    error = error_of(cloud.sns.unsubscribe, SubscriptionArn="nonsense")
    assert (
        error["Message"]
        == "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1"
    )


def test_confirm_with_unknown_token(cloud):
    topic = cloud.topic()
    error = error_of(cloud.sns.confirm_subscription, TopicArn=topic, Token="ab" * 64)
    assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid parameter: Token")
    error = error_of(cloud.sns.confirm_subscription, TopicArn="bad", Token="ab" * 64)
    assert error["Message"] == "Invalid parameter: Topic"


def test_return_subscription_arn_for_pending(cloud):
    topic = cloud.topic()
    email = f"{unique('u')}@example.com"
    pending = cloud.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    assert pending["SubscriptionArn"] == "pending confirmation"
    with_arn = cloud.sns.subscribe(
        TopicArn=topic, Protocol="email", Endpoint=email, ReturnSubscriptionArn=True
    )
    assert with_arn["SubscriptionArn"].startswith(topic + ":")
    attributes = cloud.sns.get_subscription_attributes(SubscriptionArn=with_arn["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["PendingConfirmation"] == "true"
    assert attributes["ConfirmationWasAuthenticated"] == "false"


def test_following_the_unsubscribe_url(cloud):
    topic = cloud.topic()
    url, _ = cloud.subscribed_queue(topic)
    cloud.sns.publish(TopicArn=topic, Message="last one")
    envelope = json.loads(cloud.receive(url, 1)[0]["Body"])
    status, _, body = http("GET", envelope["UnsubscribeURL"])
    assert status == 200 and b"<UnsubscribeResponse" in body
    assert cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    cloud.sns.publish(TopicArn=topic, Message="not delivered")
    assert cloud.nothing_in(url)
