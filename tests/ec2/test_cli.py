"""EC2 through the real AWS CLI, as a shell script driving instances would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def aws(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }
    command = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--output", "json"]
    return subprocess.run(
        [*command, "ec2", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_run_and_describe_instances_with_the_cli(endpoint, unique):
    launched = aws(
        endpoint,
        "run-instances",
        "--image-id",
        "ami-12345678",
        "--count",
        "2",
        "--instance-type",
        "t3.micro",
        "--tag-specifications",
        f"ResourceType=instance,Tags=[{{Key=run,Value={unique}}}]",
    )
    assert launched.returncode == 0, launched.stderr
    ids = [i["InstanceId"] for i in json.loads(launched.stdout)["Instances"]]

    described = aws(
        endpoint,
        "describe-instances",
        "--filters",
        f"Name=tag:run,Values={unique}",
        "--query",
        "Reservations[].Instances[].InstanceId",
    )
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout) == ids

    missing = aws(endpoint, "describe-instances", "--instance-ids", "i-0123456789abcdef0")
    assert missing.returncode != 0
    assert "InvalidInstanceID.NotFound" in missing.stderr
    assert "The instance ID 'i-0123456789abcdef0' does not exist" in missing.stderr
