"""One batch of orders -> revenue and order count per region (a child workflow of the Map)."""

from __future__ import annotations

from decimal import Decimal


def handler(event, context):
    totals: dict[str, dict[str, str | int]] = {}
    for order in event["Items"]:  # CSV rows: every value is a string, as Step Functions reads them
        region = totals.setdefault(order["region"], {"orders": 0, "revenue": "0"})
        region["orders"] += 1
        revenue = Decimal(region["revenue"]) + Decimal(order["quantity"]) * Decimal(order["price"])
        region["revenue"] = str(revenue)
    return {"file": event["BatchInput"]["file"], "regions": totals}
