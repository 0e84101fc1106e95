"""Deployments and stages.

A deployment is a snapshot of the API as it was when deployed: resources with their methods and
integrations, models, request validators, authorizers, gateway responses and the API's settings
(binary media types, API key source). Stages point at a deployment; the data plane serves a
stage's deployment, so changing the API changes nothing callers see until the next deployment,
as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import (
    API,
    AUTHORIZER,
    DEPLOYMENT,
    GATEWAY_RESPONSE,
    MODEL,
    STAGE,
    VALIDATOR,
    apply_patch,
    bad_request,
    conflict,
    new_id,
    not_found,
    page,
    pointer,
    scope,
)

if TYPE_CHECKING:
    from cloudlet.services.apigateway.provider import ApiGatewayProvider

_STAGE_PATCH = frozenset(
    (
        "description",
        "deploymentId",
        "variables",
        "cacheClusterEnabled",
        "cacheClusterSize",
        "tracingEnabled",
        "clientCertificateId",
        "documentationVersion",
        "accessLogSettings",
        "canarySettings",
        "webAclArn",
    )
)
#: `/{resource path}/{verb}/<group>/<name>` patch paths -> MethodSetting members
_METHOD_SETTINGS = {
    "metrics/enabled": "metricsEnabled",
    "logging/loglevel": "loggingLevel",
    "logging/dataTrace": "dataTraceEnabled",
    "throttling/burstLimit": "throttlingBurstLimit",
    "throttling/rateLimit": "throttlingRateLimit",
    "caching/enabled": "cachingEnabled",
    "caching/ttlInSeconds": "cacheTtlInSeconds",
    "caching/dataEncrypted": "cacheDataEncrypted",
    "caching/requireAuthorizationForCacheControl": "requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy": "unauthorizedCacheControlHeaderStrategy",
}
_SETTING_DEFAULTS: dict[str, Any] = {
    "metricsEnabled": False,
    "loggingLevel": "OFF",
    "dataTraceEnabled": False,
    "throttlingBurstLimit": 5000,
    "throttlingRateLimit": 10000.0,
    "cachingEnabled": False,
    "cacheTtlInSeconds": 300,
    "cacheDataEncrypted": False,
    "requireAuthorizationForCacheControl": True,
    "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
}


def _no_stage() -> Exception:
    return not_found("Invalid Stage identifier specified")


def _no_deployment() -> Exception:
    return not_found("Invalid Deployment identifier specified")


class DeploymentOperations:
    def snapshot(self: ApiGatewayProvider, account: str, region: str, api_id: str) -> dict:
        """Everything of an API the data plane serves, as of now."""
        api = self.store.get(API, scope(account, region, api_id)) or {}

        def docs(kind: str, by: str) -> dict[str, Any]:
            return {d[by]: d for _, d in self.store.scan(kind, scope(account, region, api_id, ""))}

        return {
            "api": {
                k: api[k]
                for k in (
                    "name",
                    "binaryMediaTypes",
                    "apiKeySource",
                    "minimumCompressionSize",
                    "disableExecuteApiEndpoint",
                )
                if k in api
            },
            "resources": self.resources_of(account, region, api_id),
            "models": docs(MODEL, "name"),
            "validators": docs(VALIDATOR, "id"),
            "authorizers": docs(AUTHORIZER, "id"),
            "gatewayResponses": docs(GATEWAY_RESPONSE, "responseType"),
        }

    def deployment_doc(
        self: ApiGatewayProvider, account: str, region: str, api_id: str, deployment_id: str
    ) -> dict[str, Any] | None:
        return self.store.get(DEPLOYMENT, scope(account, region, api_id, deployment_id))

    # -- deployments ---------------------------------------------------------------------------
    @committed
    def create_deployment(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        self.api_doc(ctx, api_id)
        snapshot = self.snapshot(ctx.account, ctx.region, api_id)
        if not any(r.get("resourceMethods") for r in snapshot["resources"]):
            raise bad_request("The REST API doesn't contain any methods")
        doc: dict[str, Any] = {
            "id": new_id(6),
            "createdDate": self.clock.now(),
            "apiSummary": _summary(snapshot["resources"]),
            "_snapshot": snapshot,
        }
        if params.get("description"):
            doc["description"] = params["description"]
        self.store.put(DEPLOYMENT, scope(ctx.account, ctx.region, api_id, doc["id"]), doc)
        if params.get("stageName"):
            self._deploy_stage(ctx, api_id, doc["id"], params)
        return doc

    def _deploy_stage(
        self: ApiGatewayProvider, ctx: RequestContext, api_id: str, deployment: str, params: dict
    ) -> None:
        """CreateDeployment with a stage name: the stage moves to the deployment (created if
        needed; its variables replaced when given)."""
        key = scope(ctx.account, ctx.region, api_id, params["stageName"])
        stage = self.store.get(STAGE, key)
        if stage is None:
            stage = self._new_stage(params["stageName"], deployment, params)
            if params.get("stageDescription"):
                stage["description"] = params["stageDescription"]
        else:
            stage = {**stage, "deploymentId": deployment, "lastUpdatedDate": self.clock.now()}
            if params.get("variables") is not None:
                stage["variables"] = params["variables"]
        self.store.put(STAGE, key, stage)

    def get_deployment(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        doc = self.deployment_doc(
            ctx.account, ctx.region, params["restApiId"], params["deploymentId"]
        )
        if doc is None:
            raise _no_deployment()
        if "apisummary" in (params.get("embed") or ()):
            return doc
        return {k: v for k, v in doc.items() if k != "apiSummary"}

    def get_deployments(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        prefix = scope(ctx.account, ctx.region, params["restApiId"], "")
        docs = sorted(
            (d for _, d in self.store.scan(DEPLOYMENT, prefix)), key=lambda d: d["createdDate"]
        )
        return page([{k: v for k, v in d.items() if k != "apiSummary"} for d in docs], params)

    @committed
    def update_deployment(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        self.api_doc(ctx, api_id)
        doc = self.deployment_doc(ctx.account, ctx.region, api_id, params["deploymentId"])
        if doc is None:
            raise _no_deployment()
        updated = apply_patch(
            doc, params.get("patchOperations"), "Deployment", frozenset(("description",))
        )
        self.store.put(DEPLOYMENT, scope(ctx.account, ctx.region, api_id, doc["id"]), updated)
        return updated

    @committed
    def delete_deployment(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        api_id, deployment = params["restApiId"], params["deploymentId"]
        self.api_doc(ctx, api_id)
        if self.deployment_doc(ctx.account, ctx.region, api_id, deployment) is None:
            raise _no_deployment()
        for _, stage in self.store.scan(STAGE, scope(ctx.account, ctx.region, api_id, "")):
            if stage.get("deploymentId") == deployment:
                raise bad_request(
                    "Active stages pointing to this deployment must be moved or deleted"
                )
        self.store.delete(DEPLOYMENT, scope(ctx.account, ctx.region, api_id, deployment))

    # -- stages --------------------------------------------------------------------------------
    def _new_stage(self: ApiGatewayProvider, name: str, deployment: str, params: dict) -> dict:
        now = self.clock.now()
        stage: dict[str, Any] = {
            "stageName": name,
            "deploymentId": deployment,
            "cacheClusterEnabled": bool(params.get("cacheClusterEnabled")),
            "cacheClusterStatus": "NOT_AVAILABLE",
            "methodSettings": {},
            "tracingEnabled": bool(params.get("tracingEnabled")),
            "createdDate": now,
            "lastUpdatedDate": now,
        }
        for member in (
            "description",
            "variables",
            "cacheClusterSize",
            "documentationVersion",
            "canarySettings",
            "tags",
        ):
            if params.get(member) is not None:
                stage[member] = params[member]
        return stage

    def stage_doc(self: ApiGatewayProvider, ctx: RequestContext, api_id: str, name: str) -> dict:
        self.api_doc(ctx, api_id)
        doc = self.store.get(STAGE, scope(ctx.account, ctx.region, api_id, name))
        if doc is None:
            raise _no_stage()
        return doc

    @committed
    def create_stage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id, name = params["restApiId"], params["stageName"]
        self.api_doc(ctx, api_id)
        if self.deployment_doc(ctx.account, ctx.region, api_id, params["deploymentId"]) is None:
            raise _no_deployment()
        key = scope(ctx.account, ctx.region, api_id, name)
        if self.store.get(STAGE, key) is not None:
            raise conflict("Stage already exists")
        stage = self._new_stage(name, params["deploymentId"], params)
        self.store.put(STAGE, key, stage)
        return stage

    def get_stage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        return self.stage_doc(ctx, params["restApiId"], params["stageName"])

    def get_stages(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        self.api_doc(ctx, params["restApiId"])
        prefix = scope(ctx.account, ctx.region, params["restApiId"], "")
        stages = [d for _, d in self.store.scan(STAGE, prefix)]
        if params.get("deploymentId"):
            stages = [s for s in stages if s.get("deploymentId") == params["deploymentId"]]
        return {"item": stages}

    @committed
    def update_stage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> dict:
        api_id = params["restApiId"]
        stage = self.stage_doc(ctx, api_id, params["stageName"])
        plain, settings = [], []
        for op in params.get("patchOperations") or ():
            parts = pointer(op.get("path") or "")
            (settings if len(parts) >= 3 and parts[0] not in _STAGE_PATCH else plain).append(op)
        updated = apply_patch(stage, plain, "Stage", _STAGE_PATCH)
        if settings:
            updated["methodSettings"] = _method_settings(updated.get("methodSettings"), settings)
        if (
            updated.get("deploymentId") != stage.get("deploymentId")
            and self.deployment_doc(ctx.account, ctx.region, api_id, updated["deploymentId"])
            is None
        ):
            raise _no_deployment()
        updated["lastUpdatedDate"] = self.clock.now()
        self.store.put(STAGE, scope(ctx.account, ctx.region, api_id, stage["stageName"]), updated)
        return updated

    @committed
    def delete_stage(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        api_id, name = params["restApiId"], params["stageName"]
        self.stage_doc(ctx, api_id, name)
        self.store.delete(STAGE, scope(ctx.account, ctx.region, api_id, name))

    def flush_stage_cache(self: ApiGatewayProvider, ctx: RequestContext, params: dict) -> None:
        self.stage_doc(ctx, params["restApiId"], params["stageName"])

    def flush_stage_authorizers_cache(
        self: ApiGatewayProvider, ctx: RequestContext, params: dict
    ) -> None:
        self.stage_doc(ctx, params["restApiId"], params["stageName"])
        self.auth_cache.clear()


def _method_settings(current: dict[str, Any] | None, ops: list[dict[str, Any]]) -> dict:
    """Apply `/{resource path}/{verb}/<group>/<name>` patches (`/*/*/throttling/rateLimit`)."""
    settings = {k: dict(v) for k, v in (current or {}).items()}
    for op in ops:
        raw = (op.get("path") or "").split("/")[1:]
        if len(raw) < 4:
            raise bad_request(f"Invalid method setting path: {op.get('path')}")
        key = f"{raw[0]}/{raw[1]}"
        member = _METHOD_SETTINGS.get("/".join(raw[2:]))
        if member is None:
            raise bad_request(f"Invalid method setting path: {op.get('path')}")
        if op.get("op") == "remove":
            settings.pop(key, None)
            continue
        entry = settings.setdefault(key, dict(_SETTING_DEFAULTS))
        default = _SETTING_DEFAULTS[member]
        value = op.get("value")
        if isinstance(default, bool):
            entry[member] = str(value).lower() == "true"
        elif isinstance(default, int | float):
            try:
                entry[member] = type(default)(float(value)) if value is not None else default
            except ValueError:
                raise bad_request(f"Invalid value for {member}: {value}") from None
        else:
            entry[member] = value
    return settings


def _summary(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`apiSummary`: path -> verb -> {authorizationType, apiKeyRequired}."""
    out: dict[str, dict[str, Any]] = {}
    for resource in resources:
        for verb, method in (resource.get("resourceMethods") or {}).items():
            out.setdefault(resource["path"], {})[verb] = {
                "authorizationType": method.get("authorizationType", "NONE"),
                "apiKeyRequired": bool(method.get("apiKeyRequired")),
            }
    return out
