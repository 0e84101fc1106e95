"""`protocols.validate` against the messages AWS actually prints.

The expected texts are AWS's own, as reported by users (GitHub issues, SDK logs) for the same
models botocore ships; where AWS's text quotes an older pattern, the current model's is used.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudlet.protocols import validate as validate_module
from cloudlet.protocols.errors import ParamValidationError
from cloudlet.protocols.model import load_service_model
from cloudlet.protocols.validate import validate
from shapegen import operation_inputs

ROLE = "arn:aws:iam::123456789012:role/r"


def _error(service: str, operation: str, params: dict[str, Any]) -> ParamValidationError:
    with pytest.raises(ParamValidationError) as caught:
        validate(load_service_model(service).operation(operation).input, params)
    return caught.value


def _pattern(service: str, shape: str) -> str:
    return load_service_model(service).raw_shape(shape)["pattern"]


# -- required members ----------------------------------------------------------------------------


def test_missing_required_member() -> None:
    error = _error("sqs", "DeleteQueue", {})
    assert error.kind == "missing"
    assert error.member == "queueUrl"
    assert error.message == (
        "1 validation error detected: Value null at 'queueUrl' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_several_errors_are_counted_and_joined() -> None:
    error = _error("logs", "GetLogEvents", {"logGroupName": "g", "limit": 0})
    assert error.kind == "invalid"  # one constraint broken besides the missing member
    assert error.message == (
        "2 validation errors detected: "
        "Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; "
        "Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


def test_null_inside_a_list_of_structures_has_an_indexed_path() -> None:
    # AWS: "Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"
    error = _error(
        "cloudwatch",
        "PutMetricData",
        {"Namespace": "n", "MetricData": [{"MetricName": "m", "Dimensions": [{"Name": "d"}]}]},
    )
    assert error.member == "metricData.1.member.dimensions.1.member.value"
    assert error.message == (
        "1 validation error detected: Value null at 'metricData.1.member.dimensions.1.member.value' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_valid_input_passes() -> None:
    validate(
        load_service_model("logs").operation("PutLogEvents").input,
        {
            "logGroupName": "/aws/lambda/fn",
            "logStreamName": "2024/01/01/[$LATEST]abc",
            "logEvents": [{"timestamp": 1, "message": "hello"}],
        },
    )


# -- strings: enums, lengths, patterns ----------------------------------------------------------


def test_enum() -> None:
    error = _error(
        "stepfunctions",
        "CreateStateMachine",
        {"name": "m", "definition": "{}", "roleArn": ROLE, "type": "FAST"},
    )
    assert error.message == (
        "1 validation error detected: Value 'FAST' at 'type' failed to satisfy constraint: "
        "Member must satisfy enum value set: [STANDARD, EXPRESS]"
    )


def test_pattern_must_match_the_whole_value() -> None:
    # AWS: "Value 'SC-Name of the App-local-Sidecar-RenderOgImage' at 'functionName' failed to
    # satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?..."
    # A prefix of the value matches the pattern, the whole value does not.
    name = "SC-Name of the App-local-Sidecar-RenderOgImage"
    error = _error("lambda", "Invoke", {"FunctionName": name})
    assert error.message == (
        f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: "
        f"{_pattern('lambda', 'NamespacedFunctionName')}"
    )


def test_nested_structure_path() -> None:
    # AWS: "1 validation error detected: Value '%%BUCKET_NAME%%-eu-west-2' at 'code.s3Bucket'
    # failed to satisfy constraint: Member must satisfy regular expression pattern: ..."
    error = _error(
        "lambda",
        "CreateFunction",
        {"FunctionName": "f", "Role": ROLE, "Code": {"S3Bucket": "%%BUCKET_NAME%%-eu-west-2"}},
    )
    assert error.member == "code.s3Bucket"
    assert error.message == (
        "1 validation error detected: Value '%%BUCKET_NAME%%-eu-west-2' at 'code.s3Bucket' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: "
        f"{_pattern('lambda', 'S3Bucket')}"
    )


def test_empty_string_reports_length_and_pattern_separately() -> None:
    # AWS: "2 validation errors detected: Value '' at 'stackName' failed to satisfy constraint:
    # Member must satisfy regular expression pattern: ...; Value '' at 'stackName' failed to
    # satisfy constraint: Member must have length greater than or equal to 1" (AWS's order varies)
    error = _error("logs", "CreateLogGroup", {"logGroupName": ""})
    assert error.message.startswith("2 validation errors detected: ")
    parts = set(error.message.removeprefix("2 validation errors detected: ").split("; "))
    assert parts == {
        "Value '' at 'logGroupName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
        "Value '' at 'logGroupName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {_pattern('logs', 'LogGroupName')}",
    }


def test_max_length() -> None:
    error = _error("logs", "CreateLogGroup", {"logGroupName": "g" * 513})
    assert error.message == (
        f"1 validation error detected: Value '{'g' * 513}' at 'logGroupName' failed to satisfy "
        "constraint: Member must have length less than or equal to 512"
    )


def test_sensitive_member_prints_no_value() -> None:
    # AWS (Step Functions SendTaskFailure): "Value at 'error' failed to satisfy constraint:
    # Member must have length less than or equal to 256"
    error = _error("stepfunctions", "SendTaskFailure", {"taskToken": "t", "error": "e" * 300})
    assert error.message == (
        "1 validation error detected: Value at 'error' failed to satisfy constraint: "
        "Member must have length less than or equal to 256"
    )


# -- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "constraint"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (10001, "Member must have value less than or equal to 10000"),
    ],
)
def test_value_range(limit: int, constraint: str) -> None:
    error = _error(
        "logs", "GetLogEvents", {"logGroupName": "g", "logStreamName": "s", "limit": limit}
    )
    assert error.message == (
        f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: {constraint}"
    )


# -- lists and maps ------------------------------------------------------------------------------


def test_list_length_prints_the_list() -> None:
    error = _error(
        "logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s", "logEvents": []}
    )
    assert error.message == (
        "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_list_of_strings_reports_every_item_constraint_once() -> None:
    # AWS: "Value '[GetConnection]' at '...includeSocketInformation' failed to satisfy constraint:
    # Member must satisfy constraint: [Member must satisfy enum value set: [...]]", and for
    # lengths "[Member must have length less than or equal to 255, Member must have length greater
    # than or equal to 1]" whichever of them failed.
    error = _error("cloudwatch", "DeleteAlarms", {"AlarmNames": ["ok", "", "also-empty-next", ""]})
    assert error.message == (
        "1 validation error detected: Value '[ok, , also-empty-next, ]' at 'alarmNames' failed to "
        "satisfy constraint: Member must satisfy constraint: [Member must have length less than or "
        "equal to 255, Member must have length greater than or equal to 1]"
    )


def test_list_of_enums() -> None:
    error = _error("cloudwatch", "DescribeAlarms", {"AlarmTypes": ["MetricAlarm", "Nope"]})
    assert error.message == (
        "1 validation error detected: Value '[MetricAlarm, Nope]' at 'alarmTypes' failed to satisfy "
        "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
        "[CompositeAlarm, MetricAlarm]]"
    )


def test_map_keys_then_values() -> None:
    # AWS: "Value '{...}' at 'tags' failed to satisfy constraint: Map value must satisfy
    # constraint: [Member must have length less than or equal to 256, ...]"; keys come first.
    tags = {"k" * 129: "v" * 257}
    error = _error(
        "logs", "TagResource", {"resourceArn": "arn:aws:logs:us-east-1:1:log-group:g", "tags": tags}
    )
    shown = f"{{{'k' * 129}={'v' * 257}}}"
    assert error.message == (
        "2 validation errors detected: "
        f"Value '{shown}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: "
        "[Member must have length less than or equal to 128, Member must have length greater than "
        f"or equal to 1, Member must satisfy regular expression pattern: {_pattern('logs', 'TagKey')}]; "
        f"Value '{shown}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: "
        "[Member must have length less than or equal to 256, Member must satisfy regular expression "
        f"pattern: {_pattern('logs', 'TagValue')}]"
    )


def test_java_unicode_classes_are_checked() -> None:
    # TagKey's pattern is ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$: '#' is outside it, letters of any
    # script and spaces are inside.
    shape = load_service_model("logs").operation("TagResource").input
    arn = "arn:aws:logs:us-east-1:1:log-group:g"
    validate(shape, {"resourceArn": arn, "tags": {"Straße Ω 9": "ok"}})
    with pytest.raises(ParamValidationError, match="Map keys must satisfy constraint"):
        validate(shape, {"resourceArn": arn, "tags": {"a#b": "ok"}})


def test_map_of_structures_checks_each_value() -> None:
    error = _error(
        "sqs",
        "SendMessage",
        {"QueueUrl": "u", "MessageBody": "b", "MessageAttributes": {"color": {"StringValue": "x"}}},
    )
    assert error.kind == "missing"
    assert error.message == (
        "1 validation error detected: Value null at 'messageAttributes.color.member.dataType' "
        "failed to satisfy constraint: Member must not be null"
    )


# -- no false alarms -----------------------------------------------------------------------------


@pytest.fixture
def patterns_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Patterns off: the generated strings honour lengths and enums, not the model's patterns."""
    caches = (validate_module._VIOLATIONS, validate_module._CHECKERS, validate_module._CHILDREN)
    for cache in caches:
        cache.clear()
    monkeypatch.setattr(validate_module, "_compiled", lambda pattern: None)
    yield
    for cache in caches:
        cache.clear()


@pytest.mark.parametrize(
    "service", ["sqs", "events", "logs", "stepfunctions", "cloudwatch", "lambda"]
)
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_valid_inputs_pass(service: str, data: st.DataObject, patterns_off: None) -> None:
    model = load_service_model(service)
    operation = model.operation(
        data.draw(st.sampled_from(model.operation_names), label="operation")
    )
    validate(operation.input, data.draw(operation_inputs(operation), label="params"))
