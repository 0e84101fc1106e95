"""Amazon SES, the v1 API (query protocol): identities and configuration sets here, sending and
templates in `sendops`.

State is shared with SES v2 (services/sesv2): identities (`identities`), templates (`library`),
configuration sets (`configsets`) and the account (`sending`) are documents of this package that
both providers read and write. Every message sent lands in cloudlet's mailbox (core/mail), and
goes on to a real SMTP server when cloudlet runs with `--smtp-url`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.ses import configsets
from cloudlet.services.ses.common import page
from cloudlet.services.ses.configsets import ConfigSets
from cloudlet.services.ses.identities import Identities, v1_dkim, v1_verification
from cloudlet.services.ses.library import Library
from cloudlet.services.ses.sending import Sender
from cloudlet.services.ses.sendops import SendOperations

if TYPE_CHECKING:
    from cloudlet.app import App

_NOTIFICATION_TOPICS = {
    "Bounce": "BounceTopic",
    "Complaint": "ComplaintTopic",
    "Delivery": "DeliveryTopic",
}


class SesProvider(SendOperations, Provider):
    service = "ses"
    helpers = ("confirm_verification",)

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.identities = Identities(app)
        self.library = Library(app.store, app.clock)
        self.configsets = ConfigSets(app.store, app.clock)
        self.sender = Sender(app, self.identities)

    async def confirm_verification(self, token: str) -> dict[str, Any] | None:
        """A followed verification link (GET /_cloudlet/ses/verify?token=)."""
        return await self.app.commit(self.identities.confirm, token)

    def _identity(self, ctx: RequestContext, identity: str) -> dict[str, Any]:
        doc = self.identities.get(ctx, identity)
        if doc is None:
            raise AwsError("InvalidParameterValue", f"Identity <{identity}> does not exist.")
        return doc

    # -- identities ------------------------------------------------------------------------------
    @committed
    def verify_email_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.identities.create(ctx, params["EmailAddress"])
        return {}

    @committed
    def verify_email_address(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.identities.create(ctx, params["EmailAddress"])
        return {}

    @committed
    def verify_domain_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.identities.create(ctx, params["Domain"])
        return {"VerificationToken": doc["token"]}

    @committed
    def verify_domain_dkim(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.identities.enable_dkim(ctx, params["Domain"])
        return {"DkimTokens": list(doc["dkim"]["tokens"])}

    def list_identities(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        docs = self.identities.all(ctx, params.get("IdentityType"))
        names = [doc["name"] for doc in docs]
        chunk, following = page(names, params.get("NextToken"), params.get("MaxItems"))
        found: dict[str, Any] = {"Identities": chunk}
        if following:
            found["NextToken"] = following
        return found

    def list_verified_email_addresses(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        docs = self.identities.all(ctx, "EmailAddress")
        return {"VerifiedEmailAddresses": [d["name"] for d in docs if d["status"] == "Success"]}

    @committed
    def delete_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.identities.delete(ctx, params["Identity"])
        return {}

    @committed
    def delete_verified_email_address(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.identities.delete(ctx, params["EmailAddress"])
        return {}

    def get_identity_verification_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        found = {}
        for name in params["Identities"]:
            doc = self.identities.get(ctx, name)
            if doc is not None:  # AWS leaves unknown identities out
                found[name] = v1_verification(doc)
        return {"VerificationAttributes": found}

    def get_identity_dkim_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        found = {}
        for name in params["Identities"]:
            doc = self.identities.get(ctx, name)
            if doc is not None:
                found[name] = v1_dkim(doc)
        return {"DkimAttributes": found}

    @committed
    def set_identity_dkim_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        dkim = {**doc["dkim"], "enabled": bool(params["DkimEnabled"])}
        self.identities.save(ctx, {**doc, "dkim": dkim})
        return {}

    def get_identity_notification_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        found = {}
        for name in params["Identities"]:
            doc = self.identities.get(ctx, name)
            if doc is None:
                continue
            notes = doc.get("notifications") or {}
            found[name] = {
                **{k: v for k, v in notes.items() if k.endswith("Topic")},
                "ForwardingEnabled": doc.get("feedback_forwarding", True),
                "HeadersInBounceNotificationsEnabled": notes.get("HeadersInBounce", False),
                "HeadersInComplaintNotificationsEnabled": notes.get("HeadersInComplaint", False),
                "HeadersInDeliveryNotificationsEnabled": notes.get("HeadersInDelivery", False),
            }
        return {"NotificationAttributes": found}

    @committed
    def set_identity_notification_topic(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        member = _NOTIFICATION_TOPICS[params["NotificationType"]]
        notes = {k: v for k, v in (doc.get("notifications") or {}).items() if k != member}
        if params.get("SnsTopic"):
            notes[member] = params["SnsTopic"]
        self.identities.save(ctx, {**doc, "notifications": notes})
        return {}

    @committed
    def set_identity_feedback_forwarding_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        self.identities.save(ctx, {**doc, "feedback_forwarding": bool(params["ForwardingEnabled"])})
        return {}

    @committed
    def set_identity_headers_in_notifications_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        notes = {**(doc.get("notifications") or {})}
        notes[f"HeadersIn{params['NotificationType']}"] = bool(params["Enabled"])
        self.identities.save(ctx, {**doc, "notifications": notes})
        return {}

    def get_identity_mail_from_domain_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        found = {}
        for name in params["Identities"]:
            doc = self.identities.get(ctx, name)
            if doc is not None and doc.get("mail_from"):
                mail_from = doc["mail_from"]
                found[name] = {
                    "MailFromDomain": mail_from["domain"],
                    "MailFromDomainStatus": "Success",
                    "BehaviorOnMXFailure": mail_from.get("behavior", "UseDefaultValue"),
                }
        return {"MailFromDomainAttributes": found}

    @committed
    def set_identity_mail_from_domain(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        mail_from = None
        if params.get("MailFromDomain"):
            behavior = params.get("BehaviorOnMXFailure") or "UseDefaultValue"
            mail_from = {"domain": params["MailFromDomain"], "behavior": behavior}
        self.identities.save(ctx, {**doc, "mail_from": mail_from})
        return {}

    # -- identity policies (stored, not enforced) ------------------------------------------------
    @committed
    def put_identity_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        policies = {**doc.get("policies", {}), params["PolicyName"]: params["Policy"]}
        self.identities.save(ctx, {**doc, "policies": policies})
        return {}

    @committed
    def delete_identity_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._identity(ctx, params["Identity"])
        policies = {k: v for k, v in doc.get("policies", {}).items() if k != params["PolicyName"]}
        self.identities.save(ctx, {**doc, "policies": policies})
        return {}

    def get_identity_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policies = self._identity(ctx, params["Identity"]).get("policies", {})
        return {"Policies": {n: policies[n] for n in params["PolicyNames"] if n in policies}}

    def list_identity_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"PolicyNames": sorted(self._identity(ctx, params["Identity"]).get("policies", {}))}

    # -- configuration sets ----------------------------------------------------------------------
    @committed
    def create_configuration_set(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.configsets.create(ctx, params["ConfigurationSet"]["Name"])
        return {}

    @committed
    def delete_configuration_set(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.configsets.delete(ctx, params["ConfigurationSetName"])
        return {}

    def describe_configuration_set(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self.configsets.get(ctx, params["ConfigurationSetName"])
        return configsets.v1_description(doc, params.get("ConfigurationSetAttributeNames") or [])

    def list_configuration_sets(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        names = self.configsets.names(ctx)
        chunk, following = page(names, params.get("NextToken"), params.get("MaxItems"))
        found: dict[str, Any] = {"ConfigurationSets": [{"Name": name} for name in chunk]}
        if following:
            found["NextToken"] = following
        return found

    @committed
    def create_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        dest = configsets.destination_from_v1(params["EventDestination"])
        self.configsets.put_destination(ctx, params["ConfigurationSetName"], dest, create=True)
        return {}

    @committed
    def update_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        dest = configsets.destination_from_v1(params["EventDestination"])
        self.configsets.put_destination(ctx, params["ConfigurationSetName"], dest, create=False)
        return {}

    @committed
    def delete_configuration_set_event_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name, dest = params["ConfigurationSetName"], params["EventDestinationName"]
        self.configsets.delete_destination(ctx, name, dest)
        return {}

    @committed
    def update_configuration_set_sending_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        self.configsets.update(ctx, name, sending_enabled=bool(params["Enabled"]))
        return {}

    @committed
    def update_configuration_set_reputation_metrics_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        doc = self.configsets.get(ctx, name)
        reputation = {**(doc.get("reputation") or {})}
        reputation["ReputationMetricsEnabled"] = bool(params["Enabled"])
        self.configsets.update(ctx, name, reputation=reputation)
        return {}

    @committed
    def create_configuration_set_tracking_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        if self.configsets.get(ctx, name).get("tracking"):
            raise AwsError(
                "TrackingOptionsAlreadyExistsException",
                f"Tracking options already exist in configuration set <{name}>.",
                fields={"ConfigurationSetName": name},
            )
        self.configsets.update(ctx, name, tracking=dict(params["TrackingOptions"]))
        return {}

    @committed
    def update_configuration_set_tracking_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        self._tracking(ctx, name)
        self.configsets.update(ctx, name, tracking=dict(params["TrackingOptions"]))
        return {}

    @committed
    def delete_configuration_set_tracking_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        self._tracking(ctx, name)
        self.configsets.update(ctx, name, tracking=None)
        return {}

    def _tracking(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        tracking = self.configsets.get(ctx, name).get("tracking")
        if not tracking:
            raise AwsError(
                "TrackingOptionsDoesNotExistException",
                f"Tracking options do not exist in configuration set <{name}>.",
                fields={"ConfigurationSetName": name},
            )
        return tracking

    @committed
    def put_configuration_set_delivery_options(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["ConfigurationSetName"]
        self.configsets.update(ctx, name, delivery=dict(params.get("DeliveryOptions") or {}))
        return {}
