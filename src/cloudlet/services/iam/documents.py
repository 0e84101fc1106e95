"""Policy documents: validated as IAM validates them, stored as given, sent URL-encoded.

IAM keeps a policy's text exactly as submitted (whitespace and key order included) and answers it
percent-encoded; botocore and the CLI decode it back into a dict. Validation follows IAM's order
and messages: first whether the text is a policy at all, then its version, then each statement.
Only the grammar is checked — whether actions and resources exist is IAM's business at
evaluation time, which arrives with enforcement.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from cloudlet.protocols.errors import AwsError

_TOP = frozenset({"Version", "Id", "Statement"})
_STATEMENT = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal"}
    | {"NotPrincipal", "Condition"}
)
_VERSIONS = ("2012-10-17", "2008-10-17")

#: size quotas (characters, whitespace not counted), as IAM counts them
MANAGED_POLICY_SIZE = 6144
ROLE_INLINE_SIZE = 10240
TRUST_POLICY_SIZE = 2048

SYNTAX = "Syntax errors in policy."


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message)


def encoded(text: str) -> str:
    """A policy as IAM puts it on the wire: percent-encoded JSON text."""
    return quote(text, safe="")


def size(text: str) -> int:
    """A policy's size as IAM's quotas count it: characters other than whitespace."""
    return sum(1 for char in text if not char.isspace())


def _as_list(value: Any) -> list[Any] | None:
    """A policy element's values (one string or a list of them), or None when malformed."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    return None


def _parse(text: str, not_json: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise malformed(not_json) from None
    if not isinstance(document, dict):
        raise malformed(not_json)
    return document


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a document whose top level is well-formed, else a syntax error."""
    if set(document) - _TOP or ("Id" in document and not isinstance(document["Id"], str)):
        raise malformed(SYNTAX)
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise malformed(SYNTAX)
    statement = document.get("Statement")
    statements = [statement] if isinstance(statement, dict) else statement
    if not isinstance(statements, list) or not statements:
        raise malformed(SYNTAX)
    for item in statements:
        if not isinstance(item, dict) or set(item) - _STATEMENT:
            raise malformed(SYNTAX)
        if item.get("Effect") not in ("Allow", "Deny"):
            raise malformed(SYNTAX)
        if "Sid" in item and not isinstance(item["Sid"], str):
            raise malformed(SYNTAX)
        for element in ("Action", "NotAction", "Resource", "NotResource"):
            if element in item and _as_list(item[element]) is None:
                raise malformed(SYNTAX)
        condition = item.get("Condition")
        if condition is not None and not (
            isinstance(condition, dict) and all(isinstance(v, dict) for v in condition.values())
        ):
            raise malformed(SYNTAX)
    return statements


def _check_sids(statements: list[dict[str, Any]]) -> None:
    sids = [item["Sid"] for item in statements if item.get("Sid")]
    if len(sids) != len(set(sids)):
        raise malformed("Statement IDs (SID) in a single policy must be unique.")


def _check_actions(statements: list[dict[str, Any]]) -> None:
    for item in statements:
        actions = item.get("Action", item.get("NotAction"))
        if actions is None:
            raise malformed("Policy statement must contain actions.")
        for action in _as_list(actions) or ():
            vendor, colon, rest = action.partition(":")
            if action != "*" and not (colon and vendor and rest):
                raise malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                )


def validate_identity_policy(text: str, *, managed: bool) -> dict[str, Any]:
    """An identity-based policy: its parsed document, or MalformedPolicyDocument with IAM's
    message. Managed policies must say Version 2012-10-17; inline ones may still be older."""
    document = _parse(text, SYNTAX)
    statements = _statements(document)
    if managed and document.get("Version") != "2012-10-17":
        raise malformed("Policy document must be version 2012-10-17 or greater.")
    _check_sids(statements)
    _check_actions(statements)
    for item in statements:
        resources = item.get("Resource", item.get("NotResource"))
        if resources is None:
            raise malformed("Policy statement must contain resources.")
        for resource in _as_list(resources) or ():
            if resource != "*" and not resource.startswith("arn:"):
                raise malformed(f'Resource {resource} must be in ARN format or "*".')
        if "Principal" in item or "NotPrincipal" in item:
            raise malformed("Policy document should not specify a principal.")
    return document


def validate_trust_policy(text: str) -> dict[str, Any]:
    """A role's trust (assume role) policy: who may assume the role, with which STS action."""
    document = _parse(text, "This policy contains invalid Json")
    statements = _statements(document)
    _check_sids(statements)
    for item in statements:
        if "Resource" in item or "NotResource" in item:
            raise malformed(
                "Has prohibited field " + ("Resource" if "Resource" in item else "NotResource")
            )
        if "Principal" not in item and "NotPrincipal" not in item:
            raise malformed("Missing required field Principal")
        principal = item.get("Principal", item.get("NotPrincipal"))
        if principal != "*" and not (isinstance(principal, dict) and principal):
            raise malformed(SYNTAX)
    _check_actions(statements)
    for item in statements:
        for action in _as_list(item.get("Action", item.get("NotAction"))) or ():
            if action != "*" and not action.lower().startswith("sts:"):
                raise malformed("AssumeRole policy may only specify STS AssumeRole actions.")
    return document
