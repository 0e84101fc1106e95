"""Canned ACLs and tag sets: stored, returned, and checked as S3 checks them.

ACLs are minimal: a canned ACL (or the grants of an AccessControlPolicy) is kept with the bucket or
object and shown as the grants it stands for; public ACLs make objects readable on the website
endpoint unless the bucket's IgnorePublicAcls says otherwise. With ObjectOwnership
`BucketOwnerEnforced` (the default of new buckets) ACLs are disabled as on AWS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from cloudlet.protocols.errors import AwsError
from cloudlet.services.s3.common import owner

ALLOWED_WHEN_ENFORCED = frozenset({"private", "bucket-owner-full-control"})
CANNED = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_GROUP_GRANTS = {
    "public-read": [(ALL_USERS, "READ")],
    "public-read-write": [(ALL_USERS, "READ"), (ALL_USERS, "WRITE")],
    "authenticated-read": [(AUTHENTICATED, "READ")],
}


def not_supported() -> AwsError:
    return AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", status=400)


def check_canned(bucket: dict[str, Any], canned: str | None) -> str | None:
    """A canned ACL sent with a write, refused where the bucket disables ACLs."""
    if canned is None:
        return None
    if canned not in CANNED:
        raise AwsError("InvalidArgument", "", status=400)
    if bucket.get("ownership", "BucketOwnerEnforced") == "BucketOwnerEnforced":
        if canned not in ALLOWED_WHEN_ENFORCED:
            raise not_supported()
    elif canned.startswith("public") and (bucket.get("pab") or {}).get("BlockPublicAcls"):
        raise AwsError("AccessDenied", "Access Denied", status=403)
    return canned


def from_request(bucket: dict[str, Any], params: dict[str, Any]) -> Any:
    """What PutBucketAcl/PutObjectAcl store: the canned ACL, or the policy's grants."""
    if params.get("ACL"):
        return check_canned(bucket, params["ACL"])
    policy = params.get("AccessControlPolicy") or {}
    grants = policy.get("Grants") or []
    if bucket.get("ownership", "BucketOwnerEnforced") == "BucketOwnerEnforced" and any(
        g.get("Grantee", {}).get("Type") == "Group" for g in grants
    ):
        raise not_supported()
    return {"grants": grants}


def policy_of(stored: Any, account: str) -> dict[str, Any]:
    """The AccessControlPolicy (Owner, Grants) a stored ACL stands for."""
    me = owner(account)
    grants: list[dict[str, Any]] = [
        {"Grantee": {**me, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
    ]
    if isinstance(stored, dict):
        grants = stored.get("grants") or grants
    else:
        for uri, permission in _GROUP_GRANTS.get(stored or "private", []):
            grants.append({"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission})
    return {"Owner": me, "Grants": grants}


def is_public(stored: Any) -> bool:
    """Whether an ACL lets anyone read."""
    if isinstance(stored, dict):
        return any(
            g.get("Grantee", {}).get("URI") == ALL_USERS
            and g.get("Permission") in ("READ", "FULL_CONTROL")
            for g in stored.get("grants") or []
        )
    return stored in ("public-read", "public-read-write")


# -- tags --------------------------------------------------------------------------------------


def invalid_tag(message: str) -> AwsError:
    return AwsError("InvalidTag", message, status=400)


def tag_map(tag_set: list[dict[str, str]], limit: int = 50) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in tag_set:
        key = tag.get("Key", "")
        if key in tags:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        if not key or len(key) > 128 or len(tag.get("Value", "")) > 256:
            raise invalid_tag("The TagKey you have provided is invalid")
        if key.startswith("aws:"):
            raise invalid_tag("Your TagKey cannot be prefixed with aws:")
        tags[key] = tag.get("Value", "")
    if len(tags) > limit:
        raise invalid_tag(
            "Object tags cannot be greater than 10"
            if limit == 10
            else "Bucket tag count cannot be greater than 50"
        )
    return tags


def tags_from_header(text: str | None) -> dict[str, str]:
    """x-amz-tagging: a URL query string of tags."""
    if not text:
        return {}
    pairs = parse_qsl(text, keep_blank_values=True)
    return tag_map([{"Key": k, "Value": v} for k, v in pairs], limit=10)
