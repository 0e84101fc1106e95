"""Asynchronous invocation settings (Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s)).

Stored per function and qualifier ("lambda.event-invoke-config" at `<function key>/<qualifier>`,
`$LATEST` when none is named) as the `FunctionEventInvokeConfig` answer. The asynchronous engine
reads them through `EventConfigs.lookup` (retry attempts, maximum event age, destinations).
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.store import Store
from cloudlet.services.awslambda.errors import not_found
from cloudlet.services.awslambda.functions import LATEST, Ref
from cloudlet.services.awslambda.paging import page

EVENT_CONFIG = "lambda.event-invoke-config"
_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


class EventConfigs:
    def __init__(self, store: Store, clock: Any) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _key(ref: Ref) -> str:
        return f"{ref.key}/{ref.qualifier or LATEST}"

    def lookup(
        self, account: str, region: str, name: str, qualifier: str | None
    ) -> dict[str, Any] | None:
        """The settings that apply to an invocation of `name:qualifier` (None: AWS's defaults,
        two retries and six hours)."""
        return self.store.get(EVENT_CONFIG, f"{account}/{region}/{name}/{qualifier or LATEST}")

    def _missing(self, ref: Ref) -> Exception:
        return not_found(
            f"The function {ref.qualified(ref.qualifier or LATEST)} doesn't have an EventInvokeConfig"
        )

    def put(self, ref: Ref, params: dict[str, Any], *, merge: bool) -> dict[str, Any]:
        key = self._key(ref)
        current = self.store.get(EVENT_CONFIG, key)
        if merge and current is None:
            raise self._missing(ref)
        doc: dict[str, Any] = dict(current or {}) if merge else {}
        for name in _SETTINGS:
            if name in params:
                doc[name] = params[name]
        destinations = doc.get("DestinationConfig") or {}
        doc["DestinationConfig"] = {
            "OnSuccess": dict(destinations.get("OnSuccess") or {}),
            "OnFailure": dict(destinations.get("OnFailure") or {}),
        }
        doc["FunctionArn"] = ref.qualified(ref.qualifier or LATEST)
        doc["LastModified"] = self.clock.now()
        self.store.put(EVENT_CONFIG, key, doc)
        return doc

    def get(self, ref: Ref) -> dict[str, Any]:
        doc = self.store.get(EVENT_CONFIG, self._key(ref))
        if doc is None:
            raise self._missing(ref)
        return doc

    def delete(self, ref: Ref) -> None:
        key = self._key(ref)
        if self.store.get(EVENT_CONFIG, key) is None:
            raise self._missing(ref)
        self.store.delete(EVENT_CONFIG, key)

    def list(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        items = [(key, doc) for key, doc in self.store.scan(EVENT_CONFIG, ref.key + "/")]
        found, marker = page(items, params)
        return {"FunctionEventInvokeConfigs": found, "NextMarker": marker}

    def drop_function(self, ref: Ref, qualifier: str | None = None) -> None:
        if qualifier is not None:
            self.store.delete(EVENT_CONFIG, f"{ref.key}/{qualifier}")
            return
        for key, _ in self.store.scan(EVENT_CONFIG, ref.key + "/"):
            self.store.delete(EVENT_CONFIG, key)
