"""Definition checks of distributed Map states: ProcessorConfig, ItemReader, ItemBatcher,
ResultWriter, Label, and the settings given both literally and by a path.

Kept apart from `definition.py` so each stays small. The texts follow the shapes of AWS's
SCHEMA_VALIDATION_FAILED messages (`These fields are required: [...]`, `The field 'X' should
have one of these values: [...]`, `Only one of 'X' or 'XPath' is allowed`).
"""

from __future__ import annotations

import re
from typing import Any

from cloudlet.workflows import query
from cloudlet.workflows.items import MAX_BATCH_BYTES, MAX_ITEMS
from cloudlet.workflows.mapspec import (
    CSV_DELIMITERS,
    GET_OBJECT,
    INPUT_TYPES,
    LIST_OBJECTS,
    OUTPUT_TYPES,
    PUT_OBJECT,
    TRANSFORMATIONS,
    action_of,
)
from cloudlet.workflows.rules import is_int, valid_reader
from cloudlet.workflows.states import JSONATA
from cloudlet.workflows.templates import check_template

_DISTRIBUTED_ONLY = ("ItemReader", "ItemBatcher", "ResultWriter")
_READER_FIELDS = {"Resource", "ReaderConfig", "Parameters", "Arguments"}
_READER_CONFIG = {
    "InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter", "MaxItems", "MaxItemsPath",
    "ManifestType", "ItemsPointer",
}  # fmt: skip
_BATCHER_FIELDS = {
    "BatchInput", "MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath",
}  # fmt: skip
_WRITER_FIELDS = {"Resource", "Parameters", "Arguments", "WriterConfig"}
_LABEL = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,40}$")


def _one_of(name: str, values: tuple[str, ...] | list[str]) -> str:
    return f"The field '{name}' should have one of these values: [{', '.join(values)}]"


class MapChecks:
    """Distributed Map checks; the checker provides `add` and `schema`."""

    def schema(self, message: str, location: str) -> None:
        raise NotImplementedError

    def map_mode(self, body: dict[str, Any], where: str, language: str) -> None:
        key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
        processor = body.get(key)
        config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
        config = config if isinstance(config, dict) else {}
        location = f"{where}/{key}/ProcessorConfig"
        distributed = config.get("Mode") == "DISTRIBUTED"
        if distributed:
            if "ExecutionType" not in config:
                self.schema("These fields are required: [ExecutionType]", location)
            elif config["ExecutionType"] not in ("STANDARD", "EXPRESS"):
                self.schema(
                    _one_of("ExecutionType", ("STANDARD", "EXPRESS")), f"{location}/ExecutionType"
                )
        else:
            if "ExecutionType" in config:
                self.schema(
                    "The field 'ExecutionType' is only supported when the Mode is DISTRIBUTED",
                    f"{location}/ExecutionType",
                )
            for field in _DISTRIBUTED_ONLY:
                if field in body:
                    self.schema(
                        f"The field '{field}' is only supported for Map states in DISTRIBUTED mode",
                        f"{where}/{field}",
                    )
        for field in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
            self._literal_or_path(body, field, where)
        if "Label" in body:
            self._label(body["Label"], f"{where}/Label")
        if distributed:
            if "ItemReader" in body:
                self._reader(body["ItemReader"], f"{where}/ItemReader", language)
            if "ItemBatcher" in body:
                self._batcher(body["ItemBatcher"], f"{where}/ItemBatcher", language)
            if "ResultWriter" in body:
                self._writer(body["ResultWriter"], f"{where}/ResultWriter", language)

    # -- pieces ---------------------------------------------------------------------------
    def _literal_or_path(self, body: dict[str, Any], name: str, where: str) -> bool:
        if name in body and name + "Path" in body:
            self.schema(f"Only one of '{name}' or '{name}Path' is allowed", where)
            return False
        if name + "Path" in body and not valid_reader(body[name + "Path"]):
            self.schema(
                f"The value for the field '{name}Path' must be a valid ReferencePath",
                f"{where}/{name}Path",
            )
            return False
        return True

    def _label(self, label: Any, where: str) -> None:
        if not isinstance(label, str) or not _LABEL.match(label):
            self.schema(
                "The value for the field 'Label' must be a string of 1 to 40 characters "
                "without whitespace, brackets, wildcards, special or control characters",
                where,
            )

    def _object(self, value: Any, name: str, where: str, allowed: set[str]) -> bool:
        if not isinstance(value, dict):
            self.schema(f"The value for the field '{name}' must be an OBJECT", where)
            return False
        for key in value:
            if key not in allowed:
                self.schema(f'The field "{key}" is not supported by Step Functions', where)
        return True

    def _payload(self, body: dict[str, Any], where: str, language: str) -> None:
        """Parameters (JSONPath) or Arguments (JSONata) of a reader or writer."""
        wrong, right = (
            ("Parameters", "Arguments") if language == JSONATA else ("Arguments", "Parameters")
        )
        if wrong in body:
            self.schema(
                f"The field '{wrong}' is not supported in {language} states", f"{where}/{wrong}"
            )
        if right in body and language != JSONATA:
            for message, location in check_template(body[right], f"{where}/{right}"):
                self.schema(message, location)

    def _reader(self, reader: Any, where: str, language: str) -> None:
        if not self._object(reader, "ItemReader", where, _READER_FIELDS):
            return
        resource = reader.get("Resource")
        if resource is None:
            self.schema("These fields are required: [Resource]", where)
        elif not isinstance(resource, str) or action_of(resource) not in (GET_OBJECT, LIST_OBJECTS):
            self.schema(
                f"The resource provided {resource} is not recognized. The value is not a valid "
                "resource ARN, or the resource is not available in this region.",
                f"{where}/Resource",
            )
        self._payload(reader, where, language)
        config = reader.get("ReaderConfig", {})
        if not self._object(config, "ReaderConfig", f"{where}/ReaderConfig", _READER_CONFIG):
            return
        location = f"{where}/ReaderConfig"
        if (
            isinstance(resource, str)
            and action_of(resource) == GET_OBJECT
            and "InputType" not in config
        ):
            self.schema("These fields are required: [InputType]", location)
        for name, values in (
            ("InputType", INPUT_TYPES),
            ("CSVHeaderLocation", ("FIRST_ROW", "GIVEN")),
            ("CSVDelimiter", tuple(CSV_DELIMITERS)),
            ("ManifestType", ("S3_INVENTORY", "ATHENA_DATA")),
        ):
            value = config.get(name)
            if value is not None and not query.is_expression(value) and value not in values:
                self.schema(_one_of(name, values), f"{location}/{name}")
        self._csv_headers(config, location)
        if language == JSONATA and "MaxItemsPath" in config:
            self.schema(
                "The field 'MaxItemsPath' is not supported in JSONata states",
                f"{location}/MaxItemsPath",
            )
        value = config.get("MaxItems")
        if self._literal_or_path(config, "MaxItems", location) and (
            value is not None
            and not query.is_expression(value)
            and not (is_int(value) and 0 <= value <= MAX_ITEMS)
        ):
            self.schema(
                f"The value for the field 'MaxItems' must be an integer between 0 and {MAX_ITEMS}",
                f"{location}/MaxItems",
            )

    def _csv_headers(self, config: dict[str, Any], where: str) -> None:
        given = config.get("CSVHeaderLocation") == "GIVEN"
        headers = config.get("CSVHeaders")
        if given and headers is None:
            self.schema("These fields are required: [CSVHeaders]", where)
        elif headers is not None and not given:
            self.schema(
                "The field 'CSVHeaders' is only supported when the CSVHeaderLocation is GIVEN",
                f"{where}/CSVHeaders",
            )
        elif headers is not None and not (
            isinstance(headers, list) and headers and all(isinstance(h, str) for h in headers)
        ):
            self.schema(
                "The value for the field 'CSVHeaders' must be a non-empty array of strings",
                f"{where}/CSVHeaders",
            )

    def _batcher(self, batcher: Any, where: str, language: str) -> None:
        if not self._object(batcher, "ItemBatcher", where, _BATCHER_FIELDS):
            return
        limits = [k for k in _BATCHER_FIELDS if k != "BatchInput" and k in batcher]
        if not limits:
            self.schema(
                "At least one of these fields is required: [MaxItemsPerBatch, "
                "MaxItemsPerBatchPath, MaxInputBytesPerBatch, MaxInputBytesPerBatchPath]",
                where,
            )
        for name, top in (("MaxItemsPerBatch", None), ("MaxInputBytesPerBatch", MAX_BATCH_BYTES)):
            if language == JSONATA and name + "Path" in batcher:
                self.schema(
                    f"The field '{name}Path' is not supported in JSONata states",
                    f"{where}/{name}Path",
                )
            value = batcher.get(name)
            ok = self._literal_or_path(batcher, name, where)
            if (
                ok
                and value is not None
                and not query.is_expression(value)
                and not (is_int(value) and value > 0 and (top is None or value <= top))
            ):
                bound = f" no greater than {top}" if top else ""
                self.schema(
                    f"The value for the field '{name}' must be a positive integer{bound}",
                    f"{where}/{name}",
                )
        if "BatchInput" in batcher and language != JSONATA:
            for message, location in check_template(batcher["BatchInput"], f"{where}/BatchInput"):
                self.schema(message, location)

    def _writer(self, writer: Any, where: str, language: str) -> None:
        if not self._object(writer, "ResultWriter", where, _WRITER_FIELDS):
            return
        resource = writer.get("Resource")
        payload = "Arguments" if language == JSONATA else "Parameters"
        if resource is None and "WriterConfig" not in writer:
            self.schema(
                "The field 'ResultWriter' must specify Resource and "
                f"{payload}, WriterConfig, or all three",
                where,
            )
        if resource is not None and (
            not isinstance(resource, str) or action_of(resource) != PUT_OBJECT
        ):
            self.schema(
                f"The resource provided {resource} is not recognized. The value is not a valid "
                "resource ARN, or the resource is not available in this region.",
                f"{where}/Resource",
            )
        if resource is not None and payload not in writer:
            self.schema(f"These fields are required: [{payload}]", where)
        if resource is None and payload in writer:
            self.schema("These fields are required: [Resource]", where)
        self._payload(writer, where, language)
        config = writer.get("WriterConfig", {})
        if self._object(
            config, "WriterConfig", f"{where}/WriterConfig", {"Transformation", "OutputType"}
        ):
            for name, values in (("Transformation", TRANSFORMATIONS), ("OutputType", OUTPUT_TYPES)):
                value = config.get(name)
                if value is not None and value not in values:
                    self.schema(_one_of(name, values), f"{where}/WriterConfig/{name}")
