"""PutEvents, and routing an event through a bus: match, archive, deliver to every target.

PutEvents checks entries as AWS does — the request's total size (AWS's calculation: 14 bytes for a
Time, the UTF-8 bytes of Source, DetailType, Detail and each resource; at most 256 KB), then each
entry on its own (`InvalidArgument` for a missing Source / DetailType / Detail, `MalformedDetail`
when Detail is not a JSON object, `NotAuthorizedForSourceException` for `aws.` sources) — and
wraps each event in AWS's envelope. As on AWS, an event sent to a bus that does not exist is
accepted and goes nowhere.

Routing runs inside the PutEvents commit: the bus's pattern index names the matching rules (and
archives) at a cost independent of their number, and each target's delivery is dispatched at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.services import RequestContext, committed
from cloudlet.services.events.common import DEFAULT_BUS, RULE, iso_seconds, key, validation
from cloudlet.services.events.delivery import Deliveries, delivery
from cloudlet.services.events.rules import enabled
from cloudlet.services.events.transform import target_input

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store

MAX_REQUEST_BYTES = 256 * 1024
#: bus-to-bus hops an event may take (AWS stops loops too)
_MAX_HOPS = 4


@dataclass(slots=True)
class RuleInfo:
    """What an input template may name of the rule that matched."""

    arn: str
    name: str
    ingested_ms: int

    @property
    def ingested_iso(self) -> str:
        return iso_seconds(self.ingested_ms)


def entry_size(entry: dict[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        if entry.get(member):
            size += len(entry[member].encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources") or [] if r)


def entry_problem(entry: dict[str, Any]) -> tuple[str, str] | tuple[None, dict[str, Any]]:
    """(error code, message) of an entry AWS refuses, or (None, its parsed detail)."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            return (
                "InvalidArgument",
                f"Parameter {member} is not valid. Reason: {member} is a required argument.",
            )
    try:
        detail = orjson.loads(entry["Detail"])
    except orjson.JSONDecodeError:
        detail = None
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    if entry["Source"].startswith("aws."):
        return "NotAuthorizedForSourceException", "Not authorized for the source."
    return None, detail


class IngestOperations:
    store: Store
    clock: Clock
    deliveries: Deliveries

    @committed
    def put_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        entries = params["Entries"]
        if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
            raise validation("Total size of the entries in the request is over the limit.")
        now = self.clock.now_ms()
        results: list[dict[str, Any]] = []
        failed = 0
        for entry in entries:
            code, found = entry_problem(entry)
            if code is not None:
                results.append({"ErrorCode": code, "ErrorMessage": found})
                failed += 1
                continue
            when = entry.get("Time")
            event = {
                "version": "0",
                "id": ids.uuid4(),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ctx.account,
                "time": iso_seconds(int(when.timestamp() * 1000) if when else now),
                "region": ctx.region,
                "resources": entry.get("Resources") or [],
                "detail": found,
            }
            account, region, bus = _bus_of(ctx, entry.get("EventBusName"))
            self.route(account, region, bus, event)
            results.append({"EventId": event["id"]})
        return {"FailedEntryCount": failed, "Entries": results}

    def route(
        self,
        account: str,
        region: str,
        bus: str,
        event: dict[str, Any],
        *,
        depth: int = 0,
        replay: bool = False,
        only_rules: set[str] | None = None,
    ) -> None:
        """Send one event through a bus (in the caller's transaction)."""
        if depth > _MAX_HOPS:
            return
        found = self.bus_index(key(account, region, bus))
        if not found.size and (replay or not found.catch_all):
            return
        event_json = orjson.dumps(event).decode()
        for kind, item in found.index.match(event) if found.size else ():
            if kind == "a":
                if not replay:
                    self.archive_event(item, event_json)
                continue
            rule = self.store.get(RULE, item)
            if rule is None or not enabled(rule):
                continue
            if only_rules is not None and rule["arn"] not in only_rules:
                continue
            self.deliver_to_targets(rule, event, event_json, depth)
        if not replay:
            for archive_key in found.catch_all:
                self.archive_event(archive_key, event_json)

    def deliver_to_targets(
        self, rule: dict[str, Any], event: dict[str, Any], event_json: str, depth: int = 0
    ) -> None:
        info = RuleInfo(rule["arn"], rule["name"], self.clock.now_ms())
        for target in rule["targets"]:
            if ":event-bus/" in target["Arn"]:
                body = event_json  # buses receive the event itself
            else:
                body = target_input(target, event, event_json, info)
            meta = delivery(
                "rule", rule["arn"], rule["account"], rule["region"], target, event["id"]
            )
            if body is not event_json:
                meta["original"] = event_json
            if depth:
                meta["depth"] = depth
            self.deliveries.dispatch(meta, body)

    def route_service_events(self, batch: list[tuple[str, str, dict[str, Any]]]) -> None:
        """AWS services' own events (core/events) go to the default bus of their account/region."""
        for account, region, event in batch:
            self.route(account, region, DEFAULT_BUS, event)


def _bus_of(ctx: RequestContext, value: str | None) -> tuple[str, str, str]:
    """(account, region, name) of an entry's EventBusName: a name, or an event-bus ARN."""
    if value and value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("event-bus/"):
            return parts[4], parts[3] or ctx.region, parts[5][len("event-bus/") :]
    return ctx.account, ctx.region, value or DEFAULT_BUS
