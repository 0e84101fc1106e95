"""SQS queues through boto3: lifecycle, listing, purge, tags, permissions and attributes.

Expected values and error texts are AWS's own (API reference, and responses recorded against AWS).
"""

from __future__ import annotations

import json
import time

import pytest

from sqs.conftest import arn_of, attributes_of, error_of, redrive, wait_for

ACCOUNT = "000000000000"


# -- create / get / delete ------------------------------------------------------------------------


def test_create_queue_answers_the_url_and_get_queue_url_finds_it(sqs, endpoint, unique):
    name = f"orders-{unique}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{endpoint}/{ACCOUNT}/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"] == url
    assert arn_of(sqs, url) == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def test_create_queue_is_idempotent_for_the_same_or_no_attributes(sqs, unique):
    name = f"idem-{unique}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "69"})["QueueUrl"]
    assert (
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "69"})["QueueUrl"] == url
    )
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url  # no attributes: always the queue
    assert sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "0"})["QueueUrl"] == url
    sqs.send_message(QueueUrl=url, MessageBody="counts are not compared")
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url


def test_create_queue_with_a_different_attribute_value_is_queue_already_exists(sqs, unique):
    name = f"conflict-{unique}"
    attributes = {"ReceiveMessageWaitTimeSeconds": "1", "DelaySeconds": "1"}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "1"})["QueueUrl"] == url

    error = error_of(
        sqs.create_queue, QueueName=name, Attributes={**attributes, "DelaySeconds": "2"}
    )
    assert error["Code"] == "QueueAlreadyExists"
    assert error["Message"] == (
        "A queue already exists with the same name and a different value for attribute DelaySeconds"
    )
    assert error["Status"] == 400

    # compared with the queue's current values, not those it was created with
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "2"})
    assert (
        sqs.create_queue(QueueName=name, Attributes={**attributes, "DelaySeconds": "2"})["QueueUrl"]
        == url
    )
    error = error_of(sqs.create_queue, QueueName=name, Attributes=attributes)
    assert error["Code"] == "QueueAlreadyExists"


def test_create_fifo_queue_with_a_different_attribute_value_is_queue_already_exists(sqs, unique):
    name = f"conflict-{unique}.fifo"
    url = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"] == url
    error = error_of(
        sqs.create_queue,
        QueueName=name,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
    )
    assert error["Code"] == "QueueAlreadyExists"
    assert error["Message"].endswith("different value for attribute ContentBasedDeduplication")


@pytest.mark.parametrize("name", ["has space", "dot.ted", "slash/ed", "x" * 81, ""])
def test_invalid_standard_queue_names_are_rejected(sqs, name):
    error = error_of(sqs.create_queue, QueueName=name)
    assert error["Code"] == "InvalidParameterValue"
    if name:  # an empty name is refused by the model before the name rules
        assert (
            error["Message"]
            == "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def test_unknown_queue_is_non_existent_queue(sqs, endpoint, unique):
    error = error_of(sqs.get_queue_url, QueueName=f"missing-{unique}")
    assert error == {
        "Code": "AWS.SimpleQueueService.NonExistentQueue",
        "Message": "The specified queue does not exist.",
        "QueryErrorCode": "QueueDoesNotExist",
        "Type": "Sender",
        "Status": 400,
    }
    url = f"{endpoint}/{ACCOUNT}/missing-{unique}"
    assert (
        error_of(sqs.send_message, QueueUrl=url, MessageBody="x")["Code"]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_attributes(QueueUrl=url)


def test_delete_queue_removes_it_and_its_messages(sqs, unique):
    name = f"gone-{unique}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="lost with the queue")
    sqs.delete_queue(QueueUrl=url)
    assert (
        error_of(sqs.get_queue_url, QueueName=name)["Code"]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert (
        error_of(sqs.delete_queue, QueueUrl=url)["Code"]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    # cloudlet lets the name be reused at once (AWS makes you wait 60 s); the old messages are gone
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


# -- listing --------------------------------------------------------------------------------------


def test_list_queues_filters_by_prefix_and_pages_with_next_token(sqs, unique):
    prefix = f"page-{unique}-"
    urls = {sqs.create_queue(QueueName=f"{prefix}{i}")["QueueUrl"] for i in range(5)}
    other = sqs.create_queue(QueueName=f"other-{unique}")["QueueUrl"]

    assert set(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == urls
    assert other in sqs.list_queues()["QueueUrls"]

    pages, token = [], None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, **kwargs)
        pages.append(page["QueueUrls"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert {u for p in pages for u in p} == urls

    paginated = sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=prefix, PaginationConfig={"PageSize": 3}
    )
    assert {u for page in paginated for u in page["QueueUrls"]} == urls


def test_list_queues_without_matches_has_no_queue_urls(sqs, unique):
    response = sqs.list_queues(QueueNamePrefix=f"nothing-{unique}")
    assert "QueueUrls" not in response


def test_list_queues_rejects_max_results_out_of_range(sqs):
    error = error_of(sqs.list_queues, MaxResults=1001)
    assert error["Code"] == "InvalidParameterValue"


def test_list_queues_is_per_region(aws_client, unique):
    east, west = aws_client("sqs", "us-east-1"), aws_client("sqs", "eu-west-1")
    name = f"regional-{unique}"
    east_url = east.create_queue(QueueName=name)["QueueUrl"]
    assert name not in " ".join(west.list_queues(QueueNamePrefix="regional-").get("QueueUrls", []))
    assert east_url in east.list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert (
        error_of(west.get_queue_url, QueueName=name)["Code"]
        == "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert arn_of(east, east_url).startswith("arn:aws:sqs:us-east-1:")


# -- purge ----------------------------------------------------------------------------------------


def test_purge_deletes_visible_in_flight_and_delayed_messages(sqs, new_queue):
    url = new_queue()
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"visible-{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=600)
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    assert attributes_of(
        sqs,
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ) == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }

    sqs.purge_queue(QueueUrl=url)
    assert attributes_of(
        sqs,
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ) == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
    }
    sqs.send_message(QueueUrl=url, MessageBody="after the purge")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["after the purge"]


def test_second_purge_within_60_seconds_is_purge_queue_in_progress(sqs, unique):
    name = f"purged-{unique}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    error = error_of(sqs.purge_queue, QueueUrl=url)
    assert error["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert (
        error["Message"] == f"Only one PurgeQueue operation on {name} is allowed every 60 seconds."
    )
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


def test_purge_queue_in_progress_is_http_403(sqs, new_queue):
    url = new_queue()
    sqs.purge_queue(QueueUrl=url)
    assert error_of(sqs.purge_queue, QueueUrl=url)["Status"] == 403


def test_purge_is_allowed_again_after_60_seconds(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(QueueName=f"repurge-{time.monotonic_ns()}")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    clock_server.advance("59s")
    assert (
        error_of(sqs.purge_queue, QueueUrl=url)["Code"]
        == "AWS.SimpleQueueService.PurgeQueueInProgress"
    )
    clock_server.advance("2s")
    sqs.send_message(QueueUrl=url, MessageBody="purged again")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


# -- tags -----------------------------------------------------------------------------------------


def test_tags_are_set_at_creation_added_overwritten_and_removed(sqs, unique):
    url = sqs.create_queue(QueueName=f"tagged-{unique}", tags={"team": "core", "tier": "1"})[
        "QueueUrl"
    ]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "tier": "1"}

    sqs.tag_queue(QueueUrl=url, Tags={"tier": "2", "Team": "case-sensitive", "empty": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "team": "core",
        "tier": "2",
        "Team": "case-sensitive",
        "empty": "",
    }
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "tier": "2",
        "Team": "case-sensitive",
        "empty": "",
    }
    sqs.untag_queue(QueueUrl=url, TagKeys=["tier", "Team", "empty"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


# -- permissions ----------------------------------------------------------------------------------


def test_add_permission_builds_the_queue_policy_as_aws_does(sqs, unique):
    name = f"shared-{unique}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    sqs.add_permission(
        QueueUrl=url,
        Label="two-accounts",
        AWSAccountIds=["111122223333", "444455556666"],
        Actions=["ReceiveMessage"],
    )
    sqs.add_permission(
        QueueUrl=url,
        Label="one-account",
        AWSAccountIds=["111122223333"],
        Actions=["SendMessage", "DeleteMessage"],
    )
    policy = json.loads(attributes_of(sqs, url, "Policy")["Policy"])
    assert policy == {
        "Version": "2008-10-17",
        "Id": f"{arn}/SQSDefaultPolicy",
        "Statement": [
            {
                "Sid": "two-accounts",
                "Effect": "Allow",
                "Principal": {
                    "AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
                },
                "Action": "SQS:ReceiveMessage",
                "Resource": arn,
            },
            {
                "Sid": "one-account",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": ["SQS:SendMessage", "SQS:DeleteMessage"],
                "Resource": arn,
            },
        ],
    }

    error = error_of(
        sqs.add_permission,
        QueueUrl=url,
        Label="one-account",
        AWSAccountIds=["111122223333"],
        Actions=["GetQueueUrl"],
    )
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == "Value one-account for parameter Label is invalid. Reason: Already exists."
    )

    sqs.remove_permission(QueueUrl=url, Label="two-accounts")
    assert [
        s["Sid"] for s in json.loads(attributes_of(sqs, url, "Policy")["Policy"])["Statement"]
    ] == ["one-account"]
    sqs.remove_permission(QueueUrl=url, Label="one-account")
    assert (
        "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    )

    error = error_of(sqs.remove_permission, QueueUrl=url, Label="one-account")
    assert error["Code"] == "InvalidParameterValue"
    assert (
        error["Message"]
        == "Value one-account for parameter Label is invalid. Reason: can't find label."
    )


# -- attributes -----------------------------------------------------------------------------------


def test_a_new_standard_queue_has_aws_default_attributes(sqs, unique):
    before = int(time.time())
    url = sqs.create_queue(QueueName=f"defaults-{unique}")["QueueUrl"]
    attributes = attributes_of(sqs, url)
    created = int(attributes.pop("CreatedTimestamp"))
    modified = int(attributes.pop("LastModifiedTimestamp"))
    assert before - 5 <= created <= time.time() + 5  # epoch seconds
    assert modified == created
    assert attributes == {
        "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:defaults-{unique}",
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "DelaySeconds": "0",
        "MaximumMessageSize": "1048576",  # 1 MiB since August 2025
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "0",
        "VisibilityTimeout": "30",
        "SqsManagedSseEnabled": "true",
    }


def test_a_new_fifo_queue_adds_the_fifo_attributes(sqs, unique):
    url = sqs.create_queue(QueueName=f"defaults-{unique}.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    attributes = attributes_of(sqs, url)
    assert {
        k: attributes[k]
        for k in (
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
        )
    } == {
        "FifoQueue": "true",
        "ContentBasedDeduplication": "false",
        "DeduplicationScope": "queue",
        "FifoThroughputLimit": "perQueue",
    }
    assert attributes["MaximumMessageSize"] == "1048576"
    high_throughput = sqs.create_queue(
        QueueName=f"ht-{unique}.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    assert attributes_of(sqs, high_throughput, "DeduplicationScope", "FifoThroughputLimit") == {
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }


def test_get_queue_attributes_answers_only_what_was_asked(sqs, new_queue):
    url = new_queue(VisibilityTimeout=45)
    assert attributes_of(sqs, url, "VisibilityTimeout", "DelaySeconds") == {
        "VisibilityTimeout": "45",
        "DelaySeconds": "0",
    }
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        == {}
    )


def test_set_queue_attributes_changes_them(sqs, new_queue):
    url = new_queue(
        MessageRetentionPeriod=604800, ReceiveMessageWaitTimeSeconds=10, VisibilityTimeout=20
    )
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"MaximumMessageSize": "2048", "VisibilityTimeout": "69", "DelaySeconds": "420"},
    )
    assert attributes_of(
        sqs,
        url,
        "MaximumMessageSize",
        "VisibilityTimeout",
        "DelaySeconds",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
    ) == {
        "MaximumMessageSize": "2048",
        "VisibilityTimeout": "69",
        "DelaySeconds": "420",
        "MessageRetentionPeriod": "604800",
        "ReceiveMessageWaitTimeSeconds": "10",
    }


def test_a_policy_is_set_and_an_empty_policy_removes_it(sqs, new_queue):
    url = new_queue()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sqs:SendMessage",
                "Resource": "*",
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    assert json.loads(attributes_of(sqs, url, "Policy")["Policy"]) == policy
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in attributes_of(sqs, url)


BOUNDS = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_attribute_limits_are_aws_limits(sqs, new_queue, name):
    url = new_queue()
    low, high = BOUNDS[name]
    for value in (low, high):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: str(value)})
        assert attributes_of(sqs, url, name) == {name: str(value)}
    for value in (str(low - 1), str(high + 1), "ten"):
        error = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={name: value})
        assert (error["Code"], error["Message"]) == (
            "InvalidAttributeValue",
            f"Invalid value for the parameter {name}.",
        )
        create = error_of(
            sqs.create_queue, QueueName=f"limits-{time.monotonic_ns()}", Attributes={name: value}
        )
        assert create["Code"] == "InvalidAttributeValue"
    assert attributes_of(sqs, url, name) == {name: str(high)}  # a refused change changes nothing


def test_fifo_attributes_do_not_exist_on_a_standard_queue(sqs, new_queue):
    url = new_queue()
    error = error_of(
        sqs.set_queue_attributes, QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"}
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute ContentBasedDeduplication.",
    )
    error = error_of(
        sqs.create_queue,
        QueueName=f"std-{time.monotonic_ns()}",
        Attributes={"DeduplicationScope": "queue"},
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute DeduplicationScope.",
    )


def test_unknown_attribute_names_are_invalid_attribute_name(sqs, new_queue):
    url = new_queue()
    error = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"Foobar": "1"})
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute Foobar.",
    )
    error = error_of(
        sqs.create_queue, QueueName=f"bad-{time.monotonic_ns()}", Attributes={"Foobar": "1"}
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute Foobar.",
    )


def test_get_queue_attributes_with_an_unknown_name_is_invalid_attribute_name(sqs, new_queue):
    url = new_queue()
    error = error_of(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["Foobar"])
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute Foobar.",
    )


def test_the_queue_type_cannot_change(sqs, new_queue):
    standard = new_queue()
    error = error_of(sqs.set_queue_attributes, QueueUrl=standard, Attributes={"FifoQueue": "true"})
    assert (error["Code"], error["Message"]) == (
        "InvalidAttributeName",
        "Unknown Attribute FifoQueue.",
    )

    fifo = new_queue(fifo=True)
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})  # no change: accepted
    error = error_of(sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"FifoQueue": "false"})
    assert error["Code"] == "InvalidAttributeValue"
    assert (
        error["Message"]
        == "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
    )


def test_kms_and_sqs_managed_encryption_exclude_each_other(sqs, new_queue):
    url = new_queue()
    error = error_of(
        sqs.set_queue_attributes,
        QueueUrl=url,
        Attributes={"KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "true"},
    )
    assert error["Code"] == "InvalidAttributeName"
    assert error["Message"] == (
        "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."
    )

    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "KmsMasterKeyId": "testKeyId",
            "KmsDataKeyReusePeriodSeconds": "6000",
            "SqsManagedSseEnabled": "false",
        },
    )
    names = ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
    assert attributes_of(sqs, url, *names) == {
        "KmsMasterKeyId": "testKeyId",
        "KmsDataKeyReusePeriodSeconds": "6000",
        "SqsManagedSseEnabled": "false",
    }
    other = new_queue()
    sqs.set_queue_attributes(QueueUrl=other, Attributes={"SqsManagedSseEnabled": "true"})
    assert attributes_of(sqs, other, *names) == {"SqsManagedSseEnabled": "true"}


def test_last_modified_timestamp_moves_with_a_change(clock_server):
    sqs = clock_server.client()
    url = sqs.create_queue(QueueName=f"modified-{time.monotonic_ns()}")["QueueUrl"]
    created = int(attributes_of(sqs, url, "CreatedTimestamp")["CreatedTimestamp"])
    clock_server.advance("1h")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "10"})
    stamps = attributes_of(sqs, url, "CreatedTimestamp", "LastModifiedTimestamp")
    assert int(stamps["CreatedTimestamp"]) == created
    assert int(stamps["LastModifiedTimestamp"]) >= created + 3600


def test_redrive_policy_is_stored_and_listed_back(sqs, new_queue):
    dlq = new_queue("dlq")
    url = new_queue(
        RedrivePolicy=redrive(arn_of(sqs, dlq), 5), MessageRetentionPeriod=604800, DelaySeconds=10
    )
    got = attributes_of(sqs, url, "MessageRetentionPeriod", "RedrivePolicy")
    assert got["MessageRetentionPeriod"] == "604800"
    assert json.loads(got["RedrivePolicy"]) == {
        "deadLetterTargetArn": arn_of(sqs, dlq),
        "maxReceiveCount": 5,
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in attributes_of(sqs, url)
    wait_for(lambda: sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [])
