"""The state types and the data flow between them, run by the engine on the in-memory host."""

from __future__ import annotations

import pytest

from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.local import run_local


def machine(*states: tuple[str, dict], **top):
    names = [name for name, _ in states]
    body = {}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if (
            state["Type"] not in ("Choice", "Succeed", "Fail")
            and "Next" not in state
            and "End" not in state
        ):
            if i + 1 < len(names):
                state["Next"] = names[i + 1]
            else:
                state["End"] = True
        body[name] = state
    return {"StartAt": names[0], "States": body, **top}


def single(state: dict, data, tasks=None):
    return run_local(machine(("S", state)), data, tasks, virtual_time=True)


# -- ResultPath, InputPath, OutputPath, Parameters, ResultSelector (developer guide examples) --
def test_result_path_examples():
    data = {"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo"}
    out = single({"Type": "Pass", "Result": "Hello", "ResultPath": "$.data.greeting"}, data)
    assert out.output["data"] == {"val1": 23, "val2": 17, "greeting": "Hello"}
    assert single({"Type": "Pass", "Result": "Hello", "ResultPath": "$"}, data).output == "Hello"
    assert single({"Type": "Pass", "Result": "Hello", "ResultPath": None}, data).output == data


def test_result_path_into_a_non_object_is_a_match_failure():
    out = single({"Type": "Pass", "Result": 1, "ResultPath": "$.a.b"}, {"a": "text"})
    assert (out.status, out.error) == ("FAILED", "States.ResultPathMatchFailure")


def test_input_output_path_and_parameters():
    data = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2},
        "dataset2": {"val1": "a"},
    }
    out = single({"Type": "Pass", "InputPath": "$.dataset2", "OutputPath": "$.val1"}, data)
    assert out.output == "a"
    out = single({"Type": "Pass", "InputPath": None}, data)
    assert out.output == {}
    out = single({"Type": "Pass", "OutputPath": None}, data)
    assert out.output == {}
    out = single(
        {
            "Type": "Pass",
            "Parameters": {
                "comment": "Selecting what I care about.",
                "MyDetails": {"size.$": "$.product.details.size"},
            },
        },
        {"product": {"details": {"size": "small"}}},
    )
    assert out.output == {"comment": "Selecting what I care about.", "MyDetails": {"size": "small"}}


def test_a_missing_input_path_fails_with_States_Runtime():
    out = single({"Type": "Pass", "InputPath": "$.nope"}, {"a": 1})
    assert out.error == "States.Runtime"
    assert "Invalid path '$.nope' : No results for path: $['nope']" in out.cause
    assert out.cause.startswith(
        "An error occurred while executing the state 'S' (entered at the event id #2)."
    )
    out = single({"Type": "Pass", "Parameters": {"x.$": "$.nope"}}, {"a": 1})
    assert (
        "The JSONPath '$.nope' specified for the field 'x.$' could not be found in the input '{\"a\":1}'"
        in out.cause
    )


def test_task_result_selector_and_result_path():
    result = {
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"},
    }
    out = single(
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::x:y",
            "ResultSelector": {
                "ClusterId.$": "$.output.ClusterId",
                "ResourceType.$": "$.resourceType",
            },
            "ResultPath": "$.EMROutput",
        },
        {"in": 1},
        tasks=lambda call: result,
    )
    assert out.output == {
        "in": 1,
        "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"},
    }


# -- Choice -------------------------------------------------------------------------------
CASES = [
    ({"StringEquals": "a"}, "a", True),
    ({"StringEquals": "a"}, 1, False),
    ({"StringLessThan": "b"}, "a", True),
    ({"StringGreaterThan": "b"}, "c", True),
    ({"StringLessThanEquals": "a"}, "a", True),
    ({"StringGreaterThanEquals": "b"}, "a", False),
    ({"StringMatches": "log-*.txt"}, "log-2024.txt", True),
    ({"StringMatches": "*.log"}, "a.txt", False),
    ({"StringMatches": "a\\*b"}, "a*b", True),
    ({"StringMatches": "a\\*b"}, "axxb", False),
    ({"NumericEquals": 3}, 3.0, True),
    ({"NumericLessThan": 3}, 2, True),
    ({"NumericGreaterThan": 3}, "4", False),
    ({"NumericLessThanEquals": 3}, 3, True),
    ({"NumericGreaterThanEquals": 3}, 2, False),
    ({"BooleanEquals": True}, True, True),
    ({"BooleanEquals": True}, 1, False),
    ({"TimestampEquals": "2001-01-01T12:00:00Z"}, "2001-01-01T12:00:00Z", True),
    ({"TimestampLessThan": "2001-01-01T12:00:00Z"}, "2001-01-01T11:00:00Z", True),
    ({"TimestampGreaterThan": "2001-01-01T12:00:00Z"}, "2001-01-01T11:00:00+00:00", False),
    ({"TimestampLessThanEquals": "2001-01-01T12:00:00Z"}, "2001-01-01T12:00:00Z", True),
    ({"TimestampGreaterThanEquals": "2001-01-01T12:00:00Z"}, "not a time", False),
    ({"IsNull": True}, None, True),
    ({"IsNull": False}, None, False),
    ({"IsNumeric": True}, 1.5, True),
    ({"IsNumeric": True}, True, False),
    ({"IsString": True}, "x", True),
    ({"IsBoolean": True}, False, True),
    ({"IsTimestamp": True}, "2016-08-18T17:33:00Z", True),
    ({"IsTimestamp": True}, "2016-08-18", False),
    ({"IsPresent": True}, 0, True),
]


@pytest.mark.parametrize(("operator", "value", "expected"), CASES)
def test_choice_operators(operator, value, expected):
    definition = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.v", **operator, "Next": "Yes"}],
                "Default": "No",
            },
        ),
        ("Yes", {"Type": "Pass", "Result": "yes", "End": True}),
        ("No", {"Type": "Pass", "Result": "no", "End": True}),
    )
    assert run_local(definition, {"v": value}).output == ("yes" if expected else "no")


@pytest.mark.parametrize(
    ("operator", "data", "expected"),
    [
        ({"StringEqualsPath": "$.w"}, {"v": "a", "w": "a"}, True),
        ({"NumericLessThanPath": "$.w"}, {"v": 1, "w": 2}, True),
        ({"NumericGreaterThanEqualsPath": "$.w"}, {"v": 1, "w": 2}, False),
        ({"BooleanEqualsPath": "$.w"}, {"v": True, "w": True}, True),
        (
            {"TimestampLessThanPath": "$.w"},
            {"v": "2001-01-01T00:00:00Z", "w": "2002-01-01T00:00:00Z"},
            True,
        ),
        ({"StringLessThanEqualsPath": "$.w"}, {"v": "b", "w": "a"}, False),
        ({"IsPresent": False}, {"w": 1}, True),
    ],
)
def test_choice_path_operators(operator, data, expected):
    definition = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.v", **operator, "Next": "Yes"}],
                "Default": "No",
            },
        ),
        ("Yes", {"Type": "Pass", "Result": "yes", "End": True}),
        ("No", {"Type": "Pass", "Result": "no", "End": True}),
    )
    assert run_local(definition, data).output == ("yes" if expected else "no")


def test_choice_and_or_not_and_no_match():
    rule = {
        "And": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}},
            {
                "Or": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 0},
                ]
            },
        ],
        "Next": "Public",
    }
    definition = machine(
        ("C", {"Type": "Choice", "Choices": [rule]}),
        ("Public", {"Type": "Succeed"}),
    )
    assert run_local(definition, {"type": "Public", "value": 25}).status == "SUCCEEDED"
    failed = run_local(definition, {"type": "Private", "value": 25})
    assert (failed.error, failed.cause) == ("States.NoChoiceMatched", "No Matches!")
    missing = run_local(definition, {"value": 25})
    assert missing.error == "States.Runtime"


# -- Fail, Succeed ---------------------------------------------------------------------------
def test_fail_with_paths():
    out = single(
        {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('because {}', $.c)"},
        {"e": "Mine", "c": "x"},
    )
    assert (out.status, out.error, out.cause) == ("FAILED", "Mine", "because x")
    out = single({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}, {})
    assert (out.error, out.cause) == ("ErrorA", "Kaiju attack")
    assert [e.type for e in out.events] == [
        "ExecutionStarted",
        "FailStateEntered",
        "ExecutionFailed",
    ]


# -- Retry and Catch ------------------------------------------------------------------------
def flaky(failures: int, error: str = "Custom.Error"):
    calls = []

    def run(call):
        calls.append(call.arguments)
        if len(calls) <= failures:
            raise StatesError(error, f"attempt {len(calls)}")
        return {"ok": len(calls)}

    return run, calls


def test_retry_until_success():
    tasks, calls = flaky(2)
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::x:y",
        "Retry": [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 1,
                "BackoffRate": 1.0,
                "MaxDelaySeconds": 1,
            }
        ],
    }
    sleeps = []
    out = run_local(machine(("T", state)), {}, tasks, virtual_time=True)
    assert out.output == {"ok": 3} and len(calls) == 3
    kinds = [e.type for e in out.events]
    assert kinds.count("TaskFailed") == 2 and kinds.count("TaskScheduled") == 3 and not sleeps


def test_retry_exhausted_then_caught():
    tasks, calls = flaky(10, "Lambda.ServiceException")
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::x:y",
        "Retry": [
            {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 5},
            {"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 1, "IntervalSeconds": 1},
        ],
        "Catch": [
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Handled"}
        ],
    }
    out = run_local(
        machine(("T", state), ("Handled", {"Type": "Pass", "End": True})),
        {"a": 1},
        tasks,
        virtual_time=True,
    )
    assert len(calls) == 2
    assert out.output == {
        "a": 1,
        "error": {"Error": "Lambda.ServiceException", "Cause": "attempt 2"},
    }


def test_states_all_does_not_catch_runtime_errors():
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::x:y",
        "Parameters": {"x.$": "$.missing"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
    }
    out = run_local(machine(("T", state), ("H", {"Type": "Succeed"})), {}, lambda call: 1)
    assert out.error == "States.Runtime"


def test_retry_backoff_delays():
    from cloudlet.workflows.states import Retrier

    retrier = Retrier(("x",), interval=2, backoff=3.0, max_delay=30)
    assert [retrier.delay(i, lambda: 0.5) for i in range(4)] == [2, 6, 18, 30]
    jittered = Retrier(("x",), interval=10, backoff=1.0, jitter="FULL")
    assert jittered.delay(0, lambda: 0.25) == 2.5


# -- Parallel and Map --------------------------------------------------------------------------
def test_parallel_collects_branch_outputs_in_order():
    def branch(value):
        return {
            "StartAt": f"B{value}",
            "States": {f"B{value}": {"Type": "Pass", "Result": value, "End": True}},
        }

    out = single(
        {
            "Type": "Parallel",
            "Branches": [branch(1), branch(2)],
            "ResultSelector": {"sum.$": "States.MathAdd($[0], $[1])"},
        },
        {},
    )
    assert out.output == {"sum": 3}
    kinds = [e.type for e in out.events]
    assert (
        kinds[1:3] == ["ParallelStateEntered", "ParallelStateStarted"]
        and "ParallelStateSucceeded" in kinds
    )


def test_a_failing_branch_fails_the_parallel_with_its_error():
    ok = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    bad = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "b"}}}
    out = single({"Type": "Parallel", "Branches": [ok, bad]}, {})
    assert (out.error, out.cause) == ("Broken", "b")
    assert "ParallelStateFailed" in [e.type for e in out.events]


def test_map_with_item_selector_and_concurrency():
    running, peak = [0], [0]

    async def task(call):
        import asyncio

        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.001)
        running[0] -= 1
        return call.arguments["value"] * 2

    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 2,
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Double",
            "States": {"Double": {"Type": "Task", "Resource": "arn:aws:states:::x:y", "End": True}},
        },
        "ResultPath": "$.doubled",
    }
    out = single(state, {"items": [1, 2, 3, 4, 5]}, task)
    assert out.output["doubled"] == [2, 4, 6, 8, 10]
    assert peak[0] == 2
    kinds = [e.type for e in out.events]
    assert kinds.count("MapIterationStarted") == 5 and kinds.count("MapIterationSucceeded") == 5
    started = next(e for e in out.events if e.type == "MapStateStarted")
    assert started.details == {"length": 5}


def test_map_iterator_form_and_tolerated_failures():
    processor = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}],
                "Default": "Good",
            },
            "Bad": {"Type": "Fail", "Error": "TooBig"},
            "Good": {"Type": "Succeed"},
        },
    }
    tolerant = single({"Type": "Map", "Iterator": processor, "ToleratedFailureCount": 1}, [1, 2, 3])
    assert tolerant.status == "SUCCEEDED"
    assert tolerant.output[2]["Error"] == "TooBig"
    strict = single(
        {"Type": "Map", "Iterator": processor, "ToleratedFailurePercentage": 10}, [1, 3, 4]
    )
    assert strict.error == "States.ExceedToleratedFailureThreshold"
    plain = single({"Type": "Map", "Iterator": processor}, [3])
    assert plain.error == "TooBig"


# -- Wait ---------------------------------------------------------------------------------------
def test_wait_forms():
    for state in (
        {"Type": "Wait", "Seconds": 0},
        {"Type": "Wait", "SecondsPath": "$.s"},
        {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z"},
        {"Type": "Wait", "TimestampPath": "$.t"},
    ):
        out = single(state, {"s": 0, "t": "2000-01-01T00:00:00Z"})
        assert out.status == "SUCCEEDED", (state, out)
        assert [e.type for e in out.events][1:3] == ["WaitStateEntered", "WaitStateExited"]
    assert single({"Type": "Wait", "SecondsPath": "$.s"}, {"s": "x"}).error == "States.Runtime"


# -- timeouts and heartbeats ---------------------------------------------------------------------
def test_task_timeout_is_States_Timeout():
    import asyncio

    async def slow(call):
        await asyncio.sleep(5)

    state = {"Type": "Task", "Resource": "arn:aws:states:::x:y", "TimeoutSeconds": 1}
    out = run_local(machine(("T", state)), {}, slow, virtual_time=True)
    assert out.error == "States.Timeout"
    assert "TaskTimedOut" in [e.type for e in out.events]


# -- variables ------------------------------------------------------------------------------------
def test_assign_in_jsonpath_and_scopes():
    definition = machine(
        ("Init", {"Type": "Pass", "Assign": {"count": 1, "name.$": "$.who"}}),
        (
            "Use",
            {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('hi {} #{}', $name, $count)"},
                "ResultPath": "$.use",
                "Assign": {"count": 2},
            },
        ),
        (
            "Inner",
            {
                "Type": "Map",
                "ItemsPath": "$.list",
                "ItemProcessor": {
                    "StartAt": "Read",
                    "States": {
                        "Read": {
                            "Type": "Pass",
                            "Parameters": {"outer.$": "$name", "item.$": "$"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.inner",
            },
        ),
        (
            "Final",
            {
                "Type": "Pass",
                "Parameters": {"count.$": "$count", "inner.$": "$.inner", "use.$": "$.use"},
            },
        ),
    )
    out = run_local(definition, {"who": "ana", "list": [1]})
    assert out.output == {
        "count": 2,
        "inner": [{"outer": "ana", "item": 1}],
        "use": {"greeting": "hi ana #1"},
    }
    exited = [e for e in out.events if e.type == "PassStateExited"]
    assert exited[0].details["assignedVariables"] == {"count": 1, "name": "ana"}
