"""Object versions: how a write or a delete changes a key's versions, by the bucket's versioning,
and what GetObject/HeadObject answer (headers, conditions, ranges).

A key's document holds its versions newest first, each a dict: `id` ("null" when written while
versioning was off or suspended), `dm` for a delete marker, else `size`, `etag` (MD5 hex, or
"<md5 of md5s>-N"), `mtime` (ms), `blobs` ([[file id, size], ...]), `ctype`, `hdr` (content
headers), `meta`, `tags`, `acl`, `sc` (storage class), `cks` (checksum), `parts` (part sizes).
"""

from __future__ import annotations

import re
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services.s3 import checksums
from cloudlet.services.s3.common import (
    new_version_id,
    no_such_key,
    no_such_version,
    precondition_failed,
    quoted,
    to_ms,
    utc,
)

#: request members copied into a version's content headers, and back out
CONTENT_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "WebsiteRedirectLocation",
)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def current(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    return doc["v"][0] if doc and doc.get("v") else None


def find(doc: dict[str, Any] | None, key: str, version_id: str | None) -> dict[str, Any]:
    """The version a request names (the current one without a version id); S3's errors."""
    if version_id is None:
        version = current(doc)
        if version is None or version.get("dm"):
            raise no_such_key(key)
        return version
    if doc is not None:
        for version in doc["v"]:
            if version["id"] == version_id:
                return version
    if version_id != "null" and len(version_id) != 32:
        raise AwsError(
            "InvalidArgument",
            "Invalid version id specified",
            status=400,
            fields={"ArgumentName": "versionId", "ArgumentValue": version_id},
        )
    raise no_such_version(key, version_id)


def add_version(
    doc: dict[str, Any] | None, version: dict[str, Any], versioning: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The key's new document with `version` current, and the versions it replaced for good.

    Off: the key has one version, "null". Enabled: a new id, older versions stay. Suspended:
    id "null", replacing an earlier "null" version and keeping the others.
    """
    old = list(doc["v"]) if doc else []
    if versioning == "Enabled":
        version["id"] = new_version_id()
        return {"v": [version, *old]}, []
    version["id"] = "null"
    if versioning is None:
        return {"v": [version]}, old
    gone = [v for v in old if v["id"] == "null"]
    return {"v": [version, *(v for v in old if v["id"] != "null")]}, gone


def remove_version(
    doc: dict[str, Any], version_id: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The document without one version (None when no version is left) and that version."""
    kept = [v for v in doc["v"] if v["id"] != version_id]
    gone = next((v for v in doc["v"] if v["id"] == version_id), None)
    return ({"v": kept} if kept else None), gone


def delete_marker(now_ms: int, account: str) -> dict[str, Any]:
    return {"dm": True, "mtime": now_ms, "owner": account}


# -- answers --------------------------------------------------------------------------------------


def head_fields(version: dict[str, Any], checksum_mode: bool) -> dict[str, Any]:
    """The output members GetObject and HeadObject share."""
    out: dict[str, Any] = {
        "ETag": quoted(version["etag"]),
        "LastModified": utc(version["mtime"]),
        "ContentLength": version["size"],
        "ContentType": version.get("ctype") or "binary/octet-stream",
        "AcceptRanges": "bytes",
        "ServerSideEncryption": version.get("sse") or "AES256",
    }
    if version["id"] != "null":
        out["VersionId"] = version["id"]
    out.update(version.get("hdr") or {})
    if version.get("expires"):
        out["Expires"] = utc(version["expires"])
    if version.get("meta"):
        out["Metadata"] = dict(version["meta"])
    if version.get("tags"):
        out["TagCount"] = len(version["tags"])
    if version.get("sc") and version["sc"] != "STANDARD":
        out["StorageClass"] = version["sc"]
    if version.get("parts"):
        out["PartsCount"] = len(version["parts"])
    if checksum_mode:
        out.update(checksums.response_members(version.get("cks")))
    return out


def not_modified(version: dict[str, Any]) -> AwsError:
    return AwsError(
        "NotModified",
        "Not Modified",
        status=304,
        headers={
            "ETag": quoted(version["etag"]),
            "Last-Modified": format_datetime(utc(version["mtime"]), usegmt=True),
        },
    )


def _etag_matches(condition: str, etag: str) -> bool:
    wanted = {item.strip().strip('"') for item in condition.split(",")}
    return "*" in wanted or etag in wanted


def check_conditions(params: dict[str, Any], version: dict[str, Any], prefix: str = "") -> None:
    """If-Match / If-None-Match / If-(Un)Modified-Since as S3 applies them (RFC 7232 order):
    412 PreconditionFailed or 304 NotModified. `prefix` is "CopySource" for CopyObject, where
    every failed condition is a 412."""
    etag, mtime = version["etag"], version["mtime"] // 1000 * 1000
    if_match = params.get(prefix + "IfMatch")
    if if_match is not None and not _etag_matches(if_match, etag):
        raise precondition_failed(_condition(prefix, "If-Match"))
    unmodified = params.get(prefix + "IfUnmodifiedSince")
    if if_match is None and unmodified is not None and mtime > to_ms(unmodified):
        raise precondition_failed(_condition(prefix, "If-Unmodified-Since"))
    none_match = params.get(prefix + "IfNoneMatch")
    if none_match is not None and _etag_matches(none_match, etag):
        if prefix:
            raise precondition_failed(_condition(prefix, "If-None-Match"))
        raise not_modified(version)
    modified = params.get(prefix + "IfModifiedSince")
    if none_match is None and modified is not None and mtime <= to_ms(modified):
        if prefix:
            raise precondition_failed(_condition(prefix, "If-Modified-Since"))
        raise not_modified(version)


def _condition(prefix: str, name: str) -> str:
    return f"x-amz-copy-source-{name}" if prefix else name


def parse_range(text: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single `bytes=` range; None for no range, or one S3 ignores (several
    ranges, or a syntax it does not understand, both answered with the whole object)."""
    if not text:
        return None
    match = _RANGE.match(text.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = min(int(last), size)
        if length == 0:
            raise invalid_range(text, size)
        return size - length, length
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        raise invalid_range(text, size)
    return start, end - start + 1


def invalid_range(text: str, size: int) -> AwsError:
    return AwsError(
        "InvalidRange",
        "The requested range is not satisfiable",
        status=416,
        fields={"RangeRequested": text, "ActualObjectSize": size},
        headers={"Content-Range": f"bytes */{size}"},
    )


def http_date(value: Any) -> str:
    return format_datetime(utc(to_ms(value)), usegmt=True)


def parse_http_date(text: str) -> int | None:
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError):
        return None
