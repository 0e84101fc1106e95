"""What the HTTP API modules share: document kinds, errors and pages."""

from __future__ import annotations

from typing import Any

from cloudlet.protocols.errors import AwsError

API = "apigatewayv2.api"
ROUTE = "apigatewayv2.route"
INTEGRATION = "apigatewayv2.integration"
AUTHORIZER = "apigatewayv2.authorizer"
STAGE = "apigatewayv2.stage"
DEPLOYMENT = "apigatewayv2.deployment"
DEFAULT_STAGE = "$default"


def not_found(kind: str, ident: str = "") -> AwsError:
    return AwsError(
        "NotFoundException",
        f"Invalid {kind} identifier specified {ident}".strip(),
        fields={"ResourceType": kind},
    )


def bad(message: str) -> AwsError:
    return AwsError("BadRequestException", message)


def page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    size = int(params.get("MaxResults") or 100)
    start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
    out: dict[str, Any] = {"Items": items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def pick(params: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: params[k] for k in fields if params.get(k) is not None}
