"""Function logs: Lambda's platform lines, user output, log streams, the log tail, the sink."""

from __future__ import annotations

import re

from runtime.conftest import payload_of

PRINTER = {
    "app.py": """
        import sys
        print("loading")

        def handler(event, context):
            print("to stdout")
            print("to stderr", file=sys.stderr)
            for i in range(event.get("lines", 0)):
                print(f"line {i:05d} " + "x" * 60)
            return "ok"
    """
}
REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?"
)


def test_platform_lines_and_user_output(harness):
    spec = harness.function(PRINTER)
    first_id = "eeeeeeee-0000-0000-0000-000000000001"
    second_id = "eeeeeeee-0000-0000-0000-000000000002"
    harness.invoke(spec, request_id=first_id)
    harness.invoke(spec, request_id=second_id)
    lines = harness.logs(spec)
    assert lines[0].startswith("INIT_START Runtime Version: python:")
    assert lines[1:7] == [
        "loading",
        f"START RequestId: {first_id} Version: $LATEST",
        "to stdout",
        "to stderr",
        f"END RequestId: {first_id}",
        lines[6],
    ]
    cold = REPORT.fullmatch(lines[6])
    assert cold and cold["id"] == first_id and "Init Duration" in lines[6]
    assert lines[7:] == [
        f"START RequestId: {second_id} Version: $LATEST",
        "to stdout",
        "to stderr",
        f"END RequestId: {second_id}",
        lines[11],
    ]
    warm = REPORT.fullmatch(lines[11])
    assert warm and "Init Duration" not in lines[11]


def test_log_stream_and_sink_events(harness):
    spec = harness.function(PRINTER)
    harness.invoke(spec)
    sink = harness.runtime.log_sink
    group = f"/aws/lambda/{spec.function_name}"
    (stream,) = sink.streams(group)
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    events = sink.events(group, stream)
    stamps = [ts for ts, _ in events]
    assert stamps == sorted(stamps) and abs(stamps[-1] - harness.app.clock.now_ms()) < 5000


def test_custom_log_group_and_sink(make_harness):
    received = []
    harness = make_harness(
        log_sink=lambda account, region, group, stream, events: received.append(
            (group, stream, events)
        )
    )
    spec = harness.function(PRINTER, log_group="/custom/group", version="3")
    harness.invoke(spec)
    assert {group for group, _, _ in received} == {"/custom/group"}
    assert all("/[3]" in stream for _, stream, _ in received)
    messages = [message for _, _, events in received for _, message in events]
    assert "START RequestId: " in messages[2] and messages[2].endswith("Version: 3")


def test_log_tail(harness):
    spec = harness.function(PRINTER)
    request_id = "ffffffff-0000-0000-0000-000000000001"
    result = harness.invoke(spec, request_id=request_id, want_log_tail=True)
    lines = result.log_tail.splitlines()
    assert lines[0].startswith("INIT_START")  # a cold start's tail has its init lines
    assert lines[2] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}")
    quiet = harness.invoke(spec)
    assert quiet.log_tail == ""
    long = harness.invoke(spec, b'{"lines": 200}', want_log_tail=True)
    assert len(long.log_tail.encode()) <= 4096
    assert long.log_tail.splitlines()[-1].startswith("REPORT RequestId: ")
    assert "line 00000" not in long.log_tail and "line 00199" in long.log_tail


def test_failing_sink_does_not_break_invocations(make_harness):
    def broken(account, region, group, stream, events):
        raise RuntimeError("sink down")

    harness = make_harness(log_sink=broken)
    spec = harness.function(PRINTER)
    assert payload_of(harness.invoke(spec)) == "ok"
