"""Archives and replays.

An archive keeps the events of one bus that match its pattern (all of them without one). They are
stored as log-like rows of the store (group `events-archive/<account>/<region>/<name>`, ordered by
the time EventBridge received them), which is what a replay reads: a time range, in order, from a
position. Retention (RetentionDays, 0 = forever) trims old rows when the archive is read.

A replay re-sends an archive's events received in [EventStartTime, EventEndTime) to the rules of
the archive's bus (only those in FilterArns, if given) with the `replay-name` field AWS adds;
replayed events are never archived again. It runs on core/timers in batches — each batch one
commit that routes the events, moves the replay's position and sets the timer of the next batch —
so it survives a restart and resumes where it stopped. States: STARTING → RUNNING → COMPLETED
(or CANCELLING → CANCELLED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core.store import Timer
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.events.common import (
    ARCHIVE,
    REPLAY,
    arn,
    bus_name_of,
    key,
    not_found,
    page,
    validation,
)

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.core.timers import Timers

REPLAY_TIMER = "events:replay"
_BATCH = 200
_STREAM = "events"


def archive_group(archive_key: str) -> str:
    return "events-archive/" + archive_key


class ArchiveOperations:
    store: Store
    clock: Clock
    timers: Timers

    # -- archives ----------------------------------------------------------------------------------
    def _archive(self, ctx: RequestContext, name: str) -> tuple[str, dict[str, Any]]:
        archive_key = key(ctx.account, ctx.region, name)
        doc = self.store.get(ARCHIVE, archive_key)
        if doc is None:
            raise not_found(f"Archive {name} does not exist.")
        return archive_key, doc

    @committed
    def create_archive(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ArchiveName"]
        archive_key = key(ctx.account, ctx.region, name)
        if self.store.get(ARCHIVE, archive_key) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Archive {name} already exists.")
        account, bus_name = bus_name_of(params["EventSourceArn"])
        bus = self.bus(account or ctx.account, ctx.region, bus_name)
        if bus is None:
            raise not_found(f"Event bus {bus_name} does not exist.")
        if params.get("EventPattern"):
            self.pattern(params["EventPattern"])
        doc = {
            "name": name,
            "arn": arn(ctx.region, ctx.account, f"archive/{name}"),
            "bus_key": key(bus["account"], bus["region"], bus["name"]),
            "bus_arn": bus["arn"],
            "description": params.get("Description"),
            "pattern": params.get("EventPattern"),
            "retention": params.get("RetentionDays") or 0,
            "state": "ENABLED",
            "created": self.clock.now_ms(),
            "count": 0,
            "size": 0,
        }
        self.store.put(ARCHIVE, archive_key, doc)
        self.forget_bus(doc["bus_key"])
        return {"ArchiveArn": doc["arn"], "State": "ENABLED", "CreationTime": doc["created"] / 1000}

    def _archive_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        view = {
            "ArchiveName": doc["name"],
            "EventSourceArn": doc["bus_arn"],
            "State": doc["state"],
            "RetentionDays": doc["retention"],
            "SizeBytes": doc["size"],
            "EventCount": doc["count"],
            "CreationTime": doc["created"] / 1000,
        }
        return view

    def describe_archive(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._archive(ctx, params["ArchiveName"])
        out = {**self._archive_view(doc), "ArchiveArn": doc["arn"]}
        for field, member in (("description", "Description"), ("pattern", "EventPattern")):
            if doc.get(field):
                out[member] = doc[field]
        return out

    def list_archives(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = key(ctx.account, ctx.region, params.get("NamePrefix") or "")
        source, state = params.get("EventSourceArn"), params.get("State")
        found = [
            self._archive_view(d)
            for _, d in self.store.scan(ARCHIVE, prefix)
            if (not source or d["bus_arn"] == source) and (not state or d["state"] == state)
        ]
        items, following = page(found, params)
        return {"Archives": items, **({"NextToken": following} if following else {})}

    @committed
    def update_archive(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        archive_key, doc = self._archive(ctx, params["ArchiveName"])
        if params.get("EventPattern"):
            self.pattern(params["EventPattern"])
        new = {**doc}
        for member, field in (
            ("Description", "description"),
            ("EventPattern", "pattern"),
            ("RetentionDays", "retention"),
        ):
            if member in params:
                new[field] = params[member]
        self.store.put(ARCHIVE, archive_key, new)
        self.forget_bus(doc["bus_key"])
        return {
            "ArchiveArn": doc["arn"],
            "State": new["state"],
            "CreationTime": doc["created"] / 1000,
        }

    @committed
    def delete_archive(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        archive_key, doc = self._archive(ctx, params["ArchiveName"])
        self.store.delete(ARCHIVE, archive_key)
        self.store.delete_log_events(archive_group(archive_key))
        self.forget_bus(doc["bus_key"])

    def archive_event(self, archive_key: str, event_json: str) -> None:
        """Keep one event (in the caller's transaction)."""
        doc = self.store.get(ARCHIVE, archive_key)
        if doc is None:
            return
        now = self.clock.now_ms()
        self.store.append_log_events(
            archive_group(archive_key), _STREAM, [(now, event_json)], ingested=now
        )
        size = doc["size"] + len(event_json.encode())
        self.store.put(ARCHIVE, archive_key, {**doc, "count": doc["count"] + 1, "size": size})

    def _trim(self, archive_key: str, doc: dict[str, Any]) -> None:
        if doc["retention"]:
            cutoff = self.clock.now_ms() - doc["retention"] * 86_400_000
            self.store.delete_log_events(archive_group(archive_key), before=cutoff)

    # -- replays -----------------------------------------------------------------------------------
    def _replay(self, ctx: RequestContext, name: str) -> tuple[str, dict[str, Any]]:
        replay_key = key(ctx.account, ctx.region, name)
        doc = self.store.get(REPLAY, replay_key)
        if doc is None:
            raise not_found(f"Replay {name} does not exist.")
        return replay_key, doc

    @committed
    def start_replay(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ReplayName"]
        replay_key = key(ctx.account, ctx.region, name)
        if self.store.get(REPLAY, replay_key) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Replay {name} already exists.")
        archive_name = params["EventSourceArn"].rpartition("archive/")[2]
        archive_key = key(ctx.account, ctx.region, archive_name)
        archive = self.store.get(ARCHIVE, archive_key)
        if archive is None or archive["arn"] != params["EventSourceArn"]:
            raise not_found(f"Archive {archive_name} does not exist.")
        start = int(params["EventStartTime"].timestamp() * 1000)
        end = int(params["EventEndTime"].timestamp() * 1000)
        if start >= end:
            raise validation(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                "EventEndTime."
            )
        destination = params["Destination"]
        if destination["Arn"] != archive["bus_arn"]:
            raise validation(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                "permitted."
            )
        now = self.clock.now_ms()
        doc = {
            "name": name,
            "arn": arn(ctx.region, ctx.account, f"replay/{name}"),
            "archive_key": archive_key,
            "archive_arn": archive["arn"],
            "bus_key": archive["bus_key"],
            "description": params.get("Description"),
            "start": start,
            "end": end,
            "destination": destination,
            "state": "STARTING",
            "started": now,
            "position": None,
        }
        self.store.put(REPLAY, replay_key, doc)
        self.timers.set(f"{REPLAY_TIMER}:{replay_key}", now, REPLAY_TIMER, {"replay": replay_key})
        return {"ReplayArn": doc["arn"], "State": "STARTING", "ReplayStartTime": now / 1000}

    def on_replay_timer(self, timer: Timer) -> None:
        """One batch of a replay (inside the timer's commit)."""
        replay_key = self.timers.payload(timer)["replay"]
        doc = self.store.get(REPLAY, replay_key)
        if doc is None or doc["state"] in ("COMPLETED", "CANCELLED", "FAILED"):
            return
        now = self.clock.now_ms()
        if doc["state"] == "CANCELLING":
            self.store.put(REPLAY, replay_key, {**doc, "state": "CANCELLED", "ended": now})
            return
        archive = self.store.get(ARCHIVE, doc["archive_key"])
        if archive is not None:
            self._trim(doc["archive_key"], archive)
        position = tuple(doc["position"]) if doc["position"] else None
        rows = self.store.read_log_events(
            archive_group(doc["archive_key"]),
            start=doc["start"],
            end=doc["end"],
            after=position,  # type: ignore[arg-type]
            limit=_BATCH,
        )
        account, region, bus_name = doc["bus_key"].split("/", 2)
        rules = set(doc["destination"].get("FilterArns") or []) or None
        last_time = doc.get("last")
        for row in rows:
            event = orjson.loads(row.message)
            event["replay-name"] = doc["name"]
            self.route(account, region, bus_name, event, replay=True, only_rules=rules)
            last_time, position = row.timestamp, (row.timestamp, row.seq)
        done = len(rows) < _BATCH
        new = {
            **doc,
            "state": "COMPLETED" if done else "RUNNING",
            "position": position,
            "last": last_time,
        }
        if done:
            new["ended"] = now
        else:
            self.timers.set(timer.timer_id, now, REPLAY_TIMER, timer.payload)
        self.store.put(REPLAY, replay_key, new)

    def _replay_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "ReplayName": doc["name"],
            "EventSourceArn": doc["archive_arn"],
            "State": doc["state"],
            "EventStartTime": doc["start"] / 1000,
            "EventEndTime": doc["end"] / 1000,
            "ReplayStartTime": doc["started"] / 1000,
        }
        if doc.get("last"):
            view["EventLastReplayedTime"] = doc["last"] / 1000
        if doc.get("ended"):
            view["ReplayEndTime"] = doc["ended"] / 1000
        return view

    def describe_replay(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._replay(ctx, params["ReplayName"])
        out = {**self._replay_view(doc), "ReplayArn": doc["arn"], "Destination": doc["destination"]}
        if doc.get("description"):
            out["Description"] = doc["description"]
        return out

    def list_replays(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = key(ctx.account, ctx.region, params.get("NamePrefix") or "")
        source, state = params.get("EventSourceArn"), params.get("State")
        found = [
            self._replay_view(d)
            for _, d in self.store.scan(REPLAY, prefix)
            if (not source or d["archive_arn"] == source) and (not state or d["state"] == state)
        ]
        items, following = page(found, params)
        return {"Replays": items, **({"NextToken": following} if following else {})}

    @committed
    def cancel_replay(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        replay_key, doc = self._replay(ctx, params["ReplayName"])
        if doc["state"] not in ("STARTING", "RUNNING"):
            raise AwsError(
                "IllegalStatusException",
                f"Replay {doc['name']} is not in a valid state for this operation.",
            )
        self.store.put(REPLAY, replay_key, {**doc, "state": "CANCELLING"})
        timer_id = f"{REPLAY_TIMER}:{replay_key}"
        self.timers.set(timer_id, self.clock.now_ms(), REPLAY_TIMER, {"replay": replay_key})
        return {"ReplayArn": doc["arn"], "State": "CANCELLING"}
