"""The Map's results, read from the ResultWriter's files in S3 -> one report, stored in S3."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3

s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points it at cloudlet when run there


def handler(event, context):
    details = event["ResultWriterDetails"]
    manifest = json.loads(
        s3.get_object(Bucket=details["Bucket"], Key=details["Key"])["Body"].read()
    )
    totals: dict[str, dict[str, Decimal | int]] = {}
    batches = 0
    for entry in manifest["ResultFiles"].get("SUCCEEDED", []):
        results = json.loads(
            s3.get_object(Bucket=manifest["DestinationBucket"], Key=entry["Key"])["Body"].read()
        )
        for child in results:
            summary = json.loads(child["Output"])  # what summarize returned for one batch
            batches += 1
            for name, region in summary["regions"].items():
                total = totals.setdefault(name, {"orders": 0, "revenue": Decimal(0)})
                total["orders"] += region["orders"]
                total["revenue"] += Decimal(region["revenue"])
    report = {
        "batches": batches,
        "regions": {
            name: {"orders": t["orders"], "revenue": str(t["revenue"])}
            for name, t in sorted(totals.items())
        },
    }
    s3.put_object(
        Bucket=details["Bucket"], Key="reports/orders.json", Body=json.dumps(report, indent=2)
    )
    return {"report": f"s3://{details['Bucket']}/reports/orders.json", **report}
