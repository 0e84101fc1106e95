"""Bucket policies: stored as sent, and read for what anonymous callers may do.

cloudlet does not enforce IAM on the S3 API yet; the website endpoint, whose callers are
anonymous, does: an object is served when a policy statement allows `s3:GetObject` to everyone
(`"Principal": "*"` or `{"AWS": "*"}`) on a resource matching it and no such statement denies it.
A statement with conditions is not counted as public (S3's own "is public" test treats most
conditions as restricting access).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import orjson

from cloudlet.protocols.errors import AwsError


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicy", message, status=400)


def parse(text: str) -> dict[str, Any]:
    if not text.lstrip().startswith("{"):
        raise malformed("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise malformed("Policies must be valid JSON and the first byte must be '{'") from None
    statements = document.get("Statement")
    if not statements:
        raise malformed("Missing required field Statement")
    for statement in _statements(document):
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise malformed("Invalid effect: " + str(statement.get("Effect")))
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise malformed("Missing required field Principal")
        if "Action" not in statement and "NotAction" not in statement:
            raise malformed("Missing required field Action")
        if "Resource" not in statement and "NotResource" not in statement:
            raise malformed("Missing required field Resource")
    return document


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement") or []
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatchcase(value.lower(), p.lower()) for p in patterns)


def is_public(document: dict[str, Any]) -> bool:
    return any(
        s.get("Effect") == "Allow" and _everyone(s.get("Principal")) and not s.get("Condition")
        for s in _statements(document)
    )


def anonymous_may(document: dict[str, Any] | None, action: str, resource: str) -> bool:
    """Whether the policy lets anyone perform `action` on `resource` (explicit Deny wins)."""
    if not document:
        return False
    allowed = False
    for s in _statements(document):
        if not _everyone(s.get("Principal")):
            continue
        if not _matches(_as_list(s.get("Action")), action):
            continue
        if not _matches(_as_list(s.get("Resource")), resource):
            continue
        if s.get("Effect") == "Deny":
            return False
        if not s.get("Condition"):
            allowed = True
    return allowed
