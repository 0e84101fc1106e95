"""The settings of a distributed Map, compiled once with the definition.

A Map whose `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED` runs each item (or batch)
as a child workflow execution of its own, reads its items with an `ItemReader` (S3), groups
them with an `ItemBatcher`, and may export the results with a `ResultWriter`. This module
turns those fields into `DistributedSpec`: every value that may come from the state's input
(`...Path` in JSONPath, `{% %}` in JSONata) becomes a `Dynamic` evaluated as
`(source, variables, context)`, exactly like the other dynamic settings of `states.py`, so
the engine evaluates them all the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudlet.workflows import query
from cloudlet.workflows.templates import Dynamic, compile_template, dynamic

#: a value given literally, by a path (JSONPath) or by an expression (JSONata)

LIST_OBJECTS = "s3:listObjectsV2"
GET_OBJECT = "s3:getObject"
PUT_OBJECT = "s3:putObject"
INPUT_TYPES = ("CSV", "JSON", "JSONL", "MANIFEST", "PARQUET")
CSV_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")
OUTPUT_TYPES = ("JSON", "JSONL")


@dataclass(slots=True)
class ReaderSpec:
    """`ItemReader`: the S3 API action, its parameters and how to read what it returns."""

    action: str  # "s3:getObject" | "s3:listObjectsV2"
    parameters: Dynamic | None
    config: Dynamic  # the ReaderConfig object (JSONata may compute any of it)
    max_items: Dynamic | None


@dataclass(slots=True)
class BatcherSpec:
    """`ItemBatcher`: how many items (or bytes) one child execution gets."""

    max_items: Dynamic | None
    max_bytes: Dynamic | None
    batch_input: Dynamic | None


@dataclass(slots=True)
class WriterSpec:
    """`ResultWriter`: where the results go (S3) and in what shape."""

    parameters: Dynamic | None  # None: no Resource, the state output is the formatted results
    transformation: str
    output_type: str


@dataclass(slots=True)
class DistributedSpec:
    execution_type: str = "STANDARD"
    label: str | None = None
    reader: ReaderSpec | None = None
    batcher: BatcherSpec | None = None
    writer: WriterSpec | None = None


def compile_distributed(
    body: dict[str, Any], config: dict[str, Any], jsonata: bool
) -> DistributedSpec:
    """The distributed settings of a Map state body (already validated)."""
    return DistributedSpec(
        execution_type=config.get("ExecutionType") or "STANDARD",
        label=body.get("Label"),
        reader=_reader(body["ItemReader"], jsonata) if "ItemReader" in body else None,
        batcher=_batcher(body["ItemBatcher"], jsonata) if "ItemBatcher" in body else None,
        writer=_writer(body["ResultWriter"], jsonata) if "ResultWriter" in body else None,
    )


def action_of(resource: str) -> str:
    """`arn:aws:states:::s3:getObject` -> `s3:getObject`."""
    return resource.split(":::", 1)[1] if ":::" in resource else resource


def payload(body: dict[str, Any], jsonata: bool) -> Dynamic | None:
    """`Parameters` (JSONPath) or `Arguments` (JSONata) of a reader or writer."""
    if jsonata:
        if "Arguments" not in body:
            return None
        evaluator = query.compile_value(body["Arguments"])
        return lambda states, variables, _ctx: query.evaluate_top(evaluator, states, variables)
    if "Parameters" not in body:
        return None
    template = compile_template(body["Parameters"])
    return lambda data, variables, ctx: template(data, ctx, variables)


def _reader(body: dict[str, Any], jsonata: bool) -> ReaderSpec:
    raw = dict(body.get("ReaderConfig") or {})
    max_items = dynamic(raw, "MaxItems", jsonata)
    raw.pop("MaxItems", None)
    raw.pop("MaxItemsPath", None)
    if jsonata:
        evaluator = query.compile_value(raw)
        config: Dynamic = lambda states, variables, _ctx: query.evaluate_top(  # noqa: E731
            evaluator, states, variables
        )
    else:
        config = lambda data, variables, ctx: raw  # noqa: E731
    return ReaderSpec(action_of(body["Resource"]), payload(body, jsonata), config, max_items)


def _batcher(body: dict[str, Any], jsonata: bool) -> BatcherSpec:
    batch_input: Dynamic | None = None
    if "BatchInput" in body:
        if jsonata:
            evaluator = query.compile_value(body["BatchInput"])
            batch_input = lambda states, variables, _ctx: query.evaluate_top(  # noqa: E731
                evaluator, states, variables
            )
        else:
            template = compile_template(body["BatchInput"])
            batch_input = lambda data, variables, ctx: template(data, ctx, variables)  # noqa: E731
    return BatcherSpec(
        max_items=dynamic(body, "MaxItemsPerBatch", jsonata),
        max_bytes=dynamic(body, "MaxInputBytesPerBatch", jsonata),
        batch_input=batch_input,
    )


def _writer(body: dict[str, Any], jsonata: bool) -> WriterSpec:
    config = body.get("WriterConfig") or {}
    exports = "Resource" in body
    return WriterSpec(
        parameters=payload(body, jsonata) if exports else None,
        transformation=config.get("Transformation") or ("NONE" if exports else "COMPACT"),
        output_type=config.get("OutputType") or "JSON",
    )
