"""The "automated EC2 control" demo, deployed with plain boto3 — unchanged against AWS or cloudlet.

Two instances; EC2Stop and EC2Start functions that read the instance ids from an environment
variable; an EC2Protect function that a rule on instance 1 entering 'stopped' triggers, starting
it again; and a scheduled rule that triggers EC2Stop every day at 18:00 UTC. After the schedule
fires, instance 2 stays stopped while instance 1 comes back to running.

    cloudlet start --ephemeral &
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python examples/ec2-control/deploy.py
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import boto3

HERE = Path(__file__).parent
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EC2_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ec2:Start*", "ec2:Stop*", "ec2:Describe*"], "Resource": "*"}
    ],
}


def client(service: str):
    return boto3.client(service, region_name=REGION)


def zipped(module: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HERE / "functions" / f"{module}.py", "lambda_function.py")
    return buffer.getvalue()


def deploy(prefix: str = "") -> dict[str, str]:
    ec2, iam, lam, events = client("ec2"), client("iam"), client("lambda"), client("events")
    reservation = ec2.run_instances(
        ImageId="ami-0c02fb55956c7d316", InstanceType="t2.micro", MinCount=2, MaxCount=2
    )
    first, second = (i["InstanceId"] for i in reservation["Instances"])
    ec2.get_waiter("instance_running").wait(InstanceIds=[first, second])

    role = iam.create_role(
        RoleName=f"{prefix}EC2ControlRole", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]
    iam.attach_role_policy(
        RoleName=role["RoleName"],
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    )
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="ec2-control", PolicyDocument=json.dumps(EC2_POLICY)
    )

    arns = {}
    for name, module, instances in (
        ("EC2Stop", "ec2_stop", f"{first},{second}"),
        ("EC2Start", "ec2_start", f"{first},{second}"),
        ("EC2Protect", "ec2_protect", ""),
    ):
        function = lam.create_function(
            FunctionName=f"{prefix}{name}",
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": zipped(module)},
            Timeout=10,
            Environment={"Variables": {"EC2_INSTANCES": instances}},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=function["FunctionName"])
        arns[name] = function["FunctionArn"]

    protect = events.put_rule(
        Name=f"{prefix}EC2Protect",
        EventPattern=json.dumps(
            {
                "source": ["aws.ec2"],
                "detail-type": ["EC2 Instance State-change Notification"],
                "detail": {"state": ["stopped"], "instance-id": [first]},
            }
        ),
    )
    events.put_targets(
        Rule=f"{prefix}EC2Protect", Targets=[{"Id": "EC2Protect", "Arn": arns["EC2Protect"]}]
    )
    schedule = events.put_rule(
        Name=f"{prefix}EC2StopDaily", ScheduleExpression="cron(0 18 * * ? *)"
    )
    events.put_targets(
        Rule=f"{prefix}EC2StopDaily", Targets=[{"Id": "EC2Stop", "Arn": arns["EC2Stop"]}]
    )
    for rule, function in ((protect, "EC2Protect"), (schedule, "EC2Stop")):
        lam.add_permission(
            FunctionName=arns[function],
            StatementId=f"events-{function}",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule["RuleArn"],
        )
    return {"instance1": first, "instance2": second, **arns}


if __name__ == "__main__":
    print(json.dumps(deploy(), indent=2))
