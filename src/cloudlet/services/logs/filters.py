"""Metric filters and subscription filters: stored configuration, checked by the pattern engine.

Metric values are not emitted and subscribed events not delivered yet; what is stored is what
those deliveries will read. TestMetricFilter runs the same engine that FilterLogEvents uses.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.clock import Clock
from cloudlet.core.store import Store
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.logs.resources import (
    GROUP,
    METRIC_FILTER,
    SUBSCRIPTION_FILTER,
    Group,
    checked_pattern,
    find_group,
    invalid,
    page,
)

MAX_METRIC_FILTERS = 100  # per log group
MAX_SUBSCRIPTION_FILTERS = 2  # per log group


def _limit_exceeded() -> AwsError:
    return AwsError("LimitExceededException", "Resource limit exceeded.")


class FilterOperations:
    """Metric and subscription filter operations, mixed into LogsProvider."""

    store: Store
    clock: Clock

    # -- metric filters -----------------------------------------------------------------------
    def put_metric_filter(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        checked_pattern(params["filterPattern"])
        key = f"{group.key}:{params['filterName']}"
        existing = self.store.get(METRIC_FILTER, key)
        if existing is None and group.doc.get("metric_filters", 0) >= MAX_METRIC_FILTERS:
            raise _limit_exceeded()
        doc = {
            "filterName": params["filterName"],
            "filterPattern": params["filterPattern"],
            "metricTransformations": params["metricTransformations"],
            "creationTime": existing["creationTime"] if existing else self.clock.now_ms(),
            "logGroupName": group.name,
            "applyOnTransformedLogs": params.get("applyOnTransformedLogs", False),
        }
        for optional in ("fieldSelectionCriteria", "emitSystemFieldDimensions"):
            if params.get(optional) is not None:
                doc[optional] = params[optional]
        with self.store.transaction():
            self.store.put(METRIC_FILTER, key, doc)
            if existing is None:
                self._count_metric_filters(group, +1)

    def _count_metric_filters(self, group: Group, change: int) -> None:
        count = max(group.doc.get("metric_filters", 0) + change, 0)
        group.doc = {**group.doc, "metric_filters": count}
        self.store.put(GROUP, group.key, group.doc)

    def describe_metric_filters(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params.get("metricName")
        namespace = params.get("metricNamespace")
        if name and not namespace:
            raise invalid(
                "If you include the metricName parameter in your request, "
                "you must also include the metricNamespace parameter."
            )
        base = f"{ctx.account}/{ctx.region}/"
        if params.get("logGroupName"):
            group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
            scan_prefix = f"{group.key}:{params.get('filterNamePrefix') or ''}"
        else:
            scan_prefix = base
        items = []
        for _, doc in self.store.scan(METRIC_FILTER, scan_prefix):
            transformation = doc["metricTransformations"][0]
            if namespace and transformation["metricNamespace"] != namespace:
                continue
            if name and transformation["metricName"] != name:
                continue
            items.append(((doc["logGroupName"], doc["filterName"]), doc))
        chosen, token = page(items, params)
        out: dict[str, Any] = {"metricFilters": chosen}
        if token:
            out["nextToken"] = token
        return out

    def delete_metric_filter(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        key = f"{group.key}:{params['filterName']}"
        with self.store.transaction():
            if not self.store.delete(METRIC_FILTER, key):
                raise AwsError(
                    "ResourceNotFoundException", "The specified metric filter does not exist."
                )
            self._count_metric_filters(group, -1)

    def test_metric_filter(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pattern = checked_pattern(params["filterPattern"])
        matches = []
        for number, message in enumerate(params["logEventMessages"], start=1):
            values = pattern.extract(message)
            if values is not None:
                matches.append(
                    {"eventNumber": number, "eventMessage": message, "extractedValues": values}
                )
        return {"matches": matches}

    # -- subscription filters -----------------------------------------------------------------
    def put_subscription_filter(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        checked_pattern(params["filterPattern"])
        key = f"{group.key}:{params['filterName']}"
        existing = self.store.get(SUBSCRIPTION_FILTER, key)
        if existing is None:
            current = self.store.scan(SUBSCRIPTION_FILTER, f"{group.key}:")
            if len(current) >= MAX_SUBSCRIPTION_FILTERS:
                raise _limit_exceeded()
        doc = {
            "filterName": params["filterName"],
            "logGroupName": group.name,
            "filterPattern": params["filterPattern"],
            "destinationArn": params["destinationArn"],
            "distribution": params.get("distribution") or "ByLogStream",
            "applyOnTransformedLogs": params.get("applyOnTransformedLogs", False),
            "creationTime": existing["creationTime"] if existing else self.clock.now_ms(),
        }
        for optional in ("roleArn", "fieldSelectionCriteria", "emitSystemFields"):
            if params.get(optional) is not None:
                doc[optional] = params[optional]
        self.store.put(SUBSCRIPTION_FILTER, key, doc)

    def describe_subscription_filters(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        prefix = f"{group.key}:{params.get('filterNamePrefix') or ''}"
        items = [
            (doc["filterName"], doc) for _, doc in self.store.scan(SUBSCRIPTION_FILTER, prefix)
        ]
        chosen, token = page(items, params)
        out: dict[str, Any] = {"subscriptionFilters": chosen}
        if token:
            out["nextToken"] = token
        return out

    def delete_subscription_filter(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        if not self.store.delete(SUBSCRIPTION_FILTER, f"{group.key}:{params['filterName']}"):
            raise AwsError(
                "ResourceNotFoundException", "The specified subscription filter does not exist."
            )
