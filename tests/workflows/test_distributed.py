"""Distributed Map pieces that need no server: item parsing, batching, result shapes, the
definition checks, and the inline fallback of an in-memory host."""

from __future__ import annotations

import gzip

import orjson
import pytest

from cloudlet.workflows import validate
from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.items import batches, inventory, inventory_rows, parse_csv, parse_object
from cloudlet.workflows.local import run_local
from cloudlet.workflows.mapresults import result_files, transform


def test_csv_rows_become_objects_of_strings():
    text = "id,name\n1,ana\n\n2,bo\n"
    assert parse_csv(text, {"CSVHeaderLocation": "FIRST_ROW"}) == [
        {"id": "1", "name": "ana"},
        {"id": "2", "name": "bo"},
    ]
    given = {"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b", "c"], "CSVDelimiter": "TAB"}
    assert parse_csv("1\t2\n3\t4\t5\n", given) == [
        {"a": "1", "b": "2", "c": ""},
        {"a": "3", "b": "4", "c": "5"},
    ]
    with pytest.raises(StatesError) as caught:
        parse_csv("a\n1,2\n", {})
    assert caught.value.name == "States.ItemReaderFailed"


def test_json_objects_must_hold_an_array():
    assert parse_object(
        b'{"data": {"rows": [1, 2]}}', {"InputType": "JSON", "ItemsPointer": "/data/rows"}
    ) == [1, 2]
    for body, config in (
        (b'{"a": 1}', {"InputType": "JSON"}),
        (b"not json", {"InputType": "JSON"}),
        (b'{"a": 1}\n{oops\n', {"InputType": "JSONL"}),
    ):
        with pytest.raises(StatesError) as caught:
            parse_object(body, config)
        assert caught.value.name == "States.ItemReaderFailed"


def test_s3_inventory_manifests_name_their_csv_files():
    manifest = {
        "sourceBucket": "source",
        "destinationBucket": "arn:aws:s3:::inventory",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inv/data/1.csv.gz", "size": 10, "MD5checksum": "x"}],
    }
    assert inventory(orjson.dumps(manifest)) == (
        "inventory",
        ["inv/data/1.csv.gz"],
        ["Bucket", "Key", "Size"],
    )
    rows = inventory_rows(gzip.compress(b'"source","a.txt","5"\n'), ["Bucket", "Key", "Size"])
    assert rows == [{"Bucket": "source", "Key": "a.txt", "Size": "5"}]


def test_batches_respect_the_item_count_and_the_byte_size():
    assert batches([1, 2, 3], 2, None, None) == [{"Items": [1, 2]}, {"Items": [3]}]
    assert batches([1, 2, 3], None, None, {"k": 1}) == [
        {"BatchInput": {"k": 1}, "Items": [1, 2, 3]}
    ]
    sized = batches(["aaaa", "bbbb", "cccc"], None, len(b'{"Items":["aaaa","bbbb"]}'), None)
    assert sized == [{"Items": ["aaaa", "bbbb"]}, {"Items": ["cccc"]}]
    assert batches([], 5, None, None) == []


def test_results_are_transformed_and_grouped_into_files():
    records = [
        {"Status": "SUCCEEDED", "Output": "[1,2]"},
        {"Status": "FAILED", "Error": "E"},
        {"Status": "SUCCEEDED", "Output": "3"},
        {"Status": "PENDING", "Input": "{}"},
    ]
    assert transform(records[:3], "COMPACT") == [[1, 2], records[1], 3]
    assert transform(records[:3], "FLATTEN") == [1, 2, records[1], 3]
    files = result_files(records, "COMPACT", "JSONL")
    assert files["SUCCEEDED"] == b"[1,2]\n3\n"
    assert orjson.loads(files["FAILED"].decode().strip()) == records[1]
    assert set(files) == {"SUCCEEDED", "FAILED", "PENDING"}
    assert result_files(records[:1], "NONE", "JSON") == {"SUCCEEDED": orjson.dumps(records[:1])}


def machine(**fields):
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    state.update(fields)
    return {"StartAt": "M", "States": {"M": state}}


def test_valid_distributed_definitions_pass_and_invalid_ones_are_named():
    good = machine(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 10},
            "Parameters": {"Bucket": "b", "Key.$": "$.key"},
        },
        ItemBatcher={"MaxItemsPerBatchPath": "$.size", "BatchInput": {"a.$": "$.a"}},
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "b", "Prefix": "p"},
            "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"},
        },
        Label="Files",
        ToleratedFailurePercentagePath="$.pct",
    )
    assert [d for d in validate(good) if d.severity == "ERROR"] == []
    bad = machine(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "XML"},
        },
        ResultWriter={"WriterConfig": {"Transformation": "SQUASH"}},
        ItemBatcher={"MaxItemsPerBatch": 0},
    )
    messages = {d.message for d in validate(bad)}
    assert (
        "The field 'InputType' should have one of these values: [CSV, JSON, JSONL, MANIFEST, PARQUET]"
        in messages
    )
    assert (
        "The field 'Transformation' should have one of these values: [NONE, COMPACT, FLATTEN]"
        in messages
    )
    assert "The value for the field 'MaxItemsPerBatch' must be a positive integer" in messages
    jsonata = machine(QueryLanguage="JSONata", ItemBatcher={"MaxItemsPerBatchPath": "$.n"})
    assert any(
        "'MaxItemsPerBatchPath' is not supported in JSONata" in d.message for d in validate(jsonata)
    )


def test_an_in_memory_host_runs_distributed_items_inline_with_batches():
    out = run_local(machine(ItemsPath="$", ItemBatcher={"MaxItemsPerBatch": 2}), [1, 2, 3])
    assert out.status == "SUCCEEDED" and out.output == [{"Items": [1, 2]}, {"Items": [3]}]
    reader = machine(
        ItemReader={"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}}
    )
    failed = run_local(reader, {})
    assert failed.status == "FAILED" and failed.error == "States.ItemReaderFailed"
