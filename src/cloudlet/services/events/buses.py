"""Event buses: the default bus every account and region has, custom buses, resource policies.

The default bus exists without being created: it is stored the first time something changes it
(a policy, tags) and synthesized otherwise. Bus documents: kind `events.bus`, key
`account/region/name`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.events.common import (
    BUS,
    DEFAULT_BUS,
    RULE,
    bus_arn,
    bus_name_of,
    bus_not_found,
    key,
    not_found,
    page,
    tag_dict,
    validation,
)

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store

_BUS_SETTINGS = ("KmsKeyIdentifier", "DeadLetterConfig", "LogConfig", "Description")


def new_bus(account: str, region: str, name: str, now_ms: int) -> dict[str, Any]:
    return {
        "name": name,
        "account": account,
        "region": region,
        "arn": bus_arn(region, account, name),
        "created": now_ms,
        "modified": now_ms,
        "settings": {},
        "policy": None,
        "tags": {},
    }


class BusOperations:
    store: Store
    clock: Clock

    # -- lookups -----------------------------------------------------------------------------------
    def bus(self, account: str, region: str, name: str) -> dict[str, Any] | None:
        """A bus document; the default bus always exists."""
        doc = self.store.get(BUS, key(account, region, name))
        if doc is None and name == DEFAULT_BUS:
            return new_bus(account, region, name, self.clock.now_ms())
        return doc

    def bus_of(self, ctx: RequestContext, value: str | None) -> dict[str, Any]:
        """The bus an EventBusName (name or ARN) designates; ResourceNotFoundException if none."""
        account, name = bus_name_of(value)
        doc = self.bus(account or ctx.account, ctx.region, name)
        if doc is None:
            raise bus_not_found(name)
        return doc

    def _save_bus(self, doc: dict[str, Any]) -> None:
        doc = {**doc, "modified": self.clock.now_ms()}
        self.store.put(BUS, key(doc["account"], doc["region"], doc["name"]), doc)

    # -- operations --------------------------------------------------------------------------------
    @committed
    def create_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        if params.get("EventSourceName"):
            raise not_found(f"Event source {params['EventSourceName']} does not exist.")
        if "/" in name:
            raise validation("Event bus name must not contain '/'.")
        if name == DEFAULT_BUS or self.store.get(BUS, key(ctx.account, ctx.region, name)):
            raise AwsError("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
        doc = new_bus(ctx.account, ctx.region, name, self.clock.now_ms())
        doc["settings"] = {k: params[k] for k in _BUS_SETTINGS if params.get(k) is not None}
        doc["tags"] = tag_dict(params.get("Tags"))
        self.store.put(BUS, key(ctx.account, ctx.region, name), doc)
        return {"EventBusArn": doc["arn"], **doc["settings"]}

    def describe_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.bus_of(ctx, params.get("Name"))
        return self._bus_view(doc)

    def _bus_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = {"Name": doc["name"], "Arn": doc["arn"], **doc["settings"]}
        if doc.get("policy"):
            out["Policy"] = orjson.dumps(doc["policy"]).decode()
        out["CreationTime"] = doc["created"] / 1000
        out["LastModifiedTime"] = doc["modified"] / 1000
        return out

    def list_event_buses(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("NamePrefix") or ""
        found = {d["name"]: d for _, d in self.store.scan(BUS, key(ctx.account, ctx.region, ""))}
        found.setdefault(DEFAULT_BUS, self.bus(ctx.account, ctx.region, DEFAULT_BUS))  # type: ignore[arg-type]
        buses = [self._bus_view(found[n]) for n in sorted(found) if n.startswith(prefix)]
        for view in buses:
            for setting in ("KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
                view.pop(setting, None)
        items, following = page(buses, params)
        return {"EventBuses": items, **({"NextToken": following} if following else {})}

    @committed
    def update_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.bus_of(ctx, params.get("Name"))
        settings = dict(doc["settings"])
        for setting in _BUS_SETTINGS:
            if setting in params:
                settings[setting] = params[setting]
        self._save_bus({**doc, "settings": settings})
        return {"Arn": doc["arn"], "Name": doc["name"], **settings}

    @committed
    def delete_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["Name"]
        if name == DEFAULT_BUS:
            raise validation("Cannot delete event bus default.")
        bus_key = key(ctx.account, ctx.region, name)
        if self.store.delete(BUS, bus_key):
            for rule_key, _ in self.store.scan(RULE, bus_key + "/"):
                self.store.delete(RULE, rule_key)
            self.forget_bus(bus_key)

    # -- permissions -------------------------------------------------------------------------------
    @committed
    def put_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        doc = self.bus_of(ctx, params.get("EventBusName"))
        if params.get("Policy"):
            try:
                policy = orjson.loads(params["Policy"])
            except orjson.JSONDecodeError:
                raise validation("Policy is not valid JSON.") from None
            self._save_bus({**doc, "policy": policy})
            return
        for member in ("Action", "Principal", "StatementId"):
            if not params.get(member):
                raise validation(f"Parameter {member} must be specified.")
        if params["Action"] != "events:PutEvents":
            raise validation("Provided value in parameter 'action' is not supported.")
        policy = dict(doc.get("policy") or {"Version": "2012-10-17", "Statement": []})
        statements = [s for s in policy["Statement"] if s.get("Sid") != params["StatementId"]]
        statements.append(_statement(doc["arn"], params))
        self._save_bus({**doc, "policy": {**policy, "Statement": statements}})

    @committed
    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        doc = self.bus_of(ctx, params.get("EventBusName"))
        policy = doc.get("policy")
        if not policy:
            raise not_found("EventBus does not have a policy.")
        if params.get("RemoveAllPermissions"):
            self._save_bus({**doc, "policy": None})
            return
        statements = policy.get("Statement") or []
        kept = [s for s in statements if s.get("Sid") != params.get("StatementId")]
        if len(kept) == len(statements):
            raise not_found("Statement with the provided id does not exist.")
        self._save_bus({**doc, "policy": {**policy, "Statement": kept} if kept else None})


def _statement(resource: str, params: dict[str, Any]) -> dict[str, Any]:
    """The statement PutPermission adds, as AWS writes it."""
    principal = params["Principal"]
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
        "Action": "events:PutEvents",
        "Resource": resource,
    }
    condition = params.get("Condition")
    if condition:
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    return statement
