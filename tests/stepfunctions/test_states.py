"""The state types through the API, on the documented examples of the developer guide."""

from __future__ import annotations

import json

from .conftest import events_of, types_of


def test_hello_world_pass_and_history_shape(sfn, run):
    definition = {
        "Comment": "A Hello World example of the Amazon States Language using a Pass state",
        "StartAt": "HelloWorld",
        "States": {"HelloWorld": {"Type": "Pass", "Result": "Hello World!", "End": True}},
    }
    done = run(definition, {"a": 1})
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == "Hello World!"
    events = events_of(sfn, done["executionArn"])
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4]
    assert [e["previousEventId"] for e in events] == [0, 1, 2, 3]
    assert events[0]["executionStartedEventDetails"]["input"] == '{"a":1}'
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "HelloWorld",
        "input": '{"a":1}',
        "inputDetails": {"truncated": False},
    }
    assert events[2]["stateExitedEventDetails"]["output"] == '"Hello World!"'
    reverse = sfn.get_execution_history(executionArn=done["executionArn"], reverseOrder=True)[
        "events"
    ]
    assert [e["id"] for e in reverse] == [4, 3, 2, 1]
    first = sfn.get_execution_history(executionArn=done["executionArn"], maxResults=3)
    rest = sfn.get_execution_history(
        executionArn=done["executionArn"], maxResults=3, nextToken=first["nextToken"]
    )
    assert [e["id"] for e in first["events"] + rest["events"]] == [1, 2, 3, 4]
    bare = sfn.get_execution_history(executionArn=done["executionArn"], includeExecutionData=False)[
        "events"
    ]
    assert "input" not in bare[1]["stateEnteredEventDetails"]


def test_choice_wait_and_fail(sfn, run):
    definition = {
        "StartAt": "ChoiceState",
        "States": {
            "ChoiceState": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.foo", "NumericEquals": 1, "Next": "FirstMatchState"},
                    {"Variable": "$.foo", "NumericEquals": 2, "Next": "SecondMatchState"},
                ],
                "Default": "DefaultState",
            },
            "FirstMatchState": {"Type": "Wait", "Seconds": 0, "Next": "NextState"},
            "SecondMatchState": {"Type": "Pass", "Next": "NextState"},
            "DefaultState": {"Type": "Fail", "Error": "DefaultStateError", "Cause": "No Matches!"},
            "NextState": {"Type": "Succeed"},
        },
    }
    done = run(definition, {"foo": 1})
    assert done["status"] == "SUCCEEDED"
    assert types_of(sfn, done["executionArn"])[1:5] == [
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "WaitStateEntered",
        "WaitStateExited",
    ]
    failed = run(definition, {"foo": 3})
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "DefaultStateError",
        "No Matches!",
    )
    last = events_of(sfn, failed["executionArn"])[-1]
    assert last["type"] == "ExecutionFailed"
    assert last["executionFailedEventDetails"] == {
        "error": "DefaultStateError",
        "cause": "No Matches!",
    }


def test_parallel_and_map(sfn, run):
    def branch(name):  # state names are unique across the whole machine
        return {"StartAt": name, "States": {name: {"Type": "Pass", "End": True}}}

    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "Branches": [branch("B1"), branch("B2")],
                "ResultPath": "$.parallel",
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "StartAt": "Square",
                    "States": {
                        "Square": {
                            "Type": "Pass",
                            "Parameters": {"v.$": "States.MathAdd($.n, $.i)"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.mapped",
                "End": True,
            },
        },
    }
    done = run(definition, {"items": [10, 20, 30]})
    output = json.loads(done["output"])
    assert output["mapped"] == [{"v": 10}, {"v": 21}, {"v": 32}]
    assert len(output["parallel"]) == 2
    events = events_of(sfn, done["executionArn"])
    kinds = [e["type"] for e in events]
    assert {
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "MapStateStarted",
        "MapStateSucceeded",
    } <= set(kinds)
    started = [e for e in events if e["type"] == "MapIterationStarted"]
    assert sorted(e["mapIterationStartedEventDetails"]["index"] for e in started) == [0, 1, 2]
    assert all(e["mapIterationStartedEventDetails"]["name"] == "Each" for e in started)
    assert next(e for e in events if e["type"] == "MapStateStarted")[
        "mapStateStartedEventDetails"
    ] == {"length": 3}


def test_intrinsics_and_context_object(run):
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "greeting.$": "States.Format('Hello, {}', $.name)",
                    "parts.$": "States.StringSplit($.csv, ',')",
                    "execution.$": "$$.Execution.Name",
                    "state.$": "$$.State.Name",
                    "machine.$": "$$.StateMachine.Name",
                    "input.$": "$$.Execution.Input.name",
                },
                "End": True,
            }
        },
    }
    done = run(definition, {"name": "Ana", "csv": "a,b"})
    output = json.loads(done["output"])
    assert output["greeting"] == "Hello, Ana" and output["parts"] == ["a", "b"]
    assert output["execution"] == done["name"] and output["state"] == "P"
    assert output["input"] == "Ana" and output["machine"] == done["stateMachineArn"].split(":")[-1]


def test_runtime_errors_fail_the_execution(run):
    done = run(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}},
        {"a": 1},
    )
    assert done["error"] == "States.Runtime"
    assert "Invalid path '$.missing' : No results for path: $['missing']" in done["cause"]


def test_jsonata_machine_with_variables(run):
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Assign": {"total": "{% $sum($states.input.values) %}"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $total > 5 %}", "Next": "Big", "Output": {"size": "big"}}
                ],
                "Default": "Big",
            },
            "Big": {
                "Type": "Pass",
                "Output": "{% $merge([$states.input, {'total': $total}]) %}",
                "End": True,
            },
        },
    }
    done = run(definition, {"values": [1, 2, 3]})
    assert json.loads(done["output"]) == {"size": "big", "total": 6}
