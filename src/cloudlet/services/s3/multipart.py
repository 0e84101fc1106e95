"""Multipart uploads (mixed into S3Provider).

An upload is a document (`s3.upload`, `<bucket>/<upload id>`) holding what CreateMultipartUpload
said about the object; each part is a document of its own (`s3.part`) naming its file. Completing
an upload writes no data: the object's segments are the parts' files, in order. Its ETag is the
MD5 of the parts' binary MD5s followed by `-N`, and its checksum is COMPOSITE (the checksum of the
parts' checksums, `-N`) or FULL_OBJECT (the CRC of the whole, combined from the parts' CRCs).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.protocols.streams import FileBody
from cloudlet.services import RequestContext, committed
from cloudlet.services.s3 import acl, checksums, objects
from cloudlet.services.s3.common import (
    MIN_PART_SIZE,
    PART,
    UPLOAD,
    invalid_argument,
    invalid_request,
    new_upload_id,
    no_such_upload,
    owner,
    quoted,
    utc,
)
from cloudlet.services.s3.objectops import describe, parse_copy_source

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.services.s3.blobs import BlobStore, Written


class MultipartOps:
    app: App
    store: Store
    clock: Clock
    blobs: BlobStore

    def bucket(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def _upload(self, name: str, upload_id: str) -> dict[str, Any]:
        self.bucket(name)
        doc = self.store.get(UPLOAD, f"{name}/{upload_id}")
        if doc is None:
            raise no_such_upload(upload_id)
        return doc

    def _parts(self, name: str, upload_id: str) -> list[dict[str, Any]]:
        return [d for _, d in self.store.scan(PART, f"{name}/{upload_id}/")]

    @committed
    def create_multipart_upload(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name, key = params["Bucket"], params["Key"]
        bucket = self.bucket(name)
        algorithm = params.get("ChecksumAlgorithm")
        kind = params.get("ChecksumType") or ("COMPOSITE" if algorithm else None)
        if kind == "FULL_OBJECT" and algorithm not in ("CRC32", "CRC32C", "CRC64NVME"):
            raise invalid_request(
                f"The {algorithm} checksum algorithm does not support the FULL_OBJECT type."
            )
        upload_id = new_upload_id()
        version: dict[str, Any] = {}
        describe(version, params)
        doc = {
            "key": key,
            "id": upload_id,
            "initiated": self.clock.now_ms(),
            "owner": ctx.account,
            "version": version,
            "tags": acl.tags_from_header(params.get("Tagging")),
            "acl": acl.check_canned(bucket, params.get("ACL")),
            "alg": algorithm,
            "ctype": kind,
        }
        self.store.put(UPLOAD, f"{name}/{upload_id}", doc)
        out = {"Bucket": name, "Key": key, "UploadId": upload_id}
        if algorithm:
            out.update(ChecksumAlgorithm=algorithm, ChecksumType=kind)
        return out

    async def upload_part(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, upload_id, number = params["Bucket"], params["UploadId"], params["PartNumber"]
        _check_part_number(number)
        upload = self._upload(name, upload_id)
        if upload.get("alg") and not params.get("ChecksumAlgorithm"):
            params = {**params, "ChecksumAlgorithm": upload["alg"]}
        written = await self.receive(ctx, params)  # type: ignore[attr-defined]
        await self._store_part(name, upload_id, number, written)
        out = {"ETag": quoted(written.md5), "ServerSideEncryption": "AES256"}
        if written.algorithm and written.checksum:
            out[checksums.member(written.algorithm)] = written.checksum
        return out

    async def upload_part_copy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, upload_id, number = params["Bucket"], params["UploadId"], params["PartNumber"]
        _check_part_number(number)
        upload = self._upload(name, upload_id)
        src_bucket, src_key, src_version = parse_copy_source(params["CopySource"])
        source = self._readable(  # type: ignore[attr-defined]
            {"Bucket": src_bucket, "Key": src_key, "VersionId": src_version}
        )
        objects.check_conditions(params, source, "CopySource")
        span = _copy_range(params.get("CopySourceRange"), source["size"])
        body = FileBody(self.blobs.segments(source["blobs"], *span))
        written = await self.blobs.write(body, upload.get("alg"))
        self.blobs.keep(written)
        await self._store_part(name, upload_id, number, written)
        result = {"ETag": quoted(written.md5), "LastModified": utc(self.clock.now_ms())}
        if written.algorithm and written.checksum:
            result[checksums.member(written.algorithm)] = written.checksum
        out: dict[str, Any] = {"CopyPartResult": result}
        if source["id"] != "null":
            out["CopySourceVersionId"] = source["id"]
        return out

    async def _store_part(self, name: str, upload_id: str, number: int, written: Written) -> None:
        part = {
            "n": number,
            "size": written.size,
            "etag": written.md5,
            "blob": written.blob,
            "mtime": self.clock.now_ms(),
            "cks": written.checksum if written.algorithm else None,
        }

        def store() -> dict[str, Any] | None:
            self._upload(name, upload_id)
            key = f"{name}/{upload_id}/{number:05d}"
            old = self.store.get(PART, key)
            self.store.put(PART, key, part)
            return old

        try:
            old = await self.app.commit(store)
        except BaseException:
            self.blobs.remove([[written.blob, 0]])
            raise
        if old is not None:
            self.blobs.remove([[old["blob"], 0]])

    async def complete_multipart_upload(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
        upload = self._upload(name, upload_id)
        if upload["key"] != key:
            raise no_such_upload(upload_id)
        stored = {p["n"]: p for p in self._parts(name, upload_id)}
        chosen = _chosen_parts(
            upload_id, (params.get("MultipartUpload") or {}).get("Parts"), stored
        )
        version = dict(upload["version"])
        md5s = b"".join(bytes.fromhex(p["etag"]) for p in chosen)
        version.update(
            size=sum(p["size"] for p in chosen),
            etag=f"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}",
            mtime=self.clock.now_ms(),
            owner=ctx.account,
            blobs=[[p["blob"], p["size"]] for p in chosen],
            parts=[p["size"] for p in chosen],
            tags=upload.get("tags") or {},
            acl=upload.get("acl"),
        )
        checksum = _final_checksum(upload, chosen, params)
        if checksum:
            version["cks"] = checksum
        unused = [[p["blob"], 0] for n, p in stored.items() if p not in chosen]
        await self._complete(ctx, name, key, upload_id, version, params)
        self.blobs.remove(unused)
        out = {
            "Location": f"{ctx.base_url}/{name}/{key}",
            "Bucket": name,
            "Key": key,
            "ETag": quoted(version["etag"]),
            "ServerSideEncryption": "AES256",
        }
        out.update(checksums.response_members(version.get("cks")))
        if version["id"] != "null":
            out["VersionId"] = version["id"]
        return out

    async def _complete(
        self,
        ctx: RequestContext,
        name: str,
        key: str,
        upload_id: str,
        version: dict[str, Any],
        params: dict[str, Any],
    ) -> None:
        def commit() -> Any:
            self._upload(name, upload_id)  # a concurrent Complete or Abort got there first
            for part_key, _ in self.store.scan(PART, f"{name}/{upload_id}/"):
                self.store.delete(PART, part_key)
            self.store.delete(UPLOAD, f"{name}/{upload_id}")
            return self._write_version(  # type: ignore[attr-defined]
                ctx, name, key, version, "ObjectCreated:CompleteMultipartUpload", params
            )

        gone, events = await self.app.commit(commit)
        self.after_commit(name, key, gone, events)  # type: ignore[attr-defined]

    async def abort_multipart_upload(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name, upload_id = params["Bucket"], params["UploadId"]

        def commit() -> list[dict[str, Any]]:
            self._upload(name, upload_id)
            parts = self._parts(name, upload_id)
            for part in parts:
                self.store.delete(PART, f"{name}/{upload_id}/{part['n']:05d}")
            self.store.delete(UPLOAD, f"{name}/{upload_id}")
            return parts

        parts = await self.app.commit(commit)
        self.blobs.remove([[p["blob"], 0] for p in parts])
        return {}

    def list_parts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, upload_id = params["Bucket"], params["UploadId"]
        upload = self._upload(name, upload_id)
        marker = params.get("PartNumberMarker") or 0
        limit = min(params.get("MaxParts") or 1000, 1000)
        parts = [p for p in self._parts(name, upload_id) if p["n"] > marker]
        page = parts[:limit]
        out: dict[str, Any] = {
            "Bucket": name,
            "Key": upload["key"],
            "UploadId": upload_id,
            "PartNumberMarker": marker,
            "MaxParts": limit,
            "IsTruncated": len(parts) > limit,
            "Parts": [_part_entry(p, upload.get("alg")) for p in page],
            "Initiator": owner(upload["owner"]),
            "Owner": owner(upload["owner"]),
            "StorageClass": upload["version"].get("sc") or "STANDARD",
        }
        if page:
            out["NextPartNumberMarker"] = page[-1]["n"]
        if upload.get("alg"):
            out.update(ChecksumAlgorithm=upload["alg"], ChecksumType=upload["ctype"])
        return out

    def list_multipart_uploads(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        self.bucket(name)
        prefix = params.get("Prefix") or ""
        key_marker = params.get("KeyMarker") or ""
        id_marker = params.get("UploadIdMarker") or ""
        limit = min(params.get("MaxUploads") or 1000, 1000)
        uploads = sorted(
            (d for _, d in self.store.scan(UPLOAD, name + "/") if d["key"].startswith(prefix)),
            key=lambda d: (d["key"], d["initiated"], d["id"]),
        )
        uploads = [
            d
            for d in uploads
            if d["key"] > key_marker
            or (d["key"] == key_marker and id_marker and d["id"] > id_marker)
        ]
        page = uploads[:limit]
        out: dict[str, Any] = {
            "Bucket": name,
            "KeyMarker": key_marker,
            "UploadIdMarker": id_marker,
            "MaxUploads": limit,
            "IsTruncated": len(uploads) > limit,
            "Uploads": [
                {
                    "UploadId": d["id"],
                    "Key": d["key"],
                    "Initiated": utc(d["initiated"]),
                    "StorageClass": d["version"].get("sc") or "STANDARD",
                    "Owner": owner(d["owner"]),
                    "Initiator": owner(d["owner"]),
                    **(
                        {"ChecksumAlgorithm": d["alg"], "ChecksumType": d["ctype"]}
                        if d.get("alg")
                        else {}
                    ),
                }
                for d in page
            ],
        }
        if prefix:
            out["Prefix"] = prefix
        if page and out["IsTruncated"]:
            out.update(NextKeyMarker=page[-1]["key"], NextUploadIdMarker=page[-1]["id"])
        return out


def _check_part_number(number: int) -> None:
    if not 1 <= number <= 10000:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
            "partNumber",
            number,
        )


def _part_entry(part: dict[str, Any], algorithm: str | None) -> dict[str, Any]:
    entry = {
        "PartNumber": part["n"],
        "LastModified": utc(part["mtime"]),
        "ETag": quoted(part["etag"]),
        "Size": part["size"],
    }
    if algorithm and part.get("cks"):
        entry[checksums.member(algorithm)] = part["cks"]
    return entry


def _invalid_part(upload_id: str, number: int, etag: str) -> AwsError:
    return AwsError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        status=400,
        fields={"UploadId": upload_id, "PartNumber": number, "ETag": etag},
    )


def _chosen_parts(
    upload_id: str, listed: list[dict[str, Any]] | None, stored: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The parts CompleteMultipartUpload names, checked in AWS's order."""
    if not listed:
        raise invalid_request("You must specify at least one part")
    chosen: list[dict[str, Any]] = []
    previous = 0
    for item in listed:
        number = item.get("PartNumber") or 0
        if number <= previous:
            raise AwsError(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part "
                "number.",
                status=400,
                fields={"UploadId": upload_id},
            )
        previous = number
        part = stored.get(number)
        etag = (item.get("ETag") or "").strip('"')
        if part is None or etag != part["etag"]:
            raise _invalid_part(upload_id, number, item.get("ETag") or "")
        chosen.append(part)
    for part in chosen[:-1]:
        if part["size"] < MIN_PART_SIZE:
            raise AwsError(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                status=400,
                fields={
                    "ProposedSize": part["size"],
                    "MinSizeAllowed": MIN_PART_SIZE,
                    "PartNumber": part["n"],
                    "ETag": quoted(part["etag"]),
                },
            )
    return chosen


def _final_checksum(
    upload: dict[str, Any], chosen: list[dict[str, Any]], params: dict[str, Any]
) -> dict[str, Any] | None:
    algorithm = upload.get("alg")
    if not algorithm or any(not p.get("cks") for p in chosen):
        return None
    kind = upload.get("ctype") or "COMPOSITE"
    if kind == "FULL_OBJECT" and algorithm in ("CRC32", "CRC32C"):
        value = checksums.full_object_crc(algorithm, [(p["cks"], p["size"]) for p in chosen])
        sent = params.get(checksums.member(algorithm))
        if sent and sent != value:
            raise checksums.mismatch(algorithm)
    elif kind == "COMPOSITE" and algorithm in checksums.VERIFIED:
        value = checksums.composite(algorithm, [p["cks"] for p in chosen])
        sent = params.get(checksums.member(algorithm))
        if sent and sent.split("-")[0] != value.split("-")[0]:
            raise checksums.mismatch(algorithm)
    else:
        return None
    return {"alg": algorithm, "value": value, "type": kind}


def _copy_range(text: str | None, size: int) -> tuple[int, int]:
    if not text:
        return 0, size
    span = objects.parse_range(text, size)
    if span is None or not text.startswith("bytes=") or text.endswith("-"):
        raise invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range",
            text,
        )
    return span
