"""What the IAM operations share: ids, names, errors, tags and Marker pagination.

IAM names (roles, managed policies) are unique per account regardless of case, as on AWS, so
documents are keyed by the lower-cased name and keep the spelling they were created with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cloudlet.protocols.errors import AwsError

T = TypeVar("T")

ROLE = "iam.role"
POLICY = "iam.policy"
#: per (account, policy ARN): the roles a managed policy is attached to or bounds. AWS managed
#: policies are shared by every account, so their per-account usage cannot live on the policy.
USAGE = "iam.usage"

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"
DEFAULT_MAX_ITEMS = 100
MAX_TAGS = 50

_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    """A unique id as IAM forms them: a 4-letter type prefix and 17 upper-case alphanumerics
    (AROA… roles, ANPA… managed policies)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def stable_id(prefix: str, seed: str) -> str:
    """A deterministic id (for AWS managed policies, whose ids must not change between runs)."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return prefix + digest[:17]


def name_key(account: str, name: str) -> str:
    return f"{account}/{name.lower()}"


def usage_key(account: str, policy_arn: str) -> str:
    return f"{account}/{policy_arn}"


def role_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def policy_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def split_arn(arn: str, kind: str) -> tuple[str, str, str] | None:
    """(account, path, name) of `arn:aws:iam::<account>:<kind>/<path><name>`, else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "iam"] or parts[3]:
        return None
    resource = parts[5]
    if not resource.startswith(kind + "/"):
        return None
    path, _, name = resource[len(kind) :].rpartition("/")
    if not name:
        return None
    return parts[4], path + "/", name


# -- errors ---------------------------------------------------------------------------------------


def no_such_role(name: str) -> AwsError:
    return AwsError("NoSuchEntity", f"The role with name {name} cannot be found.")


def invalid_input(message: str) -> AwsError:
    return AwsError("InvalidInput", message)


def invalid_arn(arn: str) -> AwsError:
    return AwsError("InvalidInput", f"ARN {arn} is not valid.")


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceeded", message)


# -- tags -----------------------------------------------------------------------------------------


def merged_tags(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    """`current` with `new` added; IAM tag keys are case-insensitive, a new value replaces the
    old one (with the new key's spelling) and a request naming one key twice is refused."""
    seen: set[str] = set()
    for tag in new:
        lowered = tag["Key"].lower()
        if lowered in seen:
            raise invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(lowered)
    result = [tag for tag in current if tag["Key"].lower() not in seen]
    result.extend({"Key": tag["Key"], "Value": tag["Value"]} for tag in new)
    if len(result) > MAX_TAGS:
        raise limit_exceeded(f"Cannot exceed quota for TagsPerEntity: {MAX_TAGS}.")
    return result


def without_tags(current: list[dict[str, str]], keys: Sequence[str]) -> list[dict[str, str]]:
    drop = {key.lower() for key in keys}
    return [tag for tag in current if tag["Key"].lower() not in drop]


# -- pagination -----------------------------------------------------------------------------------


def page(
    items: list[T], sort_key: Callable[[T], str], params: dict[str, Any]
) -> tuple[list[T], dict[str, Any]]:
    """One page of `items` after the request's Marker, and IsTruncated / Marker for the answer.

    The marker names the last key handed out (not a position), so a page stays correct when
    entities are created or deleted between two calls.
    """
    ordered = sorted(items, key=sort_key)
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid_input("Invalid Marker.") from None
        ordered = [item for item in ordered if sort_key(item) > after]
    limit = params.get("MaxItems") or DEFAULT_MAX_ITEMS
    chunk = ordered[:limit]
    if len(ordered) > limit:
        next_marker = base64.urlsafe_b64encode(sort_key(chunk[-1]).encode()).decode()
        return chunk, {"IsTruncated": True, "Marker": next_marker}
    return chunk, {"IsTruncated": False}
