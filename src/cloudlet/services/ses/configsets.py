"""Configuration sets and their event destinations, shared by SES v1 and v2.

A configuration set is a document (kind "ses.configset", key `account/region/name`) holding its
options and its event destinations, stored in the v2 spelling (`SnsDestination.TopicArn`,
`MatchingEventTypes` in upper case) and translated for v1. Event destinations are stored and
listed; events are not published to them (yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services.ses.common import CONFIG_SET, config_set_missing, key

if TYPE_CHECKING:
    from cloudlet.core.store import Store
    from cloudlet.services import RequestContext

_V1_TYPES = {
    "send": "SEND",
    "reject": "REJECT",
    "bounce": "BOUNCE",
    "complaint": "COMPLAINT",
    "delivery": "DELIVERY",
    "open": "OPEN",
    "click": "CLICK",
    "renderingFailure": "RENDERING_FAILURE",
    "deliveryDelay": "DELIVERY_DELAY",
    "subscription": "SUBSCRIPTION",
}
_V2_TYPES = {v: k for k, v in _V1_TYPES.items()}
#: v1 member -> (v2 member, {v1 field: v2 field})
_V1_TARGETS = {
    "SNSDestination": ("SnsDestination", {"TopicARN": "TopicArn"}),
    "KinesisFirehoseDestination": (
        "KinesisFirehoseDestination",
        {"IAMRoleARN": "IamRoleArn", "DeliveryStreamARN": "DeliveryStreamArn"},
    ),
    "CloudWatchDestination": ("CloudWatchDestination", {}),
}


def destination_from_v1(dest: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Name": dest["Name"],
        "Enabled": bool(dest.get("Enabled", False)),
        "MatchingEventTypes": [_V1_TYPES.get(t, t) for t in dest.get("MatchingEventTypes", [])],
    }
    for v1_name, (v2_name, renames) in _V1_TARGETS.items():
        if v1_name in dest:
            found[v2_name] = {renames.get(k, k): v for k, v in dest[v1_name].items()}
    return found


def destination_to_v1(dest: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Name": dest["Name"],
        "Enabled": bool(dest.get("Enabled", False)),
        "MatchingEventTypes": [_V2_TYPES.get(t, t) for t in dest.get("MatchingEventTypes", [])],
    }
    for v1_name, (v2_name, renames) in _V1_TARGETS.items():
        if v2_name in dest:
            back = {v: k for k, v in renames.items()}
            found[v1_name] = {back.get(k, k): v for k, v in dest[v2_name].items()}
    return found


class ConfigSets:
    def __init__(self, store: Store, clock: Any) -> None:
        self.store = store
        self.clock = clock

    def _key(self, ctx: RequestContext, name: str) -> str:
        return key(ctx.account, ctx.region, name)

    def get(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = self.store.get(CONFIG_SET, self._key(ctx, name))
        if doc is None:
            raise config_set_missing(name)
        return doc

    def names(self, ctx: RequestContext) -> list[str]:
        docs = [doc for _, doc in self.store.scan(CONFIG_SET, key(ctx.account, ctx.region))]
        return [doc["name"] for doc in sorted(docs, key=lambda d: (d["created"], d["name"]))]

    def create(self, ctx: RequestContext, name: str, **options: Any) -> dict[str, Any]:
        if self.store.get(CONFIG_SET, self._key(ctx, name)) is not None:
            raise AwsError(
                "ConfigurationSetAlreadyExists",
                f"Configuration set <{name}> already exists.",
                fields={"ConfigurationSetName": name},
            )
        doc = {"name": name, "created": self.clock.now_ms(), "destinations": {}, **options}
        self.store.put(CONFIG_SET, self._key(ctx, name), doc)
        return doc

    def update(self, ctx: RequestContext, name: str, **changes: Any) -> dict[str, Any]:
        doc = {**self.get(ctx, name), **changes}
        self.store.put(CONFIG_SET, self._key(ctx, name), doc)
        return doc

    def delete(self, ctx: RequestContext, name: str) -> None:
        self.get(ctx, name)
        self.store.delete(CONFIG_SET, self._key(ctx, name))

    def put_destination(
        self, ctx: RequestContext, name: str, dest: dict[str, Any], *, create: bool
    ) -> None:
        """Add (create=True, refused if it exists) or replace (refused if it does not) one."""
        doc = self.get(ctx, name)
        exists = dest["Name"] in doc["destinations"]
        if create and exists:
            raise AwsError(
                "EventDestinationAlreadyExists",
                f"Event destination {dest['Name']} already exists in configuration set {name}.",
                fields={"ConfigurationSetName": name, "EventDestinationName": dest["Name"]},
            )
        if not create and not exists:
            raise destination_missing(name, dest["Name"])
        destinations = {**doc["destinations"], dest["Name"]: dest}
        self.update(ctx, name, destinations=destinations)

    def delete_destination(self, ctx: RequestContext, name: str, dest_name: str) -> None:
        doc = self.get(ctx, name)
        if dest_name not in doc["destinations"]:
            raise destination_missing(name, dest_name)
        destinations = {k: v for k, v in doc["destinations"].items() if k != dest_name}
        self.update(ctx, name, destinations=destinations)


def destination_missing(name: str, dest_name: str) -> AwsError:
    return AwsError(
        "EventDestinationDoesNotExist",
        f"No EventDestination found for {dest_name} in configuration set {name}.",
        fields={"ConfigurationSetName": name, "EventDestinationName": dest_name},
    )


def v1_description(doc: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """DescribeConfigurationSet's answer, with the attributes asked for."""
    found: dict[str, Any] = {"ConfigurationSet": {"Name": doc["name"]}}
    if "eventDestinations" in wanted:
        found["EventDestinations"] = [destination_to_v1(d) for d in doc["destinations"].values()]
    if "trackingOptions" in wanted and doc.get("tracking"):
        found["TrackingOptions"] = dict(doc["tracking"])
    if "deliveryOptions" in wanted and doc.get("delivery"):
        found["DeliveryOptions"] = {"TlsPolicy": doc["delivery"].get("TlsPolicy", "Optional")}
    if "reputationOptions" in wanted:
        reputation = doc.get("reputation") or {}
        found["ReputationOptions"] = {
            "SendingEnabled": doc.get("sending_enabled", True),
            "ReputationMetricsEnabled": bool(reputation.get("ReputationMetricsEnabled", False)),
        }
        if reputation.get("LastFreshStart"):
            found["ReputationOptions"]["LastFreshStart"] = reputation["LastFreshStart"]
    return found
