"""The same behaviour on every way the runtime can run: uvloop (as the server runs it), without
the zygote, and without uid isolation and cgroups (as when cloudlet does not run as root)."""

from __future__ import annotations

import os

import pytest

from runtime.conftest import NODE, payload_of

MODES = {
    "uvloop": {"uvloop": True},
    "direct-spawn": {"zygote": False},
    "unprivileged": {"isolate": False, "memory_mode": "rlimit"},
}

APP = {
    "app.py": """
        import os, time
        COUNT = 0
        def handler(event, context):
            global COUNT
            COUNT += 1
            if event.get("exit"):
                os._exit(3)
            if event.get("sleep"):
                time.sleep(event["sleep"])
            if event.get("allocate"):
                blocks = [bytearray(16 << 20) for _ in range(64)]
            if event.get("raise"):
                raise LookupError("nope")
            return {"count": COUNT, "uid": os.getuid(), "secret": os.environ.get("MODE_SECRET")}
    """
}


@pytest.mark.parametrize("mode", list(MODES))
def test_mode(make_harness, monkeypatch, mode):
    monkeypatch.setenv("MODE_SECRET", "server-only")
    harness = make_harness(**MODES[mode])
    spec = harness.function(APP, timeout_s=1)
    first, second = harness.invoke(spec), harness.invoke(spec)
    assert [payload_of(r)["count"] for r in (first, second)] == [1, 2]
    assert payload_of(first)["secret"] is None
    isolated = MODES[mode].get("isolate", os.geteuid() == 0)
    assert (payload_of(first)["uid"] != os.geteuid()) == isolated
    assert payload_of(harness.invoke(spec, b'{"raise": true}'))["errorType"] == "LookupError"
    crashed = payload_of(harness.invoke(spec, b'{"exit": true}'))
    assert crashed["errorType"] == "Runtime.ExitError" and crashed["errorMessage"].endswith(
        "exit status 3"
    )
    timed_out = payload_of(harness.invoke(spec, b'{"sleep": 5}'))
    assert "Task timed out after 1." in timed_out["errorMessage"]
    oom = harness.invoke(spec, b'{"allocate": true}')
    assert oom.function_error == "Unhandled"
    killed = payload_of(oom)["errorType"] == "Runtime.OutOfMemory"
    assert killed or payload_of(oom)["errorType"] == "MemoryError"
    assert payload_of(harness.invoke(spec))["count"] == (1 if killed else 2)  # fresh if killed
    if NODE:
        node = harness.function(
            {"index.js": "exports.handler = async () => process.getuid();"},
            runtime="nodejs20.x",
            handler="index.handler",
        )
        assert (payload_of(harness.invoke(node)) != os.geteuid()) == isolated
