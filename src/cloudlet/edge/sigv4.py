"""What a request's SigV4 signature says: access key, date, region and service.

Verifying the signature itself arrives with IAM enforcement, which will read it from the same
headers. Unsigned requests are allowed where AWS allows them.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

_AUTH = re.compile(r"Credential=([^,\s]+)")


class Credentials(NamedTuple):
    """A request's credential scope. A named tuple: every signed request builds one, and a
    frozen dataclass costs twice as much to build (0.4 against 0.2 microseconds)."""

    access_key: str
    date: str
    region: str
    service: str


def parse_credential_scope(scope: str) -> Credentials | None:
    """`AKID/20240101/us-east-1/sqs/aws4_request` -> Credentials."""
    parts = scope.split("/")
    if len(parts) != 5:
        return None
    return Credentials(parts[0], parts[1], parts[2], parts[3])


def credentials_of(headers: dict[str, str], query: dict[str, str]) -> Credentials | None:
    """The credential scope from the Authorization header or a presigned URL's query string."""
    auth = headers.get("authorization")
    if auth and auth.startswith("AWS4-HMAC-SHA256"):
        match = _AUTH.search(auth)
        if match:
            return parse_credential_scope(match.group(1))
    scope = query.get("X-Amz-Credential")
    if scope:
        return parse_credential_scope(unquote(scope))
    return None
