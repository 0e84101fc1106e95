"""Distributed Map through the API: items from S3 and from the input, batches, child
executions that are real executions, result files in S3, tolerated failures, the Map Run API,
and a parent that survives kill -9 in the middle of its Map Run."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest

from .conftest import ROLE, advance, client, error_of, events_of, finished, types_of, wait_for

PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def processor(states: dict[str, Any] | None = None, kind: str = "STANDARD") -> dict[str, Any]:
    body = dict(PASS if states is None else states)
    body["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": kind}
    return body


def distributed(**fields: Any) -> dict[str, Any]:
    """A machine whose only state is a distributed Map with these fields."""
    state: dict[str, Any] = {"Type": "Map", "ItemProcessor": processor(), "End": True}
    state.update(fields)
    return {"StartAt": "Each", "States": {"Each": state}}


def one_failure_tolerated(
    item_processor: dict[str, Any], bucket: str, prefix: str
) -> dict[str, Any]:
    """A distributed Map over its input, one child at a time, that tolerates one failed item
    and writes its results to S3 under `prefix`."""
    return distributed(
        ItemsPath="$",
        ItemProcessor=item_processor,
        ToleratedFailureCount=1,
        MaxConcurrency=1,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": prefix},
        },
    )


@pytest.fixture
def s3(aws_client):
    return aws_client("s3")


@pytest.fixture
def bucket(s3) -> str:
    name = f"dmap-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def map_run_of(sfn, execution_arn: str) -> dict[str, Any]:
    runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    assert len(runs) == 1
    return sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])


def children(sfn, map_run_arn: str) -> list[dict[str, Any]]:
    return sfn.list_executions(mapRunArn=map_run_arn, maxResults=1000)["executions"]


# -- item sources ------------------------------------------------------------------------------
def test_items_path_runs_one_standard_child_execution_per_item(sfn, run):
    done = run(
        distributed(
            ItemsPath="$.orders",
            ItemSelector={"order.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            Label="Orders",
        ),
        {"orders": ["a", "b", "c"]},
    )
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [
        {"order": "a", "index": 0},
        {"order": "b", "index": 1},
        {"order": "c", "index": 2},
    ]
    kinds = types_of(sfn, done["executionArn"])
    assert kinds[1:7] == [
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
    ]
    assert "MapIterationStarted" not in kinds
    events = events_of(sfn, done["executionArn"])
    assert events[2]["mapStateStartedEventDetails"] == {"length": 3}
    map_run_arn = events[3]["mapRunStartedEventDetails"]["mapRunArn"]
    machine_name = done["stateMachineArn"].split(":")[-1]
    prefix = f"arn:aws:states:us-east-1:000000000000:mapRun:{machine_name}/Orders:"
    assert map_run_arn.startswith(prefix) and len(map_run_arn) == len(prefix) + 36
    kids = children(sfn, map_run_arn)
    assert len(kids) == 3 and all(k["status"] == "SUCCEEDED" for k in kids)
    child = kids[0]
    assert child["mapRunArn"] == map_run_arn and child["itemCount"] == 1
    assert child["stateMachineArn"].endswith(f":stateMachine:{machine_name}/Orders")
    assert child["executionArn"].startswith(
        f"arn:aws:states:us-east-1:000000000000:execution:{machine_name}/Orders:"
    )
    uuid.UUID(child["name"])  # children are named by UUIDs, as on AWS
    described = sfn.describe_execution(executionArn=child["executionArn"])
    assert described["mapRunArn"] == map_run_arn
    assert types_of(sfn, child["executionArn"]) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    definition = sfn.describe_state_machine_for_execution(executionArn=child["executionArn"])
    assert definition["mapRunArn"] == map_run_arn and definition["label"] == "Orders"
    assert json.loads(definition["definition"])["StartAt"] == "Echo"


def test_list_objects_v2_reader_gives_object_entries_as_items(sfn, run, s3, bucket):
    for key, body in (("in/a.txt", b"alpha"), ("in/b.txt", b"bravo!"), ("other/c.txt", b"c")):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket, Prefix="in/")["Contents"]}
    done = run(
        distributed(
            ItemReader={
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"},
            }
        ),
        {"bucket": bucket},
    )
    assert done["status"] == "SUCCEEDED", done
    items = json.loads(done["output"])
    assert [item["Key"] for item in items] == ["in/a.txt", "in/b.txt"]
    for item in items:
        entry = listed[item["Key"]]
        assert item == {
            "Etag": entry["ETag"],
            "Key": entry["Key"],
            "LastModified": int(entry["LastModified"].timestamp()),
            "Size": entry["Size"],
            "StorageClass": "STANDARD",
        }
    assert events_of(sfn, done["executionArn"])[2]["mapStateStartedEventDetails"] == {"length": 0}
    capped = run(
        distributed(
            ItemReader={
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "ReaderConfig": {"MaxItemsPath": "$.most"},
                "Parameters": {"Bucket": bucket},
            }
        ),
        {"most": 2},
    )
    assert [item["Key"] for item in json.loads(capped["output"])] == ["in/a.txt", "in/b.txt"]


def get_object_map(bucket: str, key: str, config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return distributed(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": config,
            "Parameters": {"Bucket": bucket, "Key": key},
        },
        **fields,
    )


def test_json_jsonl_and_csv_objects_are_read_as_items(run, s3, bucket):
    s3.put_object(Bucket=bucket, Key="d.json", Body=json.dumps([{"n": 1}, {"n": 2}, {"n": 3}]))
    s3.put_object(Bucket=bucket, Key="d.jsonl", Body=b'{"n": 1}\n\n{"n": 2}\n')
    s3.put_object(Bucket=bucket, Key="d.csv", Body=b"id,name\n1,ana\n2,bo\n")
    s3.put_object(Bucket=bucket, Key="d.psv", Body=b"1|ana\n2|bo\n")
    done = run(get_object_map(bucket, "d.json", {"InputType": "JSON", "MaxItems": 2}))
    assert json.loads(done["output"]) == [{"n": 1}, {"n": 2}]
    done = run(get_object_map(bucket, "d.jsonl", {"InputType": "JSONL"}))
    assert json.loads(done["output"]) == [{"n": 1}, {"n": 2}]
    done = run(
        get_object_map(bucket, "d.csv", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})
    )
    assert json.loads(done["output"]) == [{"id": "1", "name": "ana"}, {"id": "2", "name": "bo"}]
    given = {
        "InputType": "CSV",
        "CSVHeaderLocation": "GIVEN",
        "CSVHeaders": ["id", "who"],
        "CSVDelimiter": "PIPE",
    }
    done = run(
        get_object_map(
            bucket,
            "d.psv",
            given,
            ItemSelector={"who.$": "$$.Map.Item.Value.who", "batch.$": "$.batch"},
        ),
        {"batch": 7},
    )
    assert json.loads(done["output"]) == [{"who": "ana", "batch": 7}, {"who": "bo", "batch": 7}]


def test_s3_inventory_manifest_items_are_its_csv_rows(run, s3, bucket):
    rows = b'"src","a.txt","5"\n"src","b.txt","7"\n'
    s3.put_object(Bucket=bucket, Key="inv/data/1.csv.gz", Body=gzip.compress(rows))
    manifest = {
        "sourceBucket": "src",
        "destinationBucket": f"arn:aws:s3:::{bucket}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inv/data/1.csv.gz", "size": 40, "MD5checksum": "x"}],
    }
    s3.put_object(Bucket=bucket, Key="inv/manifest.json", Body=json.dumps(manifest))
    done = run(get_object_map(bucket, "inv/manifest.json", {"InputType": "MANIFEST"}))
    assert json.loads(done["output"]) == [
        {"Bucket": "src", "Key": "a.txt", "Size": "5"},
        {"Bucket": "src", "Key": "b.txt", "Size": "7"},
    ]


def test_jsonata_items_selector_batcher_and_writer_arguments(run, s3, bucket):
    definition = distributed(
        Items="{% $states.input.values %}",
        ItemSelector={"v": "{% $states.context.Map.Item.Value * 2 %}"},
        ItemBatcher={"MaxItemsPerBatch": "{% $states.input.size %}"},
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Arguments": {"Bucket": "{% $states.input.bucket %}", "Prefix": "jsonata"},
            "WriterConfig": {"Transformation": "COMPACT"},
        },
    )
    definition["QueryLanguage"] = "JSONata"
    done = run(definition, {"values": [1, 2, 3], "size": 2, "bucket": bucket})
    assert done["status"] == "SUCCEEDED", done
    key = json.loads(done["output"])["ResultWriterDetails"]["Key"]
    assert key.startswith("jsonata/")
    body = s3.get_object(Bucket=bucket, Key=key.replace("manifest.json", "SUCCEEDED_0.json"))
    assert json.loads(body["Body"].read()) == [
        {"Items": [{"v": 2}, {"v": 4}]},
        {"Items": [{"v": 6}]},
    ]


def test_reader_errors_fail_the_map_run_with_item_reader_failed(sfn, run, bucket, s3):
    missing = run(get_object_map(bucket, "nope.json", {"InputType": "JSON"}))
    assert missing["status"] == "FAILED" and missing["error"] == "States.ItemReaderFailed"
    assert "NoSuchKey" in missing["cause"]
    events = events_of(sfn, missing["executionArn"])
    failed = next(e for e in events if e["type"] == "MapRunFailed")
    assert failed["mapRunFailedEventDetails"]["error"] == "States.ItemReaderFailed"
    assert [e["type"] for e in events][-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    s3.put_object(Bucket=bucket, Key="object.json", Body=b'{"not": "a list"}')
    not_a_list = run(get_object_map(bucket, "object.json", {"InputType": "JSON"}))
    assert not_a_list["error"] == "States.ItemReaderFailed"
    assert map_run_of(sfn, not_a_list["executionArn"])["status"] == "FAILED"


# -- batches -----------------------------------------------------------------------------------
def test_item_batcher_gives_children_items_and_batch_input(sfn, run):
    done = run(
        distributed(
            ItemsPath="$.items",
            ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}},
        ),
        {"items": [1, 2, 3, 4, 5], "run": "r1"},
    )
    assert json.loads(done["output"]) == [
        {"BatchInput": {"run": "r1"}, "Items": [1, 2]},
        {"BatchInput": {"run": "r1"}, "Items": [3, 4]},
        {"BatchInput": {"run": "r1"}, "Items": [5]},
    ]
    described = map_run_of(sfn, done["executionArn"])
    assert described["executionCounts"]["total"] == 3 and described["itemCounts"]["total"] == 5
    assert described["itemCounts"]["succeeded"] == 5
    counts = sorted(k["itemCount"] for k in children(sfn, described["mapRunArn"]))
    assert counts == [1, 2, 2]
    by_bytes = run(
        distributed(ItemsPath="$.items", ItemBatcher={"MaxInputBytesPerBatch": 33}),
        {"items": ["aaaaaaaa", "bbbbbbbb", "cccccccc"]},
    )
    assert json.loads(by_bytes["output"]) == [
        {"Items": ["aaaaaaaa", "bbbbbbbb"]},
        {"Items": ["cccccccc"]},
    ]


# -- results -----------------------------------------------------------------------------------
def test_result_writer_exports_result_files_and_a_manifest(sfn, run, s3, bucket):
    done = run(
        distributed(
            ItemsPath="$",
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": bucket, "Prefix": "results"},
            },
        ),
        [{"n": 1}, {"n": 2}],
    )
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    map_run_arn = output["MapRunArn"]
    run_id = map_run_arn.rsplit(":", 1)[1]
    assert output["ResultWriterDetails"] == {
        "Bucket": bucket,
        "Key": f"results/{run_id}/manifest.json",
    }
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"results/{run_id}/manifest.json")["Body"].read()
    )
    succeeded_key = f"results/{run_id}/SUCCEEDED_0.json"
    body = s3.get_object(Bucket=bucket, Key=succeeded_key)["Body"].read()
    assert manifest == {
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": succeeded_key, "Size": len(body)}],
        },
    }
    records = json.loads(body)
    assert [json.loads(r["Output"]) for r in records] == [{"n": 1}, {"n": 2}]
    first = records[0]
    assert first["Status"] == "SUCCEEDED" and first["Input"] == '{"n":1}'
    assert first["InputDetails"] == {"Included": True} and first["RedriveCount"] == 0
    assert first["RedriveStatus"] == "NOT_REDRIVABLE"
    assert first["StateMachineArn"] == map_run_arn.rsplit(":", 1)[0].replace(
        ":mapRun:", ":stateMachine:"
    )
    described = sfn.describe_execution(executionArn=first["ExecutionArn"])
    assert described["name"] == first["Name"] and described["mapRunArn"] == map_run_arn
    assert first["StartDate"].endswith("Z") and first["StopDate"].endswith("Z")
    assert map_run_of(sfn, done["executionArn"])["executionCounts"]["resultsWritten"] == 2


def test_writer_config_shapes_the_exported_and_the_returned_results(run, s3, bucket):
    exported = run(
        distributed(
            ItemsPath="$",
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": bucket, "Prefix": "jl/"},
                "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
            },
        ),
        [{"n": 1}, {"n": 2}],
    )
    key = json.loads(exported["output"])["ResultWriterDetails"]["Key"]
    assert key.startswith("jl/") and "//" not in key
    body = s3.get_object(Bucket=bucket, Key=key.replace("manifest.json", "SUCCEEDED_0.json"))
    assert body["Body"].read() == b'{"n":1}\n{"n":2}\n'
    flattened = run(
        distributed(ItemsPath="$", ResultWriter={"WriterConfig": {"Transformation": "FLATTEN"}}),
        [[1, 2], [3]],
    )
    assert json.loads(flattened["output"]) == [1, 2, 3]


def test_result_writer_errors_fail_with_result_writer_failed(run):
    done = run(
        distributed(
            ItemsPath="$",
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": f"missing-{uuid.uuid4().hex[:8]}", "Prefix": "x"},
            },
        ),
        [1],
    )
    assert done["status"] == "FAILED" and done["error"] == "States.ResultWriterFailed"
    assert "NoSuchBucket" in done["cause"]


# -- failures ----------------------------------------------------------------------------------
FAILING = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"}],
            "Default": "Fine",
        },
        "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "bad item"},
        "Fine": {"Type": "Pass", "End": True},
    },
}


def test_failures_beyond_the_tolerance_fail_the_map_run(sfn, run, s3, bucket):
    items = [{"fail": i in (1, 3)} for i in range(4)]
    definition = one_failure_tolerated(processor(FAILING), bucket, "failures")
    done = run(definition, items)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.ExceedToleratedFailureThreshold"
    events = events_of(sfn, done["executionArn"])
    failed = next(e for e in events if e["type"] == "MapRunFailed")
    assert failed["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"
    described = map_run_of(sfn, done["executionArn"])
    assert described["status"] == "FAILED" and described["toleratedFailureCount"] == 1
    assert described["executionCounts"]["failed"] == 2
    assert described["executionCounts"]["succeeded"] == 2
    statuses = sorted(k["status"] for k in children(sfn, described["mapRunArn"]))
    assert statuses == ["FAILED", "FAILED", "SUCCEEDED", "SUCCEEDED"]
    run_id = described["mapRunArn"].rsplit(":", 1)[1]
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"failures/{run_id}/manifest.json")["Body"].read()
    )
    assert len(manifest["ResultFiles"]["FAILED"]) == 1
    failed_records = json.loads(
        s3.get_object(Bucket=bucket, Key=manifest["ResultFiles"]["FAILED"][0]["Key"])["Body"].read()
    )
    assert [(r["Status"], r["Error"], r["Cause"]) for r in failed_records] == [
        ("FAILED", "Item.Bad", "bad item")
    ] * 2


def test_tolerated_failures_keep_the_failed_childs_record_in_the_output(run):
    items = [{"fail": i == 1} for i in range(4)]
    done = run(
        distributed(ItemsPath="$", ItemProcessor=processor(FAILING), ToleratedFailurePercentage=25),
        items,
    )
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output[0] == {"fail": False} and output[2] == {"fail": False}
    assert output[1]["Status"] == "FAILED" and output[1]["Error"] == "Item.Bad"
    no_tolerance = run(distributed(ItemsPath="$", ItemProcessor=processor(FAILING)), items)
    assert no_tolerance["error"] == "States.ExceedToleratedFailureThreshold"


def gated(bucket: str) -> dict[str, Any]:
    """Children that need the S3 object `gate` when their item says so (it fails until then)."""
    return {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.gated", "BooleanEquals": True, "Next": "Fetch"}],
                "Default": "Fine",
            },
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
                "Parameters": {"Bucket": bucket, "Key": "gate"},
                "ResultPath": None,
                "Next": "Fine",
            },
            "Fine": {"Type": "Pass", "End": True},
        },
    }


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_redriving_the_parent_redrives_its_map_run(sfn, run, s3, bucket, kind):
    items = [{"n": i, "gated": i in (1, 3)} for i in range(4)]
    definition = one_failure_tolerated(processor(gated(bucket), kind), bucket, "redrive")
    done = run(definition, items)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.ExceedToleratedFailureThreshold"
    parent = done["executionArn"]
    before = map_run_of(sfn, parent)
    map_run = before["mapRunArn"]
    assert before["redriveCount"] == 0 and "redriveDate" not in before
    assert before["executionCounts"]["failed"] == 2
    first: dict[str, Any] = {}
    if kind == "STANDARD":
        first = {c["executionArn"]: c for c in children(sfn, map_run)}
        histories = {arn: events_of(sfn, arn) for arn in first}

    s3.put_object(Bucket=bucket, Key="gate", Body=b"open")
    sfn.redrive_execution(executionArn=parent)
    again = finished(sfn, parent)
    assert again["status"] == "SUCCEEDED", again
    assert again["redriveCount"] == 1
    assert json.loads(again["output"])["MapRunArn"] == map_run

    runs = sfn.list_map_runs(executionArn=parent)["mapRuns"]
    assert [r["mapRunArn"] for r in runs] == [map_run]
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1 and "redriveDate" in described
    counts = described["executionCounts"]
    assert (counts["succeeded"], counts["failed"], counts["total"]) == (4, 0, 4)
    assert counts["pendingRedrive"] == 0 and counts["resultsWritten"] == 4

    kinds = types_of(sfn, parent)
    assert kinds.count("MapRunStarted") == 1
    redriven = next(e for e in events_of(sfn, parent) if e["type"] == "MapRunRedriven")
    assert redriven["mapRunRedrivenEventDetails"] == {"mapRunArn": map_run, "redriveCount": 1}
    assert kinds.index("ExecutionRedriven") < kinds.index("MapRunRedriven")
    assert kinds[-4:] == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]

    if kind == "STANDARD":
        now = {c["executionArn"]: c for c in children(sfn, map_run)}
        assert set(now) == set(first)  # the failed children were redriven, not started anew
        for arn, child in now.items():
            index = json.loads(sfn.describe_execution(executionArn=arn)["input"])["n"]
            assert child["status"] == "SUCCEEDED"
            if index in (1, 3):
                assert first[arn]["status"] == "FAILED"
                assert sfn.describe_execution(executionArn=arn)["redriveCount"] == 1
                assert "ExecutionRedriven" in types_of(sfn, arn)
            else:  # succeeded the first time: not run again
                assert first[arn]["status"] == "SUCCEEDED"
                assert sfn.describe_execution(executionArn=arn)["redriveCount"] == 0
                assert events_of(sfn, arn) == histories[arn]
        assert len(children(sfn, map_run)) == 4

    run_id = map_run.rsplit(":", 1)[1]
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"redrive/{run_id}/manifest.json")["Body"].read()
    )
    assert not manifest["ResultFiles"].get("FAILED")
    written = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(s3.get_object(Bucket=bucket, Key=written[0]["Key"])["Body"].read())
    assert sorted(json.loads(r["Input"])["n"] for r in records) == [0, 1, 2, 3]


def test_a_map_run_whose_items_were_never_read_starts_afresh_on_redrive(sfn, run, s3, bucket):
    definition = distributed(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": bucket, "Key": "items.json"},
        }
    )
    done = run(definition)
    assert done["status"] == "FAILED" and done["error"] == "States.ItemReaderFailed"
    s3.put_object(Bucket=bucket, Key="items.json", Body=json.dumps([1, 2]).encode())
    sfn.redrive_execution(executionArn=done["executionArn"])
    again = finished(sfn, done["executionArn"])
    assert again["status"] == "SUCCEEDED", again
    assert json.loads(again["output"]) == [1, 2]
    assert "MapRunRedriven" not in types_of(sfn, done["executionArn"])
    assert len(sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"]) == 2


def test_catch_handles_an_exceeded_threshold(run):
    definition = distributed(ItemsPath="$", ItemProcessor=processor(FAILING))
    definition["States"]["Each"].pop("End")
    definition["States"]["Each"]["Next"] = "Unused"
    definition["States"]["Each"]["Catch"] = [
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Handled"}
    ]
    definition["States"]["Unused"] = {"Type": "Succeed"}
    definition["States"]["Handled"] = {"Type": "Pass", "End": True}
    done = run(definition, [{"fail": True}])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["Error"] == "States.ExceedToleratedFailureThreshold"


# -- express children --------------------------------------------------------------------------
def test_express_children_run_in_memory(sfn, run):
    done = run(
        distributed(ItemsPath="$", ItemProcessor=processor(kind="EXPRESS")),
        [1, 2, 3],
    )
    assert json.loads(done["output"]) == [1, 2, 3]
    described = map_run_of(sfn, done["executionArn"])
    assert described["executionCounts"]["succeeded"] == 3
    assert children(sfn, described["mapRunArn"]) == []  # only STANDARD children are listed


def test_an_express_parent_runs_a_distributed_map(sfn, machine):
    definition = distributed(ItemsPath="$", ItemProcessor=processor(kind="EXPRESS"))
    arn = machine(definition, type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=arn, input="[1, 2]")
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == [1, 2]


# -- the Map Run API ---------------------------------------------------------------------------
WAITING = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Echo"},
        "Echo": {"Type": "Pass", "End": True},
    },
}


def test_map_runs_are_described_listed_and_updated_while_running(own_server):
    sfn = client(own_server.endpoint, "stepfunctions")
    definition = {
        "StartAt": "First",
        "States": {
            "First": {
                "Type": "Map",
                "ItemsPath": "$",
                "ItemProcessor": processor(
                    {"StartAt": "Copy", "States": {"Copy": {"Type": "Pass", "End": True}}}
                ),
                "ResultPath": None,
                "Next": "Second",
            },
            "Second": {
                "Type": "Map",
                "ItemsPath": "$",
                "MaxConcurrency": 1,
                "ItemProcessor": processor(WAITING),
                "End": True,
            },
        },
    }
    arn = sfn.create_state_machine(name="runs", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]

    def two_runs():
        runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        return runs if len(runs) == 2 else None

    runs = wait_for(two_runs)
    assert runs[0]["executionArn"] == execution and "stopDate" in runs[0]
    assert runs[0]["stateMachineArn"] == runs[0]["mapRunArn"].rsplit(":", 1)[0].replace(
        ":mapRun:", ":stateMachine:"
    )
    first_page = sfn.list_map_runs(executionArn=execution, maxResults=1)
    rest = sfn.list_map_runs(executionArn=execution, nextToken=first_page["nextToken"])
    assert [r["mapRunArn"] for r in first_page["mapRuns"] + rest["mapRuns"]] == [
        r["mapRunArn"] for r in runs
    ]
    second = runs[1]["mapRunArn"]

    def one_running():
        described = sfn.describe_map_run(mapRunArn=second)
        return described if described["executionCounts"]["running"] == 1 else None

    described = wait_for(one_running)
    assert described["status"] == "RUNNING" and "stopDate" not in described
    assert described["maxConcurrency"] == 1
    assert described["executionCounts"]["pending"] == 2
    assert (
        described["itemCounts"]["total"] == 3
        and described["executionCounts"]["resultsWritten"] == 0
    )
    sfn.update_map_run(mapRunArn=second, maxConcurrency=3, toleratedFailurePercentage=50)
    wait_for(lambda: sfn.describe_map_run(mapRunArn=second)["executionCounts"]["running"] == 3)
    updated = sfn.describe_map_run(mapRunArn=second)
    assert updated["maxConcurrency"] == 3 and updated["toleratedFailurePercentage"] == 50.0
    assert len(children(sfn, second)) == 3
    advance(own_server.endpoint, 3600)
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == [1, 2, 3]
    final = sfn.describe_map_run(mapRunArn=second)
    assert final["status"] == "SUCCEEDED" and final["stopDate"] >= final["startDate"]
    assert final["executionCounts"]["succeeded"] == 3 == final["executionCounts"]["resultsWritten"]


def test_map_run_api_errors(sfn, run):
    done = run(distributed(ItemsPath="$"), [1])
    map_run = sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"][0]["mapRunArn"]
    unknown = map_run.rsplit(":", 1)[0] + ":" + str(uuid.uuid4())
    error = error_of(sfn.describe_map_run, mapRunArn=unknown)
    assert error["Code"] == "ResourceNotFound" and unknown in error["Message"]
    assert error_of(sfn.update_map_run, mapRunArn=unknown, maxConcurrency=1)["Code"] == (
        "ResourceNotFound"
    )
    assert error_of(sfn.describe_map_run, mapRunArn=done["executionArn"])["Code"] == "InvalidArn"
    assert error_of(sfn.update_map_run, mapRunArn=map_run)["Code"] == "ValidationException"
    too_many = error_of(sfn.update_map_run, mapRunArn=map_run, toleratedFailurePercentage=101)
    assert too_many["Code"] == "ValidationException"
    missing_execution = done["executionArn"] + "-gone"
    assert error_of(sfn.list_map_runs, executionArn=missing_execution)["Code"] == (
        "ExecutionDoesNotExist"
    )
    assert error_of(sfn.list_executions, mapRunArn=unknown)["Code"] == "ResourceNotFound"
    both = error_of(sfn.list_executions, mapRunArn=map_run, stateMachineArn=done["stateMachineArn"])
    assert both["Code"] == "ValidationException"


def test_stopping_the_parent_aborts_the_map_run_and_its_children(own_server):
    sfn = client(own_server.endpoint, "stepfunctions")
    definition = distributed(ItemsPath="$", ItemProcessor=processor(WAITING))
    arn = sfn.create_state_machine(name="stop", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, input="[1, 2]")["executionArn"]
    runs = wait_for(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"])
    map_run = runs[0]["mapRunArn"]
    wait_for(lambda: sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]["running"] == 2)
    sfn.stop_execution(executionArn=execution)
    assert finished(sfn, execution)["status"] == "ABORTED"
    assert types_of(sfn, execution)[-3:] == ["MapRunAborted", "MapStateAborted", "ExecutionAborted"]
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "ABORTED" and described["executionCounts"]["aborted"] == 2
    assert {k["status"] for k in children(sfn, map_run)} == {"ABORTED"}


# -- definitions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "config", "message"),
    [
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2"}}, {"Mode": "INLINE"},
         "The field 'ItemReader' is only supported for Map states in DISTRIBUTED mode"),
        ({}, {"Mode": "DISTRIBUTED"}, "These fields are required: [ExecutionType]"),
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                         "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"}}},
         None, "These fields are required: [CSVHeaders]"),
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                         "ReaderConfig": {"InputType": "JSON", "MaxItems": 1, "MaxItemsPath": "$.n"}}},
         None, "Only one of 'MaxItems' or 'MaxItemsPath' is allowed"),
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}}, None,
         "These fields are required: [InputType]"),
        ({"ItemBatcher": {"BatchInput": {}}}, None, "At least one of these fields is required"),
        ({"ItemBatcher": {"MaxInputBytesPerBatch": 300000}}, None,
         "The value for the field 'MaxInputBytesPerBatch' must be a positive integer"),
        ({"ResultWriter": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}}}, None,
         "The resource provided arn:aws:states:::s3:getObject is not recognized"),
        ({"ResultWriter": {}}, None, "The field 'ResultWriter' must specify Resource"),
        ({"Label": "x" * 41}, None, "The value for the field 'Label' must be"),
        ({"ToleratedFailureCount": 1, "ToleratedFailureCountPath": "$.n"}, None,
         "Only one of 'ToleratedFailureCount' or 'ToleratedFailureCountPath' is allowed"),
    ],
)  # fmt: skip
def test_definitions_with_invalid_distributed_fields_are_refused(sfn, fields, config, message):
    definition = distributed(**fields)
    if config is not None:
        definition["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] = config
    error = error_of(
        sfn.create_state_machine,
        name=f"bad-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )
    assert error["Code"] == "InvalidDefinition" and message in error["Message"], error


# -- durability --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_restart_mid_map_run_finishes_every_item_exactly_once(cloudlet_process, kind):
    """STANDARD children resume on their own; EXPRESS ones that were running run again."""
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    naps = {
        "StartAt": "Nap",
        "States": {
            "Nap": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Echo"},
            "Echo": {"Type": "Pass", "Parameters": {"id.$": "$.id"}, "End": True},
        },
    }
    definition = distributed(
        ItemsPath="$.items", MaxConcurrency=2, ItemProcessor=processor(naps, kind)
    )
    arn = sfn.create_state_machine(
        name="durable-dm", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    items = [{"id": i, "delay": 60 if i < 2 else 7200} for i in range(5)]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))[
        "executionArn"
    ]
    map_run = wait_for(lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"])[0]["mapRunArn"]
    wait_for(lambda: sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]["running"] == 2)
    advance(cloudlet_process.endpoint, 61)

    def two_done_two_running():
        counts = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
        return counts["succeeded"] == 2 and counts["running"] == 2

    wait_for(two_done_two_running)
    if kind == "STANDARD":
        wait_for(lambda: len(children(sfn, map_run)) == 4)  # the next two started, durably
    cloudlet_process.kill()
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert sfn.describe_map_run(mapRunArn=map_run)["status"] == "RUNNING"
    advance(cloudlet_process.endpoint, 7200)
    wait_for(lambda: sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]["running"] == 1)
    advance(cloudlet_process.endpoint, 7200)
    done = finished(sfn, execution, timeout=30)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"id": i} for i in range(5)]
    if kind == "STANDARD":
        kids = children(sfn, map_run)
        assert len(kids) == 5 and {k["status"] for k in kids} == {"SUCCEEDED"}
        assert len({k["name"] for k in kids}) == 5
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED"
    assert described["executionCounts"]["succeeded"] == 5
    kinds = types_of(sfn, execution)
    assert kinds.count("MapRunStarted") == 1 and kinds.count("MapRunSucceeded") == 1
    ids = [e["id"] for e in events_of(sfn, execution)]
    assert ids == list(range(1, len(ids) + 1))
