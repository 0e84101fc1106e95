"""Task states: Lambda (both forms) with Retry and Catch, task tokens, activities, timeouts."""

from __future__ import annotations

import json
import threading
import uuid

from .conftest import error_of, events_of, finished, types_of, wait_for

FLAKY = """
def handler(event, context):
    if event["retry"] < event["failures"]:
        raise ValueError(f"attempt {event['retry']} failed")
    return {"ok": True, "retry": event["retry"]}
"""
ECHO = """
def handler(event, context):
    return {"echo": event}
"""


def test_lambda_invoke_with_retry_and_catch(sfn, machine, function):
    fn = function(FLAKY)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": fn,
            "Payload": {"retry.$": "$$.State.RetryCount", "failures.$": "$.failures"},
        },
        "ResultSelector": {"body.$": "$.Payload", "status.$": "$.StatusCode"},
        "Retry": [
            {
                "ErrorEquals": ["ValueError"],
                "IntervalSeconds": 1,
                "BackoffRate": 1.0,
                "MaxAttempts": 1,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
        "End": True,
    }
    definition = {
        "StartAt": "Call",
        "States": {"Call": task, "Recovered": {"Type": "Pass", "End": True}},
    }
    arn = machine(definition)
    ok = finished(
        sfn,
        sfn.start_execution(stateMachineArn=arn, input='{"failures": 1}')["executionArn"],
        timeout=30,
    )
    assert json.loads(ok["output"]) == {"body": {"ok": True, "retry": 1}, "status": 200}
    events = events_of(sfn, ok["executionArn"])
    kinds = [e["type"] for e in events]
    assert (
        kinds.count("TaskScheduled") == 2
        and kinds.count("TaskFailed") == 1
        and "TaskSucceeded" in kinds
    )
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"], scheduled["region"]) == (
        "lambda",
        "invoke",
        "us-east-1",
    )
    assert json.loads(scheduled["parameters"])["FunctionName"] == fn
    failed = next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert (
        failed["error"] == "ValueError"
        and json.loads(failed["cause"])["errorMessage"] == "attempt 0 failed"
    )
    caught = finished(
        sfn,
        sfn.start_execution(stateMachineArn=arn, input='{"failures": 5}')["executionArn"],
        timeout=30,
    )
    output = json.loads(caught["output"])
    assert caught["status"] == "SUCCEEDED" and output["error"]["Error"] == "ValueError"
    assert "attempt 1 failed" in output["error"]["Cause"]


def test_plain_function_arn_and_lambda_errors(sfn, run, function):
    fn = function(ECHO)
    done = run(
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": fn, "End": True}}},
        {"x": 1},
    )
    assert json.loads(done["output"]) == {"echo": {"x": 1}}
    assert types_of(sfn, done["executionArn"])[2:6] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
    ]
    missing = fn + "-missing"
    failed = run(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": missing},
                    "End": True,
                }
            },
        }
    )
    assert failed["error"] == "Lambda.ResourceNotFoundException"


def test_task_token_round_trip_through_sqs(sfn, machine, aws_client):
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName=f"tokens-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": url,
                    "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                },
                "HeartbeatSeconds": 600,
                "End": True,
            }
        },
    }
    arn = machine(definition)
    started = sfn.start_execution(stateMachineArn=arn, input='{"order": 7}')
    message = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    )[0]
    body = json.loads(message["Body"])
    assert body["order"] == 7
    sfn.send_task_heartbeat(taskToken=body["token"])
    sfn.send_task_success(taskToken=body["token"], output='{"approved": true}')
    done = finished(sfn, started["executionArn"])
    assert json.loads(done["output"]) == {"approved": True}
    assert (
        error_of(sfn.send_task_success, taskToken=body["token"], output="{}")["Code"]
        == "TaskTimedOut"
    )
    assert (
        error_of(sfn.send_task_success, taskToken="not-a-token", output="{}")["Code"]
        == "InvalidToken"
    )
    second = sfn.start_execution(stateMachineArn=arn, input='{"order": 8}')
    message = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    )[0]
    sfn.send_task_failure(
        taskToken=json.loads(message["Body"])["token"], error="Rejected", cause="no stock"
    )
    failed = finished(sfn, second["executionArn"])
    assert (failed["error"], failed["cause"]) == ("Rejected", "no stock")


def test_activity_worker(sfn, machine):
    activity = sfn.create_activity(name=f"act-{uuid.uuid4().hex[:8]}")["activityArn"]
    arn = machine(
        {
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 60, "End": True}
            },
        }
    )
    outcome: dict[str, object] = {}

    def worker() -> None:
        task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
        outcome["input"] = json.loads(task["input"])
        sfn.send_task_success(
            taskToken=task["taskToken"], output=json.dumps({"done": outcome["input"]})
        )

    thread = threading.Thread(target=worker)
    thread.start()
    started = sfn.start_execution(stateMachineArn=arn, input='{"job": 1}')
    thread.join(30)
    done = finished(sfn, started["executionArn"])
    assert json.loads(done["output"]) == {"done": {"job": 1}}
    events = events_of(sfn, started["executionArn"])
    kinds = [e["type"] for e in events]
    assert kinds[2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert events[3]["activityStartedEventDetails"] == {"workerName": "worker-1"}
    assert events[2]["activityScheduledEventDetails"]["timeoutInSeconds"] == 60


def test_parallel_branch_with_lambda_failure_is_caught(sfn, run, function):
    fn = function(FLAKY)
    branch = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": fn,
                "Parameters": {"retry": 0, "failures": 1},
                "End": True,
            }
        },
    }
    other = {"StartAt": "Fine", "States": {"Fine": {"Type": "Pass", "End": True}}}
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [branch, other],
                "Catch": [{"ErrorEquals": ["ValueError"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    done = run(definition)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"])["Error"] == "ValueError"
    assert "ParallelStateFailed" in types_of(sfn, done["executionArn"])


def test_lambda_wait_for_task_token(sfn, machine, function, endpoint):
    # the function answers the callback itself, through this cloudlet (AWS_ENDPOINT_URL is set)
    source = """
import boto3, json

def handler(event, context):
    sfn = boto3.client("stepfunctions")
    sfn.send_task_success(taskToken=event["token"], output=json.dumps({"approved": event["who"]}))
    return {"sent": True}
"""
    fn = function(source, Timeout=30)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": fn,
            "Payload": {"token.$": "$$.Task.Token", "who.$": "$.who"},
        },
        "End": True,
    }
    arn = machine({"StartAt": "Approve", "States": {"Approve": task}})
    done = finished(
        sfn,
        sfn.start_execution(stateMachineArn=arn, input='{"who": "ana"}')["executionArn"],
        timeout=60,
    )
    assert json.loads(done["output"]) == {"approved": "ana"}


def test_test_state_runs_one_state(sfn, function):
    fn = function(ECHO)
    task = {"Type": "Task", "Resource": fn, "ResultPath": "$.result", "Next": "Later"}
    out = sfn.test_state(
        definition=json.dumps(task),
        roleArn="arn:aws:iam::000000000000:role/r",
        input='{"a": 1}',
        inspectionLevel="DEBUG",
    )
    assert out["status"] == "SUCCEEDED" and out["nextState"] == "Later"
    assert json.loads(out["output"]) == {"a": 1, "result": {"echo": {"a": 1}}}
    assert json.loads(out["inspectionData"]["result"]) == {"echo": {"a": 1}}
    choice = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "One"}],
        "Default": "Other",
    }
    chosen = sfn.test_state(
        definition=json.dumps(choice), roleArn="arn:aws:iam::000000000000:role/r", input='{"a": 1}'
    )
    assert (chosen["status"], chosen["nextState"]) == ("SUCCEEDED", "One")
    failing = {"Type": "Fail", "Error": "Broken", "Cause": "why"}
    failed = sfn.test_state(
        definition=json.dumps(failing), roleArn="arn:aws:iam::000000000000:role/r"
    )
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Broken", "why")
    caught = {
        "Type": "Task",
        "Resource": fn + "-missing",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
        "End": True,
    }
    handled = sfn.test_state(
        definition=json.dumps(caught), roleArn="arn:aws:iam::000000000000:role/r"
    )
    assert (handled["status"], handled["nextState"], handled["error"]) == (
        "CAUGHT_ERROR",
        "Handle",
        "Lambda.ResourceNotFoundException",
    )
