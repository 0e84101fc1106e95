"""CreateTags / DeleteTags / DescribeTags across the resources cloudlet's EC2 has.

Instance tags live in the instance document (they come and go with it). The default VPC,
subnets and security group are not stored at all (network.py derives them), so their tags are
documents of their own: kind "ec2.tags", key "account/region/resource-id".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services.ec2 import instances, network
from cloudlet.services.ec2.common import FilterSet, checked_tags, page

if TYPE_CHECKING:
    from cloudlet.core.store import Store
    from cloudlet.services.ec2.lifecycle import Lifecycle

KIND = "ec2.tags"
_DESCRIBE_FILTERS = {
    "resource-id": lambda t: [t["ResourceId"]],
    "resource-type": lambda t: [t["ResourceType"]],
    "key": lambda t: [t["Key"]],
    "value": lambda t: [t["Value"]],
}


def resource_type(account: str, region: str, resource_id: str) -> str:
    """The type of a taggable resource that exists, or AWS's error for the id."""
    prefix = resource_id.partition("-")[0]
    if prefix == "vpc":
        if resource_id != network.vpc_id(account, region):
            raise AwsError("InvalidVpcID.NotFound", f"The vpc ID '{resource_id}' does not exist")
        return "vpc"
    if prefix == "subnet":
        if network.subnet_zone(account, region, resource_id) is None:
            raise AwsError(
                "InvalidSubnetID.NotFound", f"The subnet ID '{resource_id}' does not exist"
            )
        return "subnet"
    if prefix == "sg":
        if resource_id != network.security_group_id(account, region):
            raise AwsError(
                "InvalidGroup.NotFound", f"The security group '{resource_id}' does not exist"
            )
        return "security-group"
    raise AwsError("InvalidID", f"The ID '{resource_id}' is not valid")


class Tags:
    def __init__(self, store: Store, lifecycle: Lifecycle, clock: Any) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.clock = clock

    def of(self, account: str, region: str, resource_id: str) -> dict[str, str]:
        """The tags of a default (unstored) resource."""
        doc = self.store.get(KIND, f"{account}/{region}/{resource_id}")
        return doc["tags"] if doc else {}

    def update(self, account: str, region: str, params: dict[str, Any], *, delete: bool) -> None:
        """Add or remove tags of every resource named, or of none if one is unknown (callers run
        this inside a commit, so an error rolls back what was written before it)."""
        resources = params.get("Resources") or []
        now = self.clock.now_ms()
        instance_ids = [r for r in resources if r.startswith("i-")]
        found = {
            doc["InstanceId"]: (key, doc)
            for key, doc, _ in self.lifecycle.find(account, region, instance_ids, now)
        }
        others = {r: resource_type(account, region, r) for r in resources if not r.startswith("i-")}
        tags = params.get("Tags")
        wanted = checked_tags(tags) if not delete else {}
        for resource_id in dict.fromkeys(resources):
            if resource_id in found:
                key, doc = found[resource_id]
                new = _removed(doc["tags"], tags) if delete else {**doc["tags"], **wanted}
                stored = self.store.get(instances.KIND, key) or doc
                self.store.put(instances.KIND, key, {**stored, "tags": _limited(new)})
                continue
            key = f"{account}/{region}/{resource_id}"
            current = self.of(account, region, resource_id)
            new = _removed(current, tags) if delete else {**current, **wanted}
            self.store.put(KIND, key, {"type": others[resource_id], "tags": _limited(new)})

    def describe(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now_ms()
        rows = [
            (doc["InstanceId"], "instance", doc["tags"])
            for doc in self.lifecycle.all(account, region, now)
        ]
        for key, doc in self.store.scan(KIND, f"{account}/{region}/"):
            rows.append((key.rsplit("/", 1)[1], doc["type"], doc["tags"]))
        described = [
            {"ResourceId": rid, "ResourceType": rtype, "Key": k, "Value": v}
            for rid, rtype, tags in sorted(rows, key=lambda r: r[0])
            for k, v in tags.items()
        ]
        matches = FilterSet(params.get("Filters"), _DESCRIBE_FILTERS)
        selected, token = page([t for t in described if matches(t)], params)
        return {"Tags": selected, **({"NextToken": token} if token else {})}


def _removed(current: dict[str, str], tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """DeleteTags: no tags named removes all; a tag with a value removes it only if it matches."""
    if not tags:
        return {}
    out = dict(current)
    for tag in tags:
        key = tag.get("Key")
        if key in out and ("Value" not in tag or tag["Value"] == out[key]):
            del out[key]
    return out


def _limited(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 50:
        raise AwsError(
            "TagLimitExceeded", "The maximum number of Tags for a resource has been reached."
        )
    return tags
