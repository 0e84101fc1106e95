"""A batch report with a distributed Map, deployed and run with plain boto3 — unchanged against AWS
or cloudlet.

1. An S3 bucket receives `orders.csv` (order id, region, quantity, price; 1,000 rows by default).
2. Two functions: `summarize` totals one batch of rows per region, `combine` reads the Map's
   result files back from S3 and stores `reports/orders.json`.
3. The state machine reads the CSV with an ItemReader, hands batches of 100 rows to child
   workflow executions (at most 4 at a time), writes their results to S3 with a ResultWriter,
   then runs `combine`.

    cloudlet start --ephemeral &
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python examples/s3-batch-report/deploy.py

Against AWS, leave AWS_ENDPOINT_URL unset and pick a bucket name of your own (BUCKET=...).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import time
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path

import boto3

HERE = Path(__file__).parent
BUCKET = os.environ.get("BUCKET", f"orders-{uuid.uuid4().hex[:8]}")
ROWS = int(os.environ.get("ROWS", "1000"))
REGIONS = ("eu-north", "eu-west", "us-east", "ap-south")

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
POLICY = {  # what the functions and the state machine touch
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": "*"},
    ],
}


def orders_csv(rows: int, seed: int = 7) -> tuple[bytes, dict[str, dict[str, object]]]:
    """The CSV file, and the totals a correct report must show."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "region", "quantity", "price"])
    expected: dict[str, dict[str, object]] = {}
    for n in range(rows):
        region, quantity = rng.choice(REGIONS), rng.randint(1, 5)
        price = Decimal(rng.randint(100, 9_999)) / 100
        writer.writerow([f"o-{n:05d}", region, quantity, f"{price:.2f}"])
        total = expected.setdefault(region, {"orders": 0, "revenue": Decimal(0)})
        total["orders"] += 1  # type: ignore[operator]
        total["revenue"] += quantity * price  # type: ignore[operator]
    return out.getvalue().encode(), {
        name: {"orders": t["orders"], "revenue": str(t["revenue"])}
        for name, t in sorted(expected.items())
    }


def package(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HERE / "functions" / f"{name}.py", f"{name}.py")
    return buffer.getvalue()


def function(lam, name: str, role: str) -> str:
    arn = lam.create_function(
        FunctionName=f"batch-report-{name}",
        Runtime="python3.12",
        Handler=f"{name}.handler",
        Role=role,
        Code={"ZipFile": package(name)},
        Timeout=30,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=arn)
    return arn


def main() -> dict[str, object]:
    s3, lam, iam, sfn = (boto3.client(s) for s in ("s3", "lambda", "iam", "stepfunctions"))
    s3.create_bucket(Bucket=BUCKET)
    body, expected = orders_csv(ROWS)
    s3.put_object(Bucket=BUCKET, Key="orders.csv", Body=body, ContentType="text/csv")

    role_name = f"batch-report-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(
        RoleName=role_name, PolicyName="batch-report", PolicyDocument=json.dumps(POLICY)
    )
    arns = {
        "${SummarizeFunctionArn}": function(lam, "summarize", role["Arn"]),
        "${CombineFunctionArn}": function(lam, "combine", role["Arn"]),
    }
    definition = (HERE / "statemachine.json").read_text()
    for placeholder, arn in arns.items():
        definition = definition.replace(placeholder, arn)
    machine = sfn.create_state_machine(
        name=role_name, definition=definition, roleArn=role["Arn"], type="STANDARD"
    )["stateMachineArn"]

    started = time.monotonic()
    execution = sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"bucket": BUCKET, "key": "orders.csv"})
    )["executionArn"]
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.2)
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(f"the execution ended {described['status']}: {described.get('cause')}")
    report = json.loads(described["output"])
    map_run = sfn.list_map_runs(executionArn=execution)["mapRuns"][0]["mapRunArn"]
    counts = sfn.describe_map_run(mapRunArn=map_run)["executionCounts"]
    print(
        f"{ROWS} orders in {report['batches']} batches, {counts['succeeded']} child executions, "
        f"{time.monotonic() - started:.1f} s"
    )
    print(json.dumps(report["regions"], indent=2))
    return {"report": report, "expected": expected, "execution": execution, "map_run": map_run}


if __name__ == "__main__":
    main()
