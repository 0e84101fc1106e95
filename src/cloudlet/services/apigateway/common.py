"""What the REST API control plane shares: document kinds and keys, ids, errors, pages, and
the JSON-Patch-like `patchOperations` every Update* operation takes.

Documents hold a resource in the API's own member names (`id`, `name`, `createdDate` ...), so a
stored document is already the operation's answer: the codec writes only members the output shape
has, and internal fields (prefixed `_`) never reach a client.
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.model import Shape, load_service_model

API = "apigateway.restapi"
RESOURCE = "apigateway.resource"
MODEL = "apigateway.model"
VALIDATOR = "apigateway.validator"
AUTHORIZER = "apigateway.authorizer"
GATEWAY_RESPONSE = "apigateway.gwresponse"
DEPLOYMENT = "apigateway.deployment"
STAGE = "apigateway.stage"
API_KEY = "apigateway.apikey"
KEY_VALUE = "apigateway.keyvalue"  # account/region/value -> {"id"}: the data plane's lookup
USAGE_PLAN = "apigateway.usageplan"
PLAN_KEY = "apigateway.plankey"
ACCOUNT = "apigateway.account"
#: api id -> {"account", "region", "kind": "REST" | "HTTP"}; REST and HTTP APIs share one id
#: space and one invoke URL form, so the edge finds either from the id alone
INDEX = "apigateway.index"

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int = 10) -> str:
    """An identifier in AWS's format: lowercase letters and digits (10 for APIs, resources and
    keys; 6 for deployments, authorizers, models, validators and usage plans)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def api_key_value() -> str:
    """A generated API key value: 40 letters and digits, as AWS generates them."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def not_found(message: str = "Invalid REST API identifier specified") -> AwsError:
    return AwsError("NotFoundException", message)


def bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message)


def scope(account: str, region: str, *parts: str) -> str:
    return "/".join((account, region, *parts))


def page(items: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    """`{"items", "position"}`: `limit` items (default 25, at most 500) from `position`."""
    limit = min(int(params.get("limit") or 25), 500)
    position = params.get("position")
    start = int(position) if position and position.isdigit() else 0
    chunk = items[start : start + limit]
    out: dict[str, Any] = {"items": chunk}
    if start + limit < len(items):
        out["position"] = str(start + limit)
    return out


def shape(name: str) -> Shape:
    return load_service_model("apigateway").shape(name)


# -- patch operations ----------------------------------------------------------------------------


def pointer(path: str) -> list[str]:
    """`/binaryMediaTypes/image~1png` -> ["binaryMediaTypes", "image/png"] (RFC 6901 escapes)."""
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def coerce(target: Shape | None, value: Any) -> Any:
    """A patch value (always text on the wire) as the member's type."""
    if target is None or not isinstance(value, str):
        return value
    kind = target.type
    try:
        if kind == "boolean":
            return value.lower() == "true"
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("double", "float"):
            return float(value)
    except ValueError:
        raise bad_request(f"Invalid value for {target.name}: {value}") from None
    return value


def _child(parent: Shape | None, name: str) -> Shape | None:
    if parent is None:
        return None
    if parent.type == "structure":
        return parent.members.get(name)
    if parent.type == "map":
        return parent.value
    if parent.type == "list":
        return parent.member
    return None


def apply_patch(
    doc: dict[str, Any],
    operations: list[dict[str, Any]] | None,
    resource: str,
    allowed: frozenset[str],
) -> dict[str, Any]:
    """A copy of `doc` with `operations` applied; `allowed` are the patchable top-level members
    of the `resource` shape (AWS refuses any other path with "Invalid patch path")."""
    out = copy.deepcopy(doc)
    root = shape(resource)
    for op in operations or ():
        kind, path = op.get("op"), op.get("path") or ""
        parts = pointer(path)
        if not parts or parts[0] not in allowed:
            raise bad_request(f"Invalid patch path {path}")
        if kind in ("move", "copy"):
            source = pointer(op.get("from") or "")
            value = _get(out, source)
            if kind == "move":
                _remove(out, source)
            _set(out, parts, value, root)
        elif kind == "remove":
            _remove(out, parts)
        elif kind in ("add", "replace"):
            _set(out, parts, op.get("value"), root, add=kind == "add")
        elif kind != "test":
            raise bad_request(
                f"Invalid patch operation specified. Must be one of: [add, remove, move, test, replace, copy] but was {kind}"
            )
    return out


def _get(doc: dict[str, Any], parts: list[str]) -> Any:
    node: Any = doc
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _set(
    doc: dict[str, Any], parts: list[str], value: Any, root: Shape, *, add: bool = False
) -> None:
    node: Any = doc
    target: Shape | None = root
    for part in parts[:-1]:
        target = _child(target, part)
        if isinstance(node.get(part), list) or (target is not None and target.type == "list"):
            # `add /binaryMediaTypes/image~1png`: the last segment is the item itself; `replace`
            # swaps that item for the value
            items = node.setdefault(part, [])
            if not add and parts[-1] in items and isinstance(value, str):
                items[items.index(parts[-1])] = value
            elif parts[-1] not in items:
                items.append(parts[-1])
            return
        node = node.setdefault(part, {})
    last = parts[-1]
    leaf = _child(target, last)
    if leaf is not None and leaf.type == "list" and isinstance(value, str) and add:
        items = node.setdefault(last, [])
        if value not in items:
            items.append(value)
        return
    node[last] = coerce(leaf, value)


def _remove(doc: dict[str, Any], parts: list[str]) -> None:
    node: Any = doc
    for part in parts[:-1]:
        child = node.get(part) if isinstance(node, dict) else None
        if isinstance(child, list):
            if parts[-1] in child:
                child.remove(parts[-1])
            return
        if child is None:
            return
        node = child
    if isinstance(node, dict):
        node.pop(parts[-1], None)
