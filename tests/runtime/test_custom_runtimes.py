"""`provided` runtimes, the official Python runtime interface client, and the Runtime API's edges."""

from __future__ import annotations

import json
import sys

import pytest

from runtime.conftest import payload_of

CURL_BOOTSTRAP = """
    #!/bin/sh
    set -eu
    API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
    COUNT=0
    while true; do
      HEADERS="$(mktemp)"
      EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
      REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\\r' | cut -d' ' -f2)"
      COUNT=$((COUNT + 1))
      echo "handling $REQUEST_ID"
      curl -sS -X POST "$API/invocation/$REQUEST_ID/response" \\
        -d "{\\"echo\\": $EVENT, \\"count\\": $COUNT, \\"handler\\": \\"$_HANDLER\\"}" > /dev/null
    done
"""


def test_provided_al2023_shell_bootstrap(harness):
    spec = harness.function(
        {"bootstrap": CURL_BOOTSTRAP}, runtime="provided.al2023", handler="fn.x"
    )
    request_id = "34343434-0000-0000-0000-000000000001"
    first = harness.invoke(spec, b'{"k": "v"}', request_id=request_id)
    assert first.function_error is None, first.payload
    assert payload_of(first) == {"echo": {"k": "v"}, "count": 1, "handler": "fn.x"}
    assert payload_of(harness.invoke(spec))["count"] == 2
    assert f"handling {request_id}" in harness.logs(spec)


def test_bootstrap_from_a_layer(harness):
    layer = harness.layer({"bootstrap": CURL_BOOTSTRAP})
    import os

    os.chmod(os.path.join(layer, "bootstrap"), 0o755)
    spec = harness.function(
        {"README": "no bootstrap here"}, runtime="provided.al2", layer_dirs=(layer,)
    )
    assert payload_of(harness.invoke(spec, b"[1]"))["echo"] == [1]


def test_missing_bootstrap(harness):
    spec = harness.function({"README": "nothing"}, runtime="provided.al2023")
    request_id = "45454545-0000-0000-0000-000000000001"
    result = harness.invoke(spec, request_id=request_id)
    assert result.function_error == "Unhandled"
    error = payload_of(result)
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"].startswith(
        f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): ["
    )


def awslambdaric_bootstrap() -> str:
    return f'#!/bin/sh\nexec {sys.executable} -m awslambdaric "$_HANDLER"\n'


def test_official_python_runtime_interface_client(harness):
    pytest.importorskip("awslambdaric")
    app = """
        import os
        COUNT = 0
        def handler(event, context):
            global COUNT
            COUNT += 1
            print("ric says hi")
            if event.get("fail"):
                raise KeyError("missing")
            return {"count": COUNT, "fn": context.function_name, "rid": context.aws_request_id}
    """
    spec = harness.function(
        {"bootstrap": awslambdaric_bootstrap(), "app.py": app}, runtime="provided.al2023"
    )
    request_id = "56565656-0000-0000-0000-000000000001"
    first = harness.invoke(spec, request_id=request_id)
    assert first.function_error is None, first.payload
    assert payload_of(first) == {"count": 1, "fn": spec.function_name, "rid": request_id}
    assert payload_of(harness.invoke(spec))["count"] == 2
    failed = harness.invoke(spec, b'{"fail": true}')
    error = payload_of(failed)
    assert failed.function_error == "Unhandled"
    assert (error["errorType"], error["errorMessage"]) == ("KeyError", "'missing'")
    assert "ric says hi" in harness.logs(spec)

    broken = harness.function(
        {"bootstrap": awslambdaric_bootstrap(), "app.py": "x = 1\n"},
        runtime="provided.al2023",
        handler="app.nothing",
    )
    error = payload_of(harness.invoke(broken))
    assert error["errorType"] == "Runtime.HandlerNotFound"


API_PROBE = """
    #!/usr/bin/env python3
    import json, os, urllib.request, urllib.error

    API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"

    def call(method, path, body=None):
        request = urllib.request.Request(API + path, data=body, method=method)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    while True:
        status, headers, event = call("GET", "/invocation/next")
        rid = headers["Lambda-Runtime-Aws-Request-Id"]
        if event.get("big"):
            outcome = call("POST", f"/invocation/{rid}/response", b'"' + b"x" * 7_000_000 + b'"')
            continue
        seen = {
            "headers": sorted(k for k in headers.keys() if k.startswith("Lambda-Runtime")),
            "wrong_id": call("POST", "/invocation/not-this-one/response", b"{}")[::2],
            "next_again": call("GET", "/invocation/next")[::2],
            "late_init_error": call("POST", "/init/error", b"{}")[0],
        }
        status, _, body = call("POST", f"/invocation/{rid}/response", json.dumps(seen).encode())
        assert (status, body) == (202, {"status": "OK"}), (status, body)
"""


def test_runtime_api_edges(harness):
    probe = API_PROBE.replace("#!/usr/bin/env python3", f"#!{sys.executable}")
    spec = harness.function({"bootstrap": probe}, runtime="provided.al2023")
    seen = payload_of(harness.invoke(spec, b"{}", client_context="eyJhIjogMX0="))
    assert seen["headers"] == [
        "Lambda-Runtime-Aws-Request-Id",
        "Lambda-Runtime-Client-Context",
        "Lambda-Runtime-Deadline-Ms",
        "Lambda-Runtime-Invoked-Function-Arn",
        "Lambda-Runtime-Trace-Id",
    ]
    assert seen["wrong_id"] == [
        400,
        {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"},
    ]
    assert (
        seen["next_again"][0] == 403
        and seen["next_again"][1]["errorType"] == "InvalidStateTransition"
    )
    assert seen["late_init_error"] == 403
    too_big = harness.invoke(spec, json.dumps({"big": True}).encode())
    assert too_big.function_error == "Unhandled"
    assert payload_of(too_big) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_bootstrap_that_is_not_executable(harness):
    spec = harness.function({"bootstrap": CURL_BOOTSTRAP}, runtime="provided.al2023", executable=())
    error = payload_of(harness.invoke(spec))
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"].endswith("/bootstrap: permission denied")
