"""TestState: one state run on its own, with what each processing step made of the data.

The state is wrapped in a one-state machine (its Next replaced by End) and run by the engine
on an in-memory host whose tasks go to the real integrations, so a Task state really calls its
Lambda function or queue. The answer carries the output, or the error and cause, the name of
the state that would come next, and with inspectionLevel DEBUG the data after each step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet import workflows
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.stepfunctions.common import dumps, parse_input
from cloudlet.workflows.engine import Engine
from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.frame import Frame, TaskCall
from cloudlet.workflows.local import LocalHost
from cloudlet.workflows.templates import Variables

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider


class _TestHost(LocalHost):
    def __init__(self, provider: StepFunctionsProvider, ctx: RequestContext) -> None:
        super().__init__(None, now_ms=provider.clock.now_ms, virtual_time=True)
        self.provider = provider
        self.ctx = ctx
        self.results: list[Any] = []

    async def run_task(self, call: TaskCall) -> Any:
        from cloudlet.services.stepfunctions.runner import Run

        doc = {
            "arn": f"arn:aws:states:{self.ctx.region}:{self.ctx.account}:execution:TestState:test",
            "type": "EXPRESS",
            "name": "test",
            "input": "{}",
            "startDate": self.now_ms(),
            "roleArn": "",
            "machineArn": f"arn:aws:states:{self.ctx.region}:{self.ctx.account}:stateMachine:TestState",
            "revisionId": "",
        }
        run = Run(self.provider, doc, None)  # type: ignore[arg-type]
        result = await self.provider.integrations.run(run, call)
        self.results.append(result)
        return result


class TestStateOperation:
    async def test_state(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        body = _state_definition(params)
        name = params["stateName"]
        machine = _one_state_machine(name, body)
        data = parse_input(params.get("input"))
        variables = parse_input(params.get("variables")) if params.get("variables") else {}
        host = _TestHost(self, ctx)
        frame = Frame(machine, name, data, Variables(dict(variables)))
        try:
            output = await Engine(host).run(frame)
        except StatesError as error:
            out: dict[str, Any] = {"status": "FAILED", "error": error.name, "cause": error.cause}
        else:
            out = {"status": "SUCCEEDED", "output": dumps(output)}
            if frame.state != name:  # a Choice chose, or a Catch caught
                out["nextState"] = frame.state
                exited = [e for e in host.events if e.type.endswith("StateExited")]
                out["output"] = dumps(exited[0].details["output"]) if exited else out["output"]
                failed = [e for e in host.events if e.type.endswith(("Failed", "TimedOut"))]
                if failed and body["Type"] != "Choice":
                    out.update(
                        status="CAUGHT_ERROR",
                        error=failed[-1].details["error"],
                        cause=failed[-1].details.get("cause", ""),
                    )
            elif body.get("Next"):
                out["nextState"] = body["Next"]
        if params.get("inspectionLevel") in ("DEBUG", "TRACE"):
            out["inspectionData"] = _inspection(data, host, frame)
        return out


def _one_state_machine(name: str, state: dict[str, Any]) -> Any:
    """The state alone: Next replaced by End, the targets of its choices and catchers stubbed."""
    body = {k: v for k, v in state.items() if k != "Next"}
    if body.get("Type") not in ("Choice", "Succeed", "Fail"):
        body["End"] = True
    states: dict[str, Any] = {name: body}
    targets = [c.get("Next") for c in body.get("Catch") or []]
    targets += [r.get("Next") for r in body.get("Choices") or []] + [body.get("Default")]
    for target in targets:
        if target and target != name:
            states.setdefault(target, {"Type": "Succeed"})
    try:
        return workflows.load({"StartAt": name, "States": states})
    except workflows.DefinitionError as error:
        raise AwsError("InvalidDefinition", error.message) from None


def _inspection(data: Any, host: _TestHost, frame: Frame) -> dict[str, Any]:
    inspection: dict[str, Any] = {"input": dumps(data)}
    if host.results:
        inspection["result"] = dumps(host.results[-1])
    if frame.variables.values:
        inspection["variables"] = dumps(frame.variables.values)
    return inspection


def _state_definition(params: dict[str, Any]) -> dict[str, Any]:
    try:
        document = orjson.loads(params["definition"])
    except orjson.JSONDecodeError as error:
        raise AwsError(
            "InvalidDefinition",
            f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {error}'",
        ) from None
    if isinstance(document, dict) and "States" in document and "StartAt" in document:
        name = params.get("stateName") or document["StartAt"]
        state = document["States"].get(name)
        if state is None:
            raise AwsError(
                "ValidationException", f"State '{name}' does not exist in the definition"
            )
        params["stateName"] = name
        if "QueryLanguage" in document and "QueryLanguage" not in state:
            state = {**state, "QueryLanguage": document["QueryLanguage"]}
        return state
    if not isinstance(document, dict) or "Type" not in document:
        raise AwsError(
            "InvalidDefinition",
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [Type]'",
        )
    params.setdefault("stateName", "TestState")
    return document
