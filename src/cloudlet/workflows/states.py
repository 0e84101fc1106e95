"""A validated definition compiled into objects the engine runs without re-reading JSON.

`compile_machine(definition)` turns the ASL document (already validated by `definition.py`)
into a `Machine`: its states, each with its paths, templates, JSONata expressions, choice
predicates, retriers and catchers compiled once. Parallel branches and Map processors are
Machines of their own. Every state knows whether it speaks JSONPath or JSONata (its own
QueryLanguage, else the machine's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudlet.workflows import query
from cloudlet.workflows.choice import compile_rule
from cloudlet.workflows.mapspec import compile_distributed
from cloudlet.workflows.templates import (
    Dynamic,
    Reader,
    compile_filter,
    compile_result_path,
    compile_template,
    dynamic,
)

JSONATA = "JSONata"
JSONPATH = "JSONPath"


@dataclass(slots=True)
class Retrier:
    errors: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff: float = 2.0
    max_delay: float | None = None
    jitter: str = "NONE"

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """Seconds before retry number `attempt` (0-based), capped and jittered."""
        seconds = self.interval * self.backoff**attempt
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        if self.jitter == "FULL":
            seconds = rand() * seconds
        return seconds


@dataclass(slots=True)
class Catcher:
    errors: tuple[str, ...]
    next: str
    result_path: Callable[[Any, Any], Any] | None = None  # JSONPath
    output: query.Evaluator | None = None  # JSONata
    assign: Any = None  # compiled Assign (see State.assign)


@dataclass(slots=True)
class ChoiceRule:
    test: Callable[..., bool]
    next: str
    assign: Any = None
    output: query.Evaluator | None = None


@dataclass(slots=True)
class State:
    name: str
    type: str
    jsonata: bool
    next: str | None = None
    end: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    # JSONPath processing
    input_path: Reader | None = None
    output_path: Reader | None = None
    has_input_path: bool = False
    has_output_path: bool = False
    parameters: Dynamic | None = None
    result_selector: Dynamic | None = None
    result_path: Callable[[Any, Any], Any] | None = None
    # JSONata processing
    arguments: query.Evaluator | None = None
    output: query.Evaluator | None = None
    # both: Assign (a JSONPath template or a JSONata evaluator)
    assign: Any = None
    retry: list[Retrier] = field(default_factory=list)
    catch: list[Catcher] = field(default_factory=list)
    # type-specific settings (compiled)
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Machine:
    start_at: str
    states: dict[str, State]
    jsonata: bool
    timeout_seconds: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def find_state(machine: Machine, name: str) -> State | None:
    """The state called `name` anywhere in the machine (its branches and processors too).

    State names are unique across a whole definition, so a name is enough to find the Map
    state whose processor a distributed Map's child executions run.
    """
    found = machine.states.get(name)
    if found is not None:
        return found
    for state in machine.states.values():
        for inner in state.spec.get("branches") or [state.spec.get("processor")]:
            if inner is not None and (hit := find_state(inner, name)) is not None:
                return hit
    return None


def compile_machine(definition: dict[str, Any], inherited: str = JSONPATH) -> Machine:
    language = definition.get("QueryLanguage") or inherited
    states = {
        name: _compile_state(name, body, body.get("QueryLanguage") or language)
        for name, body in definition["States"].items()
    }
    return Machine(
        start_at=definition["StartAt"],
        states=states,
        jsonata=language == JSONATA,
        timeout_seconds=definition.get("TimeoutSeconds"),
        raw=definition,
    )


def _compile_state(name: str, body: dict[str, Any], language: str) -> State:
    jsonata = language == JSONATA
    state = State(
        name=name,
        type=body["Type"],
        jsonata=jsonata,
        next=body.get("Next"),
        end=bool(body.get("End")),
        raw=body,
    )
    if jsonata:
        if "Arguments" in body:
            state.arguments = query.compile_value(body["Arguments"])
        if "Output" in body:
            state.output = query.compile_value(body["Output"])
        if "Assign" in body:
            state.assign = query.compile_value(body["Assign"])
    else:
        state.has_input_path = "InputPath" in body
        state.has_output_path = "OutputPath" in body
        state.input_path = compile_filter(body.get("InputPath", "$"))
        state.output_path = compile_filter(body.get("OutputPath", "$"))
        if "Parameters" in body:
            state.parameters = compile_template(body["Parameters"])
        if "ResultSelector" in body:
            state.result_selector = compile_template(body["ResultSelector"])
        state.result_path = compile_result_path(body.get("ResultPath", "$"))
        if "Assign" in body:
            state.assign = compile_template(body["Assign"])
    state.retry = [_retrier(r) for r in body.get("Retry") or []]
    state.catch = [_catcher(c, jsonata) for c in body.get("Catch") or []]
    state.spec = _SPECS.get(state.type, lambda body, jsonata, language: {})(body, jsonata, language)
    return state


def _retrier(body: dict[str, Any]) -> Retrier:
    return Retrier(
        errors=tuple(body["ErrorEquals"]),
        interval=body.get("IntervalSeconds", 1),
        max_attempts=body.get("MaxAttempts", 3),
        backoff=body.get("BackoffRate", 2.0),
        max_delay=body.get("MaxDelaySeconds"),
        jitter=body.get("JitterStrategy", "NONE"),
    )


def _catcher(body: dict[str, Any], jsonata: bool) -> Catcher:
    catcher = Catcher(errors=tuple(body["ErrorEquals"]), next=body["Next"])
    if jsonata:
        if "Output" in body:
            catcher.output = query.compile_value(body["Output"])
        if "Assign" in body:
            catcher.assign = query.compile_value(body["Assign"])
    else:
        catcher.result_path = compile_result_path(body.get("ResultPath", "$"))
        if "Assign" in body:
            catcher.assign = compile_template(body["Assign"])
    return catcher


def _pass(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    return {"has_result": "Result" in body, "result": body.get("Result")}


def _task(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    return {
        "resource": body["Resource"],
        "timeout": dynamic(body, "TimeoutSeconds", jsonata),
        "heartbeat": dynamic(body, "HeartbeatSeconds", jsonata),
        "credentials": body.get("Credentials"),
    }


def _choice(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    rules = []
    for rule in body["Choices"]:
        if jsonata:
            condition = query.compile_value(rule["Condition"])
            test = (lambda c: lambda states, variables: query.evaluate_top(c, states, variables))(
                condition
            )
            assign = query.compile_value(rule["Assign"]) if "Assign" in rule else None
        else:
            test = compile_rule(rule)
            assign = compile_template(rule["Assign"]) if "Assign" in rule else None
        output = query.compile_value(rule["Output"]) if jsonata and "Output" in rule else None
        rules.append(ChoiceRule(test=test, next=rule["Next"], assign=assign, output=output))
    return {"rules": rules, "default": body.get("Default")}


def _wait(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    return {
        "seconds": dynamic(body, "Seconds", jsonata),
        "timestamp": dynamic(body, "Timestamp", jsonata),
    }


def _fail(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    return {"error": dynamic(body, "Error", jsonata), "cause": dynamic(body, "Cause", jsonata)}


def _parallel(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    return {"branches": [compile_machine(branch, language) for branch in body["Branches"]]}


def _map(body: dict[str, Any], jsonata: bool, language: str) -> dict[str, Any]:
    processor = body.get("ItemProcessor") or body.get("Iterator")
    config = processor.get("ProcessorConfig") or {}
    distributed = config.get("Mode") == "DISTRIBUTED"
    spec: dict[str, Any] = {
        "processor": compile_machine(processor, language),
        "distributed": compile_distributed(body, config, jsonata) if distributed else None,
        "max_concurrency": dynamic(body, "MaxConcurrency", jsonata),
        "tolerated_count": dynamic(body, "ToleratedFailureCount", jsonata),
        "tolerated_percentage": dynamic(body, "ToleratedFailurePercentage", jsonata),
        "label": body.get("Label"),
    }
    selector = body.get("ItemSelector", body.get("Parameters"))
    if jsonata:
        spec["items"] = query.compile_value(body["Items"]) if "Items" in body else None
        spec["selector"] = query.compile_value(selector) if selector is not None else None
    else:
        spec["items_path"] = compile_filter(body.get("ItemsPath", "$"))
        spec["selector"] = compile_template(selector) if selector is not None else None
    return spec


_SPECS: dict[str, Callable[[dict[str, Any], bool, str], dict[str, Any]]] = {
    "Pass": _pass,
    "Task": _task,
    "Choice": _choice,
    "Wait": _wait,
    "Fail": _fail,
    "Parallel": _parallel,
    "Map": _map,
}
