"""Executions: names and idempotency, listing, stopping, express, redrive, logs, status events."""

from __future__ import annotations

import json
import uuid

from .conftest import ROLE, client, error_of, events_of, finished, types_of, wait_for

WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_start_execution_names_and_idempotency(sfn, machine):
    arn = machine(WAIT_LONG)
    first = sfn.start_execution(stateMachineArn=arn, name="job-1", input='{"a": 1}')
    assert first["executionArn"] == arn.replace(":stateMachine:", ":execution:") + ":job-1"
    again = sfn.start_execution(stateMachineArn=arn, name="job-1", input='{"a": 1}')
    assert (again["executionArn"], again["startDate"]) == (
        first["executionArn"],
        first["startDate"],
    )
    conflict = error_of(sfn.start_execution, stateMachineArn=arn, name="job-1", input='{"a": 2}')
    assert conflict == {
        "Code": "ExecutionAlreadyExists",
        "Message": f"Execution Already Exists: '{first['executionArn']}'",
    }
    assert (
        error_of(sfn.start_execution, stateMachineArn=arn, name="bad/name")["Code"] == "InvalidName"
    )
    assert (
        error_of(sfn.start_execution, stateMachineArn=arn, input="{nope")["Code"]
        == "InvalidExecutionInput"
    )
    missing = arn + "-missing"
    assert (
        error_of(sfn.start_execution, stateMachineArn=missing)["Code"] == "StateMachineDoesNotExist"
    )
    sfn.stop_execution(executionArn=first["executionArn"], error="Stopped.ByTest", cause="done")
    stopped = sfn.describe_execution(executionArn=first["executionArn"])
    assert (stopped["status"], stopped["error"], stopped["cause"]) == (
        "ABORTED",
        "Stopped.ByTest",
        "done",
    )
    assert types_of(sfn, first["executionArn"])[-2:] == ["WaitStateAborted", "ExecutionAborted"]
    assert (
        error_of(sfn.start_execution, stateMachineArn=arn, name="job-1", input='{"a": 1}')["Code"]
        == "ExecutionAlreadyExists"
    )


def test_list_executions_filters_and_pages(sfn, machine):
    arn = machine(WAIT_LONG)
    arns = [
        sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"] for i in range(5)
    ]
    sfn.stop_execution(executionArn=arns[0])
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert sorted(e["name"] for e in running) == ["e1", "e2", "e3", "e4"]
    page1 = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    page2 = sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=page1["nextToken"])
    page3 = sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=page2["nextToken"])
    names = [e["name"] for e in page1["executions"] + page2["executions"] + page3["executions"]]
    assert sorted(names) == [f"e{i}" for i in range(5)] and "nextToken" not in page3
    for execution in arns[1:]:
        sfn.stop_execution(executionArn=execution)


def test_describe_state_machine_for_execution_keeps_the_old_definition(sfn, machine):
    arn = machine(WAIT_LONG)
    started = sfn.start_execution(stateMachineArn=arn)
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(PASS))
    described = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert json.loads(described["definition"]) == WAIT_LONG and described["roleArn"] == ROLE
    sfn.stop_execution(executionArn=started["executionArn"])


def test_express_executions_run_in_memory_and_synchronously(endpoint, sfn, machine):
    arn = machine(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                    "End": True,
                }
            },
        },
        type="EXPRESS",
    )
    sync = client(endpoint, "stepfunctions")
    done = sync.start_sync_execution(stateMachineArn=arn, input='{"n": 21}')
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"doubled": 42}
    assert done["executionArn"].startswith(arn.replace(":stateMachine:", ":express:"))
    failing = machine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}},
        type="EXPRESS",
    )
    failed = sync.start_sync_execution(stateMachineArn=failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Nope", "because")
    started = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')
    assert ":express:" in started["executionArn"]
    standard = machine(PASS)
    assert (
        error_of(sync.start_sync_execution, stateMachineArn=standard)["Code"]
        == "StateMachineTypeNotSupported"
    )
    assert (
        error_of(sfn.list_executions, stateMachineArn=arn)["Code"] == "StateMachineTypeNotSupported"
    )


def test_redrive_continues_from_the_failed_state(sfn, machine):
    definition = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": "ok", "ResultPath": "$.first", "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$$.Execution.RedriveCount",
                        "NumericGreaterThan": 0,
                        "Next": "Done",
                    }
                ],
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = machine(definition)
    started = sfn.start_execution(stateMachineArn=arn)
    failed = finished(sfn, started["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.NoChoiceMatched")
    assert failed["redriveStatus"] == "REDRIVABLE"
    sfn.redrive_execution(executionArn=started["executionArn"])
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED" and done["redriveCount"] == 1
    kinds = types_of(sfn, started["executionArn"])
    assert kinds.count("ExecutionRedriven") == 1 and kinds.count("PassStateEntered") == 1
    assert (
        error_of(sfn.redrive_execution, executionArn=started["executionArn"])["Code"]
        == "ExecutionNotRedrivable"
    )


def test_logging_writes_execution_events_to_cloudwatch_logs(sfn, machine, aws_client):
    logs = aws_client("logs")
    group = f"/aws/vendedlogs/states/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    config = {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
                }
            }
        ],
    }
    arn = machine(PASS, loggingConfiguration=config)
    started = sfn.start_execution(stateMachineArn=arn, input='{"secret": 1}')
    finished(sfn, started["executionArn"])

    def records():
        found = logs.filter_log_events(logGroupName=group)["events"]
        return [json.loads(e["message"]) for e in found] if len(found) >= 4 else None

    found = wait_for(records)
    assert [r["type"] for r in found] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert (
        found[0]["execution_arn"] == started["executionArn"]
        and found[0]["details"]["input"] == '{"secret":1}'
    )
    errors_only = {**config, "level": "ERROR", "includeExecutionData": False}
    failing = machine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
        loggingConfiguration=errors_only,
    )
    finished(sfn, sfn.start_execution(stateMachineArn=failing)["executionArn"])
    found = wait_for(
        lambda: (r := records()) and any(x["type"] == "ExecutionFailed" for x in r) and r
    )
    assert [r["type"] for r in found].count("ExecutionFailed") == 1 and len(found) == 5


def test_status_changes_reach_the_default_event_bus(server, sfn, machine):
    arn = machine(PASS)
    started = sfn.start_execution(stateMachineArn=arn)
    finished(sfn, started["executionArn"])

    def mine():
        events = [
            e
            for e in server.app.events.recent(source="aws.states")
            if e["detail"]["executionArn"] == started["executionArn"]
        ]
        return events if len(events) == 2 else None

    events = wait_for(mine)
    assert [e["detail"]["status"] for e in events] == ["RUNNING", "SUCCEEDED"]
    assert events[1]["detail-type"] == "Step Functions Execution Status Change"
    assert (
        events[1]["resources"] == [started["executionArn"]]
        and events[1]["detail"]["output"] == "{}"
    )


def test_unknown_execution(sfn):
    arn = "arn:aws:states:us-east-1:000000000000:execution:nope:nope"
    assert error_of(sfn.describe_execution, executionArn=arn) == {
        "Code": "ExecutionDoesNotExist",
        "Message": f"Execution Does Not Exist: '{arn}'",
    }
    assert (
        error_of(
            sfn.describe_execution,
            executionArn="arn:aws:states:us-east-1:000000000000:stateMachine:x",
        )["Code"]
        == "InvalidArn"
    )
    assert events_of is not None


def test_express_executions_report_through_logs(endpoint, machine, aws_client):
    logs = aws_client("logs")
    group = f"/aws/vendedlogs/states/express-{uuid.uuid4().hex[:8]}"
    config = {
        "level": "ALL",
        "includeExecutionData": False,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
                }
            }
        ],
    }
    arn = machine(PASS, type="EXPRESS", loggingConfiguration=config)
    done = client(endpoint, "stepfunctions").start_sync_execution(
        stateMachineArn=arn, input='{"hidden": 1}'
    )

    def records():
        try:
            found = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        return [json.loads(e["message"]) for e in found] if len(found) == 4 else None

    found = wait_for(records)
    assert [r["type"] for r in found] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert all(r["execution_arn"] == done["executionArn"] for r in found)
    assert "input" not in found[0]["details"]
