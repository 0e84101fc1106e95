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
