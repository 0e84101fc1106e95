"""Identifiers formatted as AWS formats them."""

from __future__ import annotations

import os
import uuid


def request_id() -> str:
    """A request id like AWS's: a random UUID."""
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def message_id() -> str:
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def token(nbytes: int = 16) -> str:
    return os.urandom(nbytes).hex()
