"""The AWS CLI: `aws s3 cp/sync/ls/rm` and `aws s3api`."""

from __future__ import annotations

import json
import os
import subprocess
import uuid


def aws(endpoint: str, *args: str) -> str:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        ["aws", "--endpoint-url", endpoint, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_round_trip(endpoint, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    aws(endpoint, "s3", "mb", f"s3://{bucket}")
    source = tmp_path / "site"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.txt").write_text("beta")
    aws(endpoint, "s3", "sync", str(source), f"s3://{bucket}/site")
    listing = aws(endpoint, "s3", "ls", "--recursive", f"s3://{bucket}")
    assert "site/a.txt" in listing and "site/sub/b.txt" in listing
    assert "PRE sub/" in aws(endpoint, "s3", "ls", f"s3://{bucket}/site/")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # the CLI goes multipart above 8 MB
    aws(endpoint, "s3", "cp", str(big), f"s3://{bucket}/big.bin")
    aws(endpoint, "s3", "cp", f"s3://{bucket}/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()
    head = json.loads(aws(endpoint, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin"))
    assert head["ContentLength"] == 9 * 1024 * 1024 and head["ETag"].endswith('-2"')
    assert aws(endpoint, "s3", "sync", str(source), f"s3://{bucket}/site") == ""  # nothing changed
    aws(endpoint, "s3", "rb", "--force", f"s3://{bucket}")
    buckets = json.loads(aws(endpoint, "s3api", "list-buckets"))["Buckets"]
    assert bucket not in [b["Name"] for b in buckets]
