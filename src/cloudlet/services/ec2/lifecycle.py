"""Instance states that really change over time, durably, without a sweeper.

An instance in a transitional state (pending, stopping, shutting-down) stores where it goes next
and when: `next = {"state": "running", "due": <ms on cloudlet's clock>}`. Two things follow from
that one field:

- **reads are lazy**: `settle()` computes the effective state at read time, so a reader always
  sees the right state, also right after a restart or after the clock was moved forward;
- **wake-ups are eager**: a `loop.call_later` per instance stores the new state at the due time
  and emits AWS's "EC2 Instance State-change Notification", so events arrive on time even when
  nobody reads. Wake-ups are re-armed when the provider starts (a restart mid-transition
  completes it) and whenever the clock moves.

Every write goes through the server's group commit; events are emitted only after the commit
that made the change durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.core.arns import make_arn
from cloudlet.protocols.errors import AwsError
from cloudlet.services.ec2 import instances
from cloudlet.services.ec2.common import looks_like, malformed

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.ec2")

#: how long each transitional state lasts (AWS takes seconds to minutes; demos want ~1 s)
DURATION_MS = {"pending": 1000, "stopping": 1000, "shutting-down": 1000}
AFTER = {"pending": "running", "stopping": "stopped", "shutting-down": "terminated"}
#: AWS keeps showing a terminated instance for about an hour
TERMINATED_VISIBLE_MS = 60 * 60 * 1000
_USER_SHUTDOWN = {
    "Code": "Client.UserInitiatedShutdown",
    "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
}


@dataclass(frozen=True, slots=True)
class Entered:
    """An instance entered a state at a time: one state-change event."""

    account: str
    region: str
    instance_id: str
    state: str
    at: int  # ms


def gmt(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S GMT", time.gmtime(ms / 1000))


def settle(doc: dict[str, Any], now: int) -> tuple[dict[str, Any], list[Entered]]:
    """The document as of `now`: a transition that is due has completed (a new dict; the
    stored one is shared and never mutated)."""
    step = doc.get("next")
    if not step or step["due"] > now:
        return doc, []
    state = step["state"]
    new = {**doc, "state": state, "since": step["due"], "next": None}
    if state == "running":
        new.update(ran=True, state_reason=None, reason="")
    else:  # stopped or terminated: the public address goes back to AWS
        new["public_ip"] = None
    return new, [_entered(new, state, step["due"])]


def enter(doc: dict[str, Any], state: str, now: int) -> dict[str, Any]:
    """The document entering a transitional state now, with its completion scheduled."""
    new = {
        **doc,
        "state": state,
        "since": now,
        "next": {"state": AFTER[state], "due": now + DURATION_MS[state]},
    }
    if state == "pending":
        new.update(
            state_reason={"Code": "pending", "Message": "pending"},
            reason="",
            public_ip=instances.public_ip(),
            launched=now,
        )
    else:
        new.update(reason=f"User initiated ({gmt(now)})", state_reason=_USER_SHUTDOWN)
    return new


def _entered(doc: dict[str, Any], state: str, at: int) -> Entered:
    return Entered(doc["account"], doc["region"], doc["InstanceId"], state, at)


def _incorrect(message: str) -> AwsError:
    return AwsError("IncorrectInstanceState", message)


def act(doc: dict[str, Any], action: str, now: int) -> dict[str, Any]:
    """What start / stop / terminate do to a settled instance (the same doc when nothing)."""
    state, iid = doc["state"], doc["InstanceId"]
    if action == "start":
        if state == "stopped":
            return enter(doc, "pending", now)
        if state in ("pending", "running"):
            return doc
        raise _incorrect(f"The instance '{iid}' is not in a state from which it can be started.")
    if action == "stop":
        if state == "running" or (state == "pending" and doc.get("ran")):
            return enter(doc, "stopping", now)
        if state == "pending":
            raise _incorrect(
                f"Instance '{iid}' cannot be stopped as it has never reached the 'running' state."
            )
        if state in ("stopping", "stopped"):
            return doc
        raise _incorrect(f"This instance '{iid}' is not in a state from which it can be stopped.")
    if state in ("shutting-down", "terminated"):
        return doc
    return enter(doc, "shutting-down", now)


def visible(doc: dict[str, Any], now: int) -> bool:
    """A settled instance still listed: terminated ones vanish after about an hour."""
    return doc["state"] != "terminated" or now - doc["since"] < TERMINATED_VISIBLE_MS


def state_change_event(entered: Entered) -> dict[str, Any]:
    """AWS's event, field for field."""
    arn = make_arn("ec2", entered.region, entered.account, f"instance/{entered.instance_id}")
    return {
        "version": "0",
        "id": ids.uuid4(),
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": entered.account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entered.at / 1000)),
        "region": entered.region,
        "resources": [arn],
        "detail": {"instance-id": entered.instance_id, "state": entered.state},
    }


class Lifecycle:
    """Finding instances, changing their state, and the wake-ups that complete transitions."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self._timers: dict[str, tuple[int, asyncio.TimerHandle]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        app.clock.on_advance(self._clock_moved)
        with contextlib.suppress(RuntimeError):  # created on the server's loop: resume now
            self._loop = asyncio.get_running_loop()
            self.resume()

    # -- finding ------------------------------------------------------------------------------
    def find(
        self, account: str, region: str, instance_ids: list[str], now: int
    ) -> list[tuple[str, dict[str, Any], list[Entered]]]:
        """(key, settled doc, states entered while settling) per id, in the order asked;
        malformed and unknown ids answer AWS's errors (all unknown ones named at once)."""
        for iid in instance_ids:
            if not looks_like(iid, "i"):
                raise malformed("InvalidInstanceID.Malformed", iid)
        found, missing = [], []
        for iid in dict.fromkeys(instance_ids):
            key = instances.key_of(account, region, iid)
            doc = self.store.get(instances.KIND, key)
            settled, entered = settle(doc, now) if doc else (None, [])
            if settled is None or not visible(settled, now):
                missing.append(iid)
            else:
                found.append((key, settled, entered))
        if len(missing) == 1:
            raise AwsError(
                "InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist"
            )
        if missing:
            raise AwsError(
                "InvalidInstanceID.NotFound",
                f"The instance IDs '{', '.join(missing)}' do not exist",
            )
        return found

    def all(self, account: str, region: str, now: int) -> list[dict[str, Any]]:
        """The settled, visible instances of an account and region, oldest launch first."""
        out = []
        for _, doc in self.store.scan(instances.KIND, f"{account}/{region}/"):
            settled, _ = settle(doc, now)
            if visible(settled, now):
                out.append(settled)
        out.sort(key=lambda d: (d["created"], d["ReservationId"], d["AmiLaunchIndex"]))
        return out

    # -- changing -----------------------------------------------------------------------------
    async def change(
        self, account: str, region: str, instance_ids: list[str], action: str
    ) -> list[dict[str, Any]]:
        """Start, stop or terminate instances; AWS's InstanceStateChange list."""
        changes, written, entered = await self.app.commit(
            self._change, account, region, instance_ids, action
        )
        self.after(written, entered)
        return changes

    def _change(
        self, account: str, region: str, instance_ids: list[str], action: str
    ) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]], list[Entered]]:
        now = self.clock.now_ms()
        changes, written, entered = [], [], []
        for key, doc, settled_into in self.find(account, region, instance_ids, now):
            entered += settled_into
            new = act(doc, action, now)
            if new is not doc:
                entered.append(_entered(new, new["state"], now))
            if new is not doc or settled_into:
                self.store.put(instances.KIND, key, new)
                written.append((key, new))
            changes.append(
                {
                    "InstanceId": doc["InstanceId"],
                    "CurrentState": instances.state_of(new["state"]),
                    "PreviousState": instances.state_of(doc["state"]),
                }
            )
        return changes, written, entered

    def after(self, written: Iterable[tuple[str, dict[str, Any]]], entered: list[Entered]) -> None:
        """After a commit: announce the states entered, arm wake-ups for transitions begun."""
        for item in entered:
            self.app.events.emit(item.account, item.region, state_change_event(item))
        for key, doc in written:
            if doc.get("next"):
                self.schedule(key, doc["next"]["due"])

    # -- wake-ups -----------------------------------------------------------------------------
    def resume(self) -> None:
        """Arm a wake-up for every stored transition (after a restart some are overdue)."""
        for key, doc in self.store.scan(instances.KIND):
            if doc.get("next"):
                self.schedule(key, doc["next"]["due"])

    def schedule(self, key: str, due: int) -> None:
        loop = self._loop
        if loop is None:
            try:
                loop = self._loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a provider used outside a server): reads stay right anyway
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous[1].cancel()
        delay = max(0.0, (due - self.clock.now_ms()) / 1000)
        self._timers[key] = (due, loop.call_later(delay, self._fire, key))

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        assert self._loop is not None
        task = self._loop.create_task(self._complete(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _complete(self, key: str) -> None:
        try:
            written, entered = await self.app.commit(self._complete_stored, key)
        except Exception:
            log.exception("completing the transition of %s failed", key)
            return
        self.after(written, entered)

    def _complete_stored(self, key: str) -> tuple[list[tuple[str, dict[str, Any]]], list[Entered]]:
        doc = self.store.get(instances.KIND, key)
        if doc is None or not doc.get("next"):
            return [], []  # completed meanwhile (by an action on the instance)
        settled, entered = settle(doc, self.clock.now_ms())
        if not entered:  # woke a little early (the loop's clock is not cloudlet's): again
            return [(key, doc)], []
        self.store.put(instances.KIND, key, settled)
        return [(key, settled)], entered

    def _clock_moved(self) -> None:
        """Time jumped forward: transitions due by the new time complete now."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the server stopped meanwhile
                loop.call_soon_threadsafe(self._rearm)

    def _rearm(self) -> None:
        for key, (due, _) in list(self._timers.items()):
            self.schedule(key, due)

    def close(self) -> None:
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()


def resume_on_start(app: App) -> None:
    """An `app.on_start` hook: after a restart, stored transitions complete and announce
    themselves on time even before an EC2 request loads the provider. Loads it only when some
    instance is mid-transition, so start-up stays cheap for everyone else."""
    if any(doc.get("next") for _, doc in app.store.scan(instances.KIND)):
        app.provider("ec2")
