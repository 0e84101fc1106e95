"""Object operations: put, get, head, delete, copy, and listing (mixed into S3Provider).

A write streams its body to disk first (`blobs`), verifies it, then commits the key's document
together with its event notifications in one group commit; files a commit made unreachable are
deleted after it, and EventBridge events go out after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.streams import BytesStream, FileBody
from cloudlet.services import RequestContext
from cloudlet.services.s3 import acl, checksums, listing, objects
from cloudlet.services.s3.blobs import BlobStore, Written
from cloudlet.services.s3.chunked import AwsChunked, incomplete, is_aws_chunked
from cloudlet.services.s3.common import (
    MAX_KEY_BYTES,
    OBJECT,
    invalid_argument,
    invalid_request,
    no_such_key,
    object_key,
    owner,
    precondition_failed,
    quoted,
    to_ms,
    utc,
)

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.services.s3.listing import KeyIndex
    from cloudlet.services.s3.notifications import Notifications

_RESPONSE_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}


class ObjectOps:
    app: App
    store: Store
    clock: Clock
    index: KeyIndex
    blobs: BlobStore
    notifications: Notifications

    def bucket(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    # -- writing ------------------------------------------------------------------------------
    async def receive(self, ctx: RequestContext, params: dict[str, Any]) -> Written:
        """Stream a request's body to disk and verify it (Content-MD5, x-amz-checksum-*,
        aws-chunked trailers); the file is kept only when it passes."""
        headers = ctx.headers
        algorithm, expected = checksums.requested(params, headers)
        body: Any = params.get("Body") or BytesStream(b"")
        framed = AwsChunked(body) if is_aws_chunked(headers) else None
        written = await self.blobs.write(framed or body, algorithm)
        try:
            if framed is not None:
                decoded = headers.get("x-amz-decoded-content-length")
                if decoded is not None and decoded.isdigit() and int(decoded) != written.size:
                    raise incomplete()
                if algorithm and expected is None:
                    expected = framed.trailers.get(checksums.header(algorithm))
                    if expected is None and headers.get("x-amz-trailer"):
                        raise invalid_request(
                            f"The {checksums.header(algorithm)} trailer was not sent"
                        )
                    if expected is not None:
                        checksums.check_value(algorithm, expected)
            if expected is not None and written.checksum not in (None, expected):
                raise checksums.mismatch(algorithm or "")
            _check_md5(params.get("ContentMD5"), written.md5)
        except BaseException:
            self.blobs.discard(written)
            raise
        self.blobs.keep(written)
        if expected is not None:
            written.checksum = expected
        return written

    def new_version(
        self, ctx: RequestContext, params: dict[str, Any], written: Written
    ) -> dict[str, Any]:
        version: dict[str, Any] = {
            "size": written.size,
            "etag": written.md5,
            "mtime": self.clock.now_ms(),
            "blobs": [[written.blob, written.size]],
            "owner": ctx.account,
        }
        describe(version, params)
        if written.algorithm and written.checksum:
            version["cks"] = {
                "alg": written.algorithm,
                "value": written.checksum,
                "type": "FULL_OBJECT",
            }
        return version

    async def put_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        bucket = self.bucket(name)
        _check_key(key)
        canned = acl.check_canned(bucket, params.get("ACL"))
        tags = acl.tags_from_header(params.get("Tagging"))
        written = await self.receive(ctx, params)
        version = self.new_version(ctx, params, written)
        version["tags"], version["acl"] = tags, canned
        stored = await self.store_version(ctx, name, key, version, "ObjectCreated:Put", params)
        out = {"ETag": quoted(version["etag"]), "ServerSideEncryption": "AES256"}
        out.update(checksums.response_members(version.get("cks")))
        if stored["id"] != "null":
            out["VersionId"] = stored["id"]
        return out

    async def store_version(
        self,
        ctx: RequestContext,
        name: str,
        key: str,
        version: dict[str, Any],
        event: str,
        conditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Commit a new version of a key (with its notifications); tidy up after the commit."""
        try:
            gone, events = await self.app.commit(
                self._write_version, ctx, name, key, version, event, conditions or {}
            )
        except BaseException:
            self.blobs.remove(version["blobs"])
            raise
        self.after_commit(name, key, gone, events)
        return version

    def _write_version(
        self,
        ctx: RequestContext,
        name: str,
        key: str,
        version: dict[str, Any],
        event: str,
        conditions: dict[str, Any],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        bucket = self.bucket(name)
        doc = self.store.get(OBJECT, object_key(name, key))
        _check_write_conditions(conditions, objects.current(doc), key)
        new_doc, gone = objects.add_version(doc, version, bucket.get("versioning"))
        self.store.put(OBJECT, object_key(name, key), new_doc)
        events = self.notifications.object_event(ctx, bucket, key, version, event)
        return gone, events

    def after_commit(
        self, name: str, key: str, gone: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        for old in gone:
            self.blobs.remove(old.get("blobs") or [])
        self.index.sync(name, key)
        self.notifications.emit(events)

    # -- reading ------------------------------------------------------------------------------
    def _readable(self, params: dict[str, Any]) -> dict[str, Any]:
        """The version a Get/Head names, with S3's answers for delete markers."""
        name, key = params["Bucket"], params["Key"]
        self.bucket(name)
        doc = self.store.get(OBJECT, object_key(name, key))
        version_id = params.get("VersionId")
        if version_id is None:
            latest = objects.current(doc)
            if latest is not None and latest.get("dm"):
                error = no_such_key(key)
                error.headers = {"x-amz-delete-marker": "true"}
                if latest["id"] != "null":
                    error.headers["x-amz-version-id"] = latest["id"]
                raise error
        version = objects.find(doc, key, version_id)
        if version.get("dm"):
            raise AwsError(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                status=405,
                fields={"Method": "GET", "ResourceType": "DeleteMarker"},
                headers={
                    "x-amz-delete-marker": "true",
                    "x-amz-version-id": version["id"],
                    "Last-Modified": objects.http_date(version["mtime"] / 1000),
                },
            )
        return version

    def _answer(self, params: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        objects.check_conditions(params, version)
        out = objects.head_fields(version, params.get("ChecksumMode") == "ENABLED")
        size = version["size"]
        span = _part_range(version, params.get("PartNumber"))
        if span is None:
            span = objects.parse_range(params.get("Range"), size)
        if span is not None:
            start, length = span
            out["ContentRange"] = f"bytes {start}-{start + length - 1}/{size}"
            out["ContentLength"] = length
            if not params.get("PartNumber"):
                out.pop(checksums.member((version.get("cks") or {}).get("alg", "")), None)
                out.pop("ChecksumType", None)
        for request_member, output_member in _RESPONSE_OVERRIDES.items():
            if params.get(request_member) is not None:
                out[output_member] = params[request_member]
        return out

    def head_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._answer(params, self._readable(params))

    def get_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = self._readable(params)
        out = self._answer(params, version)
        if "ContentRange" in out:
            start = int(out["ContentRange"].split()[1].split("-")[0])
            segments = self.blobs.segments(version["blobs"], start, out["ContentLength"])
        else:
            segments = self.blobs.segments(version["blobs"], 0, version["size"])
        out["Body"] = FileBody(segments)
        return out

    # -- deleting ----------------------------------------------------------------------------
    async def delete_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        out, gone, events = await self.app.commit(
            self.remove, ctx, name, key, params.get("VersionId")
        )
        self.after_commit(name, key, gone, events)
        return out

    def remove(
        self, ctx: RequestContext, name: str, key: str, version_id: str | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """Delete a key or one version, as the bucket's versioning says (inside a commit)."""
        bucket = self.bucket(name)
        okey = object_key(name, key)
        doc = self.store.get(OBJECT, okey)
        out: dict[str, Any] = {}
        if version_id is not None:
            if doc is None:
                return {"VersionId": version_id}, [], []
            new_doc, gone = objects.remove_version(doc, version_id)
            if gone is None:
                objects.find(doc, key, version_id)  # an invalid id is an error; a missing one not
                return {"VersionId": version_id}, [], []
            self._replace(okey, new_doc)
            out = {"VersionId": version_id}
            if gone.get("dm"):
                out["DeleteMarker"] = True
            event = self.notifications.object_event(ctx, bucket, key, gone, "ObjectRemoved:Delete")
            return out, [gone], event
        versioning = bucket.get("versioning")
        if versioning is None:
            if doc is None:
                return {}, [], []
            self.store.delete(OBJECT, okey)
            latest = doc["v"][0]
            event = self.notifications.object_event(
                ctx, bucket, key, latest, "ObjectRemoved:Delete"
            )
            return {}, list(doc["v"]), event
        marker = objects.delete_marker(self.clock.now_ms(), ctx.account)
        new_doc, gone = objects.add_version(doc, marker, versioning)
        self.store.put(OBJECT, okey, new_doc)
        out = {"DeleteMarker": True, "VersionId": marker["id"]}
        event = self.notifications.object_event(
            ctx, bucket, key, marker, "ObjectRemoved:DeleteMarkerCreated"
        )
        return out, gone, event

    def _replace(self, okey: str, doc: dict[str, Any] | None) -> None:
        if doc is None:
            self.store.delete(OBJECT, okey)
        else:
            self.store.put(OBJECT, okey, doc)

    async def delete_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        request = params["Delete"]
        items = request.get("Objects") or []
        if not items or len(items) > 1000:
            raise AwsError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
                status=400,
            )
        outcome = await self.app.commit(self._remove_many, ctx, name, items)
        deleted, errors = [], []
        for item, result in zip(items, outcome, strict=True):
            if isinstance(result, AwsError):
                errors.append({"Key": item["Key"], "Code": result.code, "Message": result.message})
                continue
            out, gone, events = result
            self.after_commit(name, item["Key"], gone, events)
            entry = {"Key": item["Key"]}
            if item.get("VersionId"):
                entry["VersionId"] = item["VersionId"]
            if out.get("DeleteMarker"):
                entry["DeleteMarker"] = True
                if not item.get("VersionId"):
                    entry["DeleteMarkerVersionId"] = out["VersionId"]
            deleted.append(entry)
        result: dict[str, Any] = {"Errors": errors} if errors else {}
        if not request.get("Quiet"):
            result["Deleted"] = deleted
        return result

    def _remove_many(self, ctx: RequestContext, name: str, items: list[dict[str, Any]]) -> list:
        self.bucket(name)
        out: list[Any] = []
        for item in items:
            try:
                with self.store.transaction():
                    out.append(self.remove(ctx, name, item["Key"], item.get("VersionId")))
            except AwsError as error:
                out.append(error)
        return out

    # -- copying -----------------------------------------------------------------------------
    async def copy_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        _check_key(key)
        src_bucket, src_key, src_version = parse_copy_source(params["CopySource"])
        source = self._readable({"Bucket": src_bucket, "Key": src_key, "VersionId": src_version})
        objects.check_conditions(params, source, "CopySource")
        bucket = self.bucket(name)
        replace = params.get("MetadataDirective") == "REPLACE"
        if (src_bucket, src_key) == (name, key) and not replace and not _changes(params):
            raise invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes."
            )
        version = _copied(source, params, replace, self.clock.now_ms(), ctx.account)
        version["acl"] = acl.check_canned(bucket, params.get("ACL"))
        version["blobs"] = self.blobs.link(source["blobs"])
        stored = await self.store_version(ctx, name, key, version, "ObjectCreated:Copy", params)
        result = {"ETag": quoted(version["etag"]), "LastModified": utc(version["mtime"])}
        result.update({k: v for k, v in checksums.response_members(version.get("cks")).items()})
        out: dict[str, Any] = {"CopyObjectResult": result, "ServerSideEncryption": "AES256"}
        if source["id"] != "null":
            out["CopySourceVersionId"] = source["id"]
        if stored["id"] != "null":
            out["VersionId"] = stored["id"]
        return out

    # -- listing -----------------------------------------------------------------------------
    def _entry(self, name: str, fetch_owner: bool) -> Any:
        def entry(key: str) -> dict[str, Any] | None:
            version = objects.current(self.store.get(OBJECT, object_key(name, key)))
            if version is None or version.get("dm"):
                return None
            item = {
                "Key": key,
                "LastModified": utc(version["mtime"]),
                "ETag": quoted(version["etag"]),
                "Size": version["size"],
                "StorageClass": version.get("sc") or "STANDARD",
            }
            if version.get("cks"):
                item["ChecksumAlgorithm"] = [version["cks"]["alg"]]
                item["ChecksumType"] = version["cks"]["type"]
            if fetch_owner:
                item["Owner"] = owner(version.get("owner", ""))
            return item

        return entry

    def list_objects_v2(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        self.bucket(name)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        token = params.get("ContinuationToken")
        after = listing.decode_token(token) if token else ""
        after = max(after, params.get("StartAfter") or "")
        limit = _max_keys(params.get("MaxKeys"))
        entries, prefixes, truncated, last = listing.collect(
            self.index,
            name,
            prefix,
            delimiter,
            after,
            limit,
            self._entry(name, bool(params.get("FetchOwner"))),
        )
        out = _listing_common(params, entries, prefixes, truncated, limit)
        out["KeyCount"] = len(entries) + len(prefixes)
        if token:
            out["ContinuationToken"] = token
        if params.get("StartAfter"):
            out["StartAfter"] = _encoded(params, params["StartAfter"])
        if truncated:
            out["NextContinuationToken"] = listing.encode_token(last)
        return out

    def list_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        self.bucket(name)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        marker = params.get("Marker") or ""
        limit = _max_keys(params.get("MaxKeys"))
        entries, prefixes, truncated, last = listing.collect(
            self.index, name, prefix, delimiter, marker, limit, self._entry(name, True)
        )
        out = _listing_common(params, entries, prefixes, truncated, limit)
        out["Marker"] = _encoded(params, marker)
        if truncated and delimiter:
            out["NextMarker"] = _encoded(params, last)
        return out


def _listing_common(
    params: dict[str, Any], entries: list, prefixes: list[str], truncated: bool, limit: int
) -> dict[str, Any]:
    if params.get("EncodingType") == "url":
        for entry in entries:
            entry["Key"] = listing.url_encode(entry["Key"])
    out: dict[str, Any] = {
        "Name": params["Bucket"],
        "Prefix": _encoded(params, params.get("Prefix") or ""),
        "MaxKeys": limit,
        "IsTruncated": truncated,
        "Contents": entries,
        "CommonPrefixes": [{"Prefix": _encoded(params, p)} for p in prefixes],
    }
    if params.get("Delimiter"):
        out["Delimiter"] = _encoded(params, params["Delimiter"])
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out


def _encoded(params: dict[str, Any], text: str) -> str:
    return listing.url_encode(text) if params.get("EncodingType") == "url" else text


def _max_keys(value: int | None) -> int:
    if value is None:
        return 1000
    if value < 0:
        raise invalid_argument("max-keys must be non-negative", "max-keys", value)
    return min(value, 1000)


def _check_key(key: str) -> None:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise AwsError("KeyTooLongError", "Your key is too long", status=400)


def _check_md5(sent: str | None, md5_hex: str) -> None:
    if not sent:
        return
    import base64
    import binascii

    try:
        raw = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", status=400)
    if raw.hex() != md5_hex:
        raise AwsError(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            status=400,
            fields={"ExpectedDigest": raw.hex(), "CalculatedDigest": sent},
        )


def _check_write_conditions(
    params: dict[str, Any], latest: dict[str, Any] | None, key: str
) -> None:
    """Conditional writes: If-None-Match: * and If-Match on PutObject/Complete/Copy."""
    live = latest is not None and not latest.get("dm")
    if params.get("IfNoneMatch") == "*" and live:
        raise precondition_failed("If-None-Match")
    if_match = params.get("IfMatch")
    if if_match is not None:
        if not live:
            raise no_such_key(key)
        if if_match.strip('"') != latest["etag"] and if_match != "*":  # type: ignore[index]
            raise precondition_failed("If-Match")


def describe(version: dict[str, Any], params: dict[str, Any]) -> None:
    """Content headers, metadata and storage class of a write, into a version."""
    hdr = {h: params[h] for h in objects.CONTENT_HEADERS if params.get(h)}
    encoding = ",".join(
        e for e in (hdr.get("ContentEncoding") or "").split(",") if e.strip() != "aws-chunked"
    )
    if encoding:
        hdr["ContentEncoding"] = encoding
    else:
        hdr.pop("ContentEncoding", None)
    version["hdr"] = hdr
    version["ctype"] = params.get("ContentType") or "binary/octet-stream"
    version["meta"] = dict(params.get("Metadata") or {})
    version["sc"] = params.get("StorageClass") or "STANDARD"
    if params.get("Expires") is not None:
        version["expires"] = to_ms(params["Expires"])


def parse_copy_source(text: str) -> tuple[str, str, str | None]:
    """`bucket/key[?versionId=...]`, URL-encoded, with or without a leading slash."""
    path, _, query = text.partition("?")
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    version = None
    if query.startswith("versionId="):
        version = unquote(query[len("versionId=") :])
    if not bucket or not key:
        raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", text)
    return bucket, key, version


def _changes(params: dict[str, Any]) -> bool:
    return any(
        params.get(m)
        for m in ("StorageClass", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId")
    )


def _copied(
    source: dict[str, Any], params: dict[str, Any], replace: bool, now: int, account: str
) -> dict[str, Any]:
    version = {
        k: source[k]
        for k in ("size", "etag", "cks", "parts", "ctype", "hdr", "meta", "expires", "tags", "sc")
        if k in source
    }
    version.update(mtime=now, owner=account)
    if replace:
        describe(version, params)
    elif params.get("StorageClass"):
        version["sc"] = params["StorageClass"]
    if params.get("TaggingDirective") == "REPLACE":
        version["tags"] = acl.tags_from_header(params.get("Tagging"))
    wanted = params.get("ChecksumAlgorithm")
    if wanted and (source.get("cks") or {}).get("alg") != wanted:
        version.pop("cks", None)
    return version


def _part_range(version: dict[str, Any], number: int | None) -> tuple[int, int] | None:
    if not number:
        return None
    sizes = version.get("parts") or [version["size"]]
    if number < 1 or number > len(sizes):
        raise AwsError(
            "InvalidPartNumber", "The requested partnumber is not satisfiable", status=416
        )
    start = sum(sizes[: number - 1])
    return start, sizes[number - 1]
