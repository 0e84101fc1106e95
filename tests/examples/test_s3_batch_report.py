"""The distributed-Map batch report, end to end: CSV rows read from S3 by an ItemReader, batches
summarized by Lambda functions in child executions, results written to S3 and combined."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "s3-batch-report" / "deploy.py"


@pytest.fixture
def example(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    spec = importlib.util.spec_from_file_location("s3_batch_report", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_report_matches_the_csv(example, endpoint):
    result = example.main()
    report, expected = result["report"], result["expected"]
    assert report["regions"] == expected
    assert report["batches"] == 10  # 1,000 rows in batches of 100

    sfn = boto3.client("stepfunctions")
    run = sfn.describe_map_run(mapRunArn=result["map_run"])
    assert run["status"] == "SUCCEEDED"
    assert run["executionCounts"]["succeeded"] == 10
    assert run["itemCounts"]["succeeded"] == 1000
    children = sfn.list_executions(mapRunArn=result["map_run"])["executions"]
    assert len(children) == 10 and {c["status"] for c in children} == {"SUCCEEDED"}

    s3 = boto3.client("s3")
    stored = json.loads(
        s3.get_object(Bucket=example.BUCKET, Key="reports/orders.json")["Body"].read()
    )
    assert stored["regions"] == expected
