"""The AWS CLI against cloudlet: create a function from a zip file, invoke it into an outfile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from .conftest import ECHO, ROLE, RUNTIME, make_zip


def aws(endpoint: str, *args: str) -> dict:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, "--output", "json", *args],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout or b"{}")


def test_cli_create_and_invoke(lam, endpoint, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    package = tmp_path / "function.zip"
    package.write_bytes(make_zip({"app.py": ECHO}))
    try:
        created = aws(
            endpoint,
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            RUNTIME,
            "--role",
            ROLE,
            "--handler",
            "app.handler",
            "--zip-file",
            f"fileb://{package}",
        )
        assert created["FunctionName"] == name and created["State"] == "Pending"
        aws(endpoint, "lambda", "wait", "function-active-v2", "--function-name", name)
        outfile = tmp_path / "out.json"
        answer = aws(
            endpoint,
            "lambda",
            "invoke",
            "--function-name",
            name,
            "--payload",
            '{"from": "cli"}',
            str(outfile),
        )
        assert (answer["StatusCode"], answer["ExecutedVersion"]) == (200, "$LATEST")
        assert json.loads(outfile.read_text())["event"] == {"from": "cli"}
    finally:
        lam.delete_function(FunctionName=name)
