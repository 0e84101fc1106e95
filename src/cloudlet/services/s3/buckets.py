"""Bucket operations: create, delete, list, and the bucket's stored configurations.

A bucket is one document (kind `s3.bucket`, keyed by name: names are global, as on AWS) holding
its owner, region and every sub-resource configuration; configurations are small, so a change
rewrites the document. New buckets start as AWS starts them since 2023: Block Public Access on
(all four settings) and ACLs disabled (ObjectOwnership BucketOwnerEnforced); a public website
first deletes or relaxes the block, as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.s3 import acl, policy
from cloudlet.services.s3.common import (
    BUCKET,
    OBJECT,
    UPLOAD,
    check_bucket_name,
    invalid_argument,
    malformed_xml,
    no_such_bucket,
    not_found_config,
    owner,
    utc,
)

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.services.s3.listing import KeyIndex

DEFAULT_PAB = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_US_EAST_1 = "us-east-1"

#: configuration field -> (error code when absent, its message)
_ABSENT = {
    "cors": ("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    "website": (
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration",
    ),
    "policy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "tags": ("NoSuchTagSet", "The TagSet does not exist"),
    "pab": (
        "NoSuchPublicAccessBlockConfiguration",
        "The public access block configuration was not found",
    ),
    "ownership": (
        "OwnershipControlsNotFoundError",
        "The bucket ownership controls were not found",
    ),
    "lifecycle": ("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
}


class BucketOps:
    """The bucket half of the S3 provider (mixed into S3Provider)."""

    store: Store
    clock: Clock
    index: KeyIndex

    # -- helpers ----------------------------------------------------------------------------
    def bucket(self, name: str) -> dict[str, Any]:
        doc = self.store.get(BUCKET, name)
        if doc is None:
            raise no_such_bucket(name)
        return doc

    def _config(self, name: str, field: str) -> Any:
        value = self.bucket(name).get(field)
        if value is None:
            raise not_found_config(*_ABSENT[field], name)
        return value

    def _set(self, name: str, **fields: Any) -> dict[str, Any]:
        doc = {**self.bucket(name), **fields}
        self.store.put(BUCKET, name, doc)
        return doc

    # -- buckets ----------------------------------------------------------------------------
    @committed
    def create_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        check_bucket_name(name)
        region = _location(ctx, params.get("CreateBucketConfiguration") or {})
        existing = self.store.get(BUCKET, name)
        if existing is not None:
            if existing["account"] != ctx.account:
                raise AwsError(
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared "
                    "by all users of the system. Please select a different name and try again.",
                    fields={"BucketName": name},
                )
            if existing["region"] != _US_EAST_1 or region != _US_EAST_1:
                raise AwsError(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already "
                    "own it.",
                    fields={"BucketName": name},
                )
            return {"Location": f"/{name}"}  # us-east-1 answers 200 again, as AWS does
        ownership = params.get("ObjectOwnership") or "BucketOwnerEnforced"
        canned = params.get("ACL") or "private"
        if ownership == "BucketOwnerEnforced" and canned not in acl.ALLOWED_WHEN_ENFORCED:
            raise AwsError(
                "InvalidBucketAclWithObjectOwnership",
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
                status=400,
            )
        self.store.put(
            BUCKET,
            name,
            {
                "name": name,
                "account": ctx.account,
                "region": region,
                "created": self.clock.now_ms(),
                "pab": dict(DEFAULT_PAB),
                "ownership": ownership,
                "acl": canned,
            },
        )
        self.index.drop(name)
        location = f"/{name}" if region == _US_EAST_1 else f"http://{name}.s3.localhost/"
        return {"Location": location, "BucketArn": f"arn:aws:s3:::{name}"}

    @committed
    def delete_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["Bucket"]
        self.bucket(name)
        if self.store.scan(OBJECT, name + "/"):
            raise AwsError(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                status=409,
                fields={"BucketName": name},
            )
        for key, _ in self.store.scan(UPLOAD, name + "/"):
            self.store.delete(UPLOAD, key)
        self.store.delete(BUCKET, name)
        self.index.drop(name)

    def head_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.bucket(params["Bucket"])
        return {"BucketRegion": doc["region"], "AccessPointAlias": False}

    def list_buckets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = [d for _, d in self.store.scan(BUCKET) if d["account"] == ctx.account]
        prefix = params.get("Prefix")
        region = params.get("BucketRegion")
        mine = [
            d
            for d in mine
            if (not prefix or d["name"].startswith(prefix))
            and (not region or d["region"] == region)
        ]
        after = params.get("ContinuationToken") or ""
        mine = [d for d in mine if d["name"] > after]
        limit = params.get("MaxBuckets") or 10000
        page = mine[:limit]
        out: dict[str, Any] = {
            "Buckets": [
                {
                    "Name": d["name"],
                    "CreationDate": utc(d["created"]),
                    "BucketRegion": d["region"],
                    "BucketArn": f"arn:aws:s3:::{d['name']}",
                }
                for d in page
            ],
            "Owner": owner(ctx.account),
        }
        if prefix:
            out["Prefix"] = prefix
        if len(mine) > limit:
            out["ContinuationToken"] = page[-1]["name"]
        return out

    def get_bucket_location(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        region = self.bucket(params["Bucket"])["region"]
        return {"LocationConstraint": None if region == _US_EAST_1 else region}

    # -- tagging ------------------------------------------------------------------------------
    @committed
    def put_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        tags = acl.tag_map(params["Tagging"].get("TagSet") or [])
        self._set(params["Bucket"], tags=tags)

    def get_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._config(params["Bucket"], "tags")
        return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}

    @committed
    def delete_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], tags=None)

    # -- policy -------------------------------------------------------------------------------
    @committed
    def put_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["Bucket"]
        text = params.get("Policy") or ""
        document = policy.parse(text)
        pab = self.bucket(name).get("pab") or {}
        if pab.get("BlockPublicPolicy") and policy.is_public(document):
            raise AwsError(
                "AccessDenied",
                "User is not authorized to perform: s3:PutBucketPolicy on resource: "
                f'"arn:aws:s3:::{name}" because public policies are blocked by the '
                "BlockPublicPolicy block public access setting.",
                status=403,
            )
        self._set(name, policy=text)

    def get_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Policy": self._config(params["Bucket"], "policy")}

    @committed
    def delete_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], policy=None)

    def get_bucket_policy_status(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        text = self._config(params["Bucket"], "policy")
        return {"PolicyStatus": {"IsPublic": policy.is_public(orjson.loads(text))}}

    # -- CORS, website, lifecycle: stored as sent ---------------------------------------------
    @committed
    def put_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        rules = params["CORSConfiguration"].get("CORSRules") or []
        for rule in rules:
            if not rule.get("AllowedOrigins") or not rule.get("AllowedMethods"):
                raise malformed_xml()
            for method in rule["AllowedMethods"]:
                if method not in ("GET", "PUT", "HEAD", "POST", "DELETE"):
                    raise invalid_request_method(method)
        self._set(params["Bucket"], cors=rules)

    def get_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"CORSRules": self._config(params["Bucket"], "cors")}

    @committed
    def delete_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], cors=None)

    @committed
    def put_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        config = params["WebsiteConfiguration"]
        if not config.get("RedirectAllRequestsTo"):
            suffix = (config.get("IndexDocument") or {}).get("Suffix")
            if not suffix:
                raise invalid_argument(
                    "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo "
                    "is empty",
                    "IndexDocument",
                    "",
                )
            if "/" in suffix:
                raise invalid_argument(
                    "The IndexDocument Suffix is not well formed", "IndexDocument", suffix
                )
        self._set(params["Bucket"], website=config)

    def get_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self._config(params["Bucket"], "website"))

    @committed
    def delete_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], website=None)

    @committed
    def put_bucket_lifecycle_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        rules = (params.get("LifecycleConfiguration") or {}).get("Rules") or []
        self._set(params["Bucket"], lifecycle=rules)
        return {}

    def get_bucket_lifecycle_configuration(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Rules": self._config(params["Bucket"], "lifecycle")}

    @committed
    def delete_bucket_lifecycle(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], lifecycle=None)

    # -- public access block and ownership ----------------------------------------------------
    @committed
    def put_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        config = params["PublicAccessBlockConfiguration"]
        self._set(params["Bucket"], pab={k: bool(config.get(k)) for k in DEFAULT_PAB})

    def get_public_access_block(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"PublicAccessBlockConfiguration": self._config(params["Bucket"], "pab")}

    @committed
    def delete_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], pab=None)

    @committed
    def put_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        rules = params["OwnershipControls"].get("Rules") or []
        if len(rules) != 1:
            raise malformed_xml()
        self._set(params["Bucket"], ownership=rules[0]["ObjectOwnership"])

    def get_bucket_ownership_controls(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        found = self._config(params["Bucket"], "ownership")
        return {"OwnershipControls": {"Rules": [{"ObjectOwnership": found}]}}

    @committed
    def delete_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], ownership=None)

    # -- ACLs, versioning, encryption ---------------------------------------------------------
    @committed
    def put_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        doc = self.bucket(params["Bucket"])
        self._set(params["Bucket"], acl=acl.from_request(doc, params))

    def get_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.bucket(params["Bucket"])
        return acl.policy_of(doc.get("acl"), doc["account"])

    @committed
    def put_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        status = params["VersioningConfiguration"].get("Status")
        if status not in ("Enabled", "Suspended"):
            raise malformed_xml()
        doc = self.bucket(params["Bucket"])
        if status == "Suspended" and doc.get("versioning") is None:
            return  # a bucket never versioned stays unversioned
        self._set(params["Bucket"], versioning=status)

    def get_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        status = self.bucket(params["Bucket"]).get("versioning")
        return {"Status": status} if status else {}

    @committed
    def put_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        config = params["ServerSideEncryptionConfiguration"]
        self._set(params["Bucket"], encryption=config)

    def get_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        config = self.bucket(params["Bucket"]).get("encryption") or {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": False,
                }
            ]
        }
        return {"ServerSideEncryptionConfiguration": config}

    @committed
    def delete_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._set(params["Bucket"], encryption=None)


def invalid_request_method(method: str) -> AwsError:
    return invalid_argument(
        f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
        "AllowedMethod",
        method,
    )


def _location(ctx: RequestContext, config: dict[str, Any]) -> str:
    """The region a new bucket goes to, with AWS's checks against the endpoint's region."""
    wanted = config.get("LocationConstraint")
    if wanted == _US_EAST_1:
        raise AwsError(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            status=400,
            fields={"LocationConstraint": wanted},
        )
    if not wanted:
        if ctx.region != _US_EAST_1:
            raise AwsError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
                status=400,
            )
        return _US_EAST_1
    if wanted == "EU":
        wanted = "eu-west-1"
    if ctx.region != _US_EAST_1 and wanted != ctx.region:
        raise AwsError(
            "IllegalLocationConstraintException",
            f"The {wanted} location constraint is incompatible for the region specific endpoint "
            "this request was sent to.",
            status=400,
        )
    return wanted
