"""Amazon EventBridge: buses, rules and targets, PutEvents, schedules, API destinations, archives.

The operations live in one module per concept, combined here: `buses`, `rules` (with each bus's
pattern index), `ingest` (PutEvents and routing), `schedule` (scheduled rules on core/timers),
`apidest` (connections and API destinations), `archives` (archives and replays). Deliveries to
targets are `delivery`'s (through `targets`). Operations the model has and this class lacks
(global endpoints, partner event sources) answer 501.

AWS services' own events reach the default bus of their account and region through core/events:
the provider subscribes when it loads, and the server loads it at start whenever a rule exists.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.events.apidest import ConnectionOperations
from cloudlet.services.events.archives import REPLAY_TIMER, ArchiveOperations
from cloudlet.services.events.buses import BusOperations
from cloudlet.services.events.common import (
    BUS,
    DEFAULT_BUS,
    RULE,
    key,
    not_found,
    tag_dict,
    tag_list,
)
from cloudlet.services.events.delivery import Deliveries
from cloudlet.services.events.ingest import IngestOperations
from cloudlet.services.events.rules import BusIndex, RuleOperations
from cloudlet.services.events.schedule import SCHEDULE_TIMER, ScheduleOperations

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.core.patterns import Pattern

log = logging.getLogger("cloudlet.events")


class EventsProvider(
    BusOperations,
    RuleOperations,
    IngestOperations,
    ScheduleOperations,
    ConnectionOperations,
    ArchiveOperations,
    Provider,
):
    service = "events"
    helpers = (
        "resume",
        "bus",
        "bus_of",
        "bus_index",
        "pattern",
        "forget_bus",
        "route",
        "route_service_events",
        "deliver_to_targets",
        "archive_event",
        "arm_schedule",
        "disarm_schedule",
        "on_schedule_timer",
        "on_replay_timer",
        "invoke_api_destination",
    )

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.timers = app.timers
        self.started_ms = app.clock.now_ms()
        self._indexes: dict[str, BusIndex] = {}
        self._patterns: dict[str, Pattern] = {}
        self._tokens: dict[str, tuple[str, int]] = {}
        self._token_locks: dict[str, asyncio.Lock] = {}
        self._hub_batch: list[tuple[str, str, dict[str, Any]]] = []
        self._hub_tasks: set[asyncio.Task[None]] = set()
        self.deliveries = Deliveries(self)
        self.timers.handle(SCHEDULE_TIMER, self.on_schedule_timer)
        self.timers.handle(REPLAY_TIMER, self.on_replay_timer)
        self._unsubscribe = app.events.subscribe(self._on_service_event)

    # -- lifecycle ---------------------------------------------------------------------------------
    def resume(self) -> None:
        """After a restart: deliver what waits on the delivery queue."""
        self.deliveries.start()

    def reset(self) -> None:
        self._indexes.clear()
        self._tokens.clear()

    def close(self) -> None:
        self._unsubscribe()
        self.deliveries.close()

    # -- AWS services' own events ------------------------------------------------------------------
    def _on_service_event(self, account: str, region: str, event: dict[str, Any]) -> None:
        """Collect the events of one loop turn and route them in one commit."""
        self._hub_batch.append((account, region, event))
        if len(self._hub_batch) == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._hub_batch.clear()
                return
            task = loop.create_task(self._route_hub_batch())
            self._hub_tasks.add(task)
            task.add_done_callback(self._hub_tasks.discard)

    async def _route_hub_batch(self) -> None:
        await asyncio.sleep(0)
        batch, self._hub_batch = self._hub_batch, []
        try:
            await self.app.commit(self.route_service_events, batch)
        except Exception:
            log.exception("could not route %d service events", len(batch))

    # -- tags --------------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> tuple[str, str, dict[str, Any]]:
        """(kind, key, document) of a taggable resource: a rule or an event bus."""
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "events":
            region, account, resource = parts[3], parts[4], parts[5]
            kind, _, rest = resource.partition("/")
            if kind == "rule":
                bus, _, name = rest.rpartition("/")
                rule_key = key(account, region, bus or DEFAULT_BUS, name)
                doc = self.store.get(RULE, rule_key)
                if doc is not None:
                    return RULE, rule_key, doc
                raise not_found(f"Rule {name} does not exist on EventBus {bus or DEFAULT_BUS}.")
            if kind == "event-bus":
                doc = self.bus(account, region, rest)
                if doc is not None:
                    return BUS, key(account, region, rest), doc
                raise not_found(f"Event bus {rest} does not exist.")
        raise not_found(f"Resource {arn} does not exist.")

    @committed
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        kind, doc_key, doc = self._tagged(params["ResourceARN"])
        tags = {**doc.get("tags", {}), **tag_dict(params["Tags"])}
        self.store.put(kind, doc_key, {**doc, "tags": tags})

    @committed
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        kind, doc_key, doc = self._tagged(params["ResourceARN"])
        gone = set(params["TagKeys"])
        tags = {k: v for k, v in doc.get("tags", {}).items() if k not in gone}
        self.store.put(kind, doc_key, {**doc, "tags": tags})

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, _, doc = self._tagged(params["ResourceARN"])
        return {"Tags": tag_list(doc.get("tags", {}))}
