"""SES's template language: the part of Handlebars that SES documents, rendered as SES renders it.

Why our own and not a library: SES renders without HTML escaping (its guide says so) and refuses a
template whose data lacks a referenced attribute ("Attribute 'x' is not present in the rendering
data." — a MissingRenderingAttribute error for TestRenderTemplate, a rendering failure that drops
the message for a send). Mustache renderers (chevron) have neither `{{#if}}`/`{{else}}` nor strict
lookups; pybars3 is unmaintained since 2019 and escapes by default. The subset is small:

- `{{a}}`, `{{a.b.c}}`, `{{this}}`, `{{this.a}}`, `{{../a}}`, `{{@root.a}}`, `{{{a}}}` (the same:
  nothing is escaped), `{{lookup a b}}`;
- blocks `{{#if}}`, `{{#unless}}`, `{{#each}}` (arrays and objects, `@index`, `@key`, `@first`,
  `@last`), `{{#with}}`, each with `{{else}}` and `{{else if ...}}` chains;
- inline partials `{{#* inline "name"}}...{{/inline}}` and `{{> name}}`;
- comments `{{! ...}}` / `{{!-- ... --}}`, whitespace control `{{~ ~}}`, and Handlebars'
  standalone rule: a block tag alone on its line leaves no blank line behind.

Values print as JavaScript prints them (`true`, `3`, `2.5`, arrays joined by commas); null prints
nothing. Truthiness is Handlebars': false, null, missing, "", 0 and [] are false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TAG = re.compile(r"\{\{(~?)(\{)?(!--.*?--|!.*?|.*?)(\})?(~?)\}\}", re.S)
_PARAM = re.compile(r'"([^"]*)"|\'([^\']*)\'|(\S+)')
_STANDALONE = {"block", "else", "close", "comment", "partial", "inline"}
_MISSING: Any = object()


class TemplateError(Exception):
    """The template itself is malformed (unclosed block, stray tag ...)."""


class RenderError(Exception):
    """The data lacks an attribute the template prints."""


@dataclass
class Tag:
    kind: str  # var, block, else, close, comment, partial
    name: str = ""
    params: list[str] = field(default_factory=list)
    trim_before: bool = False
    trim_after: bool = False


@dataclass
class Block:
    name: str
    params: list[str]
    body: list[Any]
    inverse: list[Any]


@dataclass
class Var:
    expr: str
    params: list[str]


@dataclass
class Partial:
    name: str


# -- parsing ------------------------------------------------------------------------------------


def _tag(match: re.Match[str]) -> Tag:
    inner = match.group(3).strip()
    tag = Tag("var", trim_before=bool(match.group(1)), trim_after=bool(match.group(5)))
    if inner.startswith("!"):
        tag.kind = "comment"
        return tag
    words = [a or b or c for a, b, c in _PARAM.findall(inner[1:] if inner[:1] in "#/>^" else inner)]
    if not words:
        raise TemplateError("empty expression {{}}")
    if inner.startswith("#"):
        if words[0] == "*" and words[1:2] == ["inline"]:
            tag.kind, tag.name, tag.params = "block", "inline", words[2:]
            return tag
        tag.kind = "block"
    elif inner.startswith("/"):
        tag.kind = "close"
    elif inner.startswith(">"):
        tag.kind = "partial"
    elif inner.startswith("^") or words[0] == "else":
        tag.kind = "else"
        words = words[1:] if words[0] == "else" else words
        tag.name, tag.params = (words[0], words[1:]) if words else ("", [])
        return tag
    tag.name, tag.params = words[0], words[1:]
    return tag


def _tokens(source: str) -> list[str | Tag]:
    tokens: list[str | Tag] = []
    position = 0
    for match in _TAG.finditer(source):
        tokens.append(source[position : match.start()])
        tokens.append(_tag(match))
        position = match.end()
    tokens.append(source[position:])
    if any("{{" in t for t in tokens if isinstance(t, str)):
        raise TemplateError("an opening {{ has no closing }}")
    _apply_whitespace_rules(tokens)
    return tokens


def _apply_whitespace_rules(tokens: list[str | Tag]) -> None:
    """`~` trims the neighbouring text; a standalone block tag takes its line with it."""
    for i in range(1, len(tokens), 2):
        tag = tokens[i]
        assert isinstance(tag, Tag)
        before, after = tokens[i - 1], tokens[i + 1]
        assert isinstance(before, str) and isinstance(after, str)
        if tag.trim_before:
            before = before.rstrip()
        if tag.trim_after:
            after = after.lstrip()
        if tag.kind in _STANDALONE:
            head = re.search(r"(^|\n)[ \t]*$", before)
            tail = re.match(r"[ \t]*(\r?\n|$)", after)
            first, last = i == 1, i == len(tokens) - 2
            if head and tail and (head.group(1) or first) and (tail.group(1) or last):
                before = before[: head.end(1)]
                after = after[tail.end() :]
        tokens[i - 1], tokens[i + 1] = before, after


def parse(source: str) -> tuple[list[Any], dict[str, list[Any]]]:
    """The node tree of a template and its inline partials; TemplateError when malformed."""
    partials: dict[str, list[Any]] = {}
    nodes, _, end = _parse_until(_tokens(source), 0, None, partials)
    if end is not None:
        raise TemplateError(f"unexpected {{{{{end.kind} {end.name}}}}}")
    return nodes, partials


def _parse_until(
    tokens: list[str | Tag], i: int, closing: str | None, partials: dict[str, list[Any]]
) -> tuple[list[Any], int, Tag | None]:
    nodes: list[Any] = []
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if isinstance(token, str):
            if token:
                nodes.append(token)
        elif token.kind == "var":
            nodes.append(Var(token.name, token.params))
        elif token.kind == "partial":
            nodes.append(Partial(token.name.strip("\"'")))
        elif token.kind == "block":
            block, i = _parse_block(tokens, i, token.name, token.params, partials)
            if block.name == "inline" and block.params:
                partials[block.params[0]] = block.body
            else:
                nodes.append(block)
        elif token.kind in ("else", "close"):
            if closing is None or (token.kind == "close" and token.name != closing):
                raise TemplateError(f"{{{{/{token.name}}}}} closes no open block")
            return nodes, i, token
    if closing is not None:
        raise TemplateError(f"{{{{#{closing}}}}} is never closed")
    return nodes, i, None


def _parse_block(
    tokens: list[str | Tag],
    i: int,
    name: str,
    params: list[str],
    partials: dict[str, list[Any]],
    closing: str = "",
) -> tuple[Block, int]:
    """A block from after its opening tag to after its closing tag; `{{else if x}}` nests."""
    closing = closing or name
    body, i, end = _parse_until(tokens, i, closing, partials)
    inverse: list[Any] = []
    if end is not None and end.kind == "else":
        if end.name:  # {{else if x}}: the rest is a block of its own, closed by our close tag
            chained, i = _parse_block(tokens, i, end.name, end.params, partials, closing)
            inverse = [chained]
        else:
            inverse, i, end = _parse_until(tokens, i, closing, partials)
            if end is None or end.kind != "close":
                raise TemplateError(f"{{{{#{name}}}}} has two {{{{else}}}}")
    return Block(name, params, body, inverse), i


# -- rendering ----------------------------------------------------------------------------------


@dataclass
class Frame:
    value: Any
    data: dict[str, Any]
    parent: Frame | None = None


def render(source: str, data: dict[str, Any]) -> str:
    """Render a template; TemplateError when it is malformed, RenderError when data lacks a value."""
    nodes, partials = parse(source)
    out: list[str] = []
    _render(nodes, Frame(data, {"root": data}), partials, out)
    return "".join(out)


def _render(nodes: list[Any], frame: Frame, partials: dict[str, list[Any]], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Var):
            out.append(_text(_value(node, frame)))
        elif isinstance(node, Block):
            _render_block(node, frame, partials, out)
        elif isinstance(node, Partial):
            if node.name not in partials:
                raise RenderError(f"The partial {node.name} could not be found")
            _render(partials[node.name], frame, partials, out)


def _value(node: Var, frame: Frame) -> Any:
    if node.expr == "lookup" and len(node.params) == 2:
        container = _resolve(node.params[0], frame)
        member = _resolve(node.params[1], frame)
        found = _member(container, member if isinstance(member, str) else _text(member))
        return None if found is _MISSING else found
    if node.params:
        raise RenderError(f'Missing helper: "{node.expr}"')
    found = _resolve(node.expr, frame)
    if found is _MISSING:
        raise RenderError(f"Attribute '{node.expr}' is not present in the rendering data.")
    return found


def _render_block(
    block: Block, frame: Frame, partials: dict[str, list[Any]], out: list[str]
) -> None:
    name = block.name
    subject = _resolve(block.params[0], frame) if block.params else _MISSING
    if name in ("if", "unless"):
        chosen = block.body if _truthy(subject) == (name == "if") else block.inverse
        _render(chosen, frame, partials, out)
    elif name == "with":
        if _truthy(subject):
            _render(block.body, Frame(subject, frame.data, frame), partials, out)
        else:
            _render(block.inverse, frame, partials, out)
    elif name == "each":
        items = _items(subject)
        if not items:
            _render(block.inverse, frame, partials, out)
        for index, (item_key, item) in enumerate(items):
            data = {**frame.data, "index": index, "key": item_key}
            data.update(first=index == 0, last=index == len(items) - 1)
            _render(block.body, Frame(item, data, frame), partials, out)
    else:
        raise RenderError(f'Missing helper: "{name}"')


def _items(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return list(value.items())
    return []


def _resolve(expr: str, frame: Frame) -> Any:
    """The value an expression names: a path, a literal, or a @data variable."""
    if expr[:1] in "\"'":
        return expr[1:-1]
    if re.fullmatch(r"-?\d+(\.\d+)?", expr):
        return float(expr) if "." in expr else int(expr)
    if expr in ("true", "false"):
        return expr == "true"
    if expr in ("null", "undefined"):
        return None
    while expr.startswith("../"):
        expr = expr[3:]
        frame = frame.parent or frame
    if expr.startswith("@"):
        head, _, rest = expr[1:].partition(".")
        value = frame.data.get(head, _MISSING)
        return _path(value, rest) if rest else value
    if expr in ("this", "."):
        return frame.value
    if expr.startswith(("this.", "this/", "./")):
        expr = expr.split("/", 1)[1] if expr.startswith("./") else expr[5:]
    return _path(frame.value, expr)


def _path(value: Any, path: str) -> Any:
    for part in re.split(r"[./]", path):
        value = _member(value, part)
        if value is _MISSING:
            return _MISSING
    return value


def _member(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name, _MISSING)
    if isinstance(value, list) and name.isdigit() and int(name) < len(value):
        return value[int(name)]
    if isinstance(value, (list, str)) and name == "length":
        return len(value)
    return _MISSING


def _truthy(value: Any) -> bool:
    if value is _MISSING or value is None or value is False:
        return False
    if isinstance(value, (str, list)) and not value:
        return False
    return not (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)


def _text(value: Any) -> str:
    """A value printed as JavaScript's String() prints it."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)
