"""JSONata states and variables, and definition validation with AWS's texts."""

from __future__ import annotations

import pytest

from cloudlet.workflows import load, validate
from cloudlet.workflows.errors import DefinitionError
from cloudlet.workflows.local import run_local


def run(definition, data=None, tasks=None):
    return run_local(definition, data or {}, tasks, virtual_time=True)


def test_jsonata_pass_choice_wait_and_assign():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Sum",
        "States": {
            "Sum": {
                "Type": "Pass",
                "Output": {"sum": "{% $states.input.a + $states.input.b %}", "fixed": 1},
                "Assign": {"first": "{% $states.input.a %}"},
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $first > 1 and $states.input.sum > 3 %}",
                        "Next": "Pause",
                        "Assign": {"route": "big"},
                    }
                ],
                "Default": "Small",
            },
            "Pause": {"Type": "Wait", "Seconds": "{% $first %}", "Next": "Done"},
            "Small": {
                "Type": "Fail",
                "Error": "{% 'Too' & 'Small' %}",
                "Cause": "{% $string($first) %}",
            },
            "Done": {
                "Type": "Succeed",
                "Output": "{% {'route': $route, 'sum': $states.input.sum, 'up': $uppercase('x')} %}",
            },
        },
    }
    assert run(definition, {"a": 2, "b": 3}).output == {"route": "big", "sum": 5, "up": "X"}
    small = run(definition, {"a": 1, "b": 1})
    assert (small.error, small.cause) == ("TooSmall", "1")


def test_jsonata_task_arguments_output_and_catch():
    seen = []

    def task(call):
        seen.append(call.arguments)
        if call.arguments.get("fail"):
            from cloudlet.workflows.errors import StatesError

            raise StatesError("Boom", "it broke")
        return {"Payload": {"value": call.arguments["n"] * 10}}

    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {
                    "n": "{% $states.input.n %}",
                    "fail": "{% $states.input.fail %}",
                    "id": "{% $states.context.Execution.Name %}",
                },
                "Output": "{% $states.result.Payload.value %}",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.errorOutput %}",
                        "Assign": {"failed": True},
                        "Next": "Report",
                    }
                ],
                "End": True,
            },
            "Report": {
                "Type": "Pass",
                "Output": {"error": "{% $states.input.Error %}", "failed": "{% $failed %}"},
                "End": True,
            },
        },
    }
    assert run(definition, {"n": 4, "fail": False}, task).output == 40
    assert seen[0] == {"n": 4, "fail": False, "id": "local"}
    assert run(definition, {"n": 1, "fail": True}, task).output == {"error": "Boom", "failed": True}


def test_jsonata_map_items_and_aws_functions():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Items": "{% $partition($states.input.values, 2) %}",
                "ItemSelector": {
                    "pair": "{% $states.context.Map.Item.Value %}",
                    "i": "{% $states.context.Map.Item.Index %}",
                },
                "ItemProcessor": {
                    "StartAt": "Sum",
                    "States": {
                        "Sum": {
                            "Type": "Pass",
                            "Output": "{% $sum($states.input.pair) + $states.input.i %}",
                            "End": True,
                        }
                    },
                },
                "Output": "{% {'sums': $states.result, 'range': $range(1, 5, 2), 'hash': $hash('input data', 'SHA-1')} %}",
                "End": True,
            }
        },
    }
    out = run(definition, {"values": [1, 2, 3, 4, 5]})
    assert out.output == {
        "sums": [3, 8, 7],
        "range": [1, 3, 5],
        "hash": "aaff4a450a104cd177d28d18d74485e8cae074b7",
    }


def test_jsonata_errors_are_query_evaluation_errors():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $undefinedFn() %}", "End": True}},
    }
    assert run(definition).error == "States.QueryEvaluationError"


def test_a_state_can_switch_to_jsonata():
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {"x.$": "$.a"},
                "Assign": {"v.$": "$.x"},
                "Next": "J",
            },
            "J": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input.x * $v %}",
                "End": True,
            },
        },
    }
    assert run(definition, {"a": 3}).output == 9


# -- validation --------------------------------------------------------------------------------
def message(definition) -> str:
    with pytest.raises(DefinitionError) as failure:
        load(definition)
    return failure.value.message


def test_invalid_definition_texts():
    assert message(
        {
            "StartAt": "pass1",
            "States": {
                "pass1": {"Type": "Pass", "Next": "pass3"},
                "pass2": {"Type": "Pass", "End": True},
            },
        }
    ) == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at "
        '/States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2\''
    )
    assert message(
        {"StartAt": "X", "States": {"X": {"Type": "TypeThatDoesNotExist", "End": True}}}
    ) == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of "
        "these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/X/Type'"
    )
    assert "These fields are required: [Next] at /States/C/Choices[0]" in message(
        {
            "StartAt": "C",
            "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True}]}},
        }
    )
    assert "These fields are required: [ErrorEquals] at /States/T/Retry[0]" in message(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Retry": [{}],
                    "End": True,
                }
            },
        }
    )
    assert 'The field "Coment" is not supported by Step Functions' in message(
        {"Coment": "x", "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    assert "DUPLICATE_STATE_NAME: Duplicate State name: A" in message(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Iterator": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    "Next": "A",
                },
                "A": {"Type": "Pass", "End": True},
            },
        }
    )
    assert (
        "The value for the field 'InputPath' must be a valid JSONPath at /States/P/InputPath"
        in message(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "nope", "End": True}}}
        )
    )
    assert "The resource provided x is not recognized" in message(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x", "End": True}}}
    )
    assert message("{not json").startswith(
        "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: "
    )
    assert "MISSING_END_STATE" in message(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    )
    assert "The field 'Parameters' is not supported in JSONata states" in message(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {}, "End": True}},
        }
    )


def test_validate_reports_diagnostics_and_warnings():
    diagnostics = validate(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x": "$.a"}, "End": True}}}
    )
    assert [(d.severity, d.code, d.location) for d in diagnostics] == [
        ("WARNING", "NO_DOLLAR", "/States/P/Parameters/x")
    ]
    assert validate({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}) == []
