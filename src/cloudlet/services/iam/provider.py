"""The IAM provider: roles (roles.py), managed policies (managed.py) and the caller's user.

Users, groups and instance profiles are not implemented yet: their operations answer 501.
"""

from __future__ import annotations

from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext
from cloudlet.services.iam.common import ROLE, name_key, split_arn
from cloudlet.services.iam.managed import AwsManagedPolicies, PolicyOperations
from cloudlet.services.iam.roles import RoleOperations

#: when the root user of every cloudlet account "was created" (GetUser needs a CreateDate)
_ACCOUNT_CREATED = 1577836800  # 2020-01-01T00:00:00Z


class IamProvider(RoleOperations, PolicyOperations, Provider):
    service = "iam"
    helpers = ("role_by_arn", "managed_policy")

    def __init__(self, app) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.aws_policies = AwsManagedPolicies()

    # -- for other services -----------------------------------------------------------------------
    def role_by_arn(self, arn: str) -> dict[str, Any] | None:
        """The stored role an ARN names (Lambda execution roles, Step Functions roles, AssumeRole),
        or None. The document is shared: read it, never change it.

        The ARN must be the role's exactly (path and spelling of the name), as on AWS.
        """
        parts = split_arn(arn, "role")
        if parts is None:
            return None
        account, path, name = parts
        doc = self.store.get(ROLE, name_key(account, name))
        if doc is None or doc["path"] != path or doc["name"] != name:
            return None
        return doc

    def _caller(self, ctx: RequestContext) -> dict[str, Any]:
        return self.app.provider("sts").caller(ctx)

    def _caller_arn(self, ctx: RequestContext) -> str:
        return self._caller(ctx)["arn"]

    # -- users: only the caller's own identity for now --------------------------------------------
    def get_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetUser without a name describes the caller (tools read the account id from it)."""
        name = params.get("UserName")
        if name:
            raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.")
        caller = self._caller(ctx)
        if caller["type"] != "root":
            raise AwsError(
                "ValidationError", "Must specify userName when calling with non-User credentials"
            )
        return {
            "User": {
                "UserId": caller["account"],
                "Arn": caller["arn"],
                "CreateDate": _ACCOUNT_CREATED,
            }
        }
