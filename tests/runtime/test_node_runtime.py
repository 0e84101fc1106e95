"""The Node.js runtime: handler styles, the context object, console output, errors."""

from __future__ import annotations

import re

from runtime.conftest import needs_node, payload_of

pytestmark = needs_node

APP = {
    "src/app.js": """
        let count = 0;
        exports.handler = async (event, context) => {
          count += 1;
          console.log('event', event);
          return { count, echo: event };
        };
        exports.context = async (event, context) => ({
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB,
          awsRequestId: context.awsRequestId,
          logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          waits: context.callbackWaitsForEmptyEventLoop,
          remaining: context.getRemainingTimeInMillis(),
          identity: context.identity,
          clientContext: context.clientContext,
          endpoint: process.env.AWS_ENDPOINT_URL,
          execution: process.env.AWS_EXECUTION_ENV,
        });
        exports.callback = (event, context, callback) => {
          setTimeout(() => console.log('timer fired'), 100);
          callback(null, { style: 'callback' });
        };
        exports.nowait = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => console.log('never waited for'), 5000);
          callback(null, 'fast');
        };
        exports.fails = async () => {
          throw new TypeError('bad input');
        };
        exports.nested = { deeper: { handler: async () => 'nested' } };
    """,
    "esm/handler.mjs": """
        export const handler = async (event) => ({ esm: true });
    """,
}


def test_async_handler_warm_and_console(harness):
    spec = harness.function(APP, runtime="nodejs20.x", handler="src/app.handler")
    request_id = "12121212-0000-0000-0000-000000000001"
    first = harness.invoke(spec, b'{"x": 1}', request_id=request_id)
    second = harness.invoke(spec, b'{"x": 2}')
    assert payload_of(first) == {"count": 1, "echo": {"x": 1}}
    assert payload_of(second)["count"] == 2 and second.init_duration_ms is None
    line = next(line for line in harness.logs(spec) if "INFO" in line)
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tINFO\tevent {{ x: 1 }}", line
    )


def test_context_object(harness):
    spec = harness.function(APP, runtime="nodejs20.x", handler="src/app.context", timeout_s=9)
    ctx = payload_of(harness.invoke(spec, cognito_identity='{"cognitoIdentityId": "c1"}'))
    assert ctx["functionName"] == spec.function_name
    assert ctx["functionVersion"] == "$LATEST"
    assert ctx["invokedFunctionArn"] == spec.function_arn
    assert ctx["memoryLimitInMB"] == "128"
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx["awsRequestId"])
    assert ctx["logGroupName"] == f"/aws/lambda/{spec.function_name}"
    assert (
        ctx["logStreamName"].startswith(ctx["logStreamName"][:11])
        and "[$LATEST]" in ctx["logStreamName"]
    )
    assert ctx["waits"] is True and 8000 < ctx["remaining"] <= 9000
    assert ctx["identity"] == {"cognitoIdentityId": "c1"}
    assert ctx["endpoint"] == harness.runtime.endpoint_url()
    assert ctx["execution"] == "AWS_Lambda_nodejs20.x"


def test_callback_handlers(harness):
    waits = harness.function(APP, runtime="nodejs20.x", handler="src/app.callback")
    result = harness.invoke(waits, want_log_tail=True)
    assert payload_of(result) == {"style": "callback"}
    assert result.duration_ms >= 90 and "timer fired" in result.log_tail  # waited for the timer
    fast = harness.function(APP, runtime="nodejs20.x", handler="src/app.nowait")
    result = harness.invoke(fast)
    assert payload_of(result) == "fast" and result.duration_ms < 2000


def test_errors(harness):
    spec = harness.function(APP, runtime="nodejs20.x", handler="src/app.fails")
    result = harness.invoke(spec)
    assert result.function_error == "Unhandled"
    error = payload_of(result)
    assert (error["errorType"], error["errorMessage"]) == ("TypeError", "bad input")
    assert error["trace"][0] == "TypeError: bad input"
    assert any("\tERROR\tInvoke Error \t{" in line for line in harness.logs(spec))

    missing = harness.function(APP, runtime="nodejs20.x", handler="src/nope.handler")
    error = payload_of(harness.invoke(missing))
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"].startswith("Error: Cannot find module 'nope'")

    unexported = harness.function(APP, runtime="nodejs20.x", handler="src/app.absent")
    error = payload_of(harness.invoke(unexported))
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert error["errorMessage"] == "src/app.absent is undefined or not exported"


def test_nested_and_esm_handlers(harness):
    nested = harness.function(APP, runtime="nodejs22.x", handler="src/app.nested.deeper.handler")
    assert payload_of(harness.invoke(nested)) == "nested"
    esm = harness.function(APP, runtime="nodejs18.x", handler="esm/handler.handler")
    assert payload_of(harness.invoke(esm)) == {"esm": True}


def test_uncaught_exception_ends_the_environment(harness):
    spec = harness.function(
        {
            "index.js": """
                exports.handler = async () => {
                  setTimeout(() => { throw new RangeError('async boom'); }, 10);
                  await new Promise((resolve) => setTimeout(resolve, 1000));
                  return 'unreachable';
                };
            """
        },
        runtime="nodejs20.x",
        handler="index.handler",
    )
    result = harness.invoke(spec)
    assert result.function_error == "Unhandled"
    error = payload_of(result)
    assert (error["errorType"], error["errorMessage"]) == ("RangeError", "async boom")
    harness.wait_for(lambda: not harness.runtime.environments(spec.function_arn))
