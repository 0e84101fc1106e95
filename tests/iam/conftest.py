"""Helpers of the IAM and STS tests: error responses, trust policies, the real AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from helpers import error_of  # noqa: F401 - shared with the tests here

ACCOUNT = "000000000000"

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}


@pytest.fixture
def iam(aws_client):
    return aws_client("iam")


@pytest.fixture
def sts(aws_client):
    return aws_client("sts")


@pytest.fixture
def new_role(iam, unique):
    """Creates roles with unique names (trusting Lambda unless told otherwise)."""
    counter = iter(range(1000))

    def create(prefix: str = "role", trust: dict[str, Any] | None = None, **kwargs: Any):
        name = f"{prefix}-{unique}-{next(counter)}"
        return iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or LAMBDA_TRUST), **kwargs
        )["Role"]

    return create


@pytest.fixture
def aws_cli(endpoint: str, tmp_path):
    """Runs `python -m awscli <service> ...` against the test server; returns the process."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--output", "json"]
        return subprocess.run(
            [*command, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    return run
