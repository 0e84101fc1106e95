"""Metric filters and subscription filters: stored configuration with AWS's checks and errors."""

from __future__ import annotations

from .support import error_of

TRANSFORM = [{"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}]


def _count(logs, name: str) -> int:
    (group,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return group["metricFilterCount"]


def test_metric_filters_round_trip_and_count(logs, new_group):
    name = new_group()
    logs.put_metric_filter(
        logGroupName=name,
        filterName="errors",
        filterPattern="ERROR",
        metricTransformations=TRANSFORM,
    )
    latency = [
        {
            "metricName": "Latency",
            "metricNamespace": "App",
            "metricValue": "$.latency",
            "unit": "Milliseconds",
        }
    ]
    logs.put_metric_filter(
        logGroupName=name,
        filterName="latency",
        filterPattern="{ $.latency > 0 }",
        metricTransformations=latency,
    )
    # Putting an existing name replaces it and keeps the count.
    logs.put_metric_filter(
        logGroupName=name,
        filterName="errors",
        filterPattern="?ERROR ?FATAL",
        metricTransformations=TRANSFORM,
    )
    assert _count(logs, name) == 2
    filters = logs.describe_metric_filters(logGroupName=name)["metricFilters"]
    assert [(f["filterName"], f["filterPattern"]) for f in filters] == [
        ("errors", "?ERROR ?FATAL"),
        ("latency", "{ $.latency > 0 }"),
    ]
    assert filters[1]["metricTransformations"] == latency
    assert filters[0]["logGroupName"] == name and filters[0]["creationTime"] > 0
    by_prefix = logs.describe_metric_filters(logGroupName=name, filterNamePrefix="lat")
    assert [f["filterName"] for f in by_prefix["metricFilters"]] == ["latency"]
    by_metric = logs.describe_metric_filters(metricName="Latency", metricNamespace="App")
    assert name in {f["logGroupName"] for f in by_metric["metricFilters"]}
    paged = logs.describe_metric_filters(logGroupName=name, limit=1)
    second = logs.describe_metric_filters(logGroupName=name, limit=1, nextToken=paged["nextToken"])
    assert [f["filterName"] for f in paged["metricFilters"] + second["metricFilters"]] == [
        "errors",
        "latency",
    ]
    assert "nextToken" not in second
    logs.delete_metric_filter(logGroupName=name, filterName="errors")
    assert _count(logs, name) == 1


def test_metric_filter_errors(logs, new_group):
    name = new_group()
    bad = error_of(
        logs.put_metric_filter,
        logGroupName=name,
        filterName="f",
        filterPattern="{ $.a = ",
        metricTransformations=TRANSFORM,
    )
    assert bad["Code"] == "InvalidParameterException"
    missing_group = error_of(
        logs.put_metric_filter,
        logGroupName=name + "x",
        filterName="f",
        filterPattern="",
        metricTransformations=TRANSFORM,
    )
    assert missing_group["Message"] == "The specified log group does not exist."
    missing = error_of(logs.delete_metric_filter, logGroupName=name, filterName="nope")
    assert missing["Code"] == "ResourceNotFoundException"
    no_namespace = error_of(logs.describe_metric_filters, metricName="Errors")
    assert no_namespace["Code"] == "InvalidParameterException"
    assert _count(logs, name) == 0


def test_subscription_filters_round_trip_with_a_limit_of_two(logs, new_group):
    name = new_group()
    target = "arn:aws:lambda:us-east-1:000000000000:function:shipper"
    for filter_name in ("a", "b"):
        logs.put_subscription_filter(
            logGroupName=name, filterName=filter_name, filterPattern="ERROR", destinationArn=target
        )
    logs.put_subscription_filter(  # an update, not a third filter
        logGroupName=name,
        filterName="b",
        filterPattern="",
        destinationArn=target,
        distribution="Random",
    )
    third = error_of(
        logs.put_subscription_filter,
        logGroupName=name,
        filterName="c",
        filterPattern="",
        destinationArn=target,
    )
    assert (third["Code"], third["Message"]) == (
        "LimitExceededException",
        "Resource limit exceeded.",
    )
    filters = logs.describe_subscription_filters(logGroupName=name)["subscriptionFilters"]
    assert [(f["filterName"], f["filterPattern"], f["distribution"]) for f in filters] == [
        ("a", "ERROR", "ByLogStream"),
        ("b", "", "Random"),
    ]
    assert filters[0]["destinationArn"] == target and filters[0]["logGroupName"] == name
    logs.delete_subscription_filter(logGroupName=name, filterName="a")
    assert [
        f["filterName"]
        for f in logs.describe_subscription_filters(logGroupName=name)["subscriptionFilters"]
    ] == ["b"]
    missing = error_of(logs.delete_subscription_filter, logGroupName=name, filterName="a")
    assert missing["Code"] == "ResourceNotFoundException"
    no_group = error_of(logs.describe_subscription_filters, logGroupName=name + "x")
    assert no_group["Message"] == "The specified log group does not exist."


def test_filters_go_with_their_group(logs, new_group):
    name = new_group()
    logs.put_metric_filter(
        logGroupName=name, filterName="f", filterPattern="", metricTransformations=TRANSFORM
    )
    logs.put_subscription_filter(
        logGroupName=name,
        filterName="s",
        filterPattern="",
        destinationArn="arn:aws:lambda:us-east-1:000000000000:function:x",
    )
    logs.delete_log_group(logGroupName=name)
    logs.create_log_group(logGroupName=name)
    assert logs.describe_metric_filters(logGroupName=name)["metricFilters"] == []
    assert logs.describe_subscription_filters(logGroupName=name)["subscriptionFilters"] == []
    assert _count(logs, name) == 0


def test_live_tail_is_not_implemented(aws_client):
    """StartLiveTail answers the edge's clear not-implemented error (aws logs tail --follow polls
    FilterLogEvents instead, see test_tail.py)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "logs",
        endpoint_url=aws_client("logs").meta.endpoint_url,
        region_name="us-east-1",
        config=Config(inject_host_prefix=False),  # StartLiveTail goes to streaming-<host>
    )
    error = error_of(client.start_live_tail, logGroupIdentifiers=["x"])
    assert error["Status"] == 501
    assert "logs.StartLiveTail" in error["Message"]
