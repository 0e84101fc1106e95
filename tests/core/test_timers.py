"""Durable timers: fire once, in due order, at their due time, across restarts and clock jumps."""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.core.clock import Clock
from cloudlet.core.store import GroupCommit, open_store
from cloudlet.core.timers import Timers


def make(tmp_path, offset: float = 0.0):
    store = open_store(str(tmp_path))
    clock = Clock(offset)
    return store, clock, Timers(store, clock, GroupCommit(store))


async def until(condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_timers_fire_in_due_order_with_their_due_time(tmp_path):
    store, clock, timers = make(tmp_path)
    fired: list[tuple[str, int]] = []
    timers.handle("test:tick", lambda t: fired.append((Timers.payload(t)["name"], t.due)))

    async def scenario():
        now = clock.now_ms()
        timers.set("b", now + 60, "test:tick", {"name": "b"})
        timers.set("a", now + 20, "test:tick", {"name": "a"})
        timers.set("c", now + 40, "test:tick", {"name": "c"})
        await until(lambda: len(fired) == 3)
        return now

    now = asyncio.run(scenario())
    assert fired == [("a", now + 20), ("c", now + 40), ("b", now + 60)]
    assert store.next_timer_due() is None
    store.close()


def test_moving_the_clock_fires_what_fell_due_at_once(tmp_path):
    store, clock, timers = make(tmp_path)
    fired: list[int] = []
    timers.handle("test:tick", lambda t: fired.append(t.due))

    async def scenario():
        now = clock.now_ms()
        for i in range(5):
            timers.set(f"t{i}", now + 3_600_000 * (i + 1), "test:tick")
        timers.set("far", now + 86_400_000 * 365, "test:tick")
        await asyncio.sleep(0.05)
        assert fired == []
        clock.advance(5 * 3600)
        await until(lambda: len(fired) == 5)
        await asyncio.sleep(0.05)
        return now

    now = asyncio.run(scenario())
    assert fired == [now + 3_600_000 * (i + 1) for i in range(5)]  # a year-long timer still waits
    assert store.next_timer_due() == now + 86_400_000 * 365
    store.close()


def test_a_handler_may_set_its_own_next_tick(tmp_path):
    store, clock, timers = make(tmp_path)
    ticks: list[int] = []

    def tick(timer):
        ticks.append(timer.due)
        if len(ticks) < 3:
            timers.set(timer.timer_id, timer.due + 10, timer.kind)

    timers.handle("test:every", tick)

    async def scenario():
        timers.set("rate", clock.now_ms(), "test:every")
        await until(lambda: len(ticks) == 3)

    asyncio.run(scenario())
    assert ticks[1] - ticks[0] == 10 and ticks[2] - ticks[1] == 10
    assert store.next_timer_due() is None
    store.close()


def test_a_failing_handler_changes_nothing_and_is_retried(tmp_path):
    store, clock, timers = make(tmp_path)
    attempts: list[int] = []

    def flaky(timer):
        store.put("thing", "written", {"by": "flaky"})
        attempts.append(timer.due)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")

    timers.handle("test:flaky", flaky)

    async def scenario():
        timers.set("f", clock.now_ms(), "test:flaky")
        await until(lambda: len(attempts) == 1)
        await asyncio.sleep(0.05)
        assert store.get("thing", "written") is None  # rolled back with the failure
        clock.advance(2)  # past the first retry delay
        await until(lambda: len(attempts) == 2)

    asyncio.run(scenario())
    assert store.get("thing", "written") == {"by": "flaky"}
    store.close()


def test_timers_survive_a_restart_and_load_their_service(tmp_path):
    store, clock, timers = make(tmp_path)
    timers.set("later", clock.now_ms() + 50, "billing:close-month", {"month": 11})
    store.close()

    store = open_store(str(tmp_path))
    clock = Clock()
    fired: list[dict] = []
    loaded: list[str] = []
    timers = None

    def load_service(service: str) -> None:
        loaded.append(service)
        timers.handle("billing:close-month", lambda t: fired.append(Timers.payload(t)))

    timers = Timers(store, clock, GroupCommit(store), load_service=load_service)

    async def scenario():
        timers.resume()
        await until(lambda: fired)

    asyncio.run(scenario())
    assert fired == [{"month": 11}] and loaded == ["billing"]
    store.close()


@pytest.mark.parametrize("count", [250])
def test_many_due_timers_fire_once_each(tmp_path, count):
    store, clock, timers = make(tmp_path)
    fired: list[str] = []
    timers.handle("test:tick", lambda t: fired.append(t.timer_id))

    async def scenario():
        now = clock.now_ms()
        for i in range(count):
            timers.set(f"t{i:04d}", now - 1, "test:tick")
        await until(lambda: len(fired) == count)
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert sorted(fired) == [f"t{i:04d}" for i in range(count)]
    store.close()
