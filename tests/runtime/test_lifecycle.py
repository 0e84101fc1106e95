"""What the platform does to environments: timeouts, crashes, memory, concurrency, retirement."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from cloudlet.runtime import TooManyRequests
from runtime.conftest import payload_of

SLEEPER = {
    "app.py": """
        import os, time
        def handler(event, context):
            print("going to sleep", flush=True)
            time.sleep(event.get("sleep", 0))
            return {"pid": os.getpid()}
    """
}


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_timeout_kills_the_environment(harness):
    spec = harness.function(SLEEPER, timeout_s=1)
    pid = payload_of(harness.invoke(spec))["pid"]
    request_id = "cccccccc-0000-0000-0000-000000000003"
    result = harness.invoke(spec, b'{"sleep": 30}', request_id=request_id, want_log_tail=True)
    assert result.function_error == "Unhandled"
    message = payload_of(result)["errorMessage"]
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {request_id} Task timed out after 1\.\d\d seconds",
        message,
    )
    assert 1000 <= result.duration_ms < 1500
    harness.wait_for(lambda: not alive(pid))
    tail = result.log_tail.splitlines()
    assert tail[-4] == "going to sleep" and tail[-3] == message
    assert tail[-2] == f"END RequestId: {request_id}"
    assert tail[-1].endswith("\tStatus: timeout\t")
    again = harness.invoke(spec)  # a fresh environment
    assert again.function_error is None and again.init_duration_ms is not None


def test_crash_is_runtime_exit_error(harness):
    spec = harness.function(
        {
            "app.py": """
                import os
                def handler(event, context):
                    print("about to exit", flush=True)
                    os._exit(event["code"])
            """
        }
    )
    request_id = "dddddddd-0000-0000-0000-000000000004"
    result = harness.invoke(spec, b'{"code": 1}', request_id=request_id, want_log_tail=True)
    assert result.function_error == "Unhandled"
    assert payload_of(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 1",
    }
    assert "about to exit" in result.log_tail
    assert result.log_tail.splitlines()[-1].endswith(
        "Status: error\tError Type: Runtime.ExitError\t"
    )
    killed = harness.function(
        {
            "app.py": "import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        }
    )
    message = payload_of(harness.invoke(killed))["errorMessage"]
    assert message.endswith("Error: Runtime exited with error: signal: killed")


def test_memory_limit_is_enforced(harness):
    spec = harness.function(
        {
            "app.py": """
                def handler(event, context):
                    blocks = []
                    for _ in range(64):  # 1 GB, far beyond 128 MB
                        blocks.append(bytearray(16 * 1024 * 1024))
                    return len(blocks)
            """
        },
        memory_mb=128,
    )
    result = harness.invoke(spec)
    assert result.function_error == "Unhandled"
    error_type = payload_of(result)["errorType"]
    mode = harness.runtime.limits.mode
    assert error_type == ("MemoryError" if mode == "rlimit" else "Runtime.OutOfMemory")
    assert result.max_memory_used_mb >= 100


def test_pool_grows_with_concurrency(harness):
    spec = harness.function(SLEEPER)

    async def three():
        return await asyncio.gather(*(harness.ainvoke(spec, b'{"sleep": 0.3}') for _ in range(3)))

    results = harness.run(three())
    assert len({payload_of(r)["pid"] for r in results}) == 3
    assert len(harness.runtime.environments(spec.function_arn)) == 3
    assert harness.runtime.concurrent_executions(spec.function_arn) == 0


def test_reserved_concurrency_throttles(harness):
    spec = harness.function(SLEEPER, reserved_concurrency=1)

    async def two():
        return await asyncio.gather(
            harness.ainvoke(spec, b'{"sleep": 0.5}'),
            harness.ainvoke(spec, b'{"sleep": 0.5}'),
            return_exceptions=True,
        )

    first, second = harness.run(two())
    assert first.function_error is None
    assert isinstance(second, TooManyRequests)
    assert second.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert harness.invoke(spec).function_error is None  # free again
    blocked = harness.function(SLEEPER, reserved_concurrency=0)
    with pytest.raises(TooManyRequests):
        harness.invoke(blocked)


def test_account_concurrency_throttles(make_harness):
    harness = make_harness(account_concurrency=2)
    one = harness.function(SLEEPER)
    other = harness.function(SLEEPER)

    async def three():
        return await asyncio.gather(
            harness.ainvoke(one, b'{"sleep": 0.5}'),
            harness.ainvoke(other, b'{"sleep": 0.5}'),
            harness.ainvoke(one, b'{"sleep": 0.5}'),
            return_exceptions=True,
        )

    results = harness.run(three())
    throttled = [r for r in results if isinstance(r, TooManyRequests)]
    assert len(throttled) == 1 and throttled[0].reason == "ConcurrentInvocationLimitExceeded"


def test_idle_environments_are_retired(make_harness):
    harness = make_harness(idle_timeout_s=0.3)
    spec = harness.function(SLEEPER)
    pid = payload_of(harness.invoke(spec))["pid"]
    env = harness.runtime.environments()[0]
    tmp_dir = env.tmp_dir
    assert tmp_dir and os.path.isdir(tmp_dir)
    harness.wait_for(lambda: not harness.runtime.environments())
    harness.wait_for(lambda: not alive(pid) and not os.path.exists(tmp_dir))


def test_moving_the_clock_retires_idle_environments(harness):
    spec = harness.function(SLEEPER)
    pid = payload_of(harness.invoke(spec))["pid"]
    harness.app.clock.advance(100)
    harness.wait_for(lambda: True)  # let the loop turn: still warm after 100 s
    assert harness.runtime.environments()
    harness.app.clock.advance(250)
    harness.wait_for(lambda: not harness.runtime.environments() and not alive(pid))


def test_new_code_gets_a_new_pool_and_the_old_one_retires(harness):
    spec = harness.function(COUNTER_V1 := {"app.py": "def handler(e, c):\n    return 'v1'\n"})
    assert payload_of(harness.invoke(spec)) == "v1"
    old_env = harness.runtime.environments()[0]
    with open(os.path.join(spec.code_dir, "app.py"), "w") as fh:
        fh.write("def handler(e, c):\n    return 'v2'\n")
    import dataclasses

    updated = dataclasses.replace(spec, code_sha256="new", config_sha="c2")
    assert payload_of(harness.invoke(updated)) == "v2"
    harness.wait_for(lambda: old_env not in harness.runtime.environments())
    assert [env.spec.identity for env in harness.runtime.environments()] == [updated.identity]
    assert COUNTER_V1


def test_retire_function(harness):
    spec = harness.function(SLEEPER)
    harness.invoke(spec)
    harness.runtime.retire_function(spec.function_arn)
    harness.wait_for(lambda: not harness.runtime.environments())


@pytest.mark.skipif(os.geteuid() != 0, reason="uid isolation needs root")
def test_functions_cannot_read_each_other(harness):
    spy = {
        "app.py": """
            import os
            def handler(event, context):
                outcome = {"uid": os.getuid()}
                for name, path in event.items():
                    try:
                        open(path).read()
                        outcome[name] = "read"
                    except OSError as error:
                        outcome[name] = type(error).__name__
                return outcome
        """
    }
    victim = harness.function({"app.py": "SECRET = 1\ndef handler(e, c):\n    return 1\n"})
    harness.invoke(victim)
    spy_spec = harness.function(spy)
    import json

    paths = {
        "victim_code": os.path.join(victim.code_dir, "app.py"),
        "own_code": os.path.join(spy_spec.code_dir, "app.py"),
        "store": os.path.join(harness.app.config.data_dir, "cloudlet.db"),
    }
    outcome = payload_of(harness.invoke(spy_spec, json.dumps(paths).encode()))
    assert outcome["uid"] != 0
    assert outcome["own_code"] == "read"
    assert outcome["victim_code"] in ("PermissionError", "FileNotFoundError")
    assert outcome["store"] in ("PermissionError", "FileNotFoundError")
    victim_uid = harness.runtime.environments(victim.function_arn)[0].uid
    assert victim_uid not in (None, 0, outcome["uid"])


def test_close_stops_everything(make_harness):
    harness = make_harness()
    spec = harness.function(SLEEPER)
    pid = payload_of(harness.invoke(spec))["pid"]
    harness.app.close()  # synchronous, as at server shutdown
    harness.wait_for(lambda: not alive(pid))


def test_environment_inherits_no_descriptors(harness):
    spec = harness.function(
        {
            "app.py": """
                import os
                def handler(event, context):
                    fds = {}
                    for name in os.listdir("/proc/self/fd"):
                        try:
                            fds[name] = os.readlink(f"/proc/self/fd/{name}")
                        except OSError:
                            pass
                    return fds
            """
        }
    )
    fds = payload_of(harness.invoke(spec))
    sockets = [target for target in fds.values() if target.startswith("socket:")]
    assert len(sockets) == 1  # its own Runtime API connection, nothing of the zygote or server
    assert fds["1"] == fds["2"] and fds["1"].startswith("pipe:")


def test_a_caller_that_gives_up_does_not_break_the_environment(harness):
    spec = harness.function(SLEEPER)

    async def impatient():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(harness.ainvoke(spec, b'{"sleep": 0.3}'), 0.05)

    harness.run(impatient())
    assert harness.runtime.concurrent_executions(spec.function_arn) == 0
    harness.wait_for(lambda: [e for e in harness.runtime.environments() if e.state == "idle"])
    result = harness.invoke(spec)
    assert result.function_error is None and result.init_duration_ms is None  # the same, warm
