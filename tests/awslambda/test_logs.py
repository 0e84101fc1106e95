"""Function output reaches CloudWatch Logs, in the group and stream names AWS uses."""

from __future__ import annotations

import io
import re
import time
import zipfile

HANDLER = """
def handler(event, context):
    print("hello from", context.function_name)
    return {"stream": context.log_stream_name, "group": context.log_group_name}
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def test_function_output_and_platform_lines_reach_cloudwatch_logs(aws_client, unique):
    import json

    lam, logs = aws_client("lambda"), aws_client("logs")
    name = f"logger-{unique}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="app.handler",
        Code={"ZipFile": _zip(HANDLER)},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    result = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert result["group"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", result["stream"])

    deadline = time.monotonic() + 10
    messages: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs.get_log_events(
                logGroupName=result["group"], logStreamName=result["stream"], startFromHead=True
            )["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        messages = [e["message"] for e in events]
        if any(m.startswith("REPORT RequestId:") for m in messages):
            break
        time.sleep(0.05)
    assert any(m.startswith("START RequestId:") for m in messages)
    assert any(m.startswith(f"hello from {name}") for m in messages)
    assert any(m.startswith("END RequestId:") for m in messages)
    report = next(m for m in messages if m.startswith("REPORT RequestId:"))
    assert (
        "Duration:" in report and "Billed Duration:" in report and "Memory Size: 128 MB" in report
    )
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/aws/lambda/{name}"]
