"""Amazon API Gateway REST APIs: the control plane (every resource of a REST API, usage plans
and keys, OpenAPI import and export) and the state the data plane keeps while serving them.

The operations live in mixins by concept (`restapis`, `methods`, `deployments`, `keys`,
`extras`, `openapi`); the data plane (`dataplane`) serves deployed stages on the invoke URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.services import Provider
from cloudlet.services.apigateway.deployments import DeploymentOperations
from cloudlet.services.apigateway.extras import ExtraOperations
from cloudlet.services.apigateway.keys import KeyOperations, Usage
from cloudlet.services.apigateway.methods import MethodOperations
from cloudlet.services.apigateway.openapi import OpenApiOperations
from cloudlet.services.apigateway.restapis import RestApiOperations

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.apigateway.dataplane import DataPlane


class ApiGatewayProvider(
    RestApiOperations,
    MethodOperations,
    DeploymentOperations,
    KeyOperations,
    ExtraOperations,
    OpenApiOperations,
    Provider,
):
    service = "apigateway"
    helpers = (
        "api_doc",
        "resource_doc",
        "resources_of",
        "save_resource",
        "new_api",
        "drop_api",
        "forget_api",
        "snapshot",
        "deployment_doc",
        "stage_doc",
        "key_doc",
        "plan_doc",
        "dataplane",
    )

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.usage = Usage()
        #: Lambda authorizer results by (authorizer, identity), with their expiry
        self.auth_cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._dataplane: DataPlane | None = None

    @property
    def dataplane(self) -> DataPlane:
        """What serves deployed stages; built on the first invoke-URL request."""
        if self._dataplane is None:
            from cloudlet.services.apigateway.dataplane import DataPlane

            self._dataplane = DataPlane(self)
        return self._dataplane

    def forget_api(self, api_id: str) -> None:
        """Drop what the data plane compiled for a deleted API."""
        if self._dataplane is not None:
            self._dataplane.forget(api_id)

    def reset(self) -> None:
        self.usage = Usage()
        self.auth_cache.clear()
        self._dataplane = None
