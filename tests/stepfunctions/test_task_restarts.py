"""Tasks that outlive a crash: kill -9 while a Task state waits for a child execution
(`states:startExecution.sync`, `.sync:2`), for a task token or for an activity worker, and
crashes at the worst moments of the call (child started, message sent, nothing recorded yet).
After the restart the task waits for what it started before: one child, one message, one
TaskScheduled/TaskStarted/TaskSubmitted in an unbroken history."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from conftest import CloudletProcess

from .conftest import ROLE, advance, events_of, finished, wait_for

CRASHPOINT = Path(__file__).with_name("crashpoint.py")
CHILD = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Double"},
        "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": True},
    },
}
SYNC_TASK_EVENTS = [
    "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
    "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
]  # fmt: skip


class CrashingProcess(CloudletProcess):
    """A subprocess server; `start(crash_at=...)` makes it kill itself at that point of a
    task's call (see crashpoint.py), and `crashed()` waits until it did."""

    def start(self, *extra: str, crash_at: str | None = None) -> CrashingProcess:
        if crash_at is None:
            super().start(*extra)
        else:
            env = {**os.environ, "CLOUDLET_CRASH_AT": crash_at}
            super().start(*extra, launcher=[sys.executable, str(CRASHPOINT)], env=env)
        return self

    def crashed(self) -> None:
        assert self.proc is not None
        assert self.proc.wait(timeout=30) == -9


@pytest.fixture
def crashing(tmp_path: Path):
    process = CrashingProcess(tmp_path / "data")
    yield process
    process.stop()


def create(sfn, definition, name: str) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def parent_of(child: str, resource: str, **parameters) -> dict:
    task = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:{resource}",
        "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}, **parameters},
        "End": True,
    }
    return {"StartAt": "Child", "States": {"Child": task}}


def kinds_of(sfn, arn: str) -> list[str]:
    return [e["type"] for e in events_of(sfn, arn)]


def assert_unbroken(events) -> None:
    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1))
    assert all(0 <= e["previousEventId"] < e["id"] for e in events)


def children(sfn, child: str) -> list[dict]:
    return sfn.list_executions(stateMachineArn=child)["executions"]


def check_sync_output(output: dict, child_execution: str, resource: str) -> None:
    assert output["ExecutionArn"] == child_execution and output["Status"] == "SUCCEEDED"
    if resource.endswith(":2"):
        assert output["Output"] == {"n": 6} and output["Input"]["n"] == 3
    else:
        assert json.loads(output["Output"]) == {"n": 6} and json.loads(output["Input"])["n"] == 3
    assert isinstance(output["StartDate"], int) and isinstance(output["StopDate"], int)


# -- .sync: kill -9 while the child runs ----------------------------------------------------
@pytest.mark.parametrize("resource", ["startExecution.sync", "startExecution.sync:2"])
def test_sync_task_waits_for_the_same_child_after_kill_9(cloudlet_process, resource):
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    child = create(sfn, CHILD, "child")
    parent = create(sfn, parent_of(child, resource), "parent")
    execution = sfn.start_execution(stateMachineArn=parent, name="p", input='{"n": 3}')[
        "executionArn"
    ]
    wait_for(lambda: "TaskSubmitted" in kinds_of(sfn, execution))
    started = children(sfn, child)
    assert len(started) == 1 and started[0]["status"] == "RUNNING"
    wait_for(lambda: "WaitStateEntered" in kinds_of(sfn, started[0]["executionArn"]))
    cloudlet_process.kill()

    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert [c["executionArn"] for c in children(sfn, child)] == [started[0]["executionArn"]]
    advance(cloudlet_process.endpoint, 3600)
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    check_sync_output(json.loads(done["output"]), started[0]["executionArn"], resource)
    after = children(sfn, child)
    assert len(after) == 1 and after[0]["status"] == "SUCCEEDED"
    events = events_of(sfn, execution)
    assert_unbroken(events)
    assert [e["type"] for e in events] == SYNC_TASK_EVENTS
    assert_unbroken(events_of(sfn, started[0]["executionArn"]))


def test_sync_tasks_in_parallel_branches_wait_for_their_own_children_after_kill_9(
    cloudlet_process,
):
    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    child = create(sfn, CHILD, "child")
    task = {
        **parent_of(child, "startExecution.sync:2")["States"]["Child"],
        "OutputPath": "$.Output",
    }
    branches = [{"StartAt": name, "States": {name: task}} for name in ("Left", "Right")]
    both = {"Type": "Parallel", "Branches": branches, "End": True}
    parent = create(sfn, {"StartAt": "Both", "States": {"Both": both}}, "parent")
    execution = sfn.start_execution(stateMachineArn=parent, input='{"n": 3}')["executionArn"]
    wait_for(lambda: kinds_of(sfn, execution).count("TaskSubmitted") == 2)
    started = sorted(c["executionArn"] for c in children(sfn, child))
    assert len(started) == 2
    cloudlet_process.kill()

    cloudlet_process.start()
    sfn = cloudlet_process.client("stepfunctions")
    advance(cloudlet_process.endpoint, 3600)
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"n": 6}, {"n": 6}]
    assert sorted(c["executionArn"] for c in children(sfn, child)) == started
    events = events_of(sfn, execution)
    assert_unbroken(events)
    kinds = [e["type"] for e in events]
    for kind in ("TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"):
        assert kinds.count(kind) == 2, kinds


# -- crashes inside the call ------------------------------------------------------------------
@pytest.mark.parametrize(
    "resource", ["startExecution.sync", "startExecution.sync:2", "startExecution"]
)
def test_crash_after_the_child_started_and_before_it_was_recorded(crashing, resource):
    """The child's name is recorded before it starts: the resumed task finds that child."""
    crashing.start(crash_at="StartExecution:after")
    sfn = crashing.client("stepfunctions")
    child = create(sfn, CHILD, "child")
    parent = create(sfn, parent_of(child, resource), "parent")
    execution = sfn.start_execution(stateMachineArn=parent, name="p", input='{"n": 3}')[
        "executionArn"
    ]
    crashing.crashed()

    crashing.start()
    sfn = crashing.client("stepfunctions")
    started = children(sfn, child)
    assert len(started) == 1, started  # started before the crash
    if resource == "startExecution":
        done = finished(sfn, execution)
        output = json.loads(done["output"])
        assert output["ExecutionArn"] == started[0]["executionArn"]
    else:
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        advance(crashing.endpoint, 3600)
        done = finished(sfn, execution)
        assert done["status"] == "SUCCEEDED", done
        check_sync_output(json.loads(done["output"]), started[0]["executionArn"], resource)
    assert [c["executionArn"] for c in children(sfn, child)] == [started[0]["executionArn"]]
    events = events_of(sfn, execution)
    assert_unbroken(events)
    expected = (
        SYNC_TASK_EVENTS
        if resource != "startExecution"
        else [k for k in SYNC_TASK_EVENTS if k != "TaskSubmitted"]
    )
    assert [e["type"] for e in events] == expected


def test_a_child_named_by_the_task_is_taken_as_it_is_after_the_restart(crashing):
    """With a Name of the task's own, the child may end before the parent resumes: starting it
    again would fail (ExecutionAlreadyExists); the resumed task takes that child's outcome."""
    crashing.start(crash_at="StartExecution:after")
    sfn = crashing.client("stepfunctions")
    quick = create(sfn, {"StartAt": "Double", "States": {"Double": CHILD["States"]["Double"]}}, "c")
    parent = create(sfn, parent_of(quick, "startExecution.sync:2", Name="kid"), "parent")
    execution = sfn.start_execution(stateMachineArn=parent, input='{"n": 3}')["executionArn"]
    crashing.crashed()

    crashing.start()
    sfn = crashing.client("stepfunctions")
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Name"] == "kid" and output["Output"] == {"n": 6}
    assert len(children(sfn, quick)) == 1


# -- .waitForTaskToken ----------------------------------------------------------------------------
def callback_machine(url: str) -> dict:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 3600,
        "End": True,
    }
    return {"StartAt": "Ask", "States": {"Ask": task}}


def drain(sqs, url: str) -> list[dict]:
    """Every message the queue has now (received and deleted)."""
    out: list[dict] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        out += got


def test_a_task_token_stays_valid_and_its_message_is_not_sent_again_after_kill_9(
    cloudlet_process,
):
    cloudlet_process.start()
    sfn, sqs = cloudlet_process.client("stepfunctions"), cloudlet_process.client("sqs")
    url = sqs.create_queue(QueueName="callbacks")["QueueUrl"]
    arn = create(sfn, callback_machine(url), "callback")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait_for(lambda: "TaskSubmitted" in kinds_of(sfn, execution))
    messages = wait_for(lambda: drain(sqs, url))
    assert len(messages) == 1
    token = json.loads(messages[0]["Body"])["token"]
    cloudlet_process.kill()

    cloudlet_process.start()
    sfn, sqs = cloudlet_process.client("stepfunctions"), cloudlet_process.client("sqs")
    sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    done = finished(sfn, execution)
    assert json.loads(done["output"]) == {"approved": True}
    assert drain(sqs, url) == []  # the message was not sent again
    events = events_of(sfn, execution)
    assert_unbroken(events)
    assert [e["type"] for e in events] == SYNC_TASK_EVENTS
    submitted = events[4]["taskSubmittedEventDetails"]
    assert json.loads(submitted["output"])["MessageId"] == messages[0]["MessageId"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_message_the_crash_may_have_lost_is_sent_with_the_same_token(crashing, when):
    """Crashed before the send: sent once after the restart. Crashed after it and before it
    was recorded: sent again (at least once), with the same token."""
    crashing.start(crash_at=f"SendMessage:{when}")
    sfn, sqs = crashing.client("stepfunctions"), crashing.client("sqs")
    url = sqs.create_queue(QueueName="callbacks")["QueueUrl"]
    arn = create(sfn, callback_machine(url), "callback")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    crashing.crashed()

    crashing.start()
    sfn, sqs = crashing.client("stepfunctions"), crashing.client("sqs")
    wait_for(lambda: "TaskSubmitted" in kinds_of(sfn, execution))
    messages = drain(sqs, url)
    assert len(messages) == (1 if when == "before" else 2)
    tokens = {json.loads(m["Body"])["token"] for m in messages}
    assert len(tokens) == 1
    sfn.send_task_success(taskToken=tokens.pop(), output='{"ok": 1}')
    done = finished(sfn, execution)
    assert json.loads(done["output"]) == {"ok": 1}
    events = events_of(sfn, execution)
    assert_unbroken(events)
    assert [e["type"] for e in events] == SYNC_TASK_EVENTS


def test_an_activity_task_lost_in_a_crash_is_queued_after_the_restart(crashing):
    crashing.start(crash_at="ScheduleActivity:before")
    sfn = crashing.client("stepfunctions")
    activity = sfn.create_activity(name=f"act-{uuid.uuid4().hex[:8]}")["activityArn"]
    work = {"Type": "Task", "Resource": activity, "End": True}
    arn = create(sfn, {"StartAt": "Work", "States": {"Work": work}}, "worker")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"job": 1}')["executionArn"]
    crashing.crashed()

    crashing.start()
    sfn = crashing.client("stepfunctions")
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    assert json.loads(task["input"]) == {"job": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    done = finished(sfn, execution)
    assert json.loads(done["output"]) == {"done": True}
    kinds = kinds_of(sfn, execution)
    assert kinds.count("ActivityScheduled") == 1 and kinds.count("ActivityStarted") == 1
    assert_unbroken(events_of(sfn, execution))
