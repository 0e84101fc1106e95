"""Text messages: recorded, never sent. `GET /_cloudlet/sms` lists what would have reached phones.

Also the account's SMS settings: SMS attributes, opted-out numbers and the SMS sandbox (whose
one-time passwords arrive as recorded messages, so a test can read and verify them).
"""

from __future__ import annotations

import random
import re
from typing import Any

from cloudlet.core import ids
from cloudlet.core.clock import Clock
from cloudlet.core.store import Store
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.sns.common import SMS, SMS_SETTINGS, invalid

E164 = re.compile(r"^\+?[1-9]\d{1,14}$")
SMS_ATTRIBUTES = frozenset(
    {"MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate"}
    | {"DefaultSenderID", "DefaultSMSType", "UsageReportS3Bucket"}
)
_PAGE = 100


def normalized(phone: str) -> str:
    return re.sub(r"[\s().-]", "", phone)


def check_publish_number(phone: str) -> str:
    number = normalized(phone)
    if not E164.match(number):
        raise invalid(f"PhoneNumber Reason: {phone} is not valid to publish to")
    return number if number.startswith("+") else "+" + number


def record(
    store: Store,
    clock: Clock,
    *,
    account: str,
    region: str,
    phone: str,
    message: str,
    attributes: dict[str, dict[str, str]] | None = None,
    origin: dict[str, str] | None = None,
) -> str:
    """Store a text message as sent; returns its message id."""
    settings = _settings(store, account, region)
    attrs = attributes or {}
    now = clock.now_ms()
    message_id = ids.message_id()
    doc: dict[str, Any] = {
        "MessageId": message_id,
        "PhoneNumber": phone,
        "Message": message,
        "SenderID": _attr(attrs, "AWS.SNS.SMS.SenderID")
        or settings["attributes"].get("DefaultSenderID"),
        "SMSType": _attr(attrs, "AWS.SNS.SMS.SMSType")
        or settings["attributes"].get("DefaultSMSType", "Promotional"),
        "Account": account,
        "Region": region,
        "Timestamp": now,
        "Status": "OptedOut" if normalized(phone) in settings["opted_out"] else "Delivered",
        **(origin or {}),
    }
    store.put(SMS, f"{now:015d}-{message_id}", doc)
    return message_id


def _attr(attributes: dict[str, dict[str, str]], name: str) -> str | None:
    return (attributes.get(name) or {}).get("StringValue")


def recorded(store: Store, phone: str | None = None) -> list[dict[str, Any]]:
    found = [doc for _, doc in store.scan(SMS)]
    if phone:
        wanted = normalized(phone).lstrip("+")
        found = [d for d in found if normalized(d["PhoneNumber"]).lstrip("+") == wanted]
    return found


def clear(store: Store) -> int:
    keys = [key for key, _ in store.scan(SMS)]
    for key in keys:
        store.delete(SMS, key)
    return len(keys)


def _settings(store: Store, account: str, region: str) -> dict[str, Any]:
    return store.get(SMS_SETTINGS, f"{account}/{region}") or {
        "attributes": {},
        "opted_out": [],
        "sandbox": {},
    }


class SmsSettings:
    """The SMS operations of the API (attributes, opt-outs, sandbox)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def _get(self, ctx: RequestContext) -> dict[str, Any]:
        return _settings(self.store, ctx.account, ctx.region)

    def _put(self, ctx: RequestContext, doc: dict[str, Any]) -> None:
        self.store.put(SMS_SETTINGS, f"{ctx.account}/{ctx.region}", doc)

    def set_attributes(self, ctx: RequestContext, attributes: dict[str, str]) -> None:
        for name, value in attributes.items():
            if name not in SMS_ATTRIBUTES:
                raise invalid(f"{name} is not a valid attribute")
            if name == "DefaultSMSType" and value not in ("Promotional", "Transactional"):
                raise invalid("DefaultSMSType Reason: must be Promotional or Transactional")
        doc = self._get(ctx)
        self._put(ctx, {**doc, "attributes": {**doc["attributes"], **attributes}})

    def get_attributes(self, ctx: RequestContext, names: list[str] | None) -> dict[str, str]:
        current = self._get(ctx)["attributes"]
        return {k: v for k, v in current.items() if not names or k in names}

    def is_opted_out(self, ctx: RequestContext, phone: str) -> bool:
        if not E164.match(normalized(phone)):
            raise invalid("PhoneNumber Reason: input incorrectly formatted")
        return normalized(phone) in self._get(ctx)["opted_out"]

    def opted_out(self, ctx: RequestContext, token: str | None) -> dict[str, Any]:
        numbers = self._get(ctx)["opted_out"]
        start = int(token) if token and token.isdigit() else 0
        out: dict[str, Any] = {"phoneNumbers": numbers[start : start + _PAGE]}
        if start + _PAGE < len(numbers):
            out["nextToken"] = str(start + _PAGE)
        return out

    def opt_out(self, ctx: RequestContext, phone: str) -> None:
        """What a recipient's STOP reply does (cloudlet has no phones: for tests and tools)."""
        doc = self._get(ctx)
        number = normalized(phone)
        if number not in doc["opted_out"]:
            self._put(ctx, {**doc, "opted_out": [*doc["opted_out"], number]})

    def opt_in(self, ctx: RequestContext, phone: str) -> None:
        doc = self._get(ctx)
        number = normalized(phone)
        self._put(ctx, {**doc, "opted_out": [n for n in doc["opted_out"] if n != number]})

    # -- the SMS sandbox -------------------------------------------------------------------------
    def sandbox_add(self, ctx: RequestContext, phone: str, language: str | None) -> None:
        number = check_publish_number(phone)
        doc = self._get(ctx)
        password = f"{random.randint(0, 999999):06d}"
        entry = {"Status": "Pending", "Language": language or "en-US", "otp": password}
        self._put(ctx, {**doc, "sandbox": {**doc["sandbox"], number: entry}})
        record(
            self.store,
            self.clock,
            account=ctx.account,
            region=ctx.region,
            phone=number,
            message=f"Your Amazon SNS verification code is: {password}",
        )

    def sandbox_verify(self, ctx: RequestContext, phone: str, password: str) -> None:
        number = check_publish_number(phone)
        doc = self._get(ctx)
        entry = doc["sandbox"].get(number)
        if entry is None:
            raise AwsError("ResourceNotFound", "Phone number does not exist in the SMS sandbox.")
        if entry["otp"] != password:
            raise AwsError("VerificationException", "Invalid one-time password.", status=400)
        verified = {**entry, "Status": "Verified"}
        self._put(ctx, {**doc, "sandbox": {**doc["sandbox"], number: verified}})

    def sandbox_delete(self, ctx: RequestContext, phone: str) -> None:
        number = check_publish_number(phone)
        doc = self._get(ctx)
        if number not in doc["sandbox"]:
            raise AwsError("ResourceNotFound", "Phone number does not exist in the SMS sandbox.")
        self._put(ctx, {**doc, "sandbox": {k: v for k, v in doc["sandbox"].items() if k != number}})

    def sandbox_list(self, ctx: RequestContext) -> list[dict[str, str]]:
        return [
            {"PhoneNumber": number, "Status": entry["Status"]}
            for number, entry in self._get(ctx)["sandbox"].items()
        ]
