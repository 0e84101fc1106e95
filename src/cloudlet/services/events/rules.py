"""Rules and their targets, and the pattern index of each bus that PutEvents matches against.

A rule document (kind `events.rule`, key `account/region/bus/name`) holds the rule and its targets
(at most five, as on AWS). Each bus has one `PatternIndex` of its enabled pattern rules (and of its
archives' patterns), built from the documents on first use and dropped whenever a rule of the bus
changes — rebuilding from compiled patterns is cheap, and an index that is merely rebuilt can never
disagree with documents a failed transaction rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core.patterns import Pattern, PatternError, PatternIndex, compile_event_pattern
from cloudlet.core.schedules import ScheduleError, parse_expression
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.events import transform
from cloudlet.services.events.common import (
    ARCHIVE,
    DEFAULT_BUS,
    RULE,
    key,
    page,
    rule_arn,
    rule_not_found,
    tag_dict,
    validation,
)

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store

MAX_TARGETS = 5
_ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def enabled(rule: dict[str, Any]) -> bool:
    return rule["state"] in _ENABLED


@dataclass
class BusIndex:
    """What one bus matches events against: rules ("r", key) and archives ("a", key) with a
    pattern in the index; archives without a pattern take every event."""

    index: PatternIndex = field(default_factory=PatternIndex)
    catch_all: list[str] = field(default_factory=list)
    size: int = 0  # entries of the index: an empty one is not even asked


def compile_pattern(text: str) -> Pattern:
    try:
        return compile_event_pattern(text)
    except PatternError as error:
        raise AwsError("InvalidEventPatternException", error.message) from None


class RuleOperations:
    app: App
    store: Store
    clock: Clock

    # -- the index of each bus ---------------------------------------------------------------------
    def bus_index(self, bus_key: str) -> BusIndex:
        found = self._indexes.get(bus_key)
        if found is None:
            found = self._indexes[bus_key] = self._build_index(bus_key)
        return found

    def _build_index(self, bus_key: str) -> BusIndex:
        built = BusIndex()
        for rule_key, rule in self.store.scan(RULE, bus_key + "/"):
            if rule.get("pattern") and enabled(rule):
                built.index.add(("r", rule_key), self.pattern(rule["pattern"]))
                built.size += 1
        account, region, _ = bus_key.split("/", 2)
        for archive_key, archive in self.store.scan(ARCHIVE, key(account, region, "")):
            if archive["bus_key"] != bus_key or archive["state"] != "ENABLED":
                continue
            if archive.get("pattern"):
                built.index.add(("a", archive_key), self.pattern(archive["pattern"]))
                built.size += 1
            else:
                built.catch_all.append(archive_key)
        return built

    def pattern(self, text: str) -> Pattern:
        """A compiled pattern, compiled once per distinct text."""
        compiled = self._patterns.get(text)
        if compiled is None:
            if len(self._patterns) > 10_000:
                self._patterns.clear()
            compiled = self._patterns[text] = compile_pattern(text)
        return compiled

    def forget_bus(self, bus_key: str) -> None:
        self._indexes.pop(bus_key, None)

    # -- lookups -----------------------------------------------------------------------------------
    def _rule(self, ctx: RequestContext, name: str, bus_value: str | None) -> tuple[str, dict]:
        bus = self.bus_of(ctx, bus_value)
        rule_key = key(bus["account"], bus["region"], bus["name"], name)
        doc = self.store.get(RULE, rule_key)
        if doc is None:
            raise rule_not_found(name, bus["name"])
        return rule_key, doc

    def _save_rule(self, rule_key: str, doc: dict[str, Any], before: dict | None = None) -> None:
        """Store a rule; its bus's index is rebuilt on next use, and its schedule's timer is set
        again only when the schedule, its phase or the rule's state changed."""
        self.store.put(RULE, rule_key, doc)
        self.forget_bus(rule_key.rsplit("/", 1)[0])
        timing = ("schedule", "anchor", "state")
        if before is not None and all(before.get(f) == doc.get(f) for f in timing):
            return
        if doc.get("schedule") and enabled(doc):
            self.arm_schedule(doc)
        else:
            self.disarm_schedule(rule_key)

    # -- rules -------------------------------------------------------------------------------------
    @committed
    def put_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self.bus_of(ctx, params.get("EventBusName"))
        pattern, schedule = params.get("EventPattern"), params.get("ScheduleExpression")
        if not pattern and not schedule:
            raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if pattern:
            self.pattern(pattern)
        if schedule:
            if bus["name"] != DEFAULT_BUS:
                raise validation("ScheduleExpression is supported only on the default event bus.")
            try:
                parse_expression(schedule)
            except ScheduleError:
                raise validation("Parameter ScheduleExpression is not valid.") from None
        name = params["Name"]
        rule_key = key(bus["account"], bus["region"], bus["name"], name)
        existing = self.store.get(RULE, rule_key) or {}
        now = self.clock.now_ms()
        doc = {
            "name": name,
            "arn": rule_arn(bus["region"], bus["account"], bus["name"], name),
            "account": bus["account"],
            "region": bus["region"],
            "bus": bus["name"],
            "pattern": pattern or None,
            "schedule": schedule or None,
            "state": params.get("State") or "ENABLED",
            "description": params.get("Description"),
            "role_arn": params.get("RoleArn"),
            "created_by": ctx.account,
            "targets": existing.get("targets", []),
            "tags": existing.get("tags") or tag_dict(params.get("Tags")),
            "created": existing.get("created", now),
            # a rate counts from when its schedule was set; an unchanged schedule keeps its phase
            "anchor": existing.get("anchor", now) if existing.get("schedule") == schedule else now,
        }
        self._save_rule(rule_key, doc, existing or None)
        return {"RuleArn": doc["arn"]}

    def describe_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._rule(ctx, params["Name"], params.get("EventBusName"))
        return {**self._rule_view(doc), "CreatedBy": doc["created_by"]}

    def _rule_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        view = {
            "Name": doc["name"],
            "Arn": doc["arn"],
            "EventPattern": doc.get("pattern"),
            "ScheduleExpression": doc.get("schedule"),
            "State": doc["state"],
            "Description": doc.get("description"),
            "RoleArn": doc.get("role_arn"),
            "ManagedBy": doc.get("managed_by"),
            "EventBusName": doc["bus"],
        }
        return {k: v for k, v in view.items() if v is not None}

    def list_rules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self.bus_of(ctx, params.get("EventBusName"))
        prefix = key(bus["account"], bus["region"], bus["name"], params.get("NamePrefix") or "")
        rules = [self._rule_view(d) for _, d in self.store.scan(RULE, prefix)]
        items, following = page(rules, params)
        return {"Rules": items, **({"NextToken": following} if following else {})}

    @committed
    def delete_rule(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        bus = self.bus_of(ctx, params.get("EventBusName"))
        rule_key = key(bus["account"], bus["region"], bus["name"], params["Name"])
        doc = self.store.get(RULE, rule_key)
        if doc is None:
            return  # as AWS: deleting a rule that does not exist succeeds
        if doc["targets"]:
            raise validation("Rule can't be deleted since it has targets.")
        self.store.delete(RULE, rule_key)
        self.forget_bus(rule_key.rsplit("/", 1)[0])
        self.disarm_schedule(rule_key)

    @committed
    def enable_rule(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        rule_key, doc = self._rule(ctx, params["Name"], params.get("EventBusName"))
        if not enabled(doc):
            self._save_rule(rule_key, {**doc, "state": "ENABLED"}, doc)

    @committed
    def disable_rule(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        rule_key, doc = self._rule(ctx, params["Name"], params.get("EventBusName"))
        self._save_rule(rule_key, {**doc, "state": "DISABLED"}, doc)

    def test_event_pattern(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pattern = compile_pattern(params["EventPattern"])
        try:
            event = orjson.loads(params["Event"])
        except orjson.JSONDecodeError:
            raise validation("Parameter Event is not valid.") from None
        if not isinstance(event, dict) or any(f not in event for f in _EVENT_FIELDS):
            raise validation("Parameter Event is not valid.")
        return {"Result": pattern.matches(event)}

    # -- targets -----------------------------------------------------------------------------------
    @committed
    def put_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rule_key, doc = self._rule(ctx, params["Rule"], params.get("EventBusName"))
        targets = {t["Id"]: t for t in doc["targets"]}
        failed: list[dict[str, Any]] = []
        for target in params["Targets"]:
            problem = self._target_problem(target)
            if problem:
                failed.append(
                    {"TargetId": target["Id"], "ErrorCode": problem[0], "ErrorMessage": problem[1]}
                )
                continue
            targets[target["Id"]] = _stored_target(target)
        if len(targets) > MAX_TARGETS:
            raise AwsError(
                "LimitExceededException",
                "The requested resource exceeds the maximum number allowed.",
            )
        self._save_rule(rule_key, {**doc, "targets": list(targets.values())}, doc)
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def _target_problem(self, target: dict[str, Any]) -> tuple[str, str] | None:
        """Why a target cannot be added (per-entry failure), or None. Raises for request-level
        errors AWS reports as a ValidationException."""
        given = [k for k in ("Input", "InputPath", "InputTransformer") if k in target]
        if len(given) > 1:
            raise validation(
                f"Only one of Input, InputPath, or InputTransformer must be provided for target "
                f"{target['Id']}."
            )
        _check_input(target)
        arn = target["Arn"]
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return "ValidationException", "Provided Arn is not in correct format."
        if parts[2] == "sqs":
            queue = self.app.provider("sqs").queue_by_arn(arn)  # type: ignore[attr-defined]
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if queue is not None and queue.fifo and not group:
                return (
                    "ValidationException",
                    f"Parameter(s) SqsParameters must be specified for target: {target['Id']}.",
                )
        return None

    @committed
    def remove_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rule_key, doc = self._rule(ctx, params["Rule"], params.get("EventBusName"))
        gone = set(params["Ids"])
        kept = [t for t in doc["targets"] if t["Id"] not in gone]
        self._save_rule(rule_key, {**doc, "targets": kept}, doc)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._rule(ctx, params["Rule"], params.get("EventBusName"))
        items, following = page(doc["targets"], params)
        return {"Targets": items, **({"NextToken": following} if following else {})}

    def list_rule_names_by_target(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        bus = self.bus_of(ctx, params.get("EventBusName"))
        prefix = key(bus["account"], bus["region"], bus["name"], "")
        arn = params["TargetArn"]
        names = [
            d["name"]
            for _, d in self.store.scan(RULE, prefix)
            if any(t["Arn"] == arn for t in d["targets"])
        ]
        items, following = page(names, params)
        return {"RuleNames": items, **({"NextToken": following} if following else {})}


def _stored_target(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if v is not None}


def _check_input(target: dict[str, Any]) -> None:
    """Input must be JSON; an InputTransformer's paths must be JSON paths, its names not reserved."""
    if "Input" in target:
        try:
            orjson.loads(target["Input"])
        except orjson.JSONDecodeError:
            raise validation(f"Input for target {target['Id']} is not valid JSON.") from None
    if "InputPath" in target:
        _check_path(target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            if name in transform.RESERVED:
                raise validation(f"Input path map key {name} is reserved.")
            _check_path(path)


def _check_path(path: str) -> None:
    try:
        transform.parse_path(path)
    except transform.PathError:
        raise validation(f"Parameter {path} is not valid JSONPath.") from None
