"""Stages and deployments of HTTP APIs.

A deployment snapshots the API's routes, integrations, authorizers and CORS configuration; the
data plane serves a stage's deployment. A stage with `AutoDeploy` gets a new deployment after
every change to the API (`autodeploy`, called by every mutating operation), as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.apigateway.common import new_id, scope
from cloudlet.services.apigatewayv2.common import (
    AUTHORIZER,
    DEPLOYMENT,
    INTEGRATION,
    ROUTE,
    STAGE,
    bad,
    not_found,
    page,
    pick,
)

if TYPE_CHECKING:
    from cloudlet.services.apigatewayv2.provider import ApiGatewayV2Provider

_STAGE_FIELDS = (
    "AccessLogSettings",
    "AutoDeploy",
    "ClientCertificateId",
    "DefaultRouteSettings",
    "DeploymentId",
    "Description",
    "RouteSettings",
    "StageVariables",
)


class StageOperations:
    # -- stages and deployments ----------------------------------------------------------------
    def _new_stage(self: ApiGatewayV2Provider, name: str, params: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "StageName": name,
            "CreatedDate": now,
            "LastUpdatedDate": now,
            "AutoDeploy": False,
            "DefaultRouteSettings": {"DetailedMetricsEnabled": False},
            "RouteSettings": {},
            "StageVariables": {},
            "Tags": params.get("Tags") or {},
            **pick(params, _STAGE_FIELDS),
        }

    def _stage(
        self: ApiGatewayV2Provider, ctx: RequestContext, api_id: str, name: str
    ) -> dict[str, Any]:
        return self._child(STAGE, "Stage", ctx, api_id, name)

    @committed
    def create_stage(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        api_id, name = params["ApiId"], params["StageName"]
        self._api(ctx, api_id)
        if self.store.get(STAGE, scope(ctx.account, ctx.region, api_id, name)):
            raise AwsError("ConflictException", f"Stage {name} already exists")
        if params.get("DeploymentId") and not self.store.get(
            DEPLOYMENT, scope(ctx.account, ctx.region, api_id, params["DeploymentId"])
        ):
            raise not_found("Deployment", params["DeploymentId"])
        stage = self._new_stage(name, params)
        self._put(STAGE, ctx, api_id, name, stage)
        if stage["AutoDeploy"]:
            self.autodeploy(ctx, api_id)
            stage = self.store.get(STAGE, scope(ctx.account, ctx.region, api_id, name)) or stage
        return stage

    def get_stage(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._stage(ctx, params["ApiId"], params["StageName"])

    def get_stages(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return page(self._children(STAGE, ctx, params["ApiId"]), params)

    @committed
    def update_stage(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        api_id = params["ApiId"]
        stage = {**self._stage(ctx, api_id, params["StageName"]), **pick(params, _STAGE_FIELDS)}
        stage["LastUpdatedDate"] = self.clock.now()
        self._put(STAGE, ctx, api_id, stage["StageName"], stage)
        if params.get("AutoDeploy"):
            self.autodeploy(ctx, api_id)
            stage = (
                self.store.get(STAGE, scope(ctx.account, ctx.region, api_id, stage["StageName"]))
                or stage
            )
        return stage

    @committed
    def delete_stage(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        api_id, name = params["ApiId"], params["StageName"]
        self._stage(ctx, api_id, name)
        self.store.delete(STAGE, scope(ctx.account, ctx.region, api_id, name))

    def snapshot(self: ApiGatewayV2Provider, ctx: RequestContext, api_id: str) -> dict[str, Any]:
        api = self._api(ctx, api_id)
        return {
            "cors": api.get("CorsConfiguration"),
            "routes": self._children(ROUTE, ctx, api_id),
            "integrations": {
                i["IntegrationId"]: i for i in self._children(INTEGRATION, ctx, api_id)
            },
            "authorizers": {a["AuthorizerId"]: a for a in self._children(AUTHORIZER, ctx, api_id)},
        }

    def _deploy(
        self, ctx: RequestContext, api_id: str, description: str | None, auto: bool
    ) -> dict:
        doc = {
            "DeploymentId": new_id(6),
            "CreatedDate": self.clock.now(),
            "DeploymentStatus": "DEPLOYED",
            "AutoDeployed": auto,
            "_snapshot": self.snapshot(ctx, api_id),
        }
        if description:
            doc["Description"] = description
        self._put(DEPLOYMENT, ctx, api_id, doc["DeploymentId"], doc)
        return doc

    def autodeploy(self: ApiGatewayV2Provider, ctx: RequestContext, api_id: str) -> None:
        """Stages with AutoDeploy get a deployment of the API as it is now."""
        stages = [s for s in self._children(STAGE, ctx, api_id) if s.get("AutoDeploy")]
        if not stages:
            return
        deployment = self._deploy(
            ctx, api_id, "Automatic deployment triggered by changes to the Api configuration", True
        )
        for stage in stages:
            self._put(
                STAGE,
                ctx,
                api_id,
                stage["StageName"],
                {
                    **stage,
                    "DeploymentId": deployment["DeploymentId"],
                    "LastUpdatedDate": self.clock.now(),
                    "LastDeploymentStatusMessage": f"Successfully deployed stage with deployment ID '{deployment['DeploymentId']}'",
                },
            )

    @committed
    def create_deployment(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        api_id = params["ApiId"]
        self._api(ctx, api_id)
        stage = self._stage(ctx, api_id, params["StageName"]) if params.get("StageName") else None
        if stage is not None and stage.get("AutoDeploy"):
            raise bad(
                f"Stage {stage['StageName']} has AutoDeploy enabled: it cannot be deployed explicitly"
            )
        deployment = self._deploy(ctx, api_id, params.get("Description"), False)
        if stage is not None:
            self._put(
                STAGE,
                ctx,
                api_id,
                stage["StageName"],
                {**stage, "DeploymentId": deployment["DeploymentId"]},
            )
        return deployment

    def get_deployment(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._child(DEPLOYMENT, "Deployment", ctx, params["ApiId"], params["DeploymentId"])

    def get_deployments(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        docs = sorted(
            self._children(DEPLOYMENT, ctx, params["ApiId"]), key=lambda d: d["CreatedDate"]
        )
        return page(docs, params)

    @committed
    def delete_deployment(
        self: ApiGatewayV2Provider, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        api_id, ident = params["ApiId"], params["DeploymentId"]
        self._child(DEPLOYMENT, "Deployment", ctx, api_id, ident)
        if any(s.get("DeploymentId") == ident for s in self._children(STAGE, ctx, api_id)):
            raise bad("Active stages pointing to this deployment must be moved or deleted")
        self.store.delete(DEPLOYMENT, scope(ctx.account, ctx.region, api_id, ident))
