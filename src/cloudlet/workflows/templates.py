"""JSONPath-mode data processing: path readers, payload templates and the input/output filters.

Everything is compiled when the definition loads. A *reader* is a closure
`(data, context, variables) -> value` for one `$...` reference:

- `$.a.b` reads the state's (effective) input,
- `$$.Execution.Id` reads the context object,
- `$name.field` reads a workflow variable (`Assign`),

and a *template* (Parameters, ResultSelector, ItemSelector, Arguments of a Parallel ...) is a
closure that builds the payload, evaluating the `"key.$"` fields (paths or intrinsic calls) and
copying the static parts. Templates without dynamic parts evaluate to the constant itself.

Failures carry AWS's causes; the engine prefixes them with the state's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from cloudlet.workflows import intrinsics, query
from cloudlet.workflows.errors import RESULT_PATH, RUNTIME, StatesError
from cloudlet.workflows.jsonpath import (
    Path,
    PathError,
    PathNotFound,
    ReferenceError_,
    compile_path,
    set_reference,
)

Reader = Callable[[Any, Any, Any], Any]
Template = Callable[[Any, Any, Any], Any]
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class Variables:
    """Workflow variables visible to one frame: its own, then its enclosing frames'."""

    __slots__ = ("parent", "values")

    def __init__(self, values: dict[str, Any] | None = None, parent: Variables | None = None):
        self.values = values if values is not None else {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Variables | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            scope = scope.parent
        raise KeyError(name)

    def merged(self) -> dict[str, Any]:
        """Every visible variable (inner names hide outer ones): JSONata's bindings."""
        chain: list[dict[str, Any]] = []
        scope: Variables | None = self
        while scope is not None:
            chain.append(scope.values)
            scope = scope.parent
        out: dict[str, Any] = {}
        for values in reversed(chain):
            out.update(values)
        return out

    def child(self) -> Variables:
        return Variables({}, self)


def compact(value: Any) -> str:
    """JSON as AWS quotes it in causes: compact."""
    return orjson.dumps(value).decode()


# -- readers --------------------------------------------------------------------------------
def compile_reader(text: str) -> Reader:
    """A reader for a `$`, `$$` or `$variable` reference (PathError when it is none)."""
    if text.startswith("$$"):
        path = compile_path("$" + text[2:])
        return _path_reader(path, text, context=True)
    match = _VARIABLE.match(text)
    if match:
        name = match.group(1)
        rest = compile_path("$" + text[match.end() :])
        return _variable_reader(name, rest, text)
    return _path_reader(compile_path(text), text, context=False)


def _path_reader(path: Path, text: str, context: bool) -> Reader:
    if not path.steps:
        return (lambda d, c, v: c) if context else (lambda d, c, v: d)
    get = path.get

    def read(data: Any, ctx: Any, variables: Any) -> Any:
        try:
            return get(ctx if context else data)
        except PathNotFound as missing:
            raise PathFailure(text, str(missing)) from None

    return read


def _variable_reader(name: str, rest: Path, text: str) -> Reader:
    def read(data: Any, ctx: Any, variables: Variables) -> Any:
        try:
            value = variables.lookup(name)
        except (KeyError, AttributeError):
            raise StatesError(RUNTIME, f"The variable '${name}' is not defined.") from None
        if not rest.steps:
            return value
        try:
            return rest.get(value)
        except PathNotFound as missing:
            raise PathFailure(text, str(missing)) from None

    return read


class PathFailure(Exception):
    """A path found nothing; the engine turns it into States.Runtime with the field's name."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(detail)
        self.path = path
        self.detail = detail


def compile_value_reference(text: str) -> Reader:
    """The value of a `"field.$"`: a path, a variable or an intrinsic function call."""
    if intrinsics.looks_like_call(text):
        return intrinsics.compile_call(text, compile_reader)
    return compile_reader(text)


# -- templates ------------------------------------------------------------------------------
def compile_template(template: Any) -> Template:
    """A payload template: `"x.$"` fields evaluated, everything else copied as is."""
    if not _dynamic(template):
        return lambda d, c, v: template
    if isinstance(template, list):
        items = [compile_template(item) for item in template]
        return lambda d, c, v: [item(d, c, v) for item in items]
    fields: list[tuple[str, bool, Any]] = []
    for key, value in template.items():
        if key.endswith(".$") and isinstance(value, str):
            fields.append((key[:-2], True, _field_reader(key, value)))
        else:
            fields.append((key, False, compile_template(value)))

    def build(data: Any, ctx: Any, variables: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _dynamic, reader in fields:
            out[name] = reader(data, ctx, variables)
        return out

    return build


def _field_reader(key: str, text: str) -> Reader:
    reader = compile_value_reference(text)

    def read(data: Any, ctx: Any, variables: Any) -> Any:
        try:
            return reader(data, ctx, variables)
        except PathFailure as failure:
            source = ctx if failure.path.startswith("$$") else data
            where = "context object" if failure.path.startswith("$$") else "input"
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{failure.path}' specified for the field '{key}' could not be "
                f"found in the {where} '{compact(source)}'",
            ) from None

    return read


def _dynamic(template: Any) -> bool:
    if isinstance(template, dict):
        return any(
            (k.endswith(".$") and isinstance(v, str)) or _dynamic(v) for k, v in template.items()
        )
    if isinstance(template, list):
        return any(_dynamic(item) for item in template)
    return False


def check_template(template: Any, where: str) -> list[tuple[str, str]]:
    """Problems of a template, as (message, location) pairs: `.$` values that do not compile."""
    problems: list[tuple[str, str]] = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    problems.append(
                        (f"The value for the field '{key}' must be a STRING", f"{where}/{key}")
                    )
                    continue
                try:
                    compile_value_reference(value)
                except (PathError, intrinsics.IntrinsicSyntaxError):
                    problems.append(
                        (
                            f"The value for the field '{key}' must be a valid JSONPath or a "
                            "valid intrinsic function call",
                            f"{where}/{key}",
                        )
                    )
            else:
                problems.extend(check_template(value, f"{where}/{key}"))
    elif isinstance(template, list):
        for i, item in enumerate(template):
            problems.extend(check_template(item, f"{where}[{i}]"))
    return problems


# -- InputPath / ResultPath / OutputPath ----------------------------------------------------
_UNSET = object()


def compile_filter(text: Any) -> Reader | None:
    """InputPath / OutputPath / ItemsPath: None means "null" (an empty object)."""
    if text is None:
        return None
    if text == "$":
        return lambda d, c, v: d
    reader = compile_reader(text)

    def read(data: Any, ctx: Any, variables: Any) -> Any:
        try:
            return reader(data, ctx, variables)
        except PathFailure as failure:
            raise StatesError(
                RUNTIME, f"Invalid path '{failure.path}' : {failure.detail}"
            ) from None

    return read


def apply_filter(reader: Reader | None, data: Any, ctx: Any, variables: Any) -> Any:
    return {} if reader is None else reader(data, ctx, variables)


def compile_result_path(text: Any) -> Callable[[Any, Any], Any]:
    """ResultPath: where the result goes in the state's raw input. `null` discards the result."""
    if text is None:
        return lambda data, result: data
    path = compile_path(text)
    if not path.steps:
        return lambda data, result: result

    def place(data: Any, result: Any) -> Any:
        try:
            return set_reference(data, path, result)
        except ReferenceError_:
            raise StatesError(
                RESULT_PATH,
                f'Unable to apply ResultPath "{text}" to input "{compact(data)}"',
            ) from None

    return place


#: a state's setting, evaluated when the state runs: (data or $states, variables, context)
Dynamic = Callable[[Any, Any, Any], Any]


def dynamic(body: dict[str, Any], name: str, jsonata: bool) -> Dynamic | None:
    """A setting given literally (`Seconds`), by a path (`SecondsPath`) or by an expression."""
    if jsonata:
        if name not in body:
            return None
        evaluate = query.compile_value(body[name])
        return lambda states, variables, _ctx: query.evaluate_top(evaluate, states, variables)
    if name + "Path" in body:
        compile_one = compile_value_reference if name in ("Error", "Cause") else compile_reader
        read = compile_one(body[name + "Path"])
        return lambda data, variables, ctx: read(data, ctx, variables)
    if name in body:
        value = body[name]
        return lambda data, variables, ctx: value
    return None
