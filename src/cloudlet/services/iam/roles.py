"""IAM roles (documents "iam.role"), with their inline policies and attached managed policies.

A role document holds everything that belongs to the role alone — trust policy, inline
policies, the ARNs of attached managed policies, tags — so one read answers "what may this role
do" when enforcement arrives. Which roles use a managed policy is kept on the policy's side too
("iam.usage"), written in the same transaction.
"""

from __future__ import annotations

from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.iam import documents as docs
from cloudlet.services.iam.common import (
    ROLE,
    limit_exceeded,
    merged_tags,
    name_key,
    new_id,
    no_such_role,
    page,
    role_arn,
    without_tags,
)
from cloudlet.services.iam.managed import not_attachable

DEFAULT_MAX_SESSION = 3600
MAX_MANAGED_PER_ROLE = 10


def role_view(doc: dict[str, Any], *, listing: bool = False) -> dict[str, Any]:
    """The Role structure; ListRoles leaves out tags, boundary and last use, as AWS does."""
    view: dict[str, Any] = {
        "Path": doc["path"],
        "RoleName": doc["name"],
        "RoleId": doc["id"],
        "Arn": doc["arn"],
        "CreateDate": doc["created"],
        "AssumeRolePolicyDocument": docs.encoded(doc["trust"]),
        "Description": doc.get("description"),
        "MaxSessionDuration": doc["max_session"],
    }
    if not listing:
        if doc.get("boundary"):
            view["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": doc["boundary"],
            }
        view["Tags"] = doc["tags"] or None
        view["RoleLastUsed"] = doc.get("last_used") or {}
    return view


def _no_inline(name: str) -> AwsError:
    return AwsError("NoSuchEntity", f"The role policy with name {name} cannot be found.")


def _check_trust(text: str) -> None:
    docs.validate_trust_policy(text)
    if docs.size(text) > docs.TRUST_POLICY_SIZE:
        raise limit_exceeded(f"Cannot exceed quota for ACLSizePerRole: {docs.TRUST_POLICY_SIZE}")


class RoleOperations:
    """The role operations of IamProvider."""

    store: Any
    clock: Any

    # provided by PolicyOperations
    managed_policy: Any
    _use: Any

    def _role(self, account: str, name: str) -> tuple[str, dict[str, Any]]:
        key = name_key(account, name)
        doc = self.store.get(ROLE, key)
        if doc is None:
            raise no_such_role(name)
        return key, doc

    def _boundary(self, account: str, arn: str) -> str:
        def missing(arn: str) -> AwsError:
            return AwsError(
                "NoSuchEntity", f"Scope ARN: {arn} does not exist or is not attachable."
            )

        _, policy = self.managed_policy(account, arn, missing)
        return policy["arn"]

    # -- roles ------------------------------------------------------------------------------------
    def create_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name, path = params["RoleName"], params.get("Path") or "/"
        text = params["AssumeRolePolicyDocument"]
        _check_trust(text)
        key = name_key(ctx.account, name)
        if self.store.get(ROLE, key) is not None:
            raise AwsError("EntityAlreadyExists", f"Role with name {name} already exists.")
        boundary = params.get("PermissionsBoundary")
        if boundary:
            boundary = self._boundary(ctx.account, boundary)
        doc = {
            "name": name,
            "account": ctx.account,
            "path": path,
            "id": new_id("AROA"),
            "arn": role_arn(ctx.account, path, name),
            "created": int(self.clock.now()),
            "trust": text,
            "description": params.get("Description"),
            "max_session": params.get("MaxSessionDuration") or DEFAULT_MAX_SESSION,
            "boundary": boundary,
            "tags": merged_tags([], params.get("Tags") or []),
            "inline": {},
            "attached": [],
        }
        with self.store.transaction():
            self.store.put(ROLE, key, doc)
            if boundary:
                self._use(ctx.account, boundary, "boundaries", name, add=True)
        view = role_view(doc)
        del view["RoleLastUsed"]
        return {"Role": view}

    def get_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._role(ctx.account, params["RoleName"])
        return {"Role": role_view(doc)}

    def list_roles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix") or "/"
        found = [
            (key, doc)
            for key, doc in self.store.scan(ROLE, ctx.account + "/")
            if doc["path"].startswith(prefix)
        ]
        chunk, more = page(found, lambda item: item[0], params)
        return {"Roles": [role_view(doc, listing=True) for _, doc in chunk], **more}

    def update_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key, doc = self._role(ctx.account, params["RoleName"])
        changes: dict[str, Any] = {}
        if "Description" in params:
            changes["description"] = params["Description"]
        if "MaxSessionDuration" in params:
            changes["max_session"] = params["MaxSessionDuration"]
        self.store.put(ROLE, key, {**doc, **changes})
        return {}

    def update_role_description(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key, doc = self._role(ctx.account, params["RoleName"])
        updated = {**doc, "description": params["Description"]}
        self.store.put(ROLE, key, updated)
        return {"Role": role_view(updated)}

    def update_assume_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        text = params["PolicyDocument"]
        _check_trust(text)
        self.store.put(ROLE, key, {**doc, "trust": text})

    def delete_role(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        if doc["attached"]:
            raise AwsError(
                "DeleteConflict", "Cannot delete entity, must detach all policies first."
            )
        if doc["inline"]:
            raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.")
        with self.store.transaction():
            if doc.get("boundary"):
                self._use(ctx.account, doc["boundary"], "boundaries", doc["name"], add=False)
            self.store.delete(ROLE, key)

    def put_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        boundary = self._boundary(ctx.account, params["PermissionsBoundary"])
        with self.store.transaction():
            if doc.get("boundary"):
                self._use(ctx.account, doc["boundary"], "boundaries", doc["name"], add=False)
            self._use(ctx.account, boundary, "boundaries", doc["name"], add=True)
            self.store.put(ROLE, key, {**doc, "boundary": boundary})

    def delete_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        if not doc.get("boundary"):
            return
        with self.store.transaction():
            self._use(ctx.account, doc["boundary"], "boundaries", doc["name"], add=False)
            self.store.put(ROLE, key, {**doc, "boundary": None})

    # -- tags -------------------------------------------------------------------------------------
    def tag_role(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        self.store.put(ROLE, key, {**doc, "tags": merged_tags(doc["tags"], params["Tags"])})

    def untag_role(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        self.store.put(ROLE, key, {**doc, "tags": without_tags(doc["tags"], params["TagKeys"])})

    def list_role_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._role(ctx.account, params["RoleName"])
        chunk, more = page(list(enumerate(doc["tags"])), lambda item: f"{item[0]:04d}", params)
        return {"Tags": [tag for _, tag in chunk], **more}

    # -- inline policies --------------------------------------------------------------------------
    def put_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        text = params["PolicyDocument"]
        docs.validate_identity_policy(text, managed=False)
        inline = {**doc["inline"], params["PolicyName"]: text}
        if sum(docs.size(t) for t in inline.values()) > docs.ROLE_INLINE_SIZE:
            raise limit_exceeded(
                f"Maximum policy size of {docs.ROLE_INLINE_SIZE} bytes exceeded for role "
                f"{doc['name']}"
            )
        self.store.put(ROLE, key, {**doc, "inline": inline})

    def get_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._role(ctx.account, params["RoleName"])
        name = params["PolicyName"]
        text = doc["inline"].get(name)
        if text is None:
            raise _no_inline(name)
        return {
            "RoleName": doc["name"],
            "PolicyName": name,
            "PolicyDocument": docs.encoded(text),
        }

    def delete_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        name = params["PolicyName"]
        if name not in doc["inline"]:
            raise _no_inline(name)
        inline = {k: v for k, v in doc["inline"].items() if k != name}
        self.store.put(ROLE, key, {**doc, "inline": inline})

    def list_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._role(ctx.account, params["RoleName"])
        chunk, more = page(list(doc["inline"]), lambda name: name, params)
        return {"PolicyNames": chunk, **more}

    # -- attached managed policies ----------------------------------------------------------------
    def attach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        _, policy = self.managed_policy(ctx.account, params["PolicyArn"], not_attachable)
        arn = policy["arn"]
        if arn in doc["attached"]:
            return  # attaching twice is a no-op on AWS
        if len(doc["attached"]) >= MAX_MANAGED_PER_ROLE:
            raise limit_exceeded(f"Cannot exceed quota for PoliciesPerRole: {MAX_MANAGED_PER_ROLE}")
        with self.store.transaction():
            self.store.put(ROLE, key, {**doc, "attached": [*doc["attached"], arn]})
            self._use(ctx.account, arn, "roles", doc["name"], add=True)

    def detach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._role(ctx.account, params["RoleName"])
        arn = params["PolicyArn"]
        if arn not in doc["attached"]:
            raise AwsError("NoSuchEntity", f"Policy {arn} was not found.")
        with self.store.transaction():
            attached = [a for a in doc["attached"] if a != arn]
            self.store.put(ROLE, key, {**doc, "attached": attached})
            self._use(ctx.account, arn, "roles", doc["name"], add=False)

    def list_attached_role_policies(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        _, doc = self._role(ctx.account, params["RoleName"])
        prefix = params.get("PathPrefix") or "/"
        views = []
        for arn in doc["attached"]:
            path, _, name = arn.split(":", 5)[5][len("policy") :].rpartition("/")
            if (path + "/").startswith(prefix):
                views.append({"PolicyName": name, "PolicyArn": arn})
        chunk, more = page(views, lambda view: view["PolicyArn"], params)
        return {"AttachedPolicies": chunk, **more}
