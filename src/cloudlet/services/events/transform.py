"""What a target receives: the event, `Input`, `InputPath` or `InputTransformer`, as AWS builds it.

- No setting: the event, as compact JSON.
- `Input`: that text, unchanged.
- `InputPath`: the part of the event a JSON path selects, as JSON.
- `InputTransformer`: variables taken from the event by JSON paths (`InputPathsMap`) are put into
  `InputTemplate`. A template surrounded by braces is JSON: a variable outside quotes becomes its
  JSON value (`"RUNNING"`, `5`, `{...}`; `null` when its path found nothing), a variable inside a
  quoted string becomes its text without quotes and without escaping (AWS does not escape values),
  and the result is minified. Any other template (a quoted string, usually) gets the text of each
  value as it is. Reserved variables: `aws.events.rule-arn`, `aws.events.rule-name`,
  `aws.events.event.ingestion-time` (ISO 8601), `aws.events.event` (the event without `detail`) and
  `aws.events.event.json` (the whole event); the last two are inserted as JSON, unescaped.

JSON paths are the subset AWS evaluates: `$`, `.name` (dashes, underscores, slashes ...),
`['name']`, array indexes `[0]` and wildcards `.*` / `[*]` (which collect a list).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-:/]+)>")
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
RESERVED = (
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
)


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[Any]:
    """`$.a.b[0]` -> ["a", "b", 0]; `*` stands for a wildcard step."""
    if not path.startswith("$"):
        raise PathError(path)
    steps: list[Any] = []
    position = 1
    while position < len(path):
        match = _TOKEN.match(path, position)
        if not match:
            raise PathError(path)
        name, index, quoted, double = match.groups()
        if index is not None:
            steps.append(int(index))
        elif match.group(0) == "[*]" or name == "*":
            steps.append("*")
        else:
            steps.append(name if name is not None else quoted if quoted is not None else double)
        position = match.end()
    return steps


def select(document: Any, path: str) -> Any:
    """The value a path selects, a list when it has a wildcard, or `_MISSING`."""
    try:
        steps = parse_path(path)
    except PathError:
        return _MISSING
    found = _walk([document], steps)
    if "*" in steps:
        return found
    return found[0] if found else _MISSING


def _walk(values: list[Any], steps: list[Any]) -> list[Any]:
    for step in steps:
        following: list[Any] = []
        for value in values:
            if step == "*":
                if isinstance(value, dict):
                    following += value.values()
                elif isinstance(value, list):
                    following += value
            elif isinstance(step, int):
                if isinstance(value, list) and step < len(value):
                    following.append(value[step])
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        values = following
    return values


def target_input(target: dict[str, Any], event: dict[str, Any], event_json: str, rule: Any) -> str:
    """The text a target receives for `event` (`event_json` is its compact JSON, made once)."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        value = select(event, target["InputPath"])
        return "null" if value is _MISSING else orjson.dumps(value).decode()
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(transformer, event, rule)
    return event_json


def transform(transformer: dict[str, Any], event: dict[str, Any], rule: Any) -> str:
    """Apply an InputTransformer. `rule` has `.arn`, `.name` and `.ingested_iso`."""
    values: dict[str, Any] = {
        name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    values["aws.events.rule-arn"] = rule.arn
    values["aws.events.rule-name"] = rule.name
    values["aws.events.event.ingestion-time"] = rule.ingested_iso
    raw = {"aws.events.event", "aws.events.event.json"}
    values["aws.events.event"] = {k: v for k, v in event.items() if k != "detail"}
    values["aws.events.event.json"] = event
    template = transformer["InputTemplate"]
    is_json = template.lstrip().startswith("{")
    text = render(template, values, is_json, raw)
    if is_json:
        try:
            return orjson.dumps(orjson.loads(text)).decode()
        except orjson.JSONDecodeError:
            return text
    return text


def render(template: str, values: dict[str, Any], is_json: bool, raw: set[str]) -> str:
    """Replace each known `<name>`; whether it sits inside a JSON string decides its form."""
    out: list[str] = []
    quoted = False
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        before = template[position : match.start()]
        quoted = _inside_string(before, quoted)
        out.append(before)
        name = match.group(1)
        if name not in values:
            out.append(match.group(0))
        else:
            out.append(_format(values[name], quoted, is_json, name in raw))
        position = match.end()
    out.append(template[position:])
    return "".join(out)


def _inside_string(text: str, quoted: bool) -> bool:
    """Whether a JSON string is open after `text`, given whether one was open before it."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    return quoted


def _format(value: Any, quoted: bool, is_json: bool, raw_json: bool) -> str:
    if value is _MISSING:
        return "" if quoted or not is_json else "null"
    if raw_json or not isinstance(value, str):
        return orjson.dumps(value).decode()
    if quoted or not is_json:
        return value
    return orjson.dumps(value).decode()
