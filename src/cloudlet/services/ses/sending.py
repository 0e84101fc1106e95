"""Sending email, shared by SES v1 and v2: the checks AWS makes, then the mailbox (and relay).

A send is checked as SES checks it — sending enabled, configuration set, 1 to 50 recipients,
readable addresses, a verified sender and (in the sandbox) verified recipients, the daily quota —
and then kept in cloudlet's mailbox, which relays it when cloudlet runs with `--smtp-url`.
Every check raises the v1 error; the v2 provider renames the few that differ.

The account (per account and region, kind "ses.account") starts out of the sandbox when the
server auto-verifies identities, in it otherwise; v2 PutAccountDetails with
ProductionAccessEnabled grants production access at once. Statistics are counted in 15-minute
buckets (kind "ses.stats"), as GetSendStatistics reports them; SentLast24Hours sums the buckets
of the last day by cloudlet's clock. The send rate is reported, not enforced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from cloudlet.core.mail import Mail, address_of
from cloudlet.protocols.errors import AwsError
from cloudlet.services.ses import templates
from cloudlet.services.ses.common import (
    ACCOUNT,
    CONFIG_SET,
    MAX_RECIPIENTS,
    PRODUCTION_QUOTA,
    SANDBOX_QUOTA,
    SIMULATOR_DOMAIN,
    STATS,
    address,
    config_set_missing,
    domain_of,
    key,
    new_message_id,
    not_verified,
)

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services import RequestContext
    from cloudlet.services.ses.identities import Identities

log = logging.getLogger("cloudlet.ses")

_BUCKET_MS = 900_000
_DAY_MS = 86_400_000
_KEEP_MS = 15 * _DAY_MS


@dataclass
class Outgoing:
    """One message as a send operation describes it, before the checks."""

    source: str  # the From header (v1 Source, v2 FromEmailAddress), display name allowed
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    text: str | None = None
    html: str | None = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    config_set: str | None = None
    #: (name, TemplateData JSON, {"Subject", "Text", "Html"}) of a templated send
    template: tuple[str, str, dict[str, str | None]] | None = None

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class Sender:
    def __init__(self, app: App, identities: Identities) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.identities = identities
        self.mailbox = app.mailbox

    # -- the account -----------------------------------------------------------------------------
    def account(self, ctx: RequestContext) -> dict[str, Any]:
        doc = self.store.get(ACCOUNT, key(ctx.account, ctx.region))
        defaults = {"sending_enabled": True, "production": self.identities.auto_verify}
        return {**defaults, **(doc or {})}

    def put_account(self, ctx: RequestContext, **changes: Any) -> None:
        doc = {**self.account(ctx), **changes}
        self.store.put(ACCOUNT, key(ctx.account, ctx.region), doc)

    def quota(self, ctx: RequestContext) -> dict[str, float]:
        limit, rate = PRODUCTION_QUOTA if self.account(ctx)["production"] else SANDBOX_QUOTA
        return {"Max24HourSend": limit, "MaxSendRate": rate, "SentLast24Hours": self.sent(ctx)}

    def sent(self, ctx: RequestContext) -> float:
        since = self.clock.now_ms() - _DAY_MS
        return float(sum(doc["attempts"] for doc in self._buckets(ctx) if doc["ts"] > since))

    def statistics(self, ctx: RequestContext) -> list[dict[str, Any]]:
        since = self.clock.now_ms() - _KEEP_MS
        return [
            {
                "Timestamp": doc["ts"] / 1000,
                "DeliveryAttempts": doc["attempts"],
                "Bounces": doc.get("bounces", 0),
                "Complaints": doc.get("complaints", 0),
                "Rejects": doc.get("rejects", 0),
            }
            for doc in self._buckets(ctx)
            if doc["ts"] > since
        ]

    def _buckets(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return [doc for _, doc in self.store.scan(STATS, key(ctx.account, ctx.region))]

    def _count(self, ctx: RequestContext, recipients: int) -> None:
        bucket = self.clock.now_ms() // _BUCKET_MS * _BUCKET_MS
        stats_key = key(ctx.account, ctx.region, f"{bucket:015d}")
        doc = self.store.get(STATS, stats_key) or {"ts": bucket, "attempts": 0}
        self.store.put(STATS, stats_key, {**doc, "attempts": doc["attempts"] + recipients})

    # -- sending (inside the caller's commit) ----------------------------------------------------
    def send(self, ctx: RequestContext, out: Outgoing) -> str:
        """Check and send one message; returns its SES MessageId."""
        self.check(ctx, out)
        return self.deliver(ctx, out)

    def check(self, ctx: RequestContext, out: Outgoing, *, sender_only: bool = False) -> None:
        account = self.account(ctx)
        if not account["sending_enabled"]:
            raise AwsError(
                "AccountSendingPausedException", "Email sending is disabled for this account."
            )
        if out.config_set:
            config = self.store.get(CONFIG_SET, key(ctx.account, ctx.region, out.config_set))
            if config is None:
                raise config_set_missing(out.config_set)
            if config.get("sending_enabled") is False:
                raise AwsError(
                    "ConfigurationSetSendingPausedException",
                    f"Sending is paused for configuration set <{out.config_set}>.",
                    fields={"ConfigurationSetName": out.config_set},
                )
        source = address(out.source)
        if sender_only:
            if not self.identities.verified(ctx, source):
                raise not_verified(ctx.region, [source])
            return
        self.check_recipients(ctx, out, account["production"], source)

    def check_recipients(
        self, ctx: RequestContext, out: Outgoing, production: bool, source: str
    ) -> None:
        recipients = out.recipients
        if len(recipients) > MAX_RECIPIENTS:
            raise AwsError("InvalidParameterValue", "Recipient count exceeds 50.")
        if not recipients:
            raise AwsError("InvalidParameterValue", "Missing required header 'To'.")
        addresses = [address(r) for r in recipients]
        failed = [] if self.identities.verified(ctx, source) else [source]
        if not production:  # the sandbox: every recipient must be verified too
            for addr in addresses:
                simulated = domain_of(addr) == SIMULATOR_DOMAIN
                if not simulated and addr not in failed and not self.identities.verified(ctx, addr):
                    failed.append(addr)
        if failed:
            raise not_verified(ctx.region, failed)
        limit = self.quota(ctx)
        if limit["SentLast24Hours"] + len(recipients) > limit["Max24HourSend"]:
            raise AwsError("Throttling", "Daily message quota exceeded.", status=400)

    def deliver(self, ctx: RequestContext, out: Outgoing) -> str:
        """Keep a checked message in the mailbox (and relay it); returns its MessageId. A
        template that does not render is accepted and dropped, as SES drops it."""
        message_id = new_message_id(self.clock.now_ms())
        if out.template is not None:
            try:
                render_into(out)
            except (templates.RenderError, templates.TemplateError) as error:
                log.warning(
                    "SES rendering failure of template %s for message %s: %s",
                    out.template[0],
                    message_id,
                    error,
                )
                return message_id
        mail = self._mail(ctx, out, message_id)
        self.mailbox.send(mail)
        self._count(ctx, len(out.recipients))
        return message_id

    def _mail(self, ctx: RequestContext, out: Outgoing, message_id: str) -> Mail:
        extra: dict[str, Any] = {"envelope_source": out.source}
        if out.tags:
            extra["tags"] = {t["Name"]: t["Value"] for t in out.tags}
        if out.config_set:
            extra["configuration_set"] = out.config_set
        if out.template is not None:
            extra["template"], extra["template_data"] = out.template[0], out.template[1]
        raw = out.raw
        if raw is None and out.attachments:
            raw = with_attachments(out, message_id, self.clock.now_ms())
        if out.attachments:
            extra["attachments"] = [_attachment_summary(a) for a in out.attachments]
        return Mail(
            sender=out.source,
            to=list(out.to),
            subject=out.subject,
            text=out.text,
            html=out.html,
            cc=list(out.cc),
            bcc=list(out.bcc),
            reply_to=list(out.reply_to),
            headers=dict(out.headers),
            raw=raw,
            message_id=message_id,
            envelope_from=out.return_path or address_of(out.source),
            source="ses",
            account=ctx.account,
            region=ctx.region,
            extra=extra,
        )


def render_into(out: Outgoing) -> None:
    """Fill subject, text and html from the template and its data (already valid JSON)."""
    import orjson

    assert out.template is not None
    _, data_json, parts = out.template
    data = orjson.loads(data_json or "{}")
    if not isinstance(data, dict):
        raise templates.RenderError("The template data must be a JSON object.")
    out.subject = templates.render(parts.get("Subject") or "", data)
    out.text = templates.render(parts["Text"], data) if parts.get("Text") is not None else None
    out.html = templates.render(parts["Html"], data) if parts.get("Html") is not None else None


def template_data(text: str | None, member: str = "TemplateData") -> dict[str, Any]:
    """Template data as SES reads it: a JSON object, else InvalidRenderingParameter."""
    import orjson

    try:
        data = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise AwsError(
            "InvalidRenderingParameter",
            f"Template rendering data is invalid: {member} must be a JSON object.",
        )
    return data


# -- MIME ---------------------------------------------------------------------------------------


def parse_raw(data: bytes, source: str | None, destinations: list[str] | None) -> Outgoing:
    """SendRawEmail's message: headers read with the stdlib email package; Bcc is not passed on."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    to = _header_addresses(message, "To")
    cc = _header_addresses(message, "Cc")
    bcc = _header_addresses(message, "Bcc")
    sender = source or str(message.get("From") or "")
    if not sender:
        raise AwsError("InvalidParameterValue", "Missing required header 'From'.")
    if destinations:  # the envelope: header recipients not in it are dropped, the rest is Bcc
        wanted = {address_of(d).lower() for d in destinations}
        to = [a for a in to if address_of(a).lower() in wanted]
        cc = [a for a in cc if address_of(a).lower() in wanted]
        shown = {address_of(a).lower() for a in to + cc}
        bcc = [d for d in destinations if address_of(d).lower() not in shown]
    if "Bcc" in message:
        del message["Bcc"]
        data = message.as_bytes(policy=policy.SMTP)
    text, html, attachments = _parts(message)
    out = Outgoing(source=sender, to=to, cc=cc, bcc=bcc, raw=data)
    out.subject = str(message.get("Subject") or "")
    out.text, out.html, out.attachments = text, html, attachments
    out.reply_to = _header_addresses(message, "Reply-To")
    return out


def _header_addresses(message: EmailMessage, name: str) -> list[str]:
    from email.utils import formataddr, getaddresses

    values = [str(v) for v in message.get_all(name, [])]
    return [formataddr(pair) if pair[0] else pair[1] for pair in getaddresses(values) if pair[1]]


def _parts(message: EmailMessage) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """The text and html bodies and the attachments (name, type, size) of a MIME message."""
    text = html = None
    attachments: list[dict[str, Any]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if part.get_content_disposition() == "attachment" or part.get_filename():
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {"FileName": part.get_filename() or "", "ContentType": kind, "Size": len(payload)}
            )
        elif kind == "text/plain" and text is None:
            text = _content(part)
        elif kind == "text/html" and html is None:
            html = _content(part)
    return text, html, attachments


def _content(part: Any) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def with_attachments(out: Outgoing, message_id: str, now_ms: int) -> bytes:
    """v2 Simple content with attachments: the composed message made multipart/mixed."""
    from cloudlet.core.mail import compose

    mail = Mail(out.source, list(out.to), out.subject, out.text, out.html, cc=list(out.cc))
    mail.reply_to, mail.headers, mail.source = list(out.reply_to), dict(out.headers), "ses"
    message = BytesParser(policy=policy.default).parsebytes(compose(mail, message_id, now_ms))
    for item in out.attachments:
        maintype, _, subtype = (item.get("ContentType") or "application/octet-stream").partition(
            "/"
        )
        message.add_attachment(
            item["RawContent"],
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=item["FileName"],
            disposition=(item.get("ContentDisposition") or "attachment").lower(),
            cid=f"<{item['ContentId']}>" if item.get("ContentId") else None,
        )
    return message.as_bytes(policy=policy.SMTP)


def _attachment_summary(item: dict[str, Any]) -> dict[str, Any]:
    if "Size" in item:
        return item
    return {
        "FileName": item["FileName"],
        "ContentType": item.get("ContentType") or "application/octet-stream",
        "Size": len(item["RawContent"]),
    }
