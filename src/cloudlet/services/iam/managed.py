"""Managed policies: customer managed ones (documents "iam.policy") and AWS managed ones.

AWS managed policies are data shipped in aws_managed_policies.json (their real documents, as AWS
publishes them), loaded on first use and shared by every account; what is per account about them
— which roles they are attached to — lives in "iam.usage" documents, as it does for customer
managed policies, so AttachmentCount and DeletePolicy's conflict check read one place.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.iam import documents as docs
from cloudlet.services.iam.common import (
    AWS_POLICY_PREFIX,
    POLICY,
    ROLE,
    USAGE,
    invalid_arn,
    limit_exceeded,
    merged_tags,
    name_key,
    new_id,
    page,
    policy_arn,
    split_arn,
    stable_id,
    usage_key,
    without_tags,
)

MAX_VERSIONS = 5


class AwsManagedPolicies:
    """The AWS managed policies cloudlet knows, by ARN, loaded from the package on first use."""

    def __init__(self) -> None:
        self._by_arn: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._by_arn is None:
            text = resources.files(__package__).joinpath("aws_managed_policies.json").read_text()
            found = {}
            for entry in json.loads(text):
                arn = f"arn:aws:iam::aws:policy{entry['Path']}{entry['PolicyName']}"
                created = int(datetime.fromisoformat(entry["CreateDate"]).timestamp())
                updated = int(datetime.fromisoformat(entry["UpdateDate"]).timestamp())
                version = entry["DefaultVersionId"]
                found[arn] = {
                    "name": entry["PolicyName"],
                    "path": entry["Path"],
                    "arn": arn,
                    "id": stable_id("ANPA", arn),
                    "created": created,
                    "updated": updated,
                    "default": version,
                    "versions": [
                        {
                            "id": version,
                            "document": json.dumps(entry["Document"], indent=4),
                            "created": updated,
                        }
                    ],
                    "tags": [],
                    "aws": True,
                }
            self._by_arn = found
        return self._by_arn

    def get(self, arn: str) -> dict[str, Any] | None:
        return self._load().get(arn)

    def all(self) -> list[dict[str, Any]]:
        return list(self._load().values())


def _not_found(arn: str) -> AwsError:
    return AwsError("NoSuchEntity", f"Policy {arn} was not found.")


def not_attachable(arn: str) -> AwsError:
    return AwsError("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.")


def _no_version(arn: str, version: str) -> AwsError:
    return AwsError(
        "NoSuchEntity", f"Policy {arn} version {version} does not exist or is not attachable."
    )


def _version_view(version: dict[str, Any], default: str, *, document: bool) -> dict[str, Any]:
    view = {
        "VersionId": version["id"],
        "IsDefaultVersion": version["id"] == default,
        "CreateDate": version["created"],
    }
    if document:
        view["Document"] = docs.encoded(version["document"])
    return view


class PolicyOperations:
    """The managed-policy operations of IamProvider."""

    store: Any
    clock: Any
    aws_policies: AwsManagedPolicies

    def _caller_arn(self, ctx: RequestContext) -> str:
        raise NotImplementedError  # IamProvider asks STS who the caller is

    # -- lookups and usage ------------------------------------------------------------------------
    def managed_policy(
        self, account: str, arn: str, missing=_not_found
    ) -> tuple[str | None, dict[str, Any]]:
        """(store key, document) of the managed policy `arn` as `account` sees it; AWS managed
        policies have no key. Raises `missing(arn)` when there is none."""
        if arn.startswith(AWS_POLICY_PREFIX):
            found = self.aws_policies.get(arn)
            if found is None:
                raise missing(arn)
            return None, found
        parts = split_arn(arn, "policy")
        if parts is None:
            raise invalid_arn(arn)
        owner, _, name = parts
        key = name_key(owner, name)
        doc = self.store.get(POLICY, key) if owner == account else None
        if doc is None or doc["arn"] != arn:
            raise missing(arn)
        return key, doc

    def _own_policy(self, ctx: RequestContext, arn: str, action: str) -> tuple[str, dict[str, Any]]:
        """A customer managed policy the caller may change; AWS's own are read-only to everyone."""
        key, doc = self.managed_policy(ctx.account, arn)
        if key is None:
            raise AwsError(
                "AccessDenied",
                f"User: {self._caller_arn(ctx)} is not authorized to perform: iam:{action} "
                f"on resource: policy {arn}",
                status=403,
            )
        return key, doc

    def _usage(self, account: str, arn: str) -> dict[str, list[str]]:
        return self.store.get(USAGE, usage_key(account, arn)) or {"roles": [], "boundaries": []}

    def _use(self, account: str, arn: str, field: str, role: str, *, add: bool) -> None:
        """Record (or forget) that role `role` uses policy `arn` as `field` ("roles": attached,
        "boundaries": its permissions boundary)."""
        usage = self._usage(account, arn)
        names = [name for name in usage[field] if name.lower() != role.lower()]
        if add:
            names.append(role)
        updated = {**usage, field: names}
        if updated["roles"] or updated["boundaries"]:
            self.store.put(USAGE, usage_key(account, arn), updated)
        else:
            self.store.delete(USAGE, usage_key(account, arn))

    def _policy_view(self, account: str, doc: dict[str, Any], *, full: bool) -> dict[str, Any]:
        usage = self._usage(account, doc["arn"])
        view: dict[str, Any] = {
            "PolicyName": doc["name"],
            "PolicyId": doc["id"],
            "Arn": doc["arn"],
            "Path": doc["path"],
            "DefaultVersionId": doc["default"],
            "AttachmentCount": len(usage["roles"]),
            "PermissionsBoundaryUsageCount": len(usage["boundaries"]),
            "IsAttachable": True,
            "CreateDate": doc["created"],
            "UpdateDate": doc["updated"],
        }
        if full:  # ListPolicies leaves out the description and tags, as AWS does
            view["Description"] = doc.get("description")
            view["Tags"] = doc["tags"] or None
        return view

    # -- policies ---------------------------------------------------------------------------------
    def create_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, path = params["PolicyName"], params.get("Path") or "/"
        text = params["PolicyDocument"]
        docs.validate_identity_policy(text, managed=True)
        if docs.size(text) > docs.MANAGED_POLICY_SIZE:
            raise limit_exceeded(f"Cannot exceed quota for PolicySize: {docs.MANAGED_POLICY_SIZE}")
        key = name_key(ctx.account, name)
        if self.store.get(POLICY, key) is not None:
            raise AwsError(
                "EntityAlreadyExists",
                f"A policy called {name} already exists. Duplicate names are not allowed.",
            )
        now = int(self.clock.now())
        doc = {
            "name": name,
            "account": ctx.account,
            "path": path,
            "arn": policy_arn(ctx.account, path, name),
            "id": new_id("ANPA"),
            "description": params.get("Description"),
            "created": now,
            "updated": now,
            "default": "v1",
            "versions": [{"id": "v1", "document": text, "created": now}],
            "next_version": 2,
            "tags": merged_tags([], params.get("Tags") or []),
        }
        self.store.put(POLICY, key, doc)
        view = self._policy_view(ctx.account, doc, full=True)
        view.pop("Description")  # CreatePolicy does not echo the description
        return {"Policy": view}

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self.managed_policy(ctx.account, params["PolicyArn"])
        return {"Policy": self._policy_view(ctx.account, doc, full=True)}

    def delete_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        arn = params["PolicyArn"]
        key, doc = self._own_policy(ctx, arn, "DeletePolicy")
        usage = self._usage(ctx.account, arn)
        if usage["roles"] or usage["boundaries"]:
            raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.")
        if len(doc["versions"]) > 1:
            raise AwsError(
                "DeleteConflict",
                "This policy has more than one version. Before you delete a policy, you must "
                "delete the policy's versions. The default version is deleted with the policy.",
            )
        self.store.delete(POLICY, key)

    def list_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        scope = params.get("Scope") or "All"
        found: list[dict[str, Any]] = []
        if scope in ("All", "AWS"):
            found.extend(self.aws_policies.all())
        if scope in ("All", "Local"):
            found.extend(doc for _, doc in self.store.scan(POLICY, ctx.account + "/"))
        prefix = params.get("PathPrefix") or "/"
        views = [
            self._policy_view(ctx.account, doc, full=False)
            for doc in found
            if doc["path"].startswith(prefix)
        ]
        if params.get("OnlyAttached"):
            usage = params.get("PolicyUsageFilter")
            views = [
                view
                for view in views
                if (usage != "PermissionsBoundary" and view["AttachmentCount"])
                or (usage != "PermissionsPolicy" and view["PermissionsBoundaryUsageCount"])
            ]
        chunk, more = page(views, lambda view: view["Arn"], params)
        return {"Policies": chunk, **more}

    # -- versions ---------------------------------------------------------------------------------
    def create_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key, doc = self._own_policy(ctx, params["PolicyArn"], "CreatePolicyVersion")
        text = params["PolicyDocument"]
        docs.validate_identity_policy(text, managed=True)
        if docs.size(text) > docs.MANAGED_POLICY_SIZE:
            raise limit_exceeded(f"Cannot exceed quota for PolicySize: {docs.MANAGED_POLICY_SIZE}")
        if len(doc["versions"]) >= MAX_VERSIONS:
            raise limit_exceeded(f"Cannot exceed quota for PolicyVersionsPerPolicy: {MAX_VERSIONS}")
        now = int(self.clock.now())
        version = {"id": f"v{doc['next_version']}", "document": text, "created": now}
        default = version["id"] if params.get("SetAsDefault") else doc["default"]
        self.store.put(
            POLICY,
            key,
            {
                **doc,
                "versions": [*doc["versions"], version],
                "next_version": doc["next_version"] + 1,
                "default": default,
                "updated": now if default == version["id"] else doc["updated"],
            },
        )
        return {"PolicyVersion": _version_view(version, default, document=False)}

    def _version(self, doc: dict[str, Any], version_id: str) -> dict[str, Any]:
        for version in doc["versions"]:
            if version["id"] == version_id:
                return version
        raise _no_version(doc["arn"], version_id)

    def get_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self.managed_policy(ctx.account, params["PolicyArn"])
        version = self._version(doc, params["VersionId"])
        return {"PolicyVersion": _version_view(version, doc["default"], document=True)}

    def list_policy_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self.managed_policy(ctx.account, params["PolicyArn"])
        # Newest first, as AWS lists them; the marker compares zero-padded version numbers.
        views = [_version_view(v, doc["default"], document=False) for v in doc["versions"]]
        chunk, more = page(views, lambda view: f"{10**9 - int(view['VersionId'][1:]):010d}", params)
        return {"Versions": chunk, **more}

    def delete_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._own_policy(ctx, params["PolicyArn"], "DeletePolicyVersion")
        version = self._version(doc, params["VersionId"])
        if version["id"] == doc["default"]:
            raise AwsError("DeleteConflict", "Cannot delete the default version of a policy.")
        remaining = [v for v in doc["versions"] if v["id"] != version["id"]]
        self.store.put(POLICY, key, {**doc, "versions": remaining})

    def set_default_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._own_policy(ctx, params["PolicyArn"], "SetDefaultPolicyVersion")
        version = self._version(doc, params["VersionId"])
        now = int(self.clock.now())
        self.store.put(POLICY, key, {**doc, "default": version["id"], "updated": now})

    # -- tags and entities ------------------------------------------------------------------------
    def tag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._own_policy(ctx, params["PolicyArn"], "TagPolicy")
        self.store.put(POLICY, key, {**doc, "tags": merged_tags(doc["tags"], params["Tags"])})

    def untag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._own_policy(ctx, params["PolicyArn"], "UntagPolicy")
        self.store.put(POLICY, key, {**doc, "tags": without_tags(doc["tags"], params["TagKeys"])})

    def list_policy_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self.managed_policy(ctx.account, params["PolicyArn"])
        tags = list(enumerate(doc["tags"]))
        chunk, more = page(tags, lambda item: f"{item[0]:04d}", params)
        return {"Tags": [tag for _, tag in chunk], **more}

    def list_entities_for_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["PolicyArn"]
        self.managed_policy(ctx.account, arn)
        usage = self._usage(ctx.account, arn)
        wanted = params.get("PolicyUsageFilter")
        names = [] if wanted == "PermissionsBoundary" else list(usage["roles"])
        if wanted != "PermissionsPolicy":
            names += usage["boundaries"]
        if params.get("EntityFilter") not in (None, "Role"):
            names = []  # users and groups do not exist yet
        prefix = params.get("PathPrefix") or "/"
        roles = []
        for name in dict.fromkeys(names):
            role = self.store.get(ROLE, name_key(ctx.account, name))
            if role is not None and role["path"].startswith(prefix):
                roles.append({"RoleName": role["name"], "RoleId": role["id"]})
        chunk, more = page(roles, lambda view: view["RoleName"].lower(), params)
        return {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": chunk, **more}
