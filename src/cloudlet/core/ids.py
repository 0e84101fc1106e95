"""Identifiers formatted as AWS formats them."""

from __future__ import annotations

import os


def uuid4() -> str:
    """A random (version 4) UUID string, formatted without building a uuid.UUID object.

    Every request and message gets one, so this runs on the hot path: it is ~4x cheaper than
    str(uuid.uuid4()).
    """
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


request_id = uuid4
message_id = uuid4


def token(nbytes: int = 16) -> str:
    return os.urandom(nbytes).hex()
