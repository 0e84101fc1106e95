"""Snapshots: an execution stopped in the middle of a Wait or a Map resumes from its snapshot."""

from __future__ import annotations

import asyncio
import json

from cloudlet.workflows import load
from cloudlet.workflows.engine import Engine, start_frame
from cloudlet.workflows.frame import Frame
from cloudlet.workflows.local import LocalHost

MACHINE = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Assign": {"who": "ana"}, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Nap",
                "States": {
                    "Nap": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Say"},
                    "Say": {
                        "Type": "Pass",
                        "Parameters": {"id.$": "$.id", "who.$": "$who"},
                        "End": True,
                    },
                },
            },
            "End": True,
        },
    },
}


class PausingHost(LocalHost):
    """Sleeps of more than a minute never end: the execution is 'stopped' there."""

    async def sleep_until(self, frame, due_ms, key):
        if due_ms - self.now_ms() > 60_000:
            await asyncio.Event().wait()
        return due_ms


def test_a_snapshot_taken_mid_map_resumes_only_the_unfinished_iterations():
    machine = load(MACHINE)
    items = [{"id": 0, "delay": 0}, {"id": 1, "delay": 3600}, {"id": 2, "delay": 0}]

    async def first_run():
        host = PausingHost()
        frame = start_frame(machine, {"items": items})
        task = asyncio.ensure_future(Engine(host).run(frame))
        for _ in range(100):
            await asyncio.sleep(0)
        assert not task.done()
        snapshot = json.loads(json.dumps(frame.snapshot()))  # what a durable host stores
        task.cancel()
        return snapshot, host.events

    snapshot, events = asyncio.run(first_run())
    assert snapshot["s"] == "Each" and sorted(snapshot["sub"]["results"]) == ["0", "2"]
    assert [e.type for e in events].count("MapIterationSucceeded") == 2

    async def second_run():
        host = LocalHost(virtual_time=True)
        frame = Frame.restore(snapshot, machine)
        return await Engine(host).run(frame), host.events

    output, resumed = asyncio.run(second_run())
    assert output == [{"id": i, "who": "ana"} for i in range(3)]
    kinds = [e.type for e in resumed]
    assert kinds.count("MapIterationSucceeded") == 1 and "MapStateEntered" not in kinds


def test_payloads_over_256_kib_fail_with_data_limit_exceeded():
    from cloudlet.workflows.local import run_local

    big = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": "x" * (256 * 1024 + 1), "End": True}},
    }
    assert run_local(big).error == "States.DataLimitExceeded"


def test_a_task_restored_mid_call_resumes_its_attempt_with_its_progress_and_deadline():
    """Scheduled and Started are not recorded again; the integration finds what it recorded
    in `progress`; TimeoutSeconds counts from the attempt's start, not from the restart."""
    fn = "arn:aws:lambda:us-east-1:000000000000:function:f"
    task = {"Type": "Task", "Resource": fn, "TimeoutSeconds": 60, "End": True}
    machine = load({"StartAt": "Call", "States": {"Call": task}})

    async def hang(call):
        call.progress["step"] = "called"
        await asyncio.Event().wait()

    async def first_run():
        host = LocalHost(hang)
        frame = start_frame(machine, {"a": 1})
        running = asyncio.ensure_future(Engine(host).run(frame))
        for _ in range(20):
            await asyncio.sleep(0)
        snapshot = json.loads(json.dumps(frame.snapshot()))
        running.cancel()
        return snapshot, [e.type for e in host.events]

    snapshot, kinds = asyncio.run(first_run())
    assert kinds == ["TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted"]
    assert snapshot["tc"]["step"] == "called" and isinstance(snapshot["tc"]["t"], int)
    seen = []

    def answer(call):
        seen.append((call.resumed, dict(call.progress)))
        return {"ok": True}

    async def resume(tasks, after_ms):
        host = LocalHost(tasks, now_ms=lambda: snapshot["tc"]["t"] + after_ms)
        frame = Frame.restore(snapshot, machine)
        try:
            return await Engine(host).run(frame), [e.type for e in host.events]
        except Exception as error:
            return error, [e.type for e in host.events]

    output, kinds = asyncio.run(resume(answer, 1_000))
    assert output == {"ok": True} and seen == [(True, snapshot["tc"])]
    assert kinds == ["LambdaFunctionSucceeded", "TaskStateExited"]
    error, kinds = asyncio.run(resume(hang, 61_000))  # past the deadline of the first start
    assert error.name == "States.Timeout"
    assert kinds == ["LambdaFunctionTimedOut"]
    older = {"s": "Call", "i": {}, "p": "in", "tk": "token"}  # stored before "tc" existed
    assert Frame.restore(older, machine).task == {"sent": True}
