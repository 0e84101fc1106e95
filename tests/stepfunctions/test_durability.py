"""Durable standard executions: waits on cloudlet's clock, restarts mid-Wait and mid-Map."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from .conftest import ROLE, advance, client, events_of, finished, wait_for

TWO_WAITS = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Wait", "Seconds": 3600, "Next": "Second"},
        "Second": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "woke", "End": True},
    },
}
WAIT_THEN_MAP = {
    "StartAt": "Sleep",
    "States": {
        "Sleep": {"Type": "Wait", "Seconds": 3600, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Nap",
                "States": {
                    "Nap": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Echo"},
                    "Echo": {"Type": "Pass", "Parameters": {"id.$": "$.id"}, "End": True},
                },
            },
            "End": True,
        },
    },
}


def create(sfn, definition, name="durable") -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def assert_unbroken(events) -> None:
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)


def test_waits_fire_in_order_when_the_clock_moves(own_server):
    sfn = client(own_server.endpoint, "stepfunctions")
    arn = create(sfn, TWO_WAITS)
    started = sfn.start_execution(stateMachineArn=arn)
    wait_for(
        lambda: "WaitStateEntered" in [e["type"] for e in events_of(sfn, started["executionArn"])]
    )
    time.sleep(0.05)
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    advance(own_server.endpoint, 2 * 3600)
    done = finished(sfn, started["executionArn"])
    assert json.loads(done["output"]) == "woke"
    events = events_of(sfn, started["executionArn"])
    assert_unbroken(events)
    exits = [e["timestamp"] for e in events if e["type"] == "WaitStateExited"]
    entered = next(e["timestamp"] for e in events if e["type"] == "WaitStateEntered")
    assert exits[0] - entered == timedelta(hours=1) and exits[1] - entered == timedelta(hours=2)


def test_timeouts_and_heartbeats_follow_the_clock(own_server):
    sfn = client(own_server.endpoint, "stepfunctions")
    slow = dict(TWO_WAITS, TimeoutSeconds=1800)
    arn = create(sfn, slow, "timeout")
    started = sfn.start_execution(stateMachineArn=arn)
    wait_for(lambda: len(events_of(sfn, started["executionArn"])) >= 2)
    advance(own_server.endpoint, 1900)
    timed_out = finished(sfn, started["executionArn"])
    assert timed_out["status"] == "TIMED_OUT"
    assert [e["type"] for e in events_of(sfn, started["executionArn"])][-2:] == [
        "WaitStateAborted",
        "ExecutionTimedOut",
    ]
    activity = sfn.create_activity(name="never")["activityArn"]
    beating = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": activity,
                "HeartbeatSeconds": 60,
                "Retry": [
                    {
                        "ErrorEquals": ["States.HeartbeatTimeout"],
                        "IntervalSeconds": 30,
                        "MaxAttempts": 1,
                    }
                ],
                "End": True,
            }
        },
    }
    arn = create(sfn, beating, "heartbeat")
    started = sfn.start_execution(stateMachineArn=arn)
    wait_for(
        lambda: "ActivityScheduled" in [e["type"] for e in events_of(sfn, started["executionArn"])]
    )
    advance(own_server.endpoint, 61)
    wait_for(
        lambda: (
            [e["type"] for e in events_of(sfn, started["executionArn"])].count("ActivityScheduled")
            == 1
            and "ActivityTimedOut" in [e["type"] for e in events_of(sfn, started["executionArn"])]
        )
    )
    advance(own_server.endpoint, 31)
    wait_for(
        lambda: (
            [e["type"] for e in events_of(sfn, started["executionArn"])].count("ActivityScheduled")
            == 2
        )
    )
    advance(own_server.endpoint, 61)
    failed = finished(sfn, started["executionArn"])
    assert failed["error"] == "States.HeartbeatTimeout"


def test_restart_mid_wait_resumes_on_time_with_an_unbroken_history(cloudlet_process):
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    arn = create(sfn, TWO_WAITS)
    started = sfn.start_execution(stateMachineArn=arn, name="survivor")
    wait_for(
        lambda: "WaitStateEntered" in [e["type"] for e in events_of(sfn, started["executionArn"])]
    )
    cloudlet_process.kill()
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    advance(cloudlet_process.endpoint, 3600)
    wait_for(
        lambda: (
            [e["type"] for e in events_of(sfn, started["executionArn"])].count("WaitStateEntered")
            == 2
        )
    )
    assert sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    advance(cloudlet_process.endpoint, 3600)
    done = finished(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    events = events_of(sfn, started["executionArn"])
    assert_unbroken(events)
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "WaitStateEntered", "WaitStateExited", "WaitStateEntered",
        "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]  # fmt: skip


def test_restart_mid_map_runs_only_the_unfinished_iterations(cloudlet_process):
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    arn = create(sfn, WAIT_THEN_MAP)
    items = [{"id": i, "delay": 60 if i < 2 else 7200} for i in range(4)]
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": items}))
    wait_for(
        lambda: "WaitStateEntered" in [e["type"] for e in events_of(sfn, started["executionArn"])]
    )
    advance(cloudlet_process.endpoint, 3600 + 61)

    def two_done():
        kinds = [e["type"] for e in events_of(sfn, started["executionArn"])]
        return kinds.count("MapIterationSucceeded") == 2 and kinds.count("MapIterationStarted") == 4

    wait_for(two_done)
    cloudlet_process.kill()
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    advance(cloudlet_process.endpoint, 7200)
    done = finished(sfn, started["executionArn"])
    assert json.loads(done["output"]) == [{"id": i} for i in range(4)]
    events = events_of(sfn, started["executionArn"])
    assert_unbroken(events)
    kinds = [e["type"] for e in events]
    assert kinds.count("MapIterationStarted") == 4 and kinds.count("MapIterationSucceeded") == 4
