"""Task resources: what a Task state calls, through the providers of cloudlet's services.

Nothing here re-implements a service: every call goes to the provider method that serves the
API operation, with a RequestContext of the execution's account and region.

- Lambda: a function ARN (the result is the function's output) and `lambda:invoke` (Payload,
  StatusCode, ExecutedVersion ...); a function error fails the task with the function's own
  errorType, an API error with `Lambda.<Code>`.
- Optimized integrations: `sqs:sendMessage`, `sns:publish`, `events:putEvents`,
  `states:startExecution` (fire-and-forget, `.sync`, `.sync:2`), each also `.waitForTaskToken`.
- `aws-sdk:<service>:<action>` for every service cloudlet implements: parameters matched to
  the model's members case-insensitively, results in the SDK integrations' PascalCase, errors
  as `<Service>.<Code>Exception`.
- Activities: the task is queued for workers and the token awaited.

What a restart must not repeat is recorded in the task's progress (`TaskCall.progress`, part of
the frame): a child execution's name before StartExecution (a resumed task finds that child
instead of starting another) and its ARN with TaskSubmitted (it then only waits); the message
carrying a task token as sent, with TaskSubmitted (it then only waits for the token); an
activity task as queued, in the commit that queues it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.core import ids
from cloudlet.protocols.errors import AwsError, ParamValidationError
from cloudlet.services import PROVIDERS, RequestContext
from cloudlet.services.stepfunctions.common import (
    EXECUTION,
    EXPRESS,
    execution_arn,
    split_machine_arn,
)
from cloudlet.workflows.errors import RUNTIME, TASK_FAILED, StatesError
from cloudlet.workflows.frame import TaskCall
from cloudlet.workflows.tasks import ACTIVITY, LAMBDA, classify

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider
    from cloudlet.services.stepfunctions.runner import Run

#: SDK service names (as in `aws-sdk:<service>:...`) that differ from cloudlet's model names
SDK_SERVICES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatchlogs": "logs"}
_PREFIX = {
    "lambda": "Lambda",
    "sqs": "SQS",
    "sns": "SNS",
    "events": "EventBridge",
    "states": "StepFunctions",
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _metadata(request_id: str) -> dict[str, Any]:
    return {
        "SdkHttpMetadata": {"HttpHeaders": {"x-amzn-RequestId": request_id}, "HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": request_id},
    }


class Integrations:
    def __init__(self, provider: StepFunctionsProvider) -> None:
        self.provider = provider
        self.app = provider.app
        self._optimized: dict[tuple[str, str], Callable[[Run, TaskCall, Any], Awaitable[Any]]] = {
            ("lambda", "invoke"): self._lambda_invoke,
            ("sqs", "sendMessage"): self._sqs_send,
            ("sns", "publish"): self._sns_publish,
            ("events", "putEvents"): self._put_events,
            ("states", "startExecution"): self._start_execution,
        }

    # -- dispatch -------------------------------------------------------------------------
    async def run(self, run: Run, call: TaskCall) -> Any:
        family, resource_type, action = classify(call.resource)
        token = call.token
        if token is not None:
            run.calls[token] = call
            if run.doc["type"] == EXPRESS:
                self.provider.live_tokens[token] = run.arn
        try:
            if family == ACTIVITY:
                return await self._activity(run, call)
            if family == LAMBDA:
                return await self._lambda_function(run, call)
            return await self._service(run, call, resource_type, action)
        finally:
            if token is not None:
                run.calls.pop(token, None)
                self.provider.live_tokens.pop(token, None)

    async def _service(self, run: Run, call: TaskCall, resource_type: str, action: str) -> Any:
        pattern, base = "", action
        for suffix in (".waitForTaskToken", ".sync:2", ".sync"):
            if action.endswith(suffix):
                pattern, base = suffix, action[: -len(suffix)]
                break
        progress = call.progress
        if pattern == ".waitForTaskToken" and progress.get("sent"):  # sent before a restart
            return await self.provider.tokens.wait(self.provider, call.token or "")
        if pattern.startswith(".sync"):
            if (resource_type, base) != ("states", "startExecution"):
                raise StatesError(
                    RUNTIME, f"cloudlet does not implement the integration {call.resource}"
                )
            child = progress.get("child")
            # started before a restart; an EXPRESS child lived in memory only and runs again
            if child and (":express:" not in child or self._child_doc(child) is not None):
                return await self._await_child(child, pattern == ".sync:2")
        if resource_type.startswith("aws-sdk:"):
            result = await self.sdk_call(
                run, resource_type[len("aws-sdk:") :], base, call.arguments
            )
        else:
            handler = self._optimized.get((resource_type, base))
            if handler is None:
                raise StatesError(
                    RUNTIME, f"cloudlet does not implement the integration {call.resource}"
                )
            result = await handler(run, call, call.arguments)
        if not pattern:
            return result
        # recorded with the TaskSubmitted event: a restart waits instead of calling again
        if pattern == ".waitForTaskToken":
            progress["sent"] = True
        else:
            progress["child"] = result["ExecutionArn"]
        if call.on_submitted is not None:
            call.on_submitted(result)
        await _checkpoint(call)
        if pattern == ".waitForTaskToken":
            return await self.provider.tokens.wait(self.provider, call.token or "")
        return await self._await_child(result["ExecutionArn"], pattern == ".sync:2")

    # -- calling providers ----------------------------------------------------------------
    def context(self, run: Run, service: str, operation: str) -> RequestContext:
        return RequestContext(
            service=service,
            operation=operation,
            account=run.account,
            region=run.region,
            request_id=ids.request_id(),
            host=f"{self.app.config.host}:{self.app.config.port}",
        )

    async def call_provider(
        self, run: Run, service: str, operation: str, params: dict[str, Any], prefix: str
    ) -> dict[str, Any]:
        """One API call through the service's provider; AwsError becomes `<prefix>.<Code>`."""
        if service not in PROVIDERS:
            raise StatesError(RUNTIME, f"cloudlet does not implement the service {service}")
        provider = self.app.provider(service)
        found = provider.handler(operation)
        if found is None:
            raise StatesError(RUNTIME, f"cloudlet does not implement {service}.{operation}")
        from cloudlet.protocols.model import load_service_model
        from cloudlet.protocols.validate import validate

        model = load_service_model(service)
        ctx = self.context(run, service, operation)
        try:
            validate(model.operation(operation).input, params)
            method, is_async = found
            result = await method(ctx, params) if is_async else method(ctx, params)
        except ParamValidationError as error:
            raise StatesError(f"{prefix}.ValidationException", error.message) from None
        except AwsError as error:
            raise StatesError(
                f"{prefix}.{error.code}",
                f"{error.message} (Service: {service}, Status Code: {error.status}, Error Code: "
                f"{error.code}, Request ID: {ctx.request_id})",
            ) from None
        return result or {}

    # -- Lambda ---------------------------------------------------------------------------
    async def _invoke(self, run: Run, params: dict[str, Any]) -> dict[str, Any]:
        return await self.call_provider(run, "lambda", "Invoke", params, "Lambda")

    @staticmethod
    def _function_error(answer: dict[str, Any]) -> StatesError:
        text = (
            answer["Payload"].decode("utf-8", "replace")
            if isinstance(answer.get("Payload"), bytes)
            else str(answer.get("Payload"))
        )
        try:
            name = orjson.loads(text).get("errorType") or "Lambda.Unknown"
        except (orjson.JSONDecodeError, AttributeError):
            name = "Lambda.Unknown"
        return StatesError(name, text)

    async def _lambda_function(self, run: Run, call: TaskCall) -> Any:
        answer = await self._invoke(
            run, {"FunctionName": call.resource, "Payload": orjson.dumps(call.arguments)}
        )
        if answer.get("FunctionError"):
            raise self._function_error(answer)
        return _parse(answer.get("Payload"))

    async def _lambda_invoke(self, run: Run, call: TaskCall, args: Any) -> Any:
        if not isinstance(args, dict) or "FunctionName" not in args:
            raise StatesError(RUNTIME, "The field 'FunctionName' is required but was missing")
        params = {
            k: v
            for k, v in args.items()
            if k in ("FunctionName", "Qualifier", "InvocationType", "LogType", "ClientContext")
        }
        params["Payload"] = orjson.dumps(args["Payload"]) if "Payload" in args else b"{}"
        answer = await self._invoke(run, params)
        if answer.get("FunctionError"):
            raise self._function_error(answer)
        out = {
            "ExecutedVersion": answer.get("ExecutedVersion", "$LATEST"),
            "Payload": _parse(answer.get("Payload")),
            "StatusCode": answer.get("StatusCode", 200),
        }
        if answer.get("LogResult"):
            out["LogResult"] = answer["LogResult"]
        return {**out, **_metadata(ids.request_id())}

    # -- messaging ------------------------------------------------------------------------
    async def _sqs_send(self, run: Run, call: TaskCall, args: Any) -> Any:
        params = {**args, "MessageBody": _text(args.get("MessageBody"))}
        result = await self.call_provider(run, "sqs", "SendMessage", params, "SQS")
        return {**result, **_metadata(ids.request_id())}

    async def _sns_publish(self, run: Run, call: TaskCall, args: Any) -> Any:
        params = {**args, "Message": _text(args.get("Message"))}
        result = await self.call_provider(run, "sns", "Publish", params, "SNS")
        return {**result, **_metadata(ids.request_id())}

    async def _put_events(self, run: Run, call: TaskCall, args: Any) -> Any:
        entries = [
            {**entry, "Detail": _text(entry.get("Detail", {}))}
            for entry in args.get("Entries") or []
        ]
        result = await self.call_provider(
            run, "events", "PutEvents", {"Entries": entries}, "EventBridge"
        )
        return {**result, **_metadata(ids.request_id())}

    # -- Step Functions -------------------------------------------------------------------
    async def _start_execution(self, run: Run, call: TaskCall, args: Any) -> Any:
        """StartExecution of a child, exactly once: its name is recorded before it starts, and
        a resumed task finds the child it started before the restart instead of another."""
        params: dict[str, Any] = {"stateMachineArn": args.get("StateMachineArn")}
        given = args.get("Input", {})
        if isinstance(given, dict):
            given = {**given, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": run.arn}
        params["input"] = _text(given)
        progress = call.progress
        name = progress.get("name")
        if name is None:
            progress["name"] = name = args.get("Name") or ids.uuid4()
            await _checkpoint(call)
        else:
            found = self._started_child(run, params, name)
            if found is not None:
                return {
                    "ExecutionArn": found["arn"],
                    "StartDate": found["startDate"],
                    **_metadata(ids.request_id()),
                }
        params["name"] = name
        result = await self.call_provider(
            run, "stepfunctions", "StartExecution", params, "StepFunctions"
        )
        return {
            "ExecutionArn": result["executionArn"],
            "StartDate": int(result["startDate"] * 1000),
            **_metadata(ids.request_id()),
        }

    def _started_child(self, run: Run, params: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The standard execution `name` that this task started before a restart, if any."""
        try:
            base = split_machine_arn(params["stateMachineArn"] or "")[0]
        except AwsError:
            return None
        doc = self._child_doc(execution_arn(base, name))
        if doc is None:
            return None
        try:
            started_by = orjson.loads(doc["input"]).get(
                "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
            )
        except (orjson.JSONDecodeError, AttributeError):
            started_by = None
        return doc if started_by == run.arn or doc["input"] == params["input"] else None

    def _child_doc(self, arn: str) -> dict[str, Any] | None:
        """A child execution's document: stored (standard) or live (express, this process)."""
        doc = self.provider.store.get(EXECUTION, arn)
        if doc is None:
            child = self.provider.runs.get(arn)
            doc = child.doc if child is not None else None
        return doc

    async def _await_child(self, arn: str, parsed: bool) -> Any:
        doc = self._child_doc(arn)
        if doc is None:
            raise StatesError(TASK_FAILED, f"Execution Does Not Exist: '{arn}'")
        if doc["status"] == "RUNNING":
            child = self.provider.runs.get(arn)
            if child is None and doc["type"] != EXPRESS:  # not resumed yet: resume it now
                child = self.provider.adopt(doc)
            if child is not None:
                await child.done.wait()
            doc = self._child_doc(arn) or (child.doc if child is not None else doc)
        described = self.provider.summary(doc)
        out = {k[0].upper() + k[1:]: v for k, v in described.items() if not k.startswith("redrive")}
        for key in ("StartDate", "StopDate"):
            if key in out:
                out[key] = int(out[key] * 1000)
        if parsed:
            out["Input"] = _parse(out.get("Input"))
            if "Output" in out:
                out["Output"] = _parse(out["Output"])
        if doc.get("status") != "SUCCEEDED":
            raise StatesError(TASK_FAILED, orjson.dumps(out).decode())
        return out

    # -- activities -----------------------------------------------------------------------
    async def _activity(self, run: Run, call: TaskCall) -> Any:
        token = call.token or ""
        if not call.progress.get("sent"):

            def schedule() -> None:
                self.provider.schedule_activity(call.resource, token, call.arguments)
                call.progress["sent"] = True
                if run.doc["type"] != EXPRESS and run.host is not None:
                    run.host.write_now()  # queued and recorded as queued in one commit

            await self.app.commit(schedule)
        return await self.provider.tokens.wait(self.provider, token)

    # -- AWS SDK integrations -------------------------------------------------------------
    async def sdk_call(self, run: Run, sdk_service: str, action: str, args: Any) -> Any:
        from cloudlet.protocols.model import load_service_model

        service = SDK_SERVICES.get(sdk_service, sdk_service)
        prefix = sdk_service[:1].upper() + sdk_service[1:]
        operation = action[:1].upper() + action[1:]
        if service not in PROVIDERS:
            raise StatesError(RUNTIME, f"cloudlet does not implement the service {sdk_service}")
        model = load_service_model(service)
        if not model.has_operation(operation):
            raise StatesError(RUNTIME, f"The API action {action} of {sdk_service} does not exist")
        op = model.operation(operation)
        params = to_model(op.input, args or {}) if op.input is not None else {}
        try:
            result = await self.call_provider(run, service, operation, params, prefix)
        except StatesError as error:
            if error.name.startswith(prefix + ".") and not error.name.endswith("Exception"):
                error = StatesError(error.name + "Exception", error.cause)
            raise error from None
        if op.output is None:
            return {}
        from cloudlet.protocols.json import encode_structure

        payload = op.output.raw.get("payload")
        body = result.get(payload) if payload else None
        if body is None or isinstance(body, dict):
            return to_pascal(op.output, encode_structure(op.output, result))
        # A streamed payload (S3 GetObject's Body) reaches the state as the object's text, as
        # Step Functions hands it over, rather than as base64
        if not isinstance(body, bytes | bytearray):
            body = b"".join([chunk async for chunk in body])
        output = to_pascal(op.output, encode_structure(op.output, {**result, payload: None}))
        output[payload[:1].upper() + payload[1:]] = bytes(body).decode("utf-8", "replace")
        return output


async def _checkpoint(call: TaskCall) -> None:
    """Make the task's progress durable now (no-op on hosts that keep nothing)."""
    if call.checkpoint is not None:
        await call.checkpoint()


def _parse(value: Any) -> Any:
    if isinstance(value, bytes | str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return value


def to_model(shape: Any, value: Any) -> Any:
    """SDK-integration parameters (any case) -> the model's member names and types."""
    kind = shape.type
    if kind == "structure" and isinstance(value, dict) and not shape.is_document:
        members = {name.lower(): (name, member) for name, member in shape.members.items()}
        out = {}
        for key, item in value.items():
            found = members.get(key.lower())
            if found is not None:
                out[found[0]] = to_model(found[1], item)
        return out
    if kind == "list" and isinstance(value, list):
        return [to_model(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_model(shape.value, v) for k, v in value.items()}
    if kind == "blob" and not isinstance(value, bytes):
        return _text(value).encode()
    return value


def to_pascal(shape: Any, value: Any) -> Any:
    """A result as SDK integrations return it: structure members in PascalCase."""
    kind = shape.type
    if kind == "structure" and isinstance(value, dict) and not shape.is_document:
        members = shape.members
        names = shape.serialized_names
        by_wire = {names.get(name, name): (name, member) for name, member in members.items()}
        out = {}
        for key, item in value.items():
            name, member = by_wire.get(key, (key, None))
            out[name[:1].upper() + name[1:]] = (
                to_pascal(member, item) if member is not None else item
            )
        return out
    if kind == "list" and isinstance(value, list):
        return [to_pascal(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: to_pascal(shape.value, v) for k, v in value.items()}
    return value
