"""API keys, usage plans and the keys of usage plans.

A key's value is indexed (`apigateway.keyvalue`) and a key lists the usage plans it belongs to
(`_plans`), so the data plane checks an `x-api-key` header with two document reads and no scan.
Usage counts live in memory (`Usage`): enough for quotas and GetUsage while the server runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    API_KEY,
    KEY_VALUE,
    PLAN_KEY,
    STAGE,
    USAGE_PLAN,
    api_key_value,
    apply_patch,
    bad_request,
    conflict,
    new_id,
    not_found,
    page,
    pointer,
    scope,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

_KEY_PATCH = frozenset(("name", "description", "enabled", "customerId", "value"))
_PLAN_PATCH = frozenset(("name", "description", "throttle", "quota", "productCode"))


def _no_key() -> Exception:
    return not_found("Invalid API Key identifier specified")


def _no_plan() -> Exception:
    return not_found("Invalid Usage Plan ID specified")


def key_view(doc: dict[str, Any], include_value: bool) -> dict[str, Any]:
    return doc if include_value else {k: v for k, v in doc.items() if k != "value"}


class KeyOperations:
    # -- API keys ------------------------------------------------------------------------------
    def key_doc(self: ApiGatewayProvider, ctx: RequestContext, key_id: str) -> dict[str, Any]:
        doc = self.store.get(API_KEY, scope(ctx.account, ctx.region, key_id))
        if doc is None:
            raise _no_key()
        return doc

    @committed
    def create_api_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        value = params.get("value") or api_key_value()
        if len(value) < 20:
            raise bad_request("API Key value should be at least 20 characters")
        if self.store.get(KEY_VALUE, scope(ctx.account, ctx.region, value)) is not None:
            raise conflict("API Key already exists")
        now = self.clock.now()
        doc: dict[str, Any] = {
            "id": new_id(10),
            "value": value,
            "name": params.get("name") or "",
            "enabled": bool(params.get("enabled")),
            "createdDate": now,
            "lastUpdatedDate": now,
            "stageKeys": [
                f"{s['restApiId']}/{s['stageName']}" for s in params.get("stageKeys") or ()
            ],
            "tags": params.get("tags") or {},
        }
        for member in ("description", "customerId"):
            if params.get(member):
                doc[member] = params[member]
        self.store.put(API_KEY, scope(ctx.account, ctx.region, doc["id"]), doc)
        self.store.put(KEY_VALUE, scope(ctx.account, ctx.region, value), {"id": doc["id"]})
        return doc

    def get_api_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return key_view(self.key_doc(ctx, params["apiKey"]), bool(params.get("includeValue")))

    def get_api_keys(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        docs = [d for _, d in self.store.scan(API_KEY, scope(ctx.account, ctx.region, ""))]
        if params.get("nameQuery"):
            docs = [d for d in docs if d["name"].startswith(params["nameQuery"])]
        if params.get("customerId"):
            docs = [d for d in docs if d.get("customerId") == params["customerId"]]
        docs.sort(key=lambda d: (d["createdDate"], d["id"]))
        include = bool(params.get("includeValues"))
        return page([key_view(d, include) for d in docs], params)

    @committed
    def update_api_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        doc = self.key_doc(ctx, params["apiKey"])
        plain, stage_ops = [], []
        for op in params.get("patchOperations") or ():
            (stage_ops if op.get("path") == "/stageKeys" else plain).append(op)
        updated = apply_patch(doc, plain, "ApiKey", _KEY_PATCH)
        for op in stage_ops:
            keys = updated.setdefault("stageKeys", [])
            value = op.get("value") or ""
            if op.get("op") == "add" and value not in keys:
                keys.append(value)
            elif op.get("op") == "remove" and value in keys:
                keys.remove(value)
        if updated["value"] != doc["value"]:
            self.store.delete(KEY_VALUE, scope(ctx.account, ctx.region, doc["value"]))
            self.store.put(
                KEY_VALUE, scope(ctx.account, ctx.region, updated["value"]), {"id": doc["id"]}
            )
        updated["lastUpdatedDate"] = self.clock.now()
        self.store.put(API_KEY, scope(ctx.account, ctx.region, doc["id"]), updated)
        return updated

    @committed
    def delete_api_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        doc = self.key_doc(ctx, params["apiKey"])
        for plan in doc.get("_plans") or ():
            self.store.delete(PLAN_KEY, scope(ctx.account, ctx.region, plan, doc["id"]))
        self.store.delete(KEY_VALUE, scope(ctx.account, ctx.region, doc["value"]))
        self.store.delete(API_KEY, scope(ctx.account, ctx.region, doc["id"]))

    @committed
    def import_api_keys(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        """The CSV AWS documents: a header naming `key`/`value`, `name`, `description`,
        `enabled`, `usageplanIds` (any order, case-insensitive), one key a line."""
        import csv
        import io

        text = bytes(params.get("body") or b"").decode("utf-8", "replace")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise bad_request("Invalid API keys file")
        header = [h.strip().lower() for h in rows[0]]
        made = []
        for row in rows[1:]:
            fields = dict(zip(header, row, strict=False))
            value = fields.get("key") or fields.get("value")
            if not value:
                continue
            key = self._import_key(ctx, fields, value)
            made.append(key["id"])
        return {"ids": made, "warnings": []}

    def _import_key(
        self: ApiGatewayProvider, ctx: RequestContext, fields: dict, value: str
    ) -> dict:
        now = self.clock.now()
        doc = {
            "id": new_id(10),
            "value": value,
            "name": fields.get("name") or "",
            "enabled": (fields.get("enabled") or "true").lower() == "true",
            "createdDate": now,
            "lastUpdatedDate": now,
            "stageKeys": [],
        }
        if fields.get("description"):
            doc["description"] = fields["description"]
        self.store.put(API_KEY, scope(ctx.account, ctx.region, doc["id"]), doc)
        self.store.put(KEY_VALUE, scope(ctx.account, ctx.region, value), {"id": doc["id"]})
        for plan in (fields.get("usageplanids") or "").split(":"):
            if plan and self.store.get(USAGE_PLAN, scope(ctx.account, ctx.region, plan)):
                self._add_plan_key(ctx, plan, doc)
        return doc

    # -- usage plans ---------------------------------------------------------------------------
    def plan_doc(self: ApiGatewayProvider, ctx: RequestContext, plan_id: str) -> dict[str, Any]:
        doc = self.store.get(USAGE_PLAN, scope(ctx.account, ctx.region, plan_id))
        if doc is None:
            raise _no_plan()
        return doc

    def _check_stages(self: ApiGatewayProvider, ctx: RequestContext, stages: list[dict]) -> None:
        for entry in stages:
            key = scope(ctx.account, ctx.region, entry.get("apiId", ""), entry.get("stage", ""))
            if self.store.get(STAGE, key) is None:
                raise bad_request(f"API Stage not found: {entry.get('apiId')}:{entry.get('stage')}")

    @committed
    def create_usage_plan(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        stages = params.get("apiStages") or []
        self._check_stages(ctx, stages)
        doc: dict[str, Any] = {
            "id": new_id(6),
            "name": params["name"],
            "apiStages": stages,
            "tags": params.get("tags") or {},
        }
        for member in ("description", "throttle", "quota"):
            if params.get(member) is not None:
                doc[member] = params[member]
        self.store.put(USAGE_PLAN, scope(ctx.account, ctx.region, doc["id"]), doc)
        return doc

    def get_usage_plan(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self.plan_doc(ctx, params["usagePlanId"])

    def get_usage_plans(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        docs = [d for _, d in self.store.scan(USAGE_PLAN, scope(ctx.account, ctx.region, ""))]
        if params.get("keyId"):
            docs = [
                d
                for d in docs
                if self.store.get(
                    PLAN_KEY, scope(ctx.account, ctx.region, d["id"], params["keyId"])
                )
            ]
        return page(docs, params)

    @committed
    def update_usage_plan(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        doc = self.plan_doc(ctx, params["usagePlanId"])
        plain, stage_ops = [], []
        for op in params.get("patchOperations") or ():
            (stage_ops if op.get("path", "").startswith("/apiStages") else plain).append(op)
        updated = apply_patch(doc, plain, "UsagePlan", _PLAN_PATCH)
        for op in stage_ops:
            updated["apiStages"] = self._patch_stages(ctx, updated.get("apiStages") or [], op)
        self.store.put(USAGE_PLAN, scope(ctx.account, ctx.region, doc["id"]), updated)
        self.usage.forget_plan(doc["id"])
        return updated

    def _patch_stages(
        self: ApiGatewayProvider, ctx: RequestContext, stages: list, op: dict
    ) -> list:
        """`add|remove /apiStages` with value `apiId:stage`; `/apiStages/apiId:stage/throttle/...`
        sets per-method throttles."""
        stages = [dict(s) for s in stages]
        parts = pointer(op["path"])
        value = str(op.get("value") or "")
        if len(parts) == 1:
            api_id, _, stage = value.partition(":")
            if op.get("op") == "add":
                self._check_stages(ctx, [{"apiId": api_id, "stage": stage}])
                if not any(s["apiId"] == api_id and s["stage"] == stage for s in stages):
                    stages.append({"apiId": api_id, "stage": stage})
            elif op.get("op") == "remove":
                stages = [s for s in stages if not (s["apiId"] == api_id and s["stage"] == stage)]
            return stages
        api_id, _, stage = parts[1].partition(":")
        for entry in stages:
            if entry["apiId"] == api_id and entry["stage"] == stage and len(parts) >= 4:
                throttle = entry.setdefault("throttle", {})
                if op.get("op") == "remove":
                    throttle.pop(parts[2], None)
                else:
                    throttle[parts[2]] = _throttle_value(op.get("value"))
        return stages

    @committed
    def delete_usage_plan(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        doc = self.plan_doc(ctx, params["usagePlanId"])
        for key, _ in self.store.scan(PLAN_KEY, scope(ctx.account, ctx.region, doc["id"], "")):
            self._drop_plan_key(ctx, doc["id"], key.rpartition("/")[2])
        self.store.delete(USAGE_PLAN, scope(ctx.account, ctx.region, doc["id"]))
        self.usage.forget_plan(doc["id"])

    # -- usage plan keys -----------------------------------------------------------------------
    def _add_plan_key(self: ApiGatewayProvider, ctx: RequestContext, plan: str, key: dict) -> dict:
        self.store.put(PLAN_KEY, scope(ctx.account, ctx.region, plan, key["id"]), {"id": key["id"]})
        plans = [p for p in key.get("_plans") or () if p != plan] + [plan]
        self.store.put(API_KEY, scope(ctx.account, ctx.region, key["id"]), {**key, "_plans": plans})
        return {"id": key["id"], "type": "API_KEY", "value": key["value"], "name": key["name"]}

    def _drop_plan_key(
        self: ApiGatewayProvider, ctx: RequestContext, plan: str, key_id: str
    ) -> None:
        self.store.delete(PLAN_KEY, scope(ctx.account, ctx.region, plan, key_id))
        key = self.store.get(API_KEY, scope(ctx.account, ctx.region, key_id))
        if key is not None:
            plans = [p for p in key.get("_plans") or () if p != plan]
            self.store.put(
                API_KEY, scope(ctx.account, ctx.region, key_id), {**key, "_plans": plans}
            )

    @committed
    def create_usage_plan_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        plan = self.plan_doc(ctx, params["usagePlanId"])
        if params.get("keyType") != "API_KEY":
            raise bad_request("Invalid key type specified")
        key = self.key_doc(ctx, params["keyId"])
        if self.store.get(PLAN_KEY, scope(ctx.account, ctx.region, plan["id"], key["id"])):
            raise conflict(
                f"Usage Plan {plan['id']} cannot be added because API Key {key['id']} "
                "cannot reference multiple Usage Plans with the same API Stage"
            )
        return self._add_plan_key(ctx, plan["id"], key)

    def get_usage_plan_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        plan = self.plan_doc(ctx, params["usagePlanId"])
        if not self.store.get(
            PLAN_KEY, scope(ctx.account, ctx.region, plan["id"], params["keyId"])
        ):
            raise not_found("Invalid Usage Plan Key identifier specified")
        key = self.key_doc(ctx, params["keyId"])
        return {"id": key["id"], "type": "API_KEY", "value": key["value"], "name": key["name"]}

    def get_usage_plan_keys(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        plan = self.plan_doc(ctx, params["usagePlanId"])
        items = []
        for key, _ in self.store.scan(PLAN_KEY, scope(ctx.account, ctx.region, plan["id"], "")):
            doc = self.store.get(API_KEY, scope(ctx.account, ctx.region, key.rpartition("/")[2]))
            if doc and doc["name"].startswith(params.get("nameQuery") or ""):
                items.append(
                    {"id": doc["id"], "type": "API_KEY", "value": doc["value"], "name": doc["name"]}
                )
        return page(items, params)

    @committed
    def delete_usage_plan_key(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        plan = self.plan_doc(ctx, params["usagePlanId"])
        if not self.store.get(
            PLAN_KEY, scope(ctx.account, ctx.region, plan["id"], params["keyId"])
        ):
            raise not_found("Invalid Usage Plan Key identifier specified")
        self._drop_plan_key(ctx, plan["id"], params["keyId"])

    def get_usage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        plan = self.plan_doc(ctx, params["usagePlanId"])
        quota = (plan.get("quota") or {}).get("limit")
        items: dict[str, list[list[int]]] = {}
        for key, _ in self.store.scan(PLAN_KEY, scope(ctx.account, ctx.region, plan["id"], "")):
            key_id = key.rpartition("/")[2]
            if params.get("keyId") and key_id != params["keyId"]:
                continue
            used = self.usage.used(plan["id"], key_id)
            items[key_id] = [[used, max(quota - used, 0) if quota is not None else 0]]
        return {
            "usagePlanId": plan["id"],
            "startDate": params["startDate"],
            "endDate": params["endDate"],
            "items": items,
        }

    @committed
    def update_usage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        """Grant more requests to a key in the current period (`replace /remaining`)."""
        plan = self.plan_doc(ctx, params["usagePlanId"])
        for op in params.get("patchOperations") or ():
            if op.get("path") == "/remaining":
                quota = (plan.get("quota") or {}).get("limit") or 0
                self.usage.set_used(plan["id"], params["keyId"], quota - int(op.get("value") or 0))
        return self.get_usage(ctx, {**params, "startDate": "", "endDate": ""})


def _throttle_value(value: Any) -> Any:
    try:
        return float(value) if "." in str(value) else int(value)
    except (TypeError, ValueError):
        raise bad_request(f"Invalid throttle value: {value}") from None


class Usage:
    """Requests counted per (usage plan, key) and quota period, in memory."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[str, int]] = {}

    @staticmethod
    def period(kind: str | None, now: float) -> str:
        stamp = time.gmtime(now)
        if kind == "WEEK":
            return time.strftime("%G-W%V", stamp)
        if kind == "MONTH":
            return time.strftime("%Y-%m", stamp)
        return time.strftime("%Y-%m-%d", stamp)

    def take(self, plan: str, key: str, period: str, limit: int) -> bool:
        """Count one request; False when the quota of the period is used up."""
        current, used = self._counts.get((plan, key), (period, 0))
        if current != period:
            used = 0
        if used >= limit:
            return False
        self._counts[(plan, key)] = (period, used + 1)
        return True

    def used(self, plan: str, key: str) -> int:
        return self._counts.get((plan, key), ("", 0))[1]

    def set_used(self, plan: str, key: str, used: int) -> None:
        period = self._counts.get((plan, key), ("", 0))[0]
        self._counts[(plan, key)] = (period, max(used, 0))

    def forget_plan(self, plan: str) -> None:
        for key in [k for k in self._counts if k[0] == plan]:
            del self._counts[key]
