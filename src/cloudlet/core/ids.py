"""Identifiers formatted as AWS formats them."""

from __future__ import annotations

import os


class _Entropy:
    """Random bytes drawn from the OS 4 KiB at a time.

    Every request and message gets a random id; one `getrandom` system call per id was ~5 % of a
    small SQS request. The bytes are the OS's own (os.urandom), only fetched in larger pieces.
    Shared by the servers of one process, which is harmless: it holds no state of theirs.
    """

    __slots__ = ("buffer", "offset")

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0

    def take(self, count: int) -> bytes:
        end = self.offset + count
        if end > len(self.buffer):
            self.buffer = os.urandom(4096)
            self.offset, end = 0, count
        chunk = self.buffer[self.offset : end]
        self.offset = end
        return chunk


_entropy = _Entropy()
# A forked child must never hand out its parent's remaining bytes again.
os.register_at_fork(after_in_child=lambda: _entropy.__init__())


def uuid4() -> str:
    """A random (version 4) UUID string, formatted without building a uuid.UUID object."""
    h = _entropy.take(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


request_id = uuid4
message_id = uuid4


def token(nbytes: int = 16) -> str:
    return _entropy.take(nbytes).hex()
