"""Listing keys in order: ListObjects (v1), ListObjectsV2 and ListObjectVersions.

Each bucket's keys are kept in a sorted list, built from the store once per bucket and kept in
step after every commit, so a page costs a binary search plus the keys it returns (a scan of the
store would cost every document of every service, per page). Prefixes and delimiters fold keys
into CommonPrefixes, each counted once against MaxKeys, and a folded prefix is skipped with one
more binary search.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from cloudlet.core.store import Store
from cloudlet.services.s3.common import OBJECT, invalid_argument

_MAX = "\U0010ffff"


class KeyIndex:
    """The sorted keys of each bucket that has at least one version or delete marker."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._keys: dict[str, list[str]] = {}

    def keys(self, bucket: str) -> list[str]:
        found = self._keys.get(bucket)
        if found is None:
            cut = len(bucket) + 1
            found = self._keys[bucket] = [k[cut:] for k, _ in self.store.scan(OBJECT, bucket + "/")]
        return found

    def sync(self, bucket: str, key: str) -> None:
        """Bring one key in line with the store, after a commit that may have changed it."""
        keys = self._keys.get(bucket)
        if keys is None:
            return  # built from the store on first use
        present = self.store.get(OBJECT, f"{bucket}/{key}") is not None
        at = bisect_left(keys, key)
        listed = at < len(keys) and keys[at] == key
        if present and not listed:
            insort(keys, key)
        elif listed and not present:
            del keys[at]

    def drop(self, bucket: str) -> None:
        self._keys.pop(bucket, None)

    def clear(self) -> None:
        self._keys.clear()

    def walk(self, bucket: str, prefix: str, after: str) -> Iterator[str]:
        """Keys with `prefix` sorting after `after`, in order; `skip_past` moves the walk on."""
        keys = self.keys(bucket)
        start = max(prefix, after)
        at = bisect_right(keys, start) if start == after and after else bisect_left(keys, start)
        while at < len(keys):
            key = keys[at]
            if not key.startswith(prefix):
                return
            skip = yield key
            if skip is not None:
                at = bisect_right(keys, skip + _MAX)
                yield ""  # the value of send()
            else:
                at += 1


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None


def url_encode(text: str) -> str:
    """EncodingType=url: what S3 percent-encodes in keys and prefixes."""
    return quote(text, safe="/~")


def collect(
    index: KeyIndex,
    bucket: str,
    prefix: str,
    delimiter: str,
    after: str,
    max_keys: int,
    entry: Callable[[str], Any | None],
) -> tuple[list[Any], list[str], bool, str]:
    """Up to `max_keys` entries and common prefixes after `after`.

    `entry(key)` turns a key into its list entry, or None to leave it out (a key whose current
    version is a delete marker). Returns (entries, prefixes, truncated, last key or prefix).
    """
    entries: list[Any] = []
    prefixes: list[str] = []
    last = ""
    walk = index.walk(bucket, prefix, after)
    for key in walk:
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common == after or (after and common < after and after.startswith(common)):
                    walk.send(common)
                    continue
                if len(entries) + len(prefixes) >= max_keys:
                    return entries, prefixes, True, last
                prefixes.append(common)
                last = common
                walk.send(common)
                continue
        item = entry(key)
        if item is None:
            continue
        if len(entries) + len(prefixes) >= max_keys:
            return entries, prefixes, True, last
        entries.append(item)
        last = key
    return entries, prefixes, False, last
