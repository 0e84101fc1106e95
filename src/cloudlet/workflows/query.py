"""JSONata mode: `{% expression %}` strings, `$states`, and AWS's extra functions.

A state (or the whole machine) with `"QueryLanguage": "JSONata"` writes its data processing as
JSONata: Arguments, Output, Assign, Items, Condition, Seconds, TimeoutSeconds ... hold values in
which any string `{% ... %}` is an expression. Expressions see `$states` (`input`, `result`,
`errorOutput`, `context`) and the workflow variables as `$name`.

The `jsonata-python` package is imported on first use, so machines written in JSONPath never
pay for it. Expressions are compiled once per definition and cached by their text.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from cloudlet.workflows.errors import QUERY_EVALUATION, StatesError

#: (states, variables) -> value; `states` is the `$states` object
Evaluator = Callable[[dict[str, Any], dict[str, Any]], Any]
_UNDEFINED = object()


class QuerySyntaxError(ValueError):
    """An expression that JSONata cannot parse."""


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def has_expressions(value: Any) -> bool:
    if isinstance(value, str):
        return is_expression(value)
    if isinstance(value, dict):
        return any(has_expressions(v) for v in value.values())
    if isinstance(value, list):
        return any(has_expressions(v) for v in value)
    return False


@functools.lru_cache(maxsize=2048)
def _compiled(text: str) -> Any:
    import jsonata
    from jsonata.jexception import JException

    try:
        expression = jsonata.Jsonata(text)
    except JException as error:
        raise QuerySyntaxError(f"{text}: {error}") from None
    for name, implementation in _FUNCTIONS.items():
        expression.register_lambda(name, implementation)
    expression.set_output_convert_nulls(False)  # JSON null stays apart from "undefined"
    return expression


def check_expression(value: str) -> str | None:
    """Why an `{% %}` string does not parse, or None."""
    try:
        _compiled(value[2:-2].strip())
    except QuerySyntaxError as error:
        return str(error)
    return None


def compile_value(template: Any) -> Evaluator:
    """A JSONata-mode value: expressions anywhere inside, literals elsewhere."""
    if not has_expressions(template):
        return lambda states, variables: template
    if isinstance(template, str):
        return _expression(template[2:-2].strip())
    if isinstance(template, list):
        items = [compile_value(item) for item in template]
        return lambda s, v: [x for x in (item(s, v) for item in items) if x is not _UNDEFINED]
    fields = [(key, compile_value(value)) for key, value in template.items()]

    def build(states: dict[str, Any], variables: dict[str, Any]) -> Any:
        out = {}
        for key, evaluate in fields:
            value = evaluate(states, variables)
            if value is not _UNDEFINED:
                out[key] = value
        return out

    return build


def _expression(text: str) -> Evaluator:
    def evaluate(states: dict[str, Any], variables: dict[str, Any]) -> Any:
        from jsonata.jexception import JException
        from jsonata.utils import Utils

        expression = _compiled(text)
        bindings = {k: (Utils.NULL_VALUE if v is None else v) for k, v in variables.items()}
        bindings["states"] = states
        try:
            value = expression.evaluate(None, bindings)
        except JException as error:
            raise StatesError(
                QUERY_EVALUATION,
                f"An error occurred while evaluating the JSONata expression '{text}': {error}",
            ) from None
        except StatesError:
            raise
        except Exception as error:  # jsonata-python raises plain errors for some type mistakes
            raise StatesError(
                QUERY_EVALUATION,
                f"An error occurred while evaluating the JSONata expression '{text}': {error}",
            ) from None
        return _UNDEFINED if value is None else _plain(value, Utils.NULL_VALUE)

    return evaluate


def _plain(value: Any, null: Any = None) -> Any:
    """JSON values: JSONata's null as None, whole floats back to ints (JSONata computes in
    floats), sequences as lists."""
    if value is null:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_plain(v, null) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, null) for k, v in value.items()}
    return value


def evaluate_top(evaluator: Evaluator, states: dict[str, Any], variables: dict[str, Any]) -> Any:
    """A whole field's value: undefined becomes null."""
    value = evaluator(states, variables)
    return None if value is _UNDEFINED else value


# -- AWS's functions ------------------------------------------------------------------------
def _partition(items: Any, size: Any) -> list[Any]:
    if not isinstance(items, list) or not isinstance(size, int | float) or size < 1:
        raise StatesError(QUERY_EVALUATION, "$partition expects an array and a positive size")
    n = int(size)
    return [items[i : i + n] for i in range(0, len(items), n)]


def _range(start: Any, end: Any, step: Any = 1) -> list[int]:
    start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise StatesError(QUERY_EVALUATION, "$range step must not be 0")
    return list(range(start, end + (1 if step > 0 else -1), step))


def _hash(value: Any, algorithm: str = "SHA-256") -> str:
    names = {
        "MD5": "md5",
        "SHA-1": "sha1",
        "SHA-256": "sha256",
        "SHA-384": "sha384",
        "SHA-512": "sha512",
    }
    if algorithm not in names:
        raise StatesError(QUERY_EVALUATION, f"$hash does not know the algorithm {algorithm}")
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return hashlib.new(names[algorithm], text.encode()).hexdigest()


def _random(seed: Any = None) -> float:
    return random.Random(seed).random() if seed is not None else random.random()


def _parse(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise StatesError(QUERY_EVALUATION, "$parse expects a JSON string") from None


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": lambda: str(uuid.uuid4()),
    "parse": _parse,
}
