"""Mobile push: platform applications and endpoints, stored; pushed messages recorded, never sent.

Keys: applications `account/region/<platform>/<name>`, endpoints `account/region/<platform>/<app>/
<uuid>` — the ARN's resource with its `app/` or `endpoint/` prefix dropped.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core import ids
from cloudlet.core.clock import Clock
from cloudlet.core.store import Store
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.sns.common import PLATFORM_APP, PLATFORM_ENDPOINT, PUSH, invalid, split_arn
from cloudlet.services.sns.messages import Message

PLATFORMS = frozenset(
    {"ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU", "GCM", "FCM"}
    | {"MACOS", "MACOS_SANDBOX", "MPNS", "WNS"}
)
_HIDDEN = ("PlatformCredential",)  # AWS never shows an application's credential again
_PAGE = 100


def _key(arn: str, kind: str, member: str) -> str:
    parts = split_arn(arn, member)
    prefix, _, rest = parts.resource.partition("/")
    if prefix != kind or not rest:
        raise invalid(member)
    return f"{parts.account}/{parts.region}/{rest}"


def endpoint_doc(store: Store, arn: str, member: str = "EndpointArn") -> tuple[str, dict[str, Any]]:
    key = _key(arn, "endpoint", member)
    doc = store.get(PLATFORM_ENDPOINT, key)
    if doc is None:
        raise AwsError("NotFound", "Endpoint does not exist")
    return key, doc


def record_push(
    store: Store, clock: Clock, endpoint_arn: str, message: Message, sub_arn: str | None
) -> str:
    """Record a push to an endpoint; returns the message id. Disabled endpoints get nothing."""
    try:
        _, endpoint = endpoint_doc(store, endpoint_arn)
    except AwsError:
        return message.message_id
    if endpoint["attributes"].get("Enabled", "true") != "true":
        return message.message_id
    now = clock.now_ms()
    store.put(
        PUSH,
        f"{now:015d}-{ids.message_id()}",
        {
            "MessageId": message.message_id,
            "EndpointArn": endpoint_arn,
            "Platform": endpoint["platform"],
            "Token": endpoint["attributes"].get("Token"),
            "Message": message.text_for(endpoint["platform"]),
            "MessageAttributes": message.attributes,
            "SubscriptionArn": sub_arn,
            "Timestamp": now,
        },
    )
    return message.message_id


class Platforms:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _app(self, arn: str) -> tuple[str, dict[str, Any]]:
        key = _key(arn, "app", "PlatformApplicationArn")
        doc = self.store.get(PLATFORM_APP, key)
        if doc is None:
            raise AwsError("NotFound", "PlatformApplication does not exist")
        return key, doc

    def create_app(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        platform, name = params["Platform"], params["Name"]
        if platform not in PLATFORMS:
            raise invalid("Platform Reason: Invalid platform")
        attributes = dict(params.get("Attributes") or {})
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account}:app/{platform}/{name}"
        key = f"{ctx.account}/{ctx.region}/{platform}/{name}"
        doc = {"arn": arn, "platform": platform, "name": name, "attributes": attributes}
        self.store.put(PLATFORM_APP, key, doc)
        return {"PlatformApplicationArn": arn}

    def app_attributes(self, arn: str) -> dict[str, str]:
        _, doc = self._app(arn)
        shown = {k: v for k, v in doc["attributes"].items() if k not in _HIDDEN}
        return {"Enabled": "true", **shown}

    def set_app_attributes(self, arn: str, attributes: dict[str, str]) -> None:
        key, doc = self._app(arn)
        self.store.put(
            PLATFORM_APP, key, {**doc, "attributes": {**doc["attributes"], **attributes}}
        )

    def delete_app(self, arn: str) -> None:
        try:
            key, _ = self._app(arn)
        except AwsError:
            return
        for endpoint_key, _ in self.store.scan(PLATFORM_ENDPOINT, key + "/"):
            self.store.delete(PLATFORM_ENDPOINT, endpoint_key)
        self.store.delete(PLATFORM_APP, key)

    def list_apps(self, ctx: RequestContext, token: str | None) -> dict[str, Any]:
        docs = [d for _, d in self.store.scan(PLATFORM_APP, f"{ctx.account}/{ctx.region}/")]
        items = [
            {"PlatformApplicationArn": d["arn"], "Attributes": self.app_attributes(d["arn"])}
            for d in docs
        ]
        return _page(items, token, "PlatformApplications")

    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        app_key, app = self._app(params["PlatformApplicationArn"])
        token = params["Token"]
        attributes = {"Enabled": "true", **(params.get("Attributes") or {}), "Token": token}
        if params.get("CustomUserData") is not None:
            attributes["CustomUserData"] = params["CustomUserData"]
        for _, doc in self.store.scan(PLATFORM_ENDPOINT, app_key + "/"):
            if doc["attributes"].get("Token") == token:
                if doc["attributes"] != attributes:
                    raise invalid(
                        f"Token Reason: Endpoint {doc['arn']} already exists with the same Token, "
                        "but different attributes."
                    )
                return {"EndpointArn": doc["arn"]}
        endpoint_id = ids.uuid4()
        arn = app["arn"].replace(":app/", ":endpoint/", 1) + f"/{endpoint_id}"
        doc = {"arn": arn, "platform": app["platform"], "app": app["arn"], "attributes": attributes}
        self.store.put(PLATFORM_ENDPOINT, f"{app_key}/{endpoint_id}", doc)
        return {"EndpointArn": arn}

    def endpoint_attributes(self, arn: str) -> dict[str, str]:
        return dict(endpoint_doc(self.store, arn)[1]["attributes"])

    def set_endpoint_attributes(self, arn: str, attributes: dict[str, str]) -> None:
        key, doc = endpoint_doc(self.store, arn)
        merged = {**doc["attributes"], **attributes}
        self.store.put(PLATFORM_ENDPOINT, key, {**doc, "attributes": merged})

    def delete_endpoint(self, arn: str) -> None:
        try:
            key, _ = endpoint_doc(self.store, arn)
        except AwsError:
            return
        self.store.delete(PLATFORM_ENDPOINT, key)

    def list_endpoints(self, app_arn: str, token: str | None) -> dict[str, Any]:
        key, _ = self._app(app_arn)
        items = [
            {"EndpointArn": d["arn"], "Attributes": dict(d["attributes"])}
            for _, d in self.store.scan(PLATFORM_ENDPOINT, key + "/")
        ]
        return _page(items, token, "Endpoints")


def _page(items: list[dict[str, Any]], token: str | None, field: str) -> dict[str, Any]:
    start = int(token) if token and token.isdigit() else 0
    out: dict[str, Any] = {field: items[start : start + _PAGE]}
    if start + _PAGE < len(items):
        out["NextToken"] = str(start + _PAGE)
    return out
