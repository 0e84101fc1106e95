"""Amazon EventBridge Scheduler: schedule groups and schedules that really fire.

Groups are documents `scheduler.group` (the `default` group exists without being created);
schedules are `scheduler.schedule`, keyed `account/region/group/name`. Firing is `firing`'s, on
core/timers; delivery (targets, retries, dead-letter queues) is EventBridge's engine, shared.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from cloudlet.core.schedules import ScheduleError, parse_expression, zone
from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.scheduler.firing import SCHEDULE, Firing
from cloudlet.services.scheduler.universal import resolve

if TYPE_CHECKING:
    from cloudlet.app import App

GROUP = "scheduler.group"
DEFAULT_GROUP = "default"


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def _not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def _ms(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


class SchedulerProvider(Provider):
    service = "scheduler"
    helpers = ()

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.firing = Firing(app)

    # -- groups ------------------------------------------------------------------------------------
    def _group(self, account: str, region: str, name: str) -> dict[str, Any] | None:
        doc = self.store.get(GROUP, f"{account}/{region}/{name}")
        if doc is None and name == DEFAULT_GROUP:
            return self._new_group(account, region, name, {})
        return doc

    def _new_group(self, account: str, region: str, name: str, tags: dict) -> dict[str, Any]:
        now = self.clock.now_ms()
        return {
            "name": name,
            "arn": f"arn:aws:scheduler:{region}:{account}:schedule-group/{name}",
            "created": now,
            "modified": now,
            "tags": tags,
        }

    def _group_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "Arn": doc["arn"],
            "CreationDate": doc["created"] / 1000,
            "LastModificationDate": doc["modified"] / 1000,
            "Name": doc["name"],
            "State": "ACTIVE",
        }

    @committed
    def create_schedule_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        if self.store.get(GROUP, f"{ctx.account}/{ctx.region}/{name}") or name == DEFAULT_GROUP:
            raise AwsError("ConflictException", f"Schedule group {name} already exists.")
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        doc = self._new_group(ctx.account, ctx.region, name, tags)
        self.store.put(GROUP, f"{ctx.account}/{ctx.region}/{name}", doc)
        return {"ScheduleGroupArn": doc["arn"]}

    def get_schedule_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group(ctx.account, ctx.region, params["Name"])
        if doc is None:
            raise _not_found(f"Schedule group {params['Name']} does not exist.")
        return self._group_view(doc)

    def list_schedule_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        base = f"{ctx.account}/{ctx.region}/"
        groups = {d["name"]: d for _, d in self.store.scan(GROUP, base)}
        groups.setdefault(DEFAULT_GROUP, self._group(ctx.account, ctx.region, DEFAULT_GROUP))  # type: ignore[arg-type]
        prefix = params.get("NamePrefix") or ""
        views = [self._group_view(groups[n]) for n in sorted(groups) if n.startswith(prefix)]
        items, following = _page(views, params)
        return {"ScheduleGroups": items, **({"NextToken": following} if following else {})}

    @committed
    def delete_schedule_group(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["Name"]
        if name == DEFAULT_GROUP:
            raise _validation("Cannot delete the default schedule group.")
        group_key = f"{ctx.account}/{ctx.region}/{name}"
        if not self.store.delete(GROUP, group_key):
            raise _not_found(f"Schedule group {name} does not exist.")
        for schedule_key, _ in self.store.scan(SCHEDULE, group_key + "/"):
            self.store.delete(SCHEDULE, schedule_key)
            self.firing.disarm(schedule_key)

    # -- schedules ---------------------------------------------------------------------------------
    def _schedule(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        group = params.get("GroupName") or DEFAULT_GROUP
        schedule_key = f"{ctx.account}/{ctx.region}/{group}/{params['Name']}"
        doc = self.store.get(SCHEDULE, schedule_key)
        if doc is None:
            raise _not_found(f"Schedule {params['Name']} does not exist.")
        return schedule_key, doc

    @committed
    def create_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("GroupName") or DEFAULT_GROUP
        if self._group(ctx.account, ctx.region, group) is None:
            raise _not_found(f"Schedule group {group} does not exist.")
        schedule_key = f"{ctx.account}/{ctx.region}/{group}/{params['Name']}"
        if self.store.get(SCHEDULE, schedule_key) is not None:
            raise AwsError("ConflictException", f"Schedule {params['Name']} already exists.")
        doc = self._build(ctx, params, group, None)
        self.store.put(SCHEDULE, schedule_key, doc)
        self.firing.arm(schedule_key, doc)
        return {"ScheduleArn": doc["arn"]}

    @committed
    def update_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        schedule_key, existing = self._schedule(ctx, params)
        doc = self._build(ctx, params, existing["group"], existing)
        self.store.put(SCHEDULE, schedule_key, doc)
        self.firing.arm(schedule_key, doc)
        return {"ScheduleArn": doc["arn"]}

    def _build(
        self, ctx: RequestContext, params: dict[str, Any], group: str, existing: dict | None
    ) -> dict[str, Any]:
        expression = params["ScheduleExpression"]
        try:
            parse_expression(expression, allow_at=True)
        except ScheduleError:
            raise _validation(f"Invalid Schedule Expression {expression}.") from None
        timezone = params.get("ScheduleExpressionTimezone")
        try:
            zone(timezone)
        except ScheduleError:
            raise _validation(f"Invalid time zone {timezone}.") from None
        start, end = _ms(params.get("StartDate")), _ms(params.get("EndDate"))
        now = self.clock.now_ms()
        if start is not None and end is not None and end <= start:
            raise _validation("The EndDate must be after the StartDate.")
        _check_window(params["FlexibleTimeWindow"])
        _check_target(params["Target"])
        name = params["Name"]
        unchanged = existing is not None and existing["expression"] == expression
        return {
            "name": name,
            "group": group,
            "account": ctx.account,
            "region": ctx.region,
            "arn": f"arn:aws:scheduler:{ctx.region}:{ctx.account}:schedule/{group}/{name}",
            "expression": expression,
            "timezone": timezone,
            "start": start,
            "end": end,
            "flex": params["FlexibleTimeWindow"],
            "state": params.get("State") or "ENABLED",
            "target": params["Target"],
            "description": params.get("Description"),
            "kms": params.get("KmsKeyArn"),
            "action_after": params.get("ActionAfterCompletion") or "NONE",
            "created": existing["created"] if existing else now,
            "modified": now,
            # a rate counts from StartDate, else from when its expression was set
            "anchor": start if start is not None else (existing["anchor"] if unchanged else now),  # type: ignore[index]
        }

    def get_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._schedule(ctx, params)
        view = {
            "ActionAfterCompletion": doc["action_after"],
            "Arn": doc["arn"],
            "CreationDate": doc["created"] / 1000,
            "Description": doc.get("description"),
            "EndDate": doc["end"] / 1000 if doc.get("end") is not None else None,
            "FlexibleTimeWindow": doc["flex"],
            "GroupName": doc["group"],
            "KmsKeyArn": doc.get("kms"),
            "LastModificationDate": doc["modified"] / 1000,
            "Name": doc["name"],
            "ScheduleExpression": doc["expression"],
            "ScheduleExpressionTimezone": doc.get("timezone"),
            "StartDate": doc["start"] / 1000 if doc.get("start") is not None else None,
            "State": doc["state"],
            "Target": doc["target"],
        }
        return {k: v for k, v in view.items() if v is not None}

    @committed
    def delete_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        schedule_key, _ = self._schedule(ctx, params)
        self.store.delete(SCHEDULE, schedule_key)
        self.firing.disarm(schedule_key)

    def list_schedules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        base = f"{ctx.account}/{ctx.region}/"
        group, prefix, state = (
            params.get("GroupName"),
            params.get("NamePrefix"),
            params.get("State"),
        )
        if group and self._group(ctx.account, ctx.region, group) is None:
            raise _not_found(f"Schedule group {group} does not exist.")
        found = [
            {
                "Arn": d["arn"],
                "CreationDate": d["created"] / 1000,
                "GroupName": d["group"],
                "LastModificationDate": d["modified"] / 1000,
                "Name": d["name"],
                "State": d["state"],
                "Target": {"Arn": d["target"]["Arn"]},
            }
            for _, d in self.store.scan(SCHEDULE, base + (f"{group}/" if group else ""))
            if (not prefix or d["name"].startswith(prefix)) and (not state or d["state"] == state)
        ]
        items, following = _page(found, params)
        return {"Schedules": items, **({"NextToken": following} if following else {})}

    # -- tags (schedule groups) --------------------------------------------------------------------
    def _tagged(self, arn: str) -> tuple[str, dict[str, Any]]:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("schedule-group/"):
            name = parts[5].partition("/")[2]
            group = self._group(parts[4], parts[3], name)
            if group is not None:
                return f"{parts[4]}/{parts[3]}/{name}", group
        raise _not_found(f"Resource {arn} does not exist.")

    @committed
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group_key, doc = self._tagged(params["ResourceArn"])
        tags = {**doc["tags"], **{t["Key"]: t["Value"] for t in params["Tags"]}}
        self.store.put(GROUP, group_key, {**doc, "tags": tags})

    @committed
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group_key, doc = self._tagged(params["ResourceArn"])
        gone = set(params["TagKeys"])
        self.store.put(
            GROUP,
            group_key,
            {**doc, "tags": {k: v for k, v in doc["tags"].items() if k not in gone}},
        )

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._tagged(params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in doc["tags"].items()]}


def _check_window(window: dict[str, Any]) -> None:
    minutes = window.get("MaximumWindowInMinutes")
    if window["Mode"] == "FLEXIBLE" and not minutes:
        raise _validation("MaximumWindowInMinutes must be specified when Mode is FLEXIBLE.")
    if window["Mode"] == "OFF" and minutes:
        raise _validation("MaximumWindowInMinutes must not be specified when Mode is OFF.")


def _check_target(target: dict[str, Any]) -> None:
    arn = target["Arn"]
    if arn.startswith("arn:aws:scheduler:::aws-sdk:"):
        if resolve(arn) is None:
            raise _validation(f"Invalid target ARN {arn}.")
        return
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise _validation(f"Invalid target ARN {arn}.")
    if (
        parts[2] == "events"
        and parts[5].startswith("event-bus/")
        and not target.get("EventBridgeParameters")
    ):
        raise _validation("EventBridgeParameters must be specified for an EventBridge target.")


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str]:
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
        except ValueError:
            raise _validation("Invalid NextToken.") from None
    end = start + (params.get("MaxResults") or 100)
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
    return items[start:end], following
