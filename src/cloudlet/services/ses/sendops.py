"""SES v1 operations that send, render and store templates (a mixin of SesProvider).

Each send runs inside the server's group commit: the checks, the mailbox entry, the relay's queue
row and the statistics commit together, so an acknowledged message is never lost.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.ses import library, templates
from cloudlet.services.ses.common import page
from cloudlet.services.ses.sending import Outgoing, parse_raw, template_data

if TYPE_CHECKING:
    from cloudlet.services.ses.library import Library
    from cloudlet.services.ses.sending import Sender

#: SendBulkTemplatedEmail's per-destination status for an error of one destination
_BULK_STATUS = {
    "MessageRejected": "MessageRejected",
    "InvalidParameterValue": "InvalidParameterValue",
    "Throttling": "AccountDailyQuotaExceeded",
}


def outgoing(params: dict[str, Any]) -> Outgoing:
    """The members every v1 send shares: source, destination, reply-to, return path, tags."""
    destination = params.get("Destination") or {}
    return Outgoing(
        source=params["Source"],
        to=list(destination.get("ToAddresses") or []),
        cc=list(destination.get("CcAddresses") or []),
        bcc=list(destination.get("BccAddresses") or []),
        reply_to=list(params.get("ReplyToAddresses") or []),
        return_path=params.get("ReturnPath") or "",
        tags=list(params.get("Tags") or params.get("DefaultTags") or []),
        config_set=params.get("ConfigurationSetName"),
    )


def check_tags(tags: list[dict[str, str]]) -> None:
    """Message tags as SES accepts them: ASCII letters, digits, _ and - (values also . and @)."""
    for tag in tags:
        name, value = tag.get("Name", ""), tag.get("Value", "")
        if not name:
            raise AwsError("InvalidParameterValue", "The tag name must be specified.")
        if not value:
            raise AwsError("InvalidParameterValue", "The tag value must be specified.")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name.removeprefix("ses:")):
            raise AwsError(
                "InvalidParameterValue",
                f"Invalid tag name <{name}>: only alphanumeric ASCII characters, '_',  '-' are "
                "allowed.",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,255}", value):
            raise AwsError(
                "InvalidParameterValue",
                f"Invalid tag value <{value}>: only alphanumeric ASCII characters, '_',  '-' , "
                "'.', '@' are allowed.",
            )


class SendOperations:
    sender: Sender
    library: Library

    # -- sending ---------------------------------------------------------------------------------
    @committed
    def send_email(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        out = outgoing(params)
        check_tags(out.tags)
        message = params["Message"]
        out.subject = message["Subject"]["Data"]
        body = message["Body"]
        out.text = (body.get("Text") or {}).get("Data")
        out.html = (body.get("Html") or {}).get("Data")
        return {"MessageId": self.sender.send(ctx, out)}

    @committed
    def send_raw_email(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        data = params["RawMessage"]["Data"]
        if isinstance(data, str):
            data = data.encode("utf-8")
        out = parse_raw(data, params.get("Source"), params.get("Destinations"))
        out.tags = list(params.get("Tags") or [])
        out.config_set = params.get("ConfigurationSetName")
        check_tags(out.tags)
        return {"MessageId": self.sender.send(ctx, out)}

    @committed
    def send_templated_email(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        out = outgoing(params)
        check_tags(out.tags)
        doc = self.library.get(ctx, params["Template"])
        template_data(params["TemplateData"])
        out.template = (doc["name"], params["TemplateData"], library.parts_of(doc))
        return {"MessageId": self.sender.send(ctx, out)}

    @committed
    def send_bulk_templated_email(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """One message per destination; the sender, template and data are checked for the whole
        call, recipients per destination (a refused one gets its status, the others go)."""
        doc = self.library.get(ctx, params["Template"])
        defaults = template_data(params["DefaultTemplateData"], "DefaultTemplateData")
        base = outgoing(params)
        check_tags(base.tags)
        self.sender.check(ctx, base, sender_only=True)
        production = self.sender.account(ctx)["production"]
        statuses = []
        for entry in params["Destinations"]:
            out = outgoing({**params, "Destination": entry["Destination"]})
            out.tags = list(entry.get("ReplacementTags") or base.tags)
            merged = {**defaults, **template_data(entry.get("ReplacementTemplateData"))}
            out.template = (doc["name"], orjson.dumps(merged).decode(), library.parts_of(doc))
            try:
                self.sender.check_recipients(ctx, out, production, base.source)
            except AwsError as error:
                status = _BULK_STATUS.get(error.code, "Failed")
                statuses.append({"Status": status, "Error": error.message})
                continue
            statuses.append({"Status": "Success", "MessageId": self.sender.deliver(ctx, out)})
        return {"Status": statuses}

    # -- quotas and statistics -------------------------------------------------------------------
    def get_send_quota(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.sender.quota(ctx)

    def get_send_statistics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"SendDataPoints": self.sender.statistics(ctx)}

    def get_account_sending_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Enabled": self.sender.account(ctx)["sending_enabled"]}

    @committed
    def update_account_sending_enabled(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        self.sender.put_account(ctx, sending_enabled=bool(params.get("Enabled", False)))
        return {}

    # -- templates -------------------------------------------------------------------------------
    @committed
    def create_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        template = params["Template"]
        self.library.put(ctx, template["TemplateName"], _v1_parts(template), create=True)
        return {}

    @committed
    def update_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        template = params["Template"]
        self.library.put(ctx, template["TemplateName"], _v1_parts(template), create=False)
        return {}

    def get_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.library.get(ctx, params["TemplateName"])
        template = {"TemplateName": doc["name"], "SubjectPart": doc.get("subject") or ""}
        if doc.get("text") is not None:
            template["TextPart"] = doc["text"]
        if doc.get("html") is not None:
            template["HtmlPart"] = doc["html"]
        return {"Template": template}

    @committed
    def delete_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.library.delete(ctx, params["TemplateName"])  # AWS answers success for a missing one
        return {}

    def list_templates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        docs, following = page(
            self.library.all(ctx), params.get("NextToken"), params.get("MaxItems"), 10
        )
        found: dict[str, Any] = {
            "TemplatesMetadata": [
                {"Name": d["name"], "CreatedTimestamp": d["created"] / 1000} for d in docs
            ]
        }
        if following:
            found["NextToken"] = following
        return found

    def test_render_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.library.get(ctx, params["TemplateName"])
        data = template_data(params["TemplateData"])
        try:
            rendered = library.render_mime(library.parts_of(doc), data)
        except templates.RenderError as error:
            raise AwsError("MissingRenderingAttribute", str(error)) from None
        return {"RenderedTemplate": rendered}


def _v1_parts(template: dict[str, Any]) -> dict[str, str | None]:
    return {
        "Subject": template.get("SubjectPart"),
        "Text": template.get("TextPart"),
        "Html": template.get("HtmlPart"),
    }
