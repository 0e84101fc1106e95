"""What SES v1 and v2 share: document kinds and keys, AWS's message ids and error texts.

Both API versions act on the same state, as on AWS: an identity verified through v1 is listed by
v2, a template made with v2 is sent by v1. Keys are `account/region/name`; identities and
templates are per region, as AWS keeps them.
"""

from __future__ import annotations

import os
from email.utils import getaddresses
from typing import Any

from cloudlet.core import ids
from cloudlet.protocols.errors import AwsError

IDENTITY = "ses.identity"
VERIFY_TOKEN = "ses.verify"  # verification link token -> the identity it verifies
TEMPLATE = "ses.template"
CONFIG_SET = "ses.configset"
ACCOUNT = "ses.account"  # per account/region: sending enabled, production access, details
STATS = "ses.stats"  # per account/region/15-minute bucket: delivery attempts

MAX_RECIPIENTS = 50
SANDBOX_QUOTA = (200.0, 1.0)  # Max24HourSend, MaxSendRate
PRODUCTION_QUOTA = (50000.0, 14.0)
#: the mailbox simulator's addresses are accepted as recipients even in the sandbox
SIMULATOR_DOMAIN = "simulator.amazonses.com"

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-north-1": "Europe (Stockholm)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
}


def key(account: str, region: str, name: str = "") -> str:
    return f"{account}/{region}/{name}"


def identity_key(account: str, region: str, identity: str) -> str:
    """Identities are matched without regard to case (domains are case-insensitive, and SES
    verifies an address once whatever its spelling)."""
    return key(account, region, identity.lower())


def new_message_id(now_ms: int) -> str:
    """An id as SES forms them: `0100` + the send time in hex milliseconds, a UUID, `-000000`."""
    return f"0100{now_ms & 0xFFFFFFFFFFFF:012x}-{ids.uuid4()}-000000"


def token(nbytes: int = 24) -> str:
    """A verification token in SES's alphabet (base64 without padding)."""
    import base64

    return base64.b64encode(os.urandom(nbytes)).decode("ascii").rstrip("=")


def address(text: str) -> str:
    """The address part of `"Name" <a@b.c>`; refused as SES refuses an address it cannot read."""
    parsed = getaddresses([text])
    found = parsed[0][1] if len(parsed) == 1 else ""
    if not found or "@" not in found:
        if "@" not in text:
            raise AwsError("InvalidParameterValue", "Missing final '@domain'")
        raise AwsError("InvalidParameterValue", f"Illegal address: {text}")
    local, _, domain = found.rpartition("@")
    if not local or not domain:
        raise AwsError("InvalidParameterValue", "Missing final '@domain'")
    return found


def domain_of(addr: str) -> str:
    return addr.rpartition("@")[2].lower()


def not_verified(region: str, identities: list[str]) -> AwsError:
    """AWS's words for a send from (or, in the sandbox, to) identities that are not verified."""
    return AwsError(
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        f"{region.upper()}: {', '.join(identities)}",
    )


def template_missing(name: str) -> AwsError:
    return AwsError(
        "TemplateDoesNotExist",
        f"Template {name} does not exist.",
        fields={"TemplateName": name},
    )


def config_set_missing(name: str) -> AwsError:
    return AwsError(
        "ConfigurationSetDoesNotExist",
        f"Configuration set <{name}> does not exist.",
        fields={"ConfigurationSetName": name},
    )


def page(items: list[Any], token_: str | None, size: int | None, default: int = 1000) -> tuple:
    """One page of `items` and the token of the next (None at the end). Tokens are offsets."""
    start = 0
    if token_:
        try:
            start = int(token_)
        except ValueError:
            raise AwsError("InvalidParameterValue", "Invalid NextToken") from None
    size = size or default
    chunk = items[start : start + size]
    following = str(start + size) if start + size < len(items) else None
    return chunk, following
