"""Aliases: a name for a version, optionally splitting traffic with a second version.

Documents "lambda.alias" at `<account>/<region>/<function>/<alias>` hold the `AliasConfiguration`
answer itself. `pick_version` applies `RoutingConfig.AdditionalVersionWeights` on each invoke.
"""

from __future__ import annotations

import random
from typing import Any

from cloudlet.core.store import Store
from cloudlet.services.awslambda.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
    not_found,
)
from cloudlet.services.awslambda.functions import (
    LATEST,
    Functions,
    Ref,
    check_revision,
    new_revision,
)
from cloudlet.services.awslambda.paging import page

ALIAS = "lambda.alias"


def alias_key(ref: Ref, name: str) -> str:
    return f"{ref.key}/{name}"


def pick_version(alias: dict[str, Any], draw: float | None = None) -> str:
    """The version one invocation of the alias runs: the additional version with its weight's
    probability, else the alias's own version."""
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    roll = random.random() if draw is None else draw
    for version, weight in weights.items():
        if roll < weight:
            return version
        roll -= weight
    return alias["FunctionVersion"]


class Aliases:
    def __init__(self, store: Store, functions: Functions) -> None:
        self.store = store
        self.functions = functions

    def get(self, ref: Ref, name: str) -> dict[str, Any]:
        doc = self.store.get(ALIAS, alias_key(ref, name))
        if doc is None:
            self.functions.function(ref)
            raise not_found(f"Alias not found: {ref.qualified(name)}")
        return doc

    def find(self, ref: Ref, name: str) -> dict[str, Any] | None:
        return self.store.get(ALIAS, alias_key(ref, name))

    def all(self, ref: Ref) -> list[tuple[str, dict[str, Any]]]:
        return self.store.scan(ALIAS, ref.key + "/")

    def using(self, ref: Ref, version: str) -> list[str]:
        """Names of the aliases that route to `version` (which then cannot be deleted)."""
        names = []
        for _, doc in self.all(ref):
            weights = (doc.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            if doc["FunctionVersion"] == version or version in weights:
                names.append(doc["Name"])
        return names

    def _check_targets(
        self, ref: Ref, version: str, routing: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        if self.functions.find_version(ref, version) is None:
            raise function_not_found(ref.qualified(version))
        weights = (routing or {}).get("AdditionalVersionWeights") or {}
        if not weights:
            return None
        if len(weights) > 1:
            raise invalid_parameter(
                "Number of items in AdditionalVersionWeights must be at most 1."
            )
        if version == LATEST:
            raise invalid_parameter(
                "$LATEST is not supported for an alias pointing to more than 1 version"
            )
        for extra in weights:
            if extra == version:
                raise invalid_parameter(
                    f"Invalid function version {extra}. Function version {extra} is already included in routing configuration."
                )
            if self.functions.find_version(ref, extra) is None:
                raise function_not_found(ref.qualified(extra))
        return {"AdditionalVersionWeights": dict(weights)}

    def create(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        self.functions.function(ref)
        name = params["Name"]
        if self.find(ref, name) is not None:
            raise conflict(f"Alias already exists: {ref.qualified(name)}")
        version = params["FunctionVersion"]
        routing = self._check_targets(ref, version, params.get("RoutingConfig"))
        doc: dict[str, Any] = {
            "AliasArn": ref.qualified(name),
            "Name": name,
            "FunctionVersion": version,
            "Description": params.get("Description") or "",
            "RevisionId": new_revision(),
        }
        if routing:
            doc["RoutingConfig"] = routing
        self.store.put(ALIAS, alias_key(ref, name), doc)
        return doc

    def update(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        current = self.get(ref, params["Name"])
        check_revision(current.get("RevisionId"), params.get("RevisionId"))
        version = params.get("FunctionVersion") or current["FunctionVersion"]
        routing = current.get("RoutingConfig")
        if "RoutingConfig" in params:
            routing = params["RoutingConfig"]
        routing = self._check_targets(ref, version, routing)
        doc = {
            **{k: v for k, v in current.items() if k != "RoutingConfig"},
            "FunctionVersion": version,
            "RevisionId": new_revision(),
        }
        if "Description" in params:
            doc["Description"] = params["Description"] or ""
        if routing:
            doc["RoutingConfig"] = routing
        self.store.put(ALIAS, alias_key(ref, current["Name"]), doc)
        return doc

    def delete(self, ref: Ref, name: str) -> None:
        self.functions.function(ref)
        self.store.delete(ALIAS, alias_key(ref, name))

    def list(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        self.functions.function(ref)
        wanted = params.get("FunctionVersion")
        items = [
            (d["Name"], d) for _, d in self.all(ref) if not wanted or d["FunctionVersion"] == wanted
        ]
        found, marker = page(items, params)
        return {"Aliases": found, "NextMarker": marker}

    def drop_function(self, ref: Ref) -> None:
        for key, _ in self.all(ref):
            self.store.delete(ALIAS, key)
