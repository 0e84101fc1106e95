"""SES identities (email addresses and domains), shared by the v1 and v2 APIs.

An identity is a document (kind "ses.identity", key `account/region/identity-lowercased`):

    {"name", "type": "EmailAddress" | "Domain", "status": "Pending" | "Success", "token",
     "created", "dkim": {"enabled", "tokens"}, "notifications": {...}, "mail_from": {...},
     "policies": {...}, "tags": [...], "config_set", "feedback_forwarding"}

Verification follows the server's `ses_auto_verify` setting. On (the default) every identity is
verified the moment it is created. Off, it is AWS's flow: a domain is verified at once (cloudlet
cannot see DNS), an email address gets a verification message in the mailbox whose link — a
`/_cloudlet/ses/verify?token=` URL on this server — verifies it when followed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cloudlet.core.mail import Mail
from cloudlet.protocols.errors import AwsError
from cloudlet.services.ses.common import (
    IDENTITY,
    REGION_NAMES,
    VERIFY_TOKEN,
    domain_of,
    identity_key,
    key,
    token,
)

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services import RequestContext

_LINK_TTL_MS = 86_400_000
VERIFICATION_SENDER = "no-reply-aws@amazon.com"
VERIFICATION_TEXT = (
    "Dear Amazon Web Services Customer,\n\n"
    "We have received a request to authorize this email address for use with Amazon SES and "
    "Amazon Pinpoint in region {region}. If you requested this verification, please go to the "
    "following URL to confirm that you are authorized to use this email address:\n\n{url}\n\n"
    "Your request will not be processed unless you confirm the address using this URL. This link "
    "expires 24 hours after your original verification request.\n\n"
    "If you did NOT request to verify this email address, do not click on the link. Please note "
    "that many times, the situation isn't a phishing attempt, but either a misunderstanding of how "
    "to use our service, or someone setting up email-sending capabilities on your behalf as part "
    "of a legitimate service, but without having fully communicated the procedure first. If you "
    "are still concerned, please forward this notification to aws-email-domain-verification@"
    "amazon.com and let us know in the forward that you did not request the verification.\n\n"
    "To learn more about sending email from Amazon Web Services, please refer to the Amazon SES "
    "Developer Guide at http://docs.aws.amazon.com/ses/latest/DeveloperGuide/Welcome.html and "
    "Amazon Pinpoint Developer Guide at http://docs.aws.amazon.com/pinpoint/latest/userguide/"
    "welcome.html.\n\nSincerely,\n\nThe Amazon Web Services Team.\n"
)


def is_email(identity: str) -> bool:
    return "@" in identity


def check_name(identity: str) -> None:
    """Refuse what cannot be an identity, in SES's words."""
    if not identity or identity != identity.strip() or " " in identity:
        raise AwsError("InvalidParameterValue", f"Invalid identity: {identity}")
    if is_email(identity):
        local, _, domain = identity.rpartition("@")
        if not local or not domain:
            raise AwsError("InvalidParameterValue", f"Invalid email address <{identity}>.")
    elif "." not in identity.strip("."):
        raise AwsError("InvalidParameterValue", f"Invalid domain name <{identity}>.")


class Identities:
    def __init__(self, app: App) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock

    @property
    def auto_verify(self) -> bool:
        return bool(getattr(self.app.config, "ses_auto_verify", True))

    # -- reading ---------------------------------------------------------------------------------
    def get(self, ctx: RequestContext, identity: str) -> dict[str, Any] | None:
        return self.store.get(IDENTITY, identity_key(ctx.account, ctx.region, identity))

    def all(self, ctx: RequestContext, kind: str | None = None) -> list[dict[str, Any]]:
        """Identities of the caller's account and region, in creation order; `kind` is
        "EmailAddress" or "Domain"."""
        found = [doc for _, doc in self.store.scan(IDENTITY, key(ctx.account, ctx.region))]
        found.sort(key=lambda doc: (doc["created"], doc["name"]))
        return [doc for doc in found if kind is None or doc["type"] == kind]

    def verified(self, ctx: RequestContext, address: str) -> bool:
        """An address may be used when it, its domain or a parent domain is verified."""
        doc = self.get(ctx, address)
        if doc is not None and doc["status"] == "Success":
            return True
        domain = domain_of(address)
        while "." in domain:
            doc = self.get(ctx, domain)
            if doc is not None and doc["status"] == "Success":
                return True
            domain = domain.partition(".")[2]
        return False

    # -- writing (inside the caller's commit) ----------------------------------------------------
    def save(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        self.store.put(IDENTITY, identity_key(ctx.account, ctx.region, doc["name"]), doc)

    def update(self, ctx: RequestContext, identity: str, **changes: Any) -> dict[str, Any]:
        doc = self.get(ctx, identity)
        if doc is None:
            raise AwsError("NotFoundException", f"Email identity {identity} does not exist.")
        doc = {**doc, **changes}
        self.save(ctx, doc)
        return doc

    def create(self, ctx: RequestContext, identity: str) -> dict[str, Any]:
        """Create (or re-request verification of) an identity; returns its document."""
        check_name(identity)
        doc = self.get(ctx, identity)
        if doc is None:
            doc = {
                "name": identity,
                "type": "EmailAddress" if is_email(identity) else "Domain",
                "status": "Pending",
                "created": self.clock.now_ms(),
                "dkim": {"enabled": False, "tokens": []},
                "notifications": {},
                "feedback_forwarding": True,
                "policies": {},
                "tags": [],
            }
        if doc["type"] == "Domain":
            doc = {**doc, "status": "Success", "token": doc.get("token") or token(32)}
        elif self.auto_verify:
            doc = {**doc, "status": "Success"}
        elif doc["status"] != "Success":
            self._send_verification(ctx, identity)
        self.save(ctx, doc)
        return doc

    def enable_dkim(self, ctx: RequestContext, identity: str) -> dict[str, Any]:
        """Easy DKIM: three CNAME tokens; verified at once (cloudlet cannot look at DNS)."""
        doc = self.get(ctx, identity) or self.create(ctx, identity)
        tokens = doc["dkim"].get("tokens") or [os.urandom(16).hex() for _ in range(3)]
        doc = {**doc, "dkim": {**doc["dkim"], "enabled": True, "tokens": tokens}}
        self.save(ctx, doc)
        return doc

    def delete(self, ctx: RequestContext, identity: str) -> bool:
        return self.store.delete(IDENTITY, identity_key(ctx.account, ctx.region, identity))

    def _send_verification(self, ctx: RequestContext, address: str) -> None:
        link_token = token(48).replace("/", "_").replace("+", "-")
        self.store.put(
            VERIFY_TOKEN,
            link_token,
            {
                "key": identity_key(ctx.account, ctx.region, address),
                "expires": self.clock.now_ms() + _LINK_TTL_MS,
            },
        )
        region = REGION_NAMES.get(ctx.region, ctx.region)
        url = f"{ctx.base_url}/_cloudlet/ses/verify?token={link_token}"
        mail = Mail(
            sender=VERIFICATION_SENDER,
            to=[address],
            subject=f"Amazon Web Services – Email Address Verification Request in region {region}",  # noqa: RUF001
            text=VERIFICATION_TEXT.format(region=region, url=url),
            source="ses",
            account=ctx.account,
            region=ctx.region,
        )
        self.app.mailbox.send(mail)

    def confirm(self, link_token: str) -> dict[str, Any] | None:
        """Follow a verification link: the identity it names becomes verified (None: unknown or
        expired link)."""
        link = self.store.get(VERIFY_TOKEN, link_token)
        if link is None or link["expires"] < self.clock.now_ms():
            return None
        doc = self.store.get(IDENTITY, link["key"])
        self.store.delete(VERIFY_TOKEN, link_token)
        if doc is None:
            return None
        doc = {**doc, "status": "Success"}
        self.store.put(IDENTITY, link["key"], doc)
        return doc


def v1_verification(doc: dict[str, Any]) -> dict[str, Any]:
    """GetIdentityVerificationAttributes' entry of one identity."""
    found: dict[str, Any] = {"VerificationStatus": doc["status"]}
    if doc.get("token"):
        found["VerificationToken"] = doc["token"]
    return found


def v1_dkim(doc: dict[str, Any]) -> dict[str, Any]:
    dkim = doc["dkim"]
    found: dict[str, Any] = {
        "DkimEnabled": bool(dkim.get("enabled")),
        "DkimVerificationStatus": "Success" if dkim.get("tokens") else "NotStarted",
    }
    if dkim.get("tokens"):
        found["DkimTokens"] = list(dkim["tokens"])
    return found


_V2_STATUS = {"Success": "SUCCESS", "Pending": "PENDING", "Failed": "FAILED"}


def v2_status(doc: dict[str, Any]) -> str:
    return _V2_STATUS.get(doc["status"], "NOT_STARTED")


def v2_type(doc: dict[str, Any]) -> str:
    return "EMAIL_ADDRESS" if doc["type"] == "EmailAddress" else "DOMAIN"


def v2_dkim(doc: dict[str, Any]) -> dict[str, Any]:
    dkim = doc["dkim"]
    tokens = list(dkim.get("tokens") or [])
    found: dict[str, Any] = {
        "SigningEnabled": bool(dkim.get("enabled")),
        "Status": "SUCCESS" if tokens else "NOT_STARTED",
        "SigningAttributesOrigin": dkim.get("origin", "AWS_SES"),
    }
    if tokens:
        found["Tokens"] = tokens
        found["CurrentSigningKeyLength"] = dkim.get("key_length", "RSA_2048_BIT")
        found["NextSigningKeyLength"] = dkim.get("key_length", "RSA_2048_BIT")
    return found
