"""The S3 provider: buckets (`buckets`), objects (`objectops`), multipart uploads (`multipart`),
plus what is here: object tagging and ACLs, ListObjectVersions, notification configuration, and
the helpers the edge calls for browsers (CORS) and website endpoints (`website`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.protocols import HttpRequest, HttpResponse
from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.s3 import acl, cors, listing, objects
from cloudlet.services.s3.blobs import BlobStore
from cloudlet.services.s3.buckets import BucketOps
from cloudlet.services.s3.common import BUCKET, OBJECT, object_key, owner, quoted, utc
from cloudlet.services.s3.multipart import MultipartOps
from cloudlet.services.s3.notifications import Notifications
from cloudlet.services.s3.objectops import ObjectOps, _max_keys

if TYPE_CHECKING:
    from cloudlet.app import App


class S3Provider(BucketOps, ObjectOps, MultipartOps, Provider):
    service = "s3"
    helpers = (
        "bucket",
        "receive",
        "new_version",
        "store_version",
        "after_commit",
        "remove",
        "preflight",
        "cors_headers",
    )

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.blobs = BlobStore(app.config.data_dir)
        self.index = listing.KeyIndex(app.store)
        self.notifications = Notifications(app)

    def reset(self) -> None:
        self.index.clear()

    def close(self) -> None:
        self.blobs.close()

    # -- browsers -----------------------------------------------------------------------------
    def preflight(self, request: HttpRequest) -> HttpResponse:
        return cors.preflight(self.store.get(BUCKET, cors.bucket_of(request)), request)

    def cors_headers(self, request: HttpRequest) -> dict[str, str]:
        return cors.response_headers(self.store.get(BUCKET, cors.bucket_of(request)), request)

    # -- a version's own sub-resources --------------------------------------------------------
    def _change_version(self, params: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        """Rewrite one version of a key with `change` merged in; returns the new version."""
        name, key = params["Bucket"], params["Key"]
        self.bucket(name)
        okey = object_key(name, key)
        doc = self.store.get(OBJECT, okey)
        version = objects.find(doc, key, params.get("VersionId"))
        if version.get("dm"):
            raise AwsError(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                status=405,
            )
        changed = {**version, **change}
        self.store.put(
            OBJECT,
            okey,
            {"v": [changed if v is version else v for v in doc["v"]]},  # type: ignore[index]
        )
        return changed

    @committed
    def put_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = acl.tag_map(params["Tagging"].get("TagSet") or [], limit=10)
        version = self._change_version(params, {"tags": tags})
        return _version_header(version)

    def get_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = self._readable(params)
        tags = version.get("tags") or {}
        out = {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}
        return {**out, **_version_header(version)}

    @committed
    def delete_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _version_header(self._change_version(params, {"tags": {}}))

    @committed
    def put_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(params["Bucket"])
        self._change_version(params, {"acl": acl.from_request(bucket, params)})
        return {}

    def get_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = self._readable(params)
        return acl.policy_of(version.get("acl"), version.get("owner", ctx.account))

    # -- versions -----------------------------------------------------------------------------
    def list_object_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        self.bucket(name)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        key_marker = params.get("KeyMarker") or ""
        id_marker = params.get("VersionIdMarker") or ""
        limit = _max_keys(params.get("MaxKeys"))
        rows: list[tuple[str, dict[str, Any], bool]] = []
        after = key_marker
        if key_marker and id_marker:
            rows.extend(self._versions_after(name, key_marker, id_marker))
        entries, prefixes, truncated, _ = listing.collect(
            self.index,
            name,
            prefix,
            delimiter,
            after,
            limit + 1,
            lambda key: self._all_versions(name, key) or None,
        )
        for group in entries:
            rows.extend(group)
        versions, markers = [], []
        shown = rows[:limit]
        more = len(rows) > limit or truncated
        for key, version, latest in shown:
            item = {
                "Key": listing.url_encode(key) if params.get("EncodingType") == "url" else key,
                "VersionId": version["id"],
                "IsLatest": latest,
                "LastModified": utc(version["mtime"]),
                "Owner": owner(version.get("owner", ctx.account)),
            }
            if version.get("dm"):
                markers.append(item)
            else:
                item.update(
                    ETag=quoted(version["etag"]),
                    Size=version["size"],
                    StorageClass=version.get("sc") or "STANDARD",
                )
                versions.append(item)
        out: dict[str, Any] = {
            "Name": name,
            "Prefix": prefix,
            "KeyMarker": key_marker,
            "VersionIdMarker": id_marker,
            "MaxKeys": limit,
            "IsTruncated": more,
            "Versions": versions,
            "DeleteMarkers": markers,
            "CommonPrefixes": [{"Prefix": p} for p in prefixes],
        }
        if delimiter:
            out["Delimiter"] = delimiter
        if params.get("EncodingType"):
            out["EncodingType"] = params["EncodingType"]
            out["CommonPrefixes"] = [{"Prefix": listing.url_encode(p)} for p in prefixes]
        if more and shown:
            out["NextKeyMarker"] = shown[-1][0]
            out["NextVersionIdMarker"] = shown[-1][1]["id"]
        return out

    def _all_versions(self, name: str, key: str) -> list[tuple[str, dict[str, Any], bool]]:
        doc = self.store.get(OBJECT, object_key(name, key))
        return [(key, v, i == 0) for i, v in enumerate(doc["v"])] if doc else []

    def _versions_after(
        self, name: str, key: str, version_id: str
    ) -> list[tuple[str, dict[str, Any], bool]]:
        rows = self._all_versions(name, key)
        ids = [v["id"] for _, v, _ in rows]
        return rows[ids.index(version_id) + 1 :] if version_id in ids else []

    # -- notifications ------------------------------------------------------------------------
    @committed
    def put_bucket_notification_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        name = params["Bucket"]
        self.bucket(name)
        config = self.notifications.check(params.get("NotificationConfiguration") or {})
        self._set(name, notify=config or None)
        self.notifications.test_event(ctx, name, config)

    def get_bucket_notification_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(self.bucket(params["Bucket"]).get("notify") or {})


def _version_header(version: dict[str, Any]) -> dict[str, Any]:
    return {"VersionId": version["id"]} if version.get("id") not in (None, "null") else {}
