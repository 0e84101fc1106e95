"""Definition validation: what CreateStateMachine refuses, in AWS's words.

`validate(text)` returns the diagnostics ValidateStateMachineDefinition reports (severity, code,
message, location); `load(text)` raises `DefinitionError` (AWS's "Invalid State Machine
Definition: '...'" text) when any is an ERROR, and otherwise returns the compiled Machine.

The checks are a schema per state type (required and allowed fields, value types and ranges,
fields of the other query language), then the graph (every Next exists, every state is
reachable, a terminal state exists, state names are unique across the whole machine).
"""

from __future__ import annotations

from typing import Any

import orjson

from cloudlet.workflows import choice, query
from cloudlet.workflows.errors import DefinitionError, Diagnostic
from cloudlet.workflows.jsonpath import is_reference_path
from cloudlet.workflows.maprules import MapChecks
from cloudlet.workflows.rules import RuleChecks, is_int, is_number, valid_reader
from cloudlet.workflows.states import JSONATA, JSONPATH, Machine, compile_machine
from cloudlet.workflows.templates import check_template

STATE_TYPES = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map")
_COMMON = {"Type", "Comment", "QueryLanguage"}
_FLOW = {"Next", "End"}
_IO = {"InputPath", "OutputPath"}
_ALLOWED: dict[str, set[str]] = {
    "Pass": _COMMON | _FLOW | _IO | {"ResultPath", "Parameters", "Result", "Assign", "Output"},
    "Task": _COMMON | _FLOW | _IO | {
        "Resource", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch",
        "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath",
        "Credentials", "Arguments", "Output", "Assign",
    },
    "Choice": _COMMON | _IO | {"Choices", "Default", "Assign", "Output"},
    "Wait": _COMMON | _FLOW | _IO | {
        "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign", "Output",
    },
    "Succeed": _COMMON | _IO | {"Output"},
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _FLOW | _IO | {
        "Branches", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch",
        "Arguments", "Output", "Assign",
    },
    "Map": _COMMON | _FLOW | _IO | {
        "ItemProcessor", "Iterator", "ItemsPath", "Items", "ItemSelector", "Parameters",
        "ItemReader", "ItemBatcher", "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath",
        "ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath", "Label", "ResultPath", "ResultSelector", "Retry",
        "Catch", "Output", "Assign",
    },
}  # fmt: skip
_JSONPATH_ONLY = {
    "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemsPath",
    "SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "ErrorPath",
    "CausePath", "MaxConcurrencyPath", "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath", "Result",
}  # fmt: skip
_JSONATA_ONLY = {"Arguments", "Output", "Items"}
_PATH_FIELDS = ("InputPath", "OutputPath", "ItemsPath")
_REFERENCE_FIELDS = (
    "SecondsPath", "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "ErrorPath",
    "CausePath", "MaxConcurrencyPath", "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
)  # fmt: skip
_TOP_LEVEL = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
_MAX_DEPTH = 16


def parse(text: str | dict[str, Any]) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    if isinstance(text, dict):
        return text, []
    if text is None or not str(text).strip():
        return None, [_error("MISSING_DESCRIPTION", "Received an empty workflow definition")]
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return None, [_error("INVALID_JSON_DESCRIPTION", str(error))]
    if not isinstance(document, dict):
        return None, [_schema("The definition must be a JSON object", "")]
    return document, []


def validate(text: str | dict[str, Any]) -> list[Diagnostic]:
    document, problems = parse(text)
    if document is None:
        return problems
    checker = _Checker()
    checker.machine(document, "", JSONPATH, top=True, depth=0)
    return checker.found


def load(text: str | dict[str, Any]) -> Machine:
    """The compiled machine, or DefinitionError with every ERROR diagnostic."""
    document, problems = parse(text)
    if document is None:
        raise DefinitionError(problems)
    diagnostics = validate(document)
    if any(d.severity == "ERROR" for d in diagnostics):
        raise DefinitionError(diagnostics)
    return compile_machine(document)


def _error(code: str, message: str, location: str = "") -> Diagnostic:
    return Diagnostic("ERROR", code, message, location)


def _schema(message: str, location: str) -> Diagnostic:
    return _error("SCHEMA_VALIDATION_FAILED", message, location)


class _Checker(RuleChecks, MapChecks):
    def __init__(self) -> None:
        self.found: list[Diagnostic] = []
        self.names: set[str] = set()

    def add(self, code: str, message: str, location: str, severity: str = "ERROR") -> None:
        self.found.append(Diagnostic(severity, code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.add("SCHEMA_VALIDATION_FAILED", message, location)

    # -- a machine, a branch or a processor -----------------------------------------------
    def machine(self, doc: Any, where: str, language: str, top: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.add("TOO_DEEPLY_NESTED", "The states are too deeply nested", where or "/")
            return
        if not isinstance(doc, dict):
            self.schema("The value must be an object", where or "/")
            return
        missing = [f for f in ("StartAt", "States") if f not in doc]
        if missing:
            self.schema(f"These fields are required: [{', '.join(missing)}]", where or "/")
            return
        allowed = (
            _TOP_LEVEL
            if top
            else {"Comment", "StartAt", "States", "QueryLanguage", "ProcessorConfig"}
        )
        for key in doc:
            if key not in allowed:
                self.schema(f'The field "{key}" is not supported by Step Functions', where or "/")
        language = self.language(doc, where, language)
        states = doc["States"]
        if not isinstance(states, dict) or not states:
            self.schema("The field 'States' should be non-empty", f"{where}/States")
            return
        if (
            top
            and "TimeoutSeconds" in doc
            and not (is_int(doc["TimeoutSeconds"]) and doc["TimeoutSeconds"] > 0)
        ):
            self.schema("The field 'TimeoutSeconds' must be a positive integer", "/TimeoutSeconds")
        for name, body in states.items():
            self.state(name, body, f"{where}/States/{name}", language, depth)
        self.graph(doc, where)

    def language(self, doc: dict[str, Any], where: str, inherited: str) -> str:
        value = doc.get("QueryLanguage", inherited)
        if value not in (JSONPATH, JSONATA):
            self.schema(
                "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
                f"{where}/QueryLanguage",
            )
            return inherited
        if inherited == JSONATA and value == JSONPATH and "Type" in doc:
            self.schema(
                "The QueryLanguage 'JSONPath' cannot be used in a state when the state machine uses 'JSONata'",
                f"{where}/QueryLanguage",
            )
        return value

    def graph(self, doc: dict[str, Any], where: str) -> None:
        states: dict[str, Any] = doc["States"]
        start = doc["StartAt"]
        if start not in states:
            self.add(
                "MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{where}/StartAt"
            )
        edges: dict[str, list[tuple[str, str]]] = {}
        terminal = False
        for name, body in states.items():
            if not isinstance(body, dict):
                continue
            targets = _targets(body)
            edges[name] = targets
            for target, field_path in targets:
                if target not in states:
                    self.add(
                        "MISSING_TRANSITION_TARGET",
                        f"Missing 'Next' target: {target}",
                        f"{where}/States/{name}/{field_path}",
                    )
            if body.get("Type") in ("Succeed", "Fail") or body.get("End") is True:
                terminal = True
        if not terminal:
            self.add("MISSING_END_STATE", "Workflow has no terminal state", f"{where}/States")
        seen = {start} if start in states else set()
        todo = list(seen)
        while todo:
            for target, _ in edges.get(todo.pop(), []):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen and start in states:
                self.add(
                    "MISSING_TRANSITION_TARGET",
                    f'State "{name}" is not reachable.',
                    f"{where}/States/{name}",
                )

    # -- a state --------------------------------------------------------------------------
    def state(self, name: str, body: Any, where: str, language: str, depth: int) -> None:
        if name in self.names:
            self.add("DUPLICATE_STATE_NAME", f"Duplicate State name: {name}", where)
        self.names.add(name)
        if len(name) > 80 or not name:
            self.add("INVALID_STATE_NAME", f"Invalid State name: {name}", where)
        if not isinstance(body, dict):
            self.schema("The value must be an object", where)
            return
        kind = body.get("Type")
        if kind is None:
            self.schema("These fields are required: [Type]", where)
            return
        if kind not in STATE_TYPES:
            self.schema(
                "The field 'Type' should have one of these values: "
                "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
                f"{where}/Type",
            )
            return
        language = self.language(body, where, language)
        for key in body:
            if key not in _ALLOWED[kind]:
                self.schema(f'The field "{key}" is not supported by Step Functions', where)
            elif language == JSONATA and key in _JSONPATH_ONLY:
                self.schema(
                    f"The field '{key}' is not supported in JSONata states", f"{where}/{key}"
                )
            elif language == JSONPATH and key in _JSONATA_ONLY:
                self.schema(
                    f"The field '{key}' is not supported in JSONPath states", f"{where}/{key}"
                )
        self.flow(kind, body, where)
        if language == JSONATA:
            self.expressions(body, where)
        else:
            self.paths(body, where)
        getattr(self, "type_" + kind.lower())(body, where, language, depth)
        for key in ("Retry", "Catch"):
            if key in body:
                self.handlers(key, body[key], where, language)

    def flow(self, kind: str, body: dict[str, Any], where: str) -> None:
        if kind in ("Choice", "Succeed", "Fail"):
            return
        has_next, has_end = "Next" in body, body.get("End") is True
        if "End" in body and not isinstance(body["End"], bool):
            self.schema("The value for the field 'End' must be a BOOLEAN", f"{where}/End")
        if has_next and has_end:
            self.schema("Only one of 'Next' or 'End' is allowed", where)
        elif not has_next and not has_end:
            self.schema("These fields are required: [Next]", where)
        if has_next and not isinstance(body["Next"], str):
            self.schema("The value for the field 'Next' must be a STRING", f"{where}/Next")

    def paths(self, body: dict[str, Any], where: str) -> None:
        for key in _PATH_FIELDS:
            value = body.get(key, "$")
            if value is not None and not valid_reader(value):
                self.schema(
                    f"The value for the field '{key}' must be a valid JSONPath", f"{where}/{key}"
                )
        if (
            "ResultPath" in body
            and body["ResultPath"] is not None
            and not is_reference_path(body["ResultPath"])
        ):
            self.schema(
                "The value for the field 'ResultPath' must be a valid ReferencePath",
                f"{where}/ResultPath",
            )
        for key in _REFERENCE_FIELDS:
            if key in body and not valid_reader(
                body[key], intrinsic=key in ("ErrorPath", "CausePath")
            ):
                self.schema(
                    f"The value for the field '{key}' must be a valid ReferencePath",
                    f"{where}/{key}",
                )
        for key in ("Parameters", "ResultSelector", "ItemSelector", "Assign"):
            if key in body:
                for message, location in check_template(body[key], f"{where}/{key}"):
                    self.schema(message, location)
                self.no_dollar(body[key], f"{where}/{key}")

    def no_dollar(self, template: Any, where: str) -> None:
        """The warning AWS gives for `"x": "$.y"` (a path without `.$`)."""
        if isinstance(template, dict):
            for key, value in template.items():
                if (
                    isinstance(value, str)
                    and not key.endswith(".$")
                    and (value.startswith("$.") or value.startswith("States."))
                ):
                    self.add(
                        "NO_DOLLAR",
                        f"The value of the field '{key}' looks like a JSONPath or an intrinsic "
                        "function, but the field name does not end with '.$'",
                        f"{where}/{key}",
                        severity="WARNING",
                    )
                else:
                    self.no_dollar(value, f"{where}/{key}")

    def expressions(self, value: Any, where: str) -> None:
        if isinstance(value, str):
            if query.is_expression(value):
                problem = query.check_expression(value)
                if problem:
                    self.schema(f"The JSONata expression '{value}' is not valid: {problem}", where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in ("Branches", "ItemProcessor", "Iterator", "Choices", "Catch"):
                    self.expressions(item, f"{where}/{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.expressions(item, f"{where}[{i}]")

    # -- per type -------------------------------------------------------------------------
    def type_pass(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        result = body.get("Result")
        if (
            language == JSONPATH
            and isinstance(result, dict)
            and any(k.endswith(".$") for k in result)
        ):
            self.add(
                "PASS_RESULT_IS_STATIC",
                "The Result of a Pass state is static: '.$' fields are not evaluated",
                f"{where}/Result",
                severity="WARNING",
            )

    def type_succeed(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        return None

    def type_task(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        resource = body.get("Resource")
        if resource is None:
            self.schema("These fields are required: [Resource]", where)
        elif not isinstance(resource, str) or not _valid_resource(resource):
            self.schema(
                f"The resource provided {resource} is not recognized. The value is not a valid "
                "resource ARN, or the resource is not available in this region.",
                f"{where}/Resource",
            )
        self.timeouts(body, where, language)

    def timeouts(self, body: dict[str, Any], where: str, language: str) -> None:
        for key in ("TimeoutSeconds", "HeartbeatSeconds"):
            if key in body and key + "Path" in body:
                self.schema(f"Only one of '{key}' or '{key}Path' is allowed", where)
            value = body.get(key)
            literal = value is not None and not query.is_expression(value)
            if literal and (not is_int(value) or value <= 0 or value > 99999999):
                self.schema(
                    f"The value for the field '{key}' must be a positive integer",
                    f"{where}/{key}",
                )
        timeout, heartbeat = body.get("TimeoutSeconds"), body.get("HeartbeatSeconds")
        if is_int(timeout) and is_int(heartbeat) and heartbeat >= timeout:
            self.schema(
                "The field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
                f"{where}/HeartbeatSeconds",
            )

    def type_wait(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        given = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in body]
        if len(given) != 1:
            self.schema(
                "Exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath' is required",
                where,
            )
        seconds = body.get("Seconds")
        literal = seconds is not None and not query.is_expression(seconds)
        if literal and (not is_int(seconds) or seconds < 0 or seconds > 99999999):
            self.schema(
                "The value for the field 'Seconds' must be a non-negative integer",
                f"{where}/Seconds",
            )
        stamp = body.get("Timestamp")
        if (
            stamp is not None
            and not query.is_expression(stamp)
            and choice.parse_timestamp(stamp) is None
        ):
            self.schema(
                "The value for the field 'Timestamp' must be a valid ISO 8601 timestamp",
                f"{where}/Timestamp",
            )

    def type_fail(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        for key in ("Error", "Cause"):
            if key in body and key + "Path" in body:
                self.schema(f"Only one of '{key}' or '{key}Path' is allowed", where)
            if key in body and not isinstance(body[key], str):
                self.schema(f"The value for the field '{key}' must be a STRING", f"{where}/{key}")

    def type_choice(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        rules = body.get("Choices")
        if not isinstance(rules, list) or not rules:
            self.schema("The field 'Choices' should be non-empty", f"{where}/Choices")
            return
        for i, rule in enumerate(rules):
            location = f"{where}/Choices[{i}]"
            if not isinstance(rule, dict):
                self.schema("The value must be an object", location)
                continue
            if "Next" not in rule:
                self.schema("These fields are required: [Next]", location)
            if language == JSONATA:
                if "Condition" not in rule:
                    self.schema("These fields are required: [Condition]", location)
                self.expressions({k: v for k, v in rule.items() if k != "Next"}, location)
            else:
                self.rule(rule, location, top=True)
        if "Default" in body and not isinstance(body["Default"], str):
            self.schema("The value for the field 'Default' must be a STRING", f"{where}/Default")

    def type_parallel(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        branches = body.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.schema("The field 'Branches' should be non-empty", f"{where}/Branches")
            return
        for i, branch in enumerate(branches):
            self.machine(branch, f"{where}/Branches[{i}]", language, top=False, depth=depth + 1)

    def type_map(self, body: dict[str, Any], where: str, language: str, depth: int) -> None:
        if "ItemProcessor" in body and "Iterator" in body:
            self.schema("Only one of 'ItemProcessor' or 'Iterator' is allowed", where)
        key = "ItemProcessor" if "ItemProcessor" in body else "Iterator"
        if key not in body:
            self.schema("These fields are required: [ItemProcessor]", where)
        else:
            self.machine(body[key], f"{where}/{key}", language, top=False, depth=depth + 1)
            config = body[key].get("ProcessorConfig") if isinstance(body[key], dict) else None
            if config is not None and config.get("Mode", "INLINE") not in ("INLINE", "DISTRIBUTED"):
                self.schema(
                    "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]",
                    f"{where}/{key}/ProcessorConfig/Mode",
                )
        self.map_mode(body, where, language)
        if "Parameters" in body and "ItemSelector" in body:
            self.schema("Only one of 'Parameters' or 'ItemSelector' is allowed", where)
        value = body.get("MaxConcurrency")
        if (
            value is not None
            and not query.is_expression(value)
            and (not is_int(value) or value < 0)
        ):
            self.schema(
                "The value for the field 'MaxConcurrency' must be a non-negative integer",
                f"{where}/MaxConcurrency",
            )
        value = body.get("ToleratedFailurePercentage")
        if (
            value is not None
            and not query.is_expression(value)
            and not (is_number(value) and 0 <= value <= 100)
        ):
            self.schema(
                "The value for the field 'ToleratedFailurePercentage' must be between 0 and 100",
                f"{where}/ToleratedFailurePercentage",
            )
        value = body.get("ToleratedFailureCount")
        if (
            value is not None
            and not query.is_expression(value)
            and (not is_int(value) or value < 0)
        ):
            self.schema(
                "The value for the field 'ToleratedFailureCount' must be a non-negative integer",
                f"{where}/ToleratedFailureCount",
            )


def _targets(body: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(body.get("Next"), str):
        out.append((body["Next"], "Next"))
    if isinstance(body.get("Default"), str):
        out.append((body["Default"], "Default"))
    for i, rule in enumerate(body.get("Choices") or []):
        if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
            out.append((rule["Next"], f"Choices[{i}]/Next"))
    for i, catcher in enumerate(body.get("Catch") or []):
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            out.append((catcher["Next"], f"Catch[{i}]/Next"))
    return out


_RESOURCE_PREFIXES = ("arn:aws:states:::", "arn:aws-us-gov:states:::", "arn:aws-cn:states:::")


def _valid_resource(resource: str) -> bool:
    """Service integrations, Lambda function ARNs and activity ARNs."""
    if resource.startswith(_RESOURCE_PREFIXES):
        return len(resource.split(":::", 1)[1]) > 0
    parts = resource.split(":")
    if len(parts) < 7 or parts[0] != "arn":
        return False
    service, kind = parts[2], parts[5]
    return (service == "lambda" and kind == "function") or (
        service == "states" and kind == "activity"
    )
