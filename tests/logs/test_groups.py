"""Log groups and streams: create, describe, paginate, retention, tags, errors as AWS answers."""

from __future__ import annotations

import uuid

from .support import error_of

ACCOUNT = "000000000000"


def _describe(logs, name: str) -> dict:
    (group,) = [
        g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        if g["logGroupName"] == name
    ]  # fmt: skip
    return group


def test_a_new_group_describes_itself_as_aws_does(logs, new_group, now_ms):
    name = new_group("/aws/lambda/", logGroupClass="INFREQUENT_ACCESS", kmsKeyId="alias/logs")
    group = _describe(logs, name)
    assert group["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}:*"
    assert group["logGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"
    assert abs(group["creationTime"] - now_ms) < 60_000
    assert group["storedBytes"] == 0
    assert group["metricFilterCount"] == 0
    assert group["logGroupClass"] == "INFREQUENT_ACCESS"
    assert group["kmsKeyId"] == "alias/logs"
    assert "retentionInDays" not in group
    assert _describe(logs, new_group())["logGroupClass"] == "STANDARD"


def test_create_twice_and_delete_missing_answer_aws_errors(logs, new_group):
    name = new_group()
    error = error_of(logs.create_log_group, logGroupName=name)
    assert (error["Code"], error["Message"], error["Status"]) == (
        "ResourceAlreadyExistsException",
        "The specified log group already exists",
        400,
    )
    logs.delete_log_group(logGroupName=name)
    error = error_of(logs.delete_log_group, logGroupName=name)
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )


def test_groups_are_per_account_and_region(aws_client, new_group):
    name = new_group()
    other_account = aws_client("logs", access_key="111111111111")
    other_region = aws_client("logs", region="eu-west-1")
    for client in (other_account, other_region):
        assert client.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
        client.create_log_group(logGroupName=name)  # no clash
        assert _describe(client, name)["logGroupArn"].endswith(f":log-group:{name}")
    assert ":111111111111:" in _describe(other_account, name)["arn"]
    assert ":eu-west-1:" in _describe(other_region, name)["arn"]


def test_describe_by_prefix_and_pattern(logs, unique):
    for suffix in ("DataLogs", "GroupDataLogs", "datalogs", "Other"):
        logs.create_log_group(logGroupName=f"/p{unique}/{suffix}")
    by_prefix = logs.describe_log_groups(logGroupNamePrefix=f"/p{unique}/Data")["logGroups"]
    assert [g["logGroupName"] for g in by_prefix] == [f"/p{unique}/DataLogs"]
    by_pattern = logs.describe_log_groups(logGroupNamePattern=f"{unique}/")["logGroups"]
    assert len(by_pattern) == 4
    case_sensitive = logs.describe_log_groups(logGroupNamePattern="DataLogs")["logGroups"]
    names = {g["logGroupName"] for g in case_sensitive}
    assert {f"/p{unique}/DataLogs", f"/p{unique}/GroupDataLogs"} <= names
    assert f"/p{unique}/datalogs" not in names
    # With a pattern AWS answers only the name, the ARN and the creation time.
    assert set(by_pattern[0]) == {"logGroupName", "arn", "creationTime"}
    error = error_of(
        logs.describe_log_groups, logGroupNamePrefix="/p", logGroupNamePattern="DataLogs"
    )
    assert error["Code"] == "InvalidParameterException"
    assert "mutually exclusive" in error["Message"]


def test_describe_pages_in_name_order(logs, unique):
    names = [f"/page{unique}/{i:02d}" for i in range(7)]
    for name in reversed(names):
        logs.create_log_group(logGroupName=name)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        answer = logs.describe_log_groups(logGroupNamePrefix=f"/page{unique}/", limit=3, **kwargs)
        seen += [g["logGroupName"] for g in answer["logGroups"]]
        pages += 1
        token = answer.get("nextToken")
        if not token:
            break
    assert (seen, pages) == (names, 3)
    paginator = logs.get_paginator("describe_log_groups")
    pages_seen = paginator.paginate(
        logGroupNamePrefix=f"/page{unique}/", PaginationConfig={"PageSize": 2}
    )
    assert [g["logGroupName"] for p in pages_seen for g in p["logGroups"]] == names
    error = error_of(logs.describe_log_groups, nextToken="not-a-token!")
    assert error["Code"] == "InvalidParameterException"


def test_retention_takes_only_aws_values(logs, new_group):
    name = new_group()
    logs.put_retention_policy(logGroupName=name, retentionInDays=545)
    assert _describe(logs, name)["retentionInDays"] == 545
    error = error_of(logs.put_retention_policy, logGroupName=name, retentionInDays=2)
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == (
        "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy "
        "constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, "
        "150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
    )
    logs.delete_retention_policy(logGroupName=name)
    assert "retentionInDays" not in _describe(logs, name)
    missing = error_of(logs.put_retention_policy, logGroupName=name + "-no", retentionInDays=1)
    assert missing["Code"] == "ResourceNotFoundException"


def test_tags_by_name_and_by_arn(logs, new_group):
    name = new_group(tags={"team": "core"})
    arn = _describe(logs, name)["logGroupArn"]
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "core"}
    logs.tag_log_group(logGroupName=name, tags={"env": "dev"})
    logs.tag_resource(resourceArn=arn, tags={"team": "edge", "cost": "1"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "team": "edge",
        "env": "dev",
        "cost": "1",
    }
    logs.untag_resource(resourceArn=arn, tagKeys=["cost"])
    logs.untag_log_group(logGroupName=name, tags=["env"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "edge"}
    too_many = {f"k{i}": "v" for i in range(50)}
    assert error_of(logs.tag_resource, resourceArn=arn, tags=too_many)["Code"] == (
        "TooManyTagsException"
    )
    missing = error_of(logs.list_tags_for_resource, resourceArn=arn + "-gone")
    assert (missing["Code"], missing["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )


def test_deletion_protection_blocks_delete(logs, new_group):
    name = new_group(deletionProtectionEnabled=True)
    assert _describe(logs, name)["deletionProtectionEnabled"] is True
    assert error_of(logs.delete_log_group, logGroupName=name)["Code"] == "ValidationException"
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)


def test_deleting_a_group_takes_its_streams_and_events(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    new_group.put(name, "s", [(now_ms, "gone soon")])
    logs.delete_log_group(logGroupName=name)
    logs.create_log_group(logGroupName=name)
    assert logs.describe_log_streams(logGroupName=name)["logStreams"] == []
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    assert logs.get_log_events(logGroupName=name, logStreamName="s")["events"] == []
    assert _describe(logs, name)["storedBytes"] == 0


# -- streams --------------------------------------------------------------------------------------


def test_stream_errors(logs, new_group):
    name = new_group("/test/", "s")
    duplicate = error_of(logs.create_log_stream, logGroupName=name, logStreamName="s")
    assert (duplicate["Code"], duplicate["Message"]) == (
        "ResourceAlreadyExistsException",
        "The specified log stream already exists",
    )
    no_group = error_of(logs.create_log_stream, logGroupName=name + "x", logStreamName="s")
    assert (no_group["Code"], no_group["Message"]) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    no_stream = error_of(logs.delete_log_stream, logGroupName=name, logStreamName="t")
    assert (no_stream["Code"], no_stream["Message"]) == (
        "ResourceNotFoundException",
        "The specified log stream does not exist.",
    )
    logs.delete_log_stream(logGroupName=name, logStreamName="s")
    assert logs.describe_log_streams(logGroupName=name)["logStreams"] == []


def test_a_stream_describes_its_events(logs, new_group, now_ms):
    name = new_group("/test/", "2024/01/01/[$LATEST]abc")
    (fresh,) = logs.describe_log_streams(logGroupName=name)["logStreams"]
    assert fresh["arn"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}:log-stream:2024/01/01/[$LATEST]abc"
    )
    assert "firstEventTimestamp" not in fresh and fresh["storedBytes"] == 0
    new_group.put(name, "2024/01/01/[$LATEST]abc", [(now_ms - 5000, "a"), (now_ms - 1000, "b")])
    (stream,) = logs.describe_log_streams(logGroupName=name)["logStreams"]
    assert (stream["firstEventTimestamp"], stream["lastEventTimestamp"]) == (
        now_ms - 5000,
        now_ms - 1000,
    )
    assert stream["lastIngestionTime"] >= now_ms
    assert stream["uploadSequenceToken"].isdigit()
    assert _describe(logs, name)["storedBytes"] == 2


def test_streams_by_prefix_by_last_event_time_and_pages(logs, new_group, now_ms):
    streams = ["app-b", "app-a", "web-1", "app-c"]
    name = new_group("/test/", *streams)
    for offset, stream in enumerate(["app-c", "web-1", "app-a", "app-b"]):
        new_group.put(name, stream, [(now_ms - 10_000 + offset * 1000, stream)])
    prefixed = logs.describe_log_streams(logGroupName=name, logStreamNamePrefix="app-")
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == ["app-a", "app-b", "app-c"]
    newest_first = logs.describe_log_streams(
        logGroupName=name, orderBy="LastEventTime", descending=True
    )
    assert [s["logStreamName"] for s in newest_first["logStreams"]] == [
        "app-b",
        "app-a",
        "web-1",
        "app-c",
    ]
    paged = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=name, descending=True, PaginationConfig={"PageSize": 3}
    )
    pages = [[s["logStreamName"] for s in p["logStreams"]] for p in paged]
    assert pages == [["web-1", "app-c", "app-b"], ["app-a"]]
    error = error_of(
        logs.describe_log_streams,
        logGroupName=name,
        orderBy="LastEventTime",
        logStreamNamePrefix="app",
    )
    assert error["Code"] == "InvalidParameterException"


def test_streams_by_group_arn_identifier(logs, new_group):
    name = new_group("/test/", "s")
    arn = _describe(logs, name)["logGroupArn"]
    answer = logs.describe_log_streams(logGroupIdentifier=arn)
    assert [s["logStreamName"] for s in answer["logStreams"]] == ["s"]
    both = error_of(logs.describe_log_streams, logGroupName=name, logGroupIdentifier=arn)
    assert both["Code"] == "InvalidParameterException"


def test_invalid_names_answer_invalid_parameter(aws_client):
    from botocore.config import Config

    raw = aws_client("logs").meta
    import boto3

    client = boto3.client(
        "logs",
        endpoint_url=raw.endpoint_url,
        region_name="us-east-1",
        config=Config(parameter_validation=False),
    )
    error = error_of(client.create_log_group, logGroupName=f"bad name {uuid.uuid4().hex}!")
    assert error["Code"] == "InvalidParameterException"
    assert "Member must satisfy regular expression pattern" in error["Message"]
