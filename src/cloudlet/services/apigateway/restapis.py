"""REST APIs and their resource trees, the account settings and tags.

An API is a document `apigateway.restapi`; each resource of its tree is one `apigateway.resource`
(`account/region/api/resource`) holding its methods, so changing a method rewrites one small
document, never the whole API. A resource keeps its full `path`; moving or renaming one rewrites
its subtree's paths.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    ACCOUNT,
    API,
    AUTHORIZER,
    DEPLOYMENT,
    GATEWAY_RESPONSE,
    INDEX,
    MODEL,
    RESOURCE,
    STAGE,
    USAGE_PLAN,
    VALIDATOR,
    apply_patch,
    bad_request,
    conflict,
    new_id,
    not_found,
    page,
    scope,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

_API_PATCH = frozenset(
    (
        "name",
        "description",
        "version",
        "binaryMediaTypes",
        "minimumCompressionSize",
        "apiKeySource",
        "endpointConfiguration",
        "policy",
        "disableExecuteApiEndpoint",
    )
)
_PATH_PART = re.compile(r"^(\{[A-Za-z0-9_.-]+\+?\}|[A-Za-z0-9_.:@~$&'()*,;=!-]+)$")
#: the models every new REST API starts with, as on AWS
_DEFAULT_MODELS = (
    ("Empty", "This is a default empty schema model", {"title": "Empty Schema", "type": "object"}),
    (
        "Error",
        "This is a default error schema model",
        {
            "title": "Error Schema",
            "type": "object",
            "properties": {"message": {"type": "string"}},
        },
    ),
)
#: what an API owns, deleted with it
_API_KINDS = (RESOURCE, MODEL, VALIDATOR, AUTHORIZER, GATEWAY_RESPONSE, DEPLOYMENT, STAGE)


def resource_view(doc: dict[str, Any], embed: bool) -> dict[str, Any]:
    """A resource as GetResource(s) answers: its methods' names only, unless `embed=methods`."""
    methods = doc.get("resourceMethods")
    if not methods or embed:
        return doc
    return {**doc, "resourceMethods": {name: {} for name in methods}}


class RestApiOperations:
    # -- lookups -------------------------------------------------------------------------------
    def api_doc(self: ApiGatewayProvider, ctx: RequestContext, api_id: str) -> dict[str, Any]:
        doc = self.store.get(API, scope(ctx.account, ctx.region, api_id))
        if doc is None:
            raise not_found(f"Invalid API identifier specified {ctx.account}:{api_id}")
        return doc

    def resource_doc(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, resource_id: str
    ) -> dict[str, Any]:
        self.api_doc(ctx, api_id)
        doc = self.store.get(RESOURCE, scope(ctx.account, ctx.region, api_id, resource_id))
        if doc is None:
            raise not_found("Invalid Resource identifier specified")
        return doc

    def resources_of(
        self: ApiGatewayProvider, account: str, region: str, api_id: str
    ) -> list[dict[str, Any]]:
        """Every resource of an API, by path (root first)."""
        docs = [d for _, d in self.store.scan(RESOURCE, scope(account, region, api_id, ""))]
        return sorted(docs, key=lambda d: d["path"])

    def save_resource(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, doc: dict
    ) -> None:
        self.store.put(RESOURCE, scope(ctx.account, ctx.region, api_id, doc["id"]), doc)

    # -- REST APIs -----------------------------------------------------------------------------
    @committed
    def create_rest_api(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        source = self.api_doc(ctx, params["cloneFrom"]) if params.get("cloneFrom") else None
        doc = self.new_api(ctx, params)
        if source is not None:
            self._clone(ctx, source["id"], doc)
        return doc

    def new_api(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        """Store a new, empty API (its root resource and default models); used by imports too."""
        api_id = new_id(10)
        while self.store.get(INDEX, api_id) is not None:
            api_id = new_id(10)
        root = {"id": new_id(10), "path": "/"}
        doc: dict[str, Any] = {
            "id": api_id,
            "name": params.get("name") or "",
            "createdDate": self.clock.now(),
            "apiKeySource": params.get("apiKeySource") or "HEADER",
            "endpointConfiguration": params.get("endpointConfiguration") or {"types": ["EDGE"]},
            "disableExecuteApiEndpoint": bool(params.get("disableExecuteApiEndpoint")),
            "rootResourceId": root["id"],
            "tags": params.get("tags") or {},
        }
        for member in ("description", "version", "binaryMediaTypes", "policy"):
            if params.get(member):
                doc[member] = params[member]
        if params.get("minimumCompressionSize") is not None:
            doc["minimumCompressionSize"] = params["minimumCompressionSize"]
        self.store.put(API, scope(ctx.account, ctx.region, api_id), doc)
        self.store.put(
            INDEX, api_id, {"account": ctx.account, "region": ctx.region, "kind": "REST"}
        )
        self.save_resource(ctx, api_id, root)
        for name, description, schema in _DEFAULT_MODELS:
            model = {
                "id": new_id(6),
                "name": name,
                "description": description,
                "schema": _json_text(schema),
                "contentType": "application/json",
            }
            self.store.put(MODEL, scope(ctx.account, ctx.region, api_id, name), model)
        return doc

    def _clone(self: ApiGatewayProvider, ctx: RequestContext, source: str, doc: dict) -> None:
        """`cloneFrom`: the new API gets copies of the source's resources (new ids) and models."""
        ids = {}
        resources = self.resources_of(ctx.account, ctx.region, source)
        for resource in resources:
            ids[resource["id"]] = doc["rootResourceId"] if resource["path"] == "/" else new_id(10)
        for resource in resources:
            copied = copy.deepcopy(resource)
            copied["id"] = ids[resource["id"]]
            if "parentId" in copied:
                copied["parentId"] = ids[copied["parentId"]]
            self.save_resource(ctx, doc["id"], copied)
        for key, model in self.store.scan(MODEL, scope(ctx.account, ctx.region, source, "")):
            name = key.rpartition("/")[2]
            self.store.put(MODEL, scope(ctx.account, ctx.region, doc["id"], name), model)

    def get_rest_api(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        return self.api_doc(ctx, params["restApiId"])

    def get_rest_apis(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        docs = [d for _, d in self.store.scan(API, scope(ctx.account, ctx.region, ""))]
        docs.sort(key=lambda d: (d["createdDate"], d["id"]))
        return page(docs, params)

    @committed
    def update_rest_api(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        doc = self.api_doc(ctx, params["restApiId"])
        ops = [_normalize_api_op(op) for op in params.get("patchOperations") or ()]
        updated = apply_patch(doc, ops, "RestApi", _API_PATCH)
        if updated.get("minimumCompressionSize") in ("", None):
            updated.pop("minimumCompressionSize", None)
        self.store.put(API, scope(ctx.account, ctx.region, doc["id"]), updated)
        return updated

    @committed
    def delete_rest_api(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        api_id = params["restApiId"]
        self.api_doc(ctx, api_id)
        self.drop_api(ctx.account, ctx.region, api_id)

    def drop_api(self: ApiGatewayProvider, account: str, region: str, api_id: str) -> None:
        """Delete an API and everything it owns; usage plans forget its stages."""
        for kind in _API_KINDS:
            for key, _ in self.store.scan(kind, scope(account, region, api_id, "")):
                self.store.delete(kind, key)
        self.store.delete(API, scope(account, region, api_id))
        self.store.delete(INDEX, api_id)
        for key, plan in self.store.scan(USAGE_PLAN, scope(account, region, "")):
            stages = [s for s in plan.get("apiStages") or () if s.get("apiId") != api_id]
            if stages != (plan.get("apiStages") or []):
                self.store.put(USAGE_PLAN, key, {**plan, "apiStages": stages})
        self.forget_api(api_id)

    # -- resources -----------------------------------------------------------------------------
    @committed
    def create_resource(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        api_id = params["restApiId"]
        parent = self.resource_doc(ctx, api_id, params["parentId"])
        part = params["pathPart"]
        self._check_part(ctx, api_id, parent, part, None)
        doc = {
            "id": new_id(10),
            "parentId": parent["id"],
            "pathPart": part,
            "path": _join(parent["path"], part),
        }
        self.save_resource(ctx, api_id, doc)
        return doc

    def _check_part(
        self: ApiGatewayProvider,
        ctx: RequestContext,
        api_id: str,
        parent: dict[str, Any],
        part: str,
        own_id: str | None,
    ) -> None:
        """AWS's rules for a path part: well formed, unique among siblings, at most one variable
        sibling, and nothing below a greedy `{proxy+}`."""
        if not _PATH_PART.match(part):
            raise bad_request(
                "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning "
                "and the end and an optional plus sign before the closing brace."
            )
        if parent.get("pathPart", "").endswith("+}"):
            raise bad_request(
                f"Cannot create a child of a resource with a greedy path variable: {parent['path']}"
            )
        for sibling in self.resources_of(ctx.account, ctx.region, api_id):
            if sibling.get("parentId") != parent["id"] or sibling["id"] == own_id:
                continue
            if sibling["pathPart"] == part:
                raise conflict(
                    f"Another resource with the same parent already has this name: {part}"
                )
            if part.startswith("{") and sibling["pathPart"].startswith("{"):
                raise bad_request(
                    f"A sibling ({sibling['pathPart']}) of this resource already has a variable "
                    "path part -- only one is allowed"
                )

    def get_resource(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        doc = self.resource_doc(ctx, params["restApiId"], params["resourceId"])
        return resource_view(doc, "methods" in (params.get("embed") or ()))

    def get_resources(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        self.api_doc(ctx, params["restApiId"])
        embed = "methods" in (params.get("embed") or ())
        docs = self.resources_of(ctx.account, ctx.region, params["restApiId"])
        return page([resource_view(d, embed) for d in docs], {"limit": 500, **params})

    @committed
    def update_resource(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        api_id = params["restApiId"]
        doc = self.resource_doc(ctx, api_id, params["resourceId"])
        if doc["path"] == "/":
            raise bad_request("Root resource cannot be modified")
        updated = apply_patch(
            doc, params.get("patchOperations"), "Resource", frozenset(("pathPart", "parentId"))
        )
        parent = self.resource_doc(ctx, api_id, updated["parentId"])
        if _is_below(self.resources_of(ctx.account, ctx.region, api_id), parent["id"], doc["id"]):
            raise bad_request("Resources cannot be moved below themselves")
        self._check_part(ctx, api_id, parent, updated["pathPart"], doc["id"])
        updated["path"] = _join(parent["path"], updated["pathPart"])
        self.save_resource(ctx, api_id, updated)
        self._repath(ctx, api_id, updated)
        return updated

    def _repath(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, top: dict) -> None:
        children = [
            d
            for d in self.resources_of(ctx.account, ctx.region, api_id)
            if d.get("parentId") == top["id"]
        ]
        for child in children:
            moved = {**child, "path": _join(top["path"], child["pathPart"])}
            self.save_resource(ctx, api_id, moved)
            self._repath(ctx, api_id, moved)

    @committed
    def delete_resource(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        api_id = params["restApiId"]
        doc = self.resource_doc(ctx, api_id, params["resourceId"])
        if doc["path"] == "/":
            raise bad_request("Cannot delete root resource")
        resources = self.resources_of(ctx.account, ctx.region, api_id)
        for resource in resources:
            if resource["id"] == doc["id"] or _is_below(resources, resource["id"], doc["id"]):
                self.store.delete(RESOURCE, scope(ctx.account, ctx.region, api_id, resource["id"]))

    # -- account -------------------------------------------------------------------------------
    def get_account(self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]) -> dict:
        settings = self.store.get(ACCOUNT, scope(ctx.account, ctx.region)) or {}
        return {
            "throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0},
            "features": ["UsagePlans"],
            "apiKeyVersion": "4",
            **settings,
        }

    @committed
    def update_account(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict:
        key = scope(ctx.account, ctx.region)
        settings = self.store.get(ACCOUNT, key) or {}
        updated = apply_patch(
            settings, params.get("patchOperations"), "Account", frozenset(("cloudwatchRoleArn",))
        )
        self.store.put(ACCOUNT, key, updated)
        return self.get_account(ctx, params) | updated


def _normalize_api_op(op: dict[str, Any]) -> dict[str, Any]:
    """`replace /endpointConfiguration/types/EDGE` with value `REGIONAL` swaps the type."""
    if op.get("path", "").startswith("/endpointConfiguration/types/") and op.get("op") == "replace":
        return {"op": "replace", "path": "/endpointConfiguration/types", "value": [op.get("value")]}
    return op


def _join(parent: str, part: str) -> str:
    return parent.rstrip("/") + "/" + part


def _is_below(resources: list[dict[str, Any]], candidate: str, ancestor: str) -> bool:
    """Whether resource `candidate` lies in the subtree of `ancestor` (or is it)."""
    parents = {d["id"]: d.get("parentId") for d in resources}
    node: str | None = candidate
    while node is not None:
        if node == ancestor:
            return True
        node = parents.get(node)
    return False


def _json_text(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()
