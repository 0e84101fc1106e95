"""Matching a request path against a deployed REST API's resource tree.

The tree is compiled once per deployment. At each level a literal path part is preferred to a
`{variable}`, and a variable to a greedy `{proxy+}`, backtracking when a branch leads nowhere; a
resource is chosen only if it has the request's method or `ANY`, so `POST /pets` falls through to
`/{proxy+}` when `/pets` serves only GET. Path parameters come back URL-decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass(slots=True)
class _Node:
    resource: dict[str, Any] | None = None
    literal: dict[str, _Node] = field(default_factory=dict)
    variable: tuple[str, _Node] | None = None
    greedy: tuple[str, _Node] | None = None


@dataclass(slots=True)
class Match:
    resource: dict[str, Any]
    method: dict[str, Any]
    path_parameters: dict[str, str]


class RouteTree:
    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.root = _Node()
        for resource in resources:
            node = self.root
            for part in [p for p in resource["path"].split("/") if p]:
                node = self._child(node, part)
            node.resource = resource

    @staticmethod
    def _child(node: _Node, part: str) -> _Node:
        if part.startswith("{") and part.endswith("+}"):
            if node.greedy is None:
                node.greedy = (part[1:-2], _Node())
            return node.greedy[1]
        if part.startswith("{") and part.endswith("}"):
            if node.variable is None:
                node.variable = (part[1:-1], _Node())
            return node.variable[1]
        return node.literal.setdefault(part, _Node())

    def match(self, method: str, path: str) -> Match | None:
        """The resource and method serving `method path`, or None."""
        segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
        if segments and segments[-1] == "":
            segments.pop()  # a trailing slash names the same resource
        params: dict[str, str] = {}
        return self._walk(self.root, segments, 0, method, params)

    def _walk(
        self, node: _Node, segments: list[str], i: int, verb: str, params: dict[str, str]
    ) -> Match | None:
        if i == len(segments):
            return _serve(node.resource, verb, params)
        segment = segments[i]
        child = node.literal.get(segment)
        if child is not None:
            found = self._walk(child, segments, i + 1, verb, params)
            if found is not None:
                return found
        if node.variable is not None and segment:
            name, child = node.variable
            params[name] = unquote(segment)
            found = self._walk(child, segments, i + 1, verb, params)
            if found is not None:
                return found
            del params[name]
        if node.greedy is not None:
            name, child = node.greedy
            rest = "/".join(segments[i:])
            if rest:
                return _serve(child.resource, verb, {**params, name: unquote(rest)})
        return None


def _serve(resource: dict[str, Any] | None, verb: str, params: dict[str, str]) -> Match | None:
    if resource is None:
        return None
    methods = resource.get("resourceMethods") or {}
    method = methods.get(verb) or methods.get("ANY")
    if method is None:
        return None
    return Match(resource, method, dict(params))
