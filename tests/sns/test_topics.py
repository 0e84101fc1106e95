"""Topics: creation rules, attributes with AWS's defaults, tags, permissions, listing."""

from __future__ import annotations

import json

from .conftest import error_of, unique


def test_create_is_idempotent_and_default_attributes(cloud):
    name = unique()
    arn = cloud.sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert cloud.sns.create_topic(Name=name)["TopicArn"] == arn
    attributes = cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["Owner"] == "000000000000"
    assert attributes["DisplayName"] == ""
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsPending"]) == ("0", "0")
    assert attributes["SubscriptionsDeleted"] == "0"
    assert "FifoTopic" not in attributes
    policy = json.loads(attributes["Policy"])
    assert policy["Id"] == "__default_policy_ID"
    statement = policy["Statement"][0]
    assert statement["Sid"] == "__default_statement_ID"
    assert statement["Resource"] == arn
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceOwner": "000000000000"}}
    assert "SNS:Publish" in statement["Action"]
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]
    assert effective["defaultHealthyRetryPolicy"] == {
        "minDelayTarget": 20,
        "maxDelayTarget": 20,
        "numRetries": 3,
        "numMaxDelayRetries": 0,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "backoffFunction": "linear",
    }
    assert effective["defaultRequestPolicy"] == {"headerContentType": "text/plain; charset=UTF-8"}


def test_fifo_topics(cloud):
    arn = cloud.topic(fifo=True, ContentBasedDeduplication="true")
    attributes = cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["FifoTopic"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    error = error_of(cloud.sns.create_topic, Name=unique(), Attributes={"FifoTopic": "true"})
    assert error["Code"] == "InvalidParameter"
    assert error["Message"].startswith("Invalid parameter: Fifo Topic names must end with .fifo")
    error = error_of(cloud.sns.create_topic, Name=unique() + ".fifo")
    assert error["Message"] == "Invalid parameter: Topic Name"
    error = error_of(
        cloud.sns.set_topic_attributes,
        TopicArn=arn,
        AttributeName="FifoTopic",
        AttributeValue="false",
    )
    assert error["Message"] == "Invalid parameter: AttributeName"


def test_names_and_missing_topics(cloud):
    for bad in ("", "a:b", "a b", "x" * 257):
        error = error_of(cloud.sns.create_topic, Name=bad) if bad else None
        if error:
            assert (error["Code"], error["Message"]) == (
                "InvalidParameter",
                "Invalid parameter: Topic Name",
            )
    missing = "arn:aws:sns:us-east-1:000000000000:" + unique()
    error = error_of(cloud.sns.get_topic_attributes, TopicArn=missing)
    assert (error["Code"], error["Message"], error["Status"]) == (
        "NotFound",
        "Topic does not exist",
        404,
    )
    error = error_of(cloud.sns.get_topic_attributes, TopicArn="nonsense")
    assert (
        error["Message"]
        == "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1"
    )
    cloud.sns.delete_topic(TopicArn=missing)  # deleting what is gone succeeds, as on AWS


def test_set_attributes_and_delivery_policy(cloud):
    arn = cloud.topic()
    cloud.sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shop")
    cloud.sns.set_topic_attributes(
        TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2"
    )
    cloud.sns.set_topic_attributes(
        TopicArn=arn, AttributeName="TracingConfig", AttributeValue="Active"
    )
    policy = {
        "http": {
            "defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 6, "numRetries": 1}
        }
    }
    cloud.sns.set_topic_attributes(
        TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy)
    )
    attributes = cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Shop"
    assert attributes["SignatureVersion"] == "2"
    assert attributes["TracingConfig"] == "Active"
    assert json.loads(attributes["DeliveryPolicy"]) == policy
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])["http"][
        "defaultHealthyRetryPolicy"
    ]
    assert (effective["minDelayTarget"], effective["maxDelayTarget"], effective["numRetries"]) == (
        5,
        6,
        1,
    )
    assert effective["backoffFunction"] == "linear"
    for name, value in (
        ("SignatureVersion", "3"),
        ("Nope", "1"),
        ("ContentBasedDeduplication", "true"),
    ):
        error = error_of(
            cloud.sns.set_topic_attributes, TopicArn=arn, AttributeName=name, AttributeValue=value
        )
        assert error["Code"] == "InvalidParameter"


def test_tags(cloud):
    name = unique()
    arn = cloud.sns.create_topic(Name=name, Tags=[{"Key": "k1", "Value": "v1"}])["TopicArn"]
    cloud.sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k2", "Value": "v2"}])
    assert cloud.sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "k1", "Value": "v1"},
        {"Key": "k2", "Value": "v2"},
    ]
    cloud.sns.untag_resource(ResourceArn=arn, TagKeys=["k1"])
    assert cloud.sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "k2", "Value": "v2"}
    ]
    error = error_of(cloud.sns.create_topic, Name=name, Tags=[{"Key": "k3", "Value": "v"}])
    assert (
        error["Message"]
        == "Invalid parameter: Tags Reason: Topic already exists with different tags"
    )
    error = error_of(
        cloud.sns.create_topic,
        Name=unique(),
        Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
    )
    assert error["Message"] == "Invalid parameter: Duplicated keys are not allowed."
    error = error_of(cloud.sns.list_tags_for_resource, ResourceArn=arn + "-gone")
    assert error["Code"] == "ResourceNotFound"


def test_permissions_and_data_protection(cloud):
    arn = cloud.topic()
    cloud.sns.add_permission(
        TopicArn=arn, Label="friends", AWSAccountId=["111122223333"], ActionName=["Publish"]
    )
    policy = json.loads(cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    added = policy["Statement"][-1]
    assert added == {
        "Sid": "friends",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "SNS:Publish",
        "Resource": arn,
    }
    cloud.sns.remove_permission(TopicArn=arn, Label="friends")
    policy = json.loads(cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    document = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    cloud.sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=document)
    assert cloud.sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == document


def test_list_topics_pages_of_100(clock_cloud):
    sns = clock_cloud.sns
    made = {sns.create_topic(Name=f"page-{i:03d}-{unique()}")["TopicArn"] for i in range(105)}
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    listed = {t["TopicArn"] for t in first["Topics"] + second["Topics"]}
    assert made <= listed
    for arn in made:
        sns.delete_topic(TopicArn=arn)


def test_delete_topic_removes_its_subscriptions(cloud):
    arn = cloud.topic()
    _, sub = cloud.subscribed_queue(arn)
    assert (
        cloud.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"
    )
    cloud.sns.delete_topic(TopicArn=arn)
    error = error_of(cloud.sns.get_topic_attributes, TopicArn=arn)
    assert error["Code"] == "NotFound"
    error = error_of(cloud.sns.get_subscription_attributes, SubscriptionArn=sub)
    assert error["Code"] == "NotFound"
