"""AWS Lambda: the control plane, invocation, event source mappings and function URLs.

The operations are thin: each names its function and hands over to the module of its concept —
`functions` (functions, versions, code), `aliases`, `layers`, `policies`, `eventconfigs`,
`urls`, `invoke`, `async_invoke` (Event invocations, destinations), `mappings` (with `pollers`);
function URLs are served by `url_invoke`, which the edge calls. Other parts of cloudlet use those objects directly (`provider.invoker`,
`provider.event_configs`, `provider.urls`, ...), never the HTTP API.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cloudlet.services import Provider, RequestContext
from cloudlet.services.awslambda.aliases import Aliases
from cloudlet.services.awslambda.async_invoke import AsyncInvocations
from cloudlet.services.awslambda.code import CodeStore
from cloudlet.services.awslambda.errors import function_not_found, invalid_parameter, not_found
from cloudlet.services.awslambda.eventconfigs import EventConfigs
from cloudlet.services.awslambda.functions import (
    LATEST,
    Functions,
    Ref,
    owner,
    parse_ref,
    presented,
)
from cloudlet.services.awslambda.invoke import Invoker
from cloudlet.services.awslambda.layers import LAYER_VERSION, Layers, code_location
from cloudlet.services.awslambda.mappings import Mappings
from cloudlet.services.awslambda.paging import page
from cloudlet.services.awslambda.policies import Policies
from cloudlet.services.awslambda.urls import FunctionUrls

if TYPE_CHECKING:
    from cloudlet.app import App

_SECRET = ("lambda.meta", "secret")
_MAX_TAGS = 50
#: AWS keeps at least this many executions of an account unreserved
_MIN_UNRESERVED = 100
_DEFAULT_CONCURRENCY = 1000


class LambdaProvider(Provider):
    service = "lambda"
    helpers = ("resume",)

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.code = CodeStore(app.config.data_dir, self._secret())
        self.layers = Layers(self.store, self.clock, self.code)
        self.functions = Functions(self.store, self.clock, self.code, self.layers.resolve)
        self.aliases = Aliases(self.store, self.functions)
        self.policies = Policies(self.store)
        self.event_configs = EventConfigs(self.store, self.clock)
        self.urls = FunctionUrls(self.store, self.clock)
        self.invoker = Invoker(app, self.functions, self.aliases, self.code)
        self.events = AsyncInvocations(app, self.invoker, self.functions, self.event_configs)
        self.mappings = Mappings(app, self.invoker)

    def _secret(self) -> bytes:
        doc = self.store.get(*_SECRET)
        if doc is None:
            doc = {"value": os.urandom(32).hex()}
            self.store.put(*_SECRET, doc)
        return bytes.fromhex(doc["value"])

    def resume(self) -> None:
        """After a restart: run pending asynchronous events, poll enabled mappings again."""
        self.events.resume()
        self.mappings.resume()

    def reset(self) -> None:
        self.events.close(running_too=False)
        self.mappings.close(running_too=False)
        self.functions.cancel_all()
        self.invoker.forget()
        self.code.forget()
        self.code.secret = self._secret()

    def close(self) -> None:
        self.events.close()
        self.mappings.close()
        self.functions.cancel_all()
        self.invoker.close()

    # -- lookups ---------------------------------------------------------------------------------
    def _ref(self, ctx: RequestContext, params: dict[str, Any]) -> Ref:
        return parse_ref(ctx, params["FunctionName"], params.get("Qualifier"))

    def _resolve(self, ref: Ref) -> tuple[dict[str, Any], dict[str, Any]]:
        """(function, version document) a possibly qualified name designates."""
        function = self.functions.function(ref)
        qualifier = ref.qualifier or LATEST
        if qualifier != LATEST and not qualifier.isdigit():
            alias = self.aliases.find(ref, qualifier)
            if alias is None:
                raise function_not_found(ref.qualified())
            qualifier = alias["FunctionVersion"]
        return function, self.functions.version(ref, qualifier)

    def _configuration(self, ref: Ref) -> dict[str, Any]:
        _, doc = self._resolve(ref)
        config = presented(doc, qualified=bool(ref.qualifier))
        if ref.qualifier and ref.qualifier != config["Version"]:
            config = {**config, "FunctionArn": ref.qualified()}  # named through an alias
        return config

    def _check_qualifier(self, ref: Ref) -> None:
        self._resolve(ref)

    # -- functions -------------------------------------------------------------------------------
    async def create_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        answer = await self.functions.create(ctx, params)
        self.mappings.function_created(self._ref(ctx, params))
        return answer

    def get_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        function, doc = self._resolve(ref)
        answer: dict[str, Any] = {
            "Configuration": self._configuration(ref),
            "Code": {"RepositoryType": "S3", "Location": code_location(ctx, doc["code"]["sha"])},
        }
        if function["tags"]:
            answer["Tags"] = function["tags"]
        if function["reserved"] is not None:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": function["reserved"]}
        return answer

    def get_function_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._configuration(self._ref(ctx, params))

    def list_functions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        every = params.get("FunctionVersion") == "ALL"
        items = [
            (key, presented(doc, qualified=every))
            for key, doc in self.functions.all_versions(ctx.account, ctx.region)
            if every or doc["config"]["Version"] == LATEST
        ]
        found, marker = page(items, params)
        return {"Functions": found, "NextMarker": marker}

    async def update_function_code(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.functions.update_code(self._ref(ctx, params), params)

    def update_function_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.functions.update_configuration(self._ref(ctx, params), params)

    def delete_function(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        ref = self._ref(ctx, params)
        if ref.qualifier:
            with self.store.transaction():
                self.functions.delete_version(
                    ref, ref.qualifier, self.aliases.using(ref, ref.qualifier)
                )
                self.policies.drop_function(ref, ref.qualifier)
                self.event_configs.drop_function(ref, ref.qualifier)
            return
        function = self.functions.function(ref)
        with self.store.transaction():
            shas = self.functions.delete_function(ref)
            self.aliases.drop_function(ref)
            self.policies.drop_function(ref)
            self.urls.drop_function(ref)
            self.event_configs.drop_function(ref)
        self.app.runtime.retire_function(ref.arn)
        self.mappings.function_deleted(ref)
        self._collect(owner(function), shas)

    def _collect(self, code_owner: str, shas: list[str]) -> None:
        """Remove the deleted function's unpacked code, and zips nothing else uses."""
        used = {doc["code"]["sha"] for _, doc in self.store.scan("lambda.version")}
        used.update(doc["sha"] for _, doc in self.store.scan(LAYER_VERSION))
        for sha in shas:
            self.code.remove_dir(code_owner, sha)
            if sha not in used:
                self.code.remove_zip(sha)

    # -- versions and aliases --------------------------------------------------------------------
    async def publish_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        return await self.functions.publish(
            ref, params.get("Description"), params.get("RevisionId"), params.get("CodeSha256")
        )

    def list_versions_by_function(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self.functions.function(ref)
        items = [
            (doc["config"]["Version"].rjust(10, "0"), presented(doc, qualified=True))
            for doc in self.functions.versions(ref)
        ]
        found, marker = page(items, params)
        return {"Versions": found, "NextMarker": marker}

    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.aliases.create(self._ref(ctx, params), params)

    def get_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.aliases.get(self._ref(ctx, params), params["Name"])

    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.aliases.update(self._ref(ctx, params), params)

    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        ref = self._ref(ctx, params)
        with self.store.transaction():
            self.aliases.delete(ref, params["Name"])
            self.policies.drop_function(ref, params["Name"])
            self.event_configs.drop_function(ref, params["Name"])
            self.urls.drop_function(ref, params["Name"])

    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.aliases.list(self._ref(ctx, params), params)

    # -- invocation ------------------------------------------------------------------------------
    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self.invoker.invoke(ctx, params)

    async def invoke_async(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The deprecated InvokeAsync API: an `Event` invocation."""
        event = {
            "FunctionName": params["FunctionName"],
            "InvocationType": "Event",
            "Payload": params.get("InvokeArgs"),
        }
        await self.invoker.invoke(ctx, event)
        return {"Status": 202}

    # -- event source mappings -------------------------------------------------------------------
    def create_event_source_mapping(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.mappings.create(ctx, params)

    def get_event_source_mapping(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.mappings.get(ctx, params["UUID"])

    def update_event_source_mapping(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.mappings.update(ctx, params)

    def delete_event_source_mapping(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.mappings.delete(ctx, params["UUID"])

    def list_event_source_mappings(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.mappings.list(ctx, params)

    # -- layers ----------------------------------------------------------------------------------
    async def publish_layer_version(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return await self.layers.publish(ctx, params)

    def get_layer_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.layers.get(ctx, params["LayerName"], params["VersionNumber"])

    def get_layer_version_by_arn(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.layers.get_by_arn(ctx, params["Arn"])

    def list_layers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.layers.list_layers(ctx, params)

    def list_layer_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.layers.list_versions(ctx, params)

    def delete_layer_version(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        account, region, name = self.layers.layer_key(ctx, params["LayerName"])
        with self.store.transaction():
            self.layers.delete(ctx, params["LayerName"], params["VersionNumber"])
            self.policies.drop_layer(f"{account}/{region}/{name}/{params['VersionNumber']:010d}")

    def add_layer_version_permission(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key, doc = self.layers.get_doc(ctx, params["LayerName"], params["VersionNumber"])
        return self.policies.add_layer(key, doc["out"]["LayerVersionArn"], params)

    def remove_layer_version_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, _ = self.layers.get_doc(ctx, params["LayerName"], params["VersionNumber"])
        self.policies.remove_layer(key, params["StatementId"], params.get("RevisionId"))

    def get_layer_version_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key, _ = self.layers.get_doc(ctx, params["LayerName"], params["VersionNumber"])
        return self.policies.get_layer(key)

    # -- resource policies -----------------------------------------------------------------------
    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        return self.policies.add(ref, ref.qualified() if ref.qualifier else ref.arn, params)

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        self.policies.remove(ref, params["StatementId"], params.get("RevisionId"))

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        return self.policies.get(ref)

    # -- concurrency -----------------------------------------------------------------------------
    def _concurrency_limit(self) -> int:
        """The account's concurrent executions, as the runtime enforces them."""
        return int(getattr(self.app.runtime, "account_concurrency", _DEFAULT_CONCURRENCY))

    def _reserved_total(self, account: str, region: str, but: str | None = None) -> int:
        return sum(
            doc["reserved"] or 0
            for key, doc in self.functions.all_functions(account, region)
            if key != but
        )

    def put_function_concurrency(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self.functions.function(ref)
        wanted = params["ReservedConcurrentExecutions"]
        limit = self._concurrency_limit()
        minimum = min(_MIN_UNRESERVED, limit)
        if (
            wanted
            and limit - self._reserved_total(ref.account, ref.region, ref.key) - wanted < minimum
        ):
            raise invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
        self.functions.put_function(ref, reserved=wanted)
        return {"ReservedConcurrentExecutions": wanted}

    def get_function_concurrency(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        reserved = self.functions.function(self._ref(ctx, params))["reserved"]
        return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}

    def delete_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.functions.put_function(self._ref(ctx, params), reserved=None)

    def get_account_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        limit = self._concurrency_limit()
        functions = self.functions.all_functions(ctx.account, ctx.region)
        code_size = sum(
            d["config"]["CodeSize"] for _, d in self.functions.all_versions(ctx.account, ctx.region)
        )
        code_size += self.layers.total_code_size(ctx.account, ctx.region)
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit
                - self._reserved_total(ctx.account, ctx.region),
            },
            "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(functions)},
        }

    # -- asynchronous invocation settings --------------------------------------------------------
    def put_function_event_invoke_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        return self.event_configs.put(ref, params, merge=False)

    def update_function_event_invoke_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        return self.event_configs.put(ref, params, merge=True)

    def get_function_event_invoke_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        return self.event_configs.get(ref)

    def delete_function_event_invoke_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        ref = self._ref(ctx, params)
        self._check_qualifier(ref)
        self.event_configs.delete(ref)

    def list_function_event_invoke_configs(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self.functions.function(ref)
        return self.event_configs.list(ref, params)

    # -- function URLs ---------------------------------------------------------------------------
    def _url_ref(self, ctx: RequestContext, params: dict[str, Any]) -> Ref:
        ref = self._ref(ctx, params)
        self.functions.function(ref)
        if ref.qualifier and self.aliases.find(ref, ref.qualifier) is None:
            raise not_found("Function does not exist")
        return ref

    def create_function_url_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.urls.create(ctx, self._url_ref(ctx, params), params)

    def get_function_url_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.urls.get(self._url_ref(ctx, params), ctx)

    def update_function_url_config(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.urls.update(self._url_ref(ctx, params), params, ctx)

    def delete_function_url_config(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.urls.delete(self._url_ref(ctx, params))

    def list_function_url_configs(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        ref = self._ref(ctx, params)
        self.functions.function(ref)
        return self.urls.list(ref, params, ctx)

    # -- tags ------------------------------------------------------------------------------------
    def _tagged(self, resource: str) -> Ref:
        parts = resource.split(":")
        if len(parts) < 7 or parts[5] != "function":
            raise not_found(f"Resource not found: {resource}")
        if len(parts) > 7:
            raise invalid_parameter(
                "Tags on function aliases and versions are not supported. Please specify a function ARN."
            )
        ref = Ref(parts[4], parts[3], parts[6])
        self.functions.function(ref)
        return ref

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        ref = self._tagged(params["Resource"])
        tags = {**self.functions.function(ref)["tags"], **(params.get("Tags") or {})}
        if len(tags) > _MAX_TAGS:
            raise invalid_parameter(f"Number of tags exceeds resource tag limit of {_MAX_TAGS}.")
        self.functions.put_function(ref, tags=tags)

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        ref = self._tagged(params["Resource"])
        removed = set(params.get("TagKeys") or [])
        tags = {k: v for k, v in self.functions.function(ref)["tags"].items() if k not in removed}
        self.functions.put_function(ref, tags=tags)

    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self.functions.function(self._tagged(params["Resource"]))["tags"]}
