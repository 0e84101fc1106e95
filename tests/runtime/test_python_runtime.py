"""The Python runtime: warm reuse, the context object, environment variables, errors."""

from __future__ import annotations

import os
import re

from runtime.conftest import LOCAL_PYTHON, payload_of

COUNTER = {
    "app.py": """
        import os
        COUNT = 0

        def handler(event, context):
            global COUNT
            COUNT += 1
            path = os.path.join(os.environ["TMPDIR"], "marker")
            existed = os.path.exists(path)
            open(path, "w").close()
            return {"count": COUNT, "tmp_survived": existed, "pid": os.getpid()}
    """
}


def test_warm_environment_keeps_globals_and_tmp(harness):
    spec = harness.function(COUNTER)
    first = harness.invoke(spec)
    second = harness.invoke(spec)
    third = harness.invoke(spec)
    assert [payload_of(r)["count"] for r in (first, second, third)] == [1, 2, 3]
    assert payload_of(second)["tmp_survived"] is True
    assert len({payload_of(r)["pid"] for r in (first, second, third)}) == 1
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None
    assert first.function_error is None and first.executed_version == "$LATEST"
    assert len(harness.runtime.environments(spec.function_arn)) == 1


def test_event_and_return_value_round_trip(harness):
    spec = harness.function(
        {
            "app.py": """
                def handler(event, context):
                    return {"echo": event, "text": "héllo"}
            """
        }
    )
    result = harness.invoke(spec, b'{"a": [1, 2, {"b": null}]}')
    assert payload_of(result) == {"echo": {"a": [1, 2, {"b": None}]}, "text": "héllo"}


def test_context_object(harness):
    spec = harness.function(
        {
            "app.py": """
                def handler(event, context):
                    cc = context.client_context
                    return {
                        "function_name": context.function_name,
                        "function_version": context.function_version,
                        "invoked_function_arn": context.invoked_function_arn,
                        "memory_limit_in_mb": context.memory_limit_in_mb,
                        "aws_request_id": context.aws_request_id,
                        "log_group_name": context.log_group_name,
                        "log_stream_name": context.log_stream_name,
                        "remaining": context.get_remaining_time_in_millis(),
                        "cognito_id": context.identity.cognito_identity_id,
                        "cognito_pool": context.identity.cognito_identity_pool_id,
                        "custom": cc.custom,
                        "app_title": cc.client.app_title,
                    }
            """
        },
        memory_mb=256,
        timeout_s=7,
    )
    import base64
    import json

    client_context = base64.b64encode(
        json.dumps({"custom": {"k": "v"}, "client": {"app_title": "t"}, "env": {}}).encode()
    ).decode()
    identity = json.dumps({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"})
    qualified = spec.function_arn + ":prod"
    result = harness.invoke(
        spec,
        request_id="11111111-2222-3333-4444-555555555555",
        invoked_arn=qualified,
        client_context=client_context,
        cognito_identity=identity,
    )
    ctx = payload_of(result)
    assert ctx["function_name"] == spec.function_name
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == qualified
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["aws_request_id"] == "11111111-2222-3333-4444-555555555555"
    assert ctx["log_group_name"] == f"/aws/lambda/{spec.function_name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"])
    assert 5000 < ctx["remaining"] <= 7000
    assert (ctx["cognito_id"], ctx["cognito_pool"]) == ("id-1", "pool-1")
    assert (ctx["custom"], ctx["app_title"]) == ({"k": "v"}, "t")


def test_environment_variables(harness, monkeypatch):
    monkeypatch.setenv("CLOUDLET_TEST_SERVER_SECRET", "do-not-leak")
    spec = harness.function(
        {
            "app.py": """
                import os
                def handler(event, context):
                    return dict(os.environ)
            """
        },
        environment=(("MY_SETTING", "42"), ("AWS_REGION", "mars-1"), ("TZ", ":UTC")),
        credentials=(
            ("AWS_ACCESS_KEY_ID", "AKIAROLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ),
        region="eu-west-1",
        memory_mb=512,
    )
    env = payload_of(harness.invoke(spec))
    assert "CLOUDLET_TEST_SERVER_SECRET" not in env
    assert env["MY_SETTING"] == "42"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"  # reserved: not overridden
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == spec.function_name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{spec.function_name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].endswith(
        harness.runtime.environments()[0].stream.rsplit("]", 1)[1]
    )
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{LOCAL_PYTHON}"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"])
    assert env["AWS_ENDPOINT_URL"] == harness.runtime.endpoint_url()
    assert env["LAMBDA_TASK_ROOT"] == spec.code_dir
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC" and env["LANG"] == "en_US.UTF-8"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAROLE" and env["AWS_SESSION_TOKEN"] == "token"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert spec.code_dir in env["PYTHONPATH"].split(os.pathsep)
    assert os.path.isdir(env["TMPDIR"]) and "LD_LIBRARY_PATH" in env and "PATH" in env


def test_unhandled_exception_payload(harness):
    spec = harness.function(
        {
            "app.py": """
                def handler(event, context):
                    helper()

                def helper():
                    raise ValueError("something broke")
            """
        }
    )
    result = harness.invoke(spec, request_id="aaaaaaaa-0000-0000-0000-000000000001")
    assert result.function_error == "Unhandled"
    error = payload_of(result)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "something broke"
    assert error["requestId"] == "aaaaaaaa-0000-0000-0000-000000000001"
    assert isinstance(error["stackTrace"], list) and len(error["stackTrace"]) == 2
    assert "in handler" in error["stackTrace"][0] and "python_bootstrap" not in "".join(
        error["stackTrace"]
    )
    assert any(
        line.startswith("[ERROR] ValueError: something broke\r") for line in harness.logs(spec)
    )
    assert payload_of(harness.invoke(spec))["errorType"] == "ValueError"  # still warm and serving
    assert len(harness.runtime.environments(spec.function_arn)) == 1


def test_import_error(harness):
    spec = harness.function({"app.py": "x = 1\n"}, handler="nope.handler")
    result = harness.invoke(spec)
    assert result.function_error == "Unhandled"
    error = payload_of(result)
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'nope': No module named 'nope'"
    logs = harness.logs(spec)
    assert any(
        line.startswith("INIT_REPORT Init Duration: ")
        and line.endswith("Phase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
        for line in logs
    )
    assert any(line.startswith("START RequestId: ") for line in logs)
    assert logs[-1].endswith("Status: error\tError Type: Runtime.ImportModuleError\t")


def test_handler_not_found(harness):
    spec = harness.function({"app.py": "def other(e, c):\n    return 1\n"}, handler="app.missing")
    error = payload_of(harness.invoke(spec))
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert error["errorMessage"] == "Handler 'missing' missing on module 'app'"


def test_init_error_is_reported_and_retried(harness):
    spec = harness.function(
        {
            "app.py": """
                raise RuntimeError("cannot start")

                def handler(event, context):
                    return 1
            """
        }
    )
    first = harness.invoke(spec)
    error = payload_of(first)
    assert first.function_error == "Unhandled"
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "cannot start")
    assert error["stackTrace"] and "app.py" in error["stackTrace"][-1]
    second = harness.invoke(spec)  # a new environment tries again
    assert payload_of(second)["errorType"] == "RuntimeError"
    assert second.init_duration_ms is not None


def test_nested_handler_and_layers(harness):
    layer = harness.layer(
        {
            f"python/lib/{LOCAL_PYTHON}/site-packages/deep_dep.py": "VALUE = 'deep'\n",
            "python/shallow_dep.py": "VALUE = 'shallow'\n",
        }
    )
    spec = harness.function(
        {
            "src/handlers/app.py": """
                import deep_dep, shallow_dep
                def handler(event, context):
                    return [deep_dep.VALUE, shallow_dep.VALUE]
            """
        },
        handler="src/handlers/app.handler",
        layer_dirs=(layer,),
    )
    result = harness.invoke(spec)
    assert result.function_error is None, result.payload
    assert payload_of(result) == ["deep", "shallow"]


def test_marshal_error_and_bytes(harness):
    spec = harness.function(
        {
            "app.py": """
                def handler(event, context):
                    if event.get("raw"):
                        return b"raw bytes"
                    return {1, 2}
            """
        }
    )
    error = payload_of(harness.invoke(spec))
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response: ")
    assert harness.invoke(spec, b'{"raw": true}').payload == b"raw bytes"


def test_logging_module_format(harness):
    spec = harness.function(
        {
            "app.py": """
                import logging
                logger = logging.getLogger()
                logger.setLevel(logging.INFO)

                def handler(event, context):
                    logger.info("two\\nlines")
                    return 1
            """
        }
    )
    request_id = "bbbbbbbb-0000-0000-0000-000000000002"
    harness.invoke(spec, request_id=request_id)
    line = next(line for line in harness.logs(spec) if line.startswith("[INFO]"))
    assert re.fullmatch(
        rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\ttwo\rlines", line
    )


def test_syntax_error_and_sys_exit(harness):
    broken = harness.function({"app.py": "def handler(event, context)\n    return 1\n"})
    error = payload_of(harness.invoke(broken))
    assert error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert error["errorMessage"].startswith("Syntax error in module 'app': ")
    exits = harness.function({"app.py": "import sys\ndef handler(e, c):\n    sys.exit(2)\n"})
    error = payload_of(harness.invoke(exits))
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 2")


def test_other_python_versions_run_locally_with_one_warning(harness, caplog):
    other = "python3.9" if LOCAL_PYTHON != "python3.9" else "python3.13"
    spec = harness.function(
        {"app.py": "import os\ndef handler(e, c):\n    return os.environ['AWS_EXECUTION_ENV']\n"},
        runtime=other,
    )
    with caplog.at_level("WARNING", logger="cloudlet.runtime"):
        assert payload_of(harness.invoke(spec)) == f"AWS_Lambda_{other}"
        harness.invoke(
            harness.function({"app.py": "def handler(e, c):\n    return 1\n"}, runtime=other)
        )
    warnings = [
        r for r in caplog.records if r.name == "cloudlet.runtime" and other in r.getMessage()
    ]
    assert len(warnings) == 1 and LOCAL_PYTHON in warnings[0].getMessage()
