"""SES v2 operations on templates, configuration sets and tags (a mixin of SesV2Provider).

The state is SES v1's (services/ses): the same templates and configuration sets are seen by both
API versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.ses import library, templates
from cloudlet.services.ses.common import CONFIG_SET, IDENTITY, TEMPLATE, identity_key, key, page
from cloudlet.services.ses.sending import template_data

if TYPE_CHECKING:
    from cloudlet.core.store import Store
    from cloudlet.services.ses.configsets import ConfigSets
    from cloudlet.services.ses.library import Library

#: configuration set document member -> the v2 member it answers as
_OPTIONS = {
    "tracking": "TrackingOptions",
    "delivery": "DeliveryOptions",
    "reputation": "ReputationOptions",
    "suppression": "SuppressionOptions",
    "vdm": "VdmOptions",
    "archiving": "ArchivingOptions",
}
#: ARN resource type -> document kind
_ARN_KINDS = {"identity": IDENTITY, "configuration-set": CONFIG_SET, "template": TEMPLATE}


def _page(items: list[Any], params: dict[str, Any], member: str) -> dict[str, Any]:
    chunk, following = page(items, params.get("NextToken"), params.get("PageSize"), 100)
    found: dict[str, Any] = {member: chunk}
    if following:
        found["NextToken"] = following
    return found


class ResourceOperations:
    library: Library
    configsets: ConfigSets
    store: Store

    # -- templates -------------------------------------------------------------------------------
    @committed
    def create_email_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        content = params["TemplateContent"]
        self.library.put(
            ctx, params["TemplateName"], dict(content), create=True, tags=params.get("Tags")
        )
        return {}

    @committed
    def update_email_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.library.put(ctx, params["TemplateName"], dict(params["TemplateContent"]), create=False)
        return {}

    def get_email_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.library.get(ctx, params["TemplateName"])
        content = {k: v for k, v in library.parts_of(doc).items() if v is not None}
        return {"TemplateName": doc["name"], "TemplateContent": content, "Tags": doc["tags"]}

    @committed
    def delete_email_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.library.get(ctx, params["TemplateName"])
        self.library.delete(ctx, params["TemplateName"])
        return {}

    def list_email_templates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            {"TemplateName": d["name"], "CreatedTimestamp": d["created"] / 1000}
            for d in self.library.all(ctx)
        ]
        return _page(items, params, "TemplatesMetadata")

    def test_render_email_template(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self.library.get(ctx, params["TemplateName"])
        data = template_data(params["TemplateData"])
        try:
            return {"RenderedTemplate": library.render_mime(library.parts_of(doc), data)}
        except templates.RenderError as error:
            raise AwsError("BadRequestException", str(error)) from None

    # -- configuration sets ----------------------------------------------------------------------
    @committed
    def create_configuration_set(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        options = {name: params[member] for name, member in _OPTIONS.items() if member in params}
        sending = (params.get("SendingOptions") or {}).get("SendingEnabled", True)
        self.configsets.create(
            ctx,
            params["ConfigurationSetName"],
            sending_enabled=sending,
            tags=list(params.get("Tags") or []),
            **options,
        )
        return {}

    def get_configuration_set(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.configsets.get(ctx, params["ConfigurationSetName"])
        found: dict[str, Any] = {
            "ConfigurationSetName": doc["name"],
            "SendingOptions": {"SendingEnabled": doc.get("sending_enabled", True)},
            "Tags": doc.get("tags", []),
        }
        for name, member in _OPTIONS.items():
            if doc.get(name):
                found[member] = doc[name]
        return found

    def list_configuration_sets(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return _page(self.configsets.names(ctx), params, "ConfigurationSets")

    @committed
    def delete_configuration_set(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.configsets.delete(ctx, params["ConfigurationSetName"])
        return {}

    @committed
    def put_configuration_set_sending_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        enabled = bool(params.get("SendingEnabled", False))
        self.configsets.update(ctx, params["ConfigurationSetName"], sending_enabled=enabled)
        return {}

    @committed
    def put_configuration_set_tracking_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_option(ctx, params, "tracking")

    @committed
    def put_configuration_set_delivery_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_option(ctx, params, "delivery")

    @committed
    def put_configuration_set_reputation_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_option(ctx, params, "reputation")

    @committed
    def put_configuration_set_suppression_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_option(ctx, params, "suppression")

    def _put_option(self, ctx: RequestContext, params: dict[str, Any], name: str) -> dict[str, Any]:
        value = {k: v for k, v in params.items() if k != "ConfigurationSetName"}
        self.configsets.update(ctx, params["ConfigurationSetName"], **{name: value or None})
        return {}

    @committed
    def create_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        dest = {"Name": params["EventDestinationName"], **params["EventDestination"]}
        self.configsets.put_destination(ctx, params["ConfigurationSetName"], dest, create=True)
        return {}

    @committed
    def update_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        dest = {"Name": params["EventDestinationName"], **params["EventDestination"]}
        self.configsets.put_destination(ctx, params["ConfigurationSetName"], dest, create=False)
        return {}

    @committed
    def delete_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name, dest = params["ConfigurationSetName"], params["EventDestinationName"]
        self.configsets.delete_destination(ctx, name, dest)
        return {}

    def get_configuration_set_event_destinations(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self.configsets.get(ctx, params["ConfigurationSetName"])
        destinations = [{"Enabled": False, **d} for d in doc["destinations"].values()]
        return {"EventDestinations": destinations}

    # -- tags ------------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> tuple[str, str, dict[str, Any]]:
        parts = arn.split(":", 5)
        resource_type, _, name = parts[5].partition("/") if len(parts) == 6 else ("", "", "")
        kind = _ARN_KINDS.get(resource_type)
        if kind is None or parts[2] != "ses":
            raise AwsError("BadRequestException", f"Invalid resource ARN: {arn}")
        doc_key = (
            identity_key(parts[4], parts[3], name)
            if kind == IDENTITY
            else key(parts[4], parts[3], name)
        )
        doc = self.store.get(kind, doc_key)
        if doc is None:
            raise AwsError("NotFoundException", f"Resource not found: {arn}")
        return kind, doc_key, doc

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": list(self._tagged(ctx, params["ResourceArn"])[2].get("tags", []))}

    @committed
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, doc_key, doc = self._tagged(ctx, params["ResourceArn"])
        tags = {t["Key"]: t["Value"] for t in doc.get("tags", [])}
        tags.update((t["Key"], t["Value"]) for t in params["Tags"])
        if len(tags) > 50:
            raise AwsError("BadRequestException", "Too many tags: a resource has at most 50.")
        self.store.put(
            kind, doc_key, {**doc, "tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        )
        return {}

    @committed
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, doc_key, doc = self._tagged(ctx, params["ResourceArn"])
        drop = set(params["TagKeys"])
        tags = [t for t in doc.get("tags", []) if t["Key"] not in drop]
        self.store.put(kind, doc_key, {**doc, "tags": tags})
        return {}
