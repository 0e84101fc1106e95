"""Amazon SES v2 (rest-json, paths /v2/email/...): identities, the account and sending here;
templates, configuration sets and tags in `resources`.

v2 is a second API over SES v1's state (services/ses), as on AWS. The shared code raises v1's
error codes; `handler` renames the few whose v2 code differs (NotFoundException,
BadRequestException, AlreadyExistsException, SendingPausedException ...) in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Handler, Provider, RequestContext, committed
from cloudlet.services.ses import identities as ids_
from cloudlet.services.ses import library
from cloudlet.services.ses.common import page
from cloudlet.services.ses.configsets import ConfigSets
from cloudlet.services.ses.identities import Identities
from cloudlet.services.ses.library import Library
from cloudlet.services.ses.sending import Outgoing, Sender, parse_raw, template_data
from cloudlet.services.ses.sendops import check_tags
from cloudlet.services.sesv2.resources import ResourceOperations

if TYPE_CHECKING:
    from cloudlet.app import App

_V2_CODES = {
    "InvalidParameterValue": "BadRequestException",
    "InvalidRenderingParameter": "BadRequestException",
    "MissingRenderingAttribute": "BadRequestException",
    "InvalidTemplate": "BadRequestException",
    "ConfigurationSetDoesNotExist": "NotFoundException",
    "TemplateDoesNotExist": "NotFoundException",
    "EventDestinationDoesNotExist": "NotFoundException",
    "AlreadyExists": "AlreadyExistsException",
    "ConfigurationSetAlreadyExists": "AlreadyExistsException",
    "EventDestinationAlreadyExists": "AlreadyExistsException",
    "AccountSendingPausedException": "SendingPausedException",
    "ConfigurationSetSendingPausedException": "SendingPausedException",
    "Throttling": "LimitExceededException",
}
_BULK_STATUS = {
    "MessageRejected": "MESSAGE_REJECTED",
    "BadRequestException": "INVALID_PARAMETER",
    "InvalidParameterValue": "INVALID_PARAMETER",
    "Throttling": "ACCOUNT_DAILY_QUOTA_EXCEEDED",
}


def v2_error(error: AwsError) -> AwsError:
    code = _V2_CODES.get(error.code)
    return error if code is None else AwsError(code, error.message)


def _translating(method: Handler, is_async: bool) -> Handler:
    if is_async:

        async def run_async(ctx: RequestContext, params: dict[str, Any]) -> Any:
            try:
                return await method(ctx, params)  # type: ignore[misc]
            except AwsError as error:
                raise v2_error(error) from None

        return run_async

    def run(ctx: RequestContext, params: dict[str, Any]) -> Any:
        try:
            return method(ctx, params)
        except AwsError as error:
            raise v2_error(error) from None

    return run


class SesV2Provider(ResourceOperations, Provider):
    service = "sesv2"

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.identities = Identities(app)
        self.library = Library(app.store, app.clock)
        self.configsets = ConfigSets(app.store, app.clock)
        self.sender = Sender(app, self.identities)
        self._v2: dict[str, tuple[Handler, bool] | None] = {}

    def handler(self, operation: str) -> tuple[Handler, bool] | None:
        """The operation's method, answering v2's error codes."""
        if operation not in self._v2:
            found = super().handler(operation)
            self._v2[operation] = found and (_translating(*found), found[1])
        return self._v2[operation]

    def _identity(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = self.identities.get(ctx, name)
        if doc is None:
            raise AwsError("NotFoundException", f"Email identity {name} does not exist.")
        return doc

    # -- identities ------------------------------------------------------------------------------
    @committed
    def create_email_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EmailIdentity"]
        if self.identities.get(ctx, name) is not None:
            raise AwsError("AlreadyExistsException", f"Email identity {name} already exists.")
        doc = self.identities.create(ctx, name)
        changes: dict[str, Any] = {"tags": list(params.get("Tags") or [])}
        if params.get("ConfigurationSetName"):
            self.configsets.get(ctx, params["ConfigurationSetName"])
            changes["config_set"] = params["ConfigurationSetName"]
        self.identities.save(ctx, {**doc, **changes})
        if doc["type"] == "Domain":  # Easy DKIM is on for new domains, as the console does
            signing = params.get("DkimSigningAttributes")
            doc = self._dkim_signing(ctx, name, "EXTERNAL" if signing else "AWS_SES")
        doc = self._identity(ctx, name)
        return {
            "IdentityType": ids_.v2_type(doc),
            "VerifiedForSendingStatus": doc["status"] == "Success",
            "DkimAttributes": ids_.v2_dkim(doc),
        }

    def _dkim_signing(self, ctx: RequestContext, name: str, origin: str) -> dict[str, Any]:
        doc = self.identities.enable_dkim(ctx, name)
        doc = {**doc, "dkim": {**doc["dkim"], "origin": origin}}
        self.identities.save(ctx, doc)
        return doc

    def get_email_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._identity(ctx, params["EmailIdentity"])
        found: dict[str, Any] = {
            "IdentityType": ids_.v2_type(doc),
            "FeedbackForwardingStatus": doc.get("feedback_forwarding", True),
            "VerifiedForSendingStatus": doc["status"] == "Success",
            "VerificationStatus": ids_.v2_status(doc),
            "DkimAttributes": ids_.v2_dkim(doc),
            "Policies": dict(doc.get("policies", {})),
            "Tags": list(doc.get("tags", [])),
        }
        if doc.get("mail_from"):
            found["MailFromAttributes"] = {
                "MailFromDomain": doc["mail_from"]["domain"],
                "MailFromDomainStatus": "SUCCESS",
                "BehaviorOnMxFailure": _v2_behavior(doc["mail_from"].get("behavior")),
            }
        if doc.get("config_set"):
            found["ConfigurationSetName"] = doc["config_set"]
        return found

    def list_email_identities(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            {
                "IdentityType": ids_.v2_type(doc),
                "IdentityName": doc["name"],
                "SendingEnabled": doc["status"] == "Success",
                "VerificationStatus": ids_.v2_status(doc),
            }
            for doc in self.identities.all(ctx)
        ]
        chunk, following = page(items, params.get("NextToken"), params.get("PageSize"), 100)
        found: dict[str, Any] = {"EmailIdentities": chunk}
        if following:
            found["NextToken"] = following
        return found

    @committed
    def delete_email_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._identity(ctx, params["EmailIdentity"])
        self.identities.delete(ctx, params["EmailIdentity"])
        return {}

    @committed
    def put_email_identity_dkim_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["EmailIdentity"])
        dkim = {**doc["dkim"], "enabled": bool(params.get("SigningEnabled", False))}
        self.identities.save(ctx, {**doc, "dkim": dkim})
        return {}

    @committed
    def put_email_identity_dkim_signing_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self._identity(ctx, params["EmailIdentity"])
        origin = params["SigningAttributesOrigin"]
        doc = self._dkim_signing(ctx, params["EmailIdentity"], origin)
        return {"DkimStatus": "SUCCESS", "DkimTokens": list(doc["dkim"]["tokens"])}

    @committed
    def put_email_identity_feedback_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        enabled = bool(params.get("EmailForwardingEnabled", False))
        self.identities.update(ctx, params["EmailIdentity"], feedback_forwarding=enabled)
        return {}

    @committed
    def put_email_identity_mail_from_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        mail_from = None
        if params.get("MailFromDomain"):
            behavior = params.get("BehaviorOnMxFailure") or "USE_DEFAULT_VALUE"
            v1_behavior = "RejectMessage" if behavior == "REJECT_MESSAGE" else "UseDefaultValue"
            mail_from = {"domain": params["MailFromDomain"], "behavior": v1_behavior}
        self.identities.update(ctx, params["EmailIdentity"], mail_from=mail_from)
        return {}

    @committed
    def put_email_identity_configuration_set_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params.get("ConfigurationSetName")
        if name:
            self.configsets.get(ctx, name)
        self.identities.update(ctx, params["EmailIdentity"], config_set=name)
        return {}

    @committed
    def create_email_identity_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["EmailIdentity"])
        if params["PolicyName"] in doc.get("policies", {}):
            raise AwsError("AlreadyExistsException", f"Policy {params['PolicyName']} exists.")
        return self._put_policy(ctx, doc, params)

    @committed
    def update_email_identity_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["EmailIdentity"])
        if params["PolicyName"] not in doc.get("policies", {}):
            raise AwsError("NotFoundException", f"Policy {params['PolicyName']} does not exist.")
        return self._put_policy(ctx, doc, params)

    def _put_policy(
        self, ctx: RequestContext, doc: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        policies = {**doc.get("policies", {}), params["PolicyName"]: params["Policy"]}
        self.identities.save(ctx, {**doc, "policies": policies})
        return {}

    @committed
    def delete_email_identity_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._identity(ctx, params["EmailIdentity"])
        policies = {k: v for k, v in doc.get("policies", {}).items() if k != params["PolicyName"]}
        self.identities.save(ctx, {**doc, "policies": policies})
        return {}

    def get_email_identity_policies(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Policies": dict(self._identity(ctx, params["EmailIdentity"]).get("policies", {}))}

    # -- the account -----------------------------------------------------------------------------
    def get_account(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = self.sender.account(ctx)
        found: dict[str, Any] = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": account["production"],
            "SendQuota": self.sender.quota(ctx),
            "SendingEnabled": account["sending_enabled"],
            "SuppressionAttributes": account.get("suppression") or {"SuppressedReasons": []},
        }
        if account.get("details"):
            found["Details"] = account["details"]
        return found

    @committed
    def put_account_sending_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.sender.put_account(ctx, sending_enabled=bool(params.get("SendingEnabled", False)))
        return {}

    @committed
    def put_account_details(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Stored; asking for production access grants it at once (AWS reviews the request)."""
        details = {k: v for k, v in params.items() if k != "ProductionAccessEnabled"}
        changes: dict[str, Any] = {}
        if "ProductionAccessEnabled" in params:
            changes["production"] = bool(params["ProductionAccessEnabled"])
            status = "GRANTED" if changes["production"] else "DENIED"
            details["ReviewDetails"] = {"Status": status, "CaseId": "cloudlet"}
        self.sender.put_account(ctx, details=details, **changes)
        return {}

    @committed
    def put_account_suppression_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.sender.put_account(ctx, suppression=dict(params))
        return {}

    # -- sending ---------------------------------------------------------------------------------
    @committed
    def send_email(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        out = self._outgoing(ctx, params, params["Content"])
        return {"MessageId": self.sender.send(ctx, out)}

    def _outgoing(
        self, ctx: RequestContext, params: dict[str, Any], content: dict[str, Any]
    ) -> Outgoing:
        destination = params.get("Destination") or {}
        if "Raw" in content:
            members = ("ToAddresses", "CcAddresses", "BccAddresses")
            wanted = [a for m in members for a in destination.get(m) or []]
            data = content["Raw"]["Data"]
            out = parse_raw(
                data if isinstance(data, bytes) else data.encode(),
                params.get("FromEmailAddress"),
                wanted or None,
            )
        else:
            if not params.get("FromEmailAddress"):
                raise AwsError("BadRequestException", "Missing required field FromEmailAddress.")
            out = Outgoing(source=params["FromEmailAddress"])
            out.to = list(destination.get("ToAddresses") or [])
            out.cc = list(destination.get("CcAddresses") or [])
            out.bcc = list(destination.get("BccAddresses") or [])
            self._content(ctx, out, content)
        out.reply_to = list(params.get("ReplyToAddresses") or out.reply_to)
        out.tags = list(params.get("EmailTags") or params.get("DefaultEmailTags") or [])
        out.config_set = params.get("ConfigurationSetName")
        check_tags(out.tags)
        return out

    def _content(self, ctx: RequestContext, out: Outgoing, content: dict[str, Any]) -> None:
        """Simple or Template content into `out` (with headers and attachments)."""
        if "Simple" in content:
            simple = content["Simple"]
            out.subject = simple["Subject"]["Data"]
            out.text = (simple["Body"].get("Text") or {}).get("Data")
            out.html = (simple["Body"].get("Html") or {}).get("Data")
            part = simple
        elif "Template" in content:
            part = template = content["Template"]
            if template.get("TemplateContent"):
                parts = dict(template["TemplateContent"])
                name = template.get("TemplateName") or "inline"
            else:
                name = (
                    template.get("TemplateName")
                    or template.get("TemplateArn", "").rpartition("/")[2]
                )
                parts = library.parts_of(self.library.get(ctx, name))
            template_data(template.get("TemplateData"))
            out.template = (name, template.get("TemplateData") or "{}", parts)
        else:
            raise AwsError("BadRequestException", "Content must have Simple, Raw or Template.")
        out.headers = {h["Name"]: h["Value"] for h in part.get("Headers") or []}
        out.attachments = list(part.get("Attachments") or [])

    @committed
    def send_bulk_email(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """One templated message per entry; the sender and template are checked for the whole
        call, recipients per entry."""
        if not params.get("FromEmailAddress"):
            raise AwsError("BadRequestException", "Missing required field FromEmailAddress.")
        base = self._outgoing(ctx, {**params, "Destination": {}}, params["DefaultContent"])
        self.sender.check(ctx, base, sender_only=True)
        assert base.template is not None
        name, defaults_json, parts = base.template
        defaults = template_data(defaults_json)
        production = self.sender.account(ctx)["production"]
        results = []
        for entry in params["BulkEmailEntries"]:
            out = self._bulk_entry(base, entry, defaults, (name, parts))
            try:
                self.sender.check_recipients(ctx, out, production, base.source)
            except AwsError as error:
                status = _BULK_STATUS.get(error.code, "FAILED")
                results.append({"Status": status, "Error": error.message})
                continue
            results.append({"Status": "SUCCESS", "MessageId": self.sender.deliver(ctx, out)})
        return {"BulkEmailEntryResults": results}

    def _bulk_entry(
        self,
        base: Outgoing,
        entry: dict[str, Any],
        defaults: dict[str, Any],
        template: tuple[str, dict[str, str | None]],
    ) -> Outgoing:
        destination = entry["Destination"]
        replacement = (entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {}
        data = {**defaults, **template_data(replacement.get("ReplacementTemplateData"))}
        out = Outgoing(
            source=base.source,
            to=list(destination.get("ToAddresses") or []),
            cc=list(destination.get("CcAddresses") or []),
            bcc=list(destination.get("BccAddresses") or []),
            reply_to=list(base.reply_to),
            tags=list(entry.get("ReplacementTags") or base.tags),
            config_set=base.config_set,
            headers={
                **base.headers,
                **{h["Name"]: h["Value"] for h in entry.get("ReplacementHeaders") or []},
            },
            attachments=list(base.attachments),
        )
        out.template = (template[0], orjson.dumps(data).decode(), template[1])
        return out


def _v2_behavior(v1: str | None) -> str:
    return "REJECT_MESSAGE" if v1 == "RejectMessage" else "USE_DEFAULT_VALUE"
