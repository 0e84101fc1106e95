"""Resource policies of functions (AddPermission) and layer versions (AddLayerVersionPermission),
as the policy documents AWS builds from those calls.

Stored now, answered exactly; enforcing them on invoke comes with IAM. Documents:
"lambda.policy" at `<function key>/<qualifier or "">` and "lambda.layer-policy" at the layer
version's key, each `{"Statement": [...], "RevisionId": ...}`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from cloudlet.core.store import Store
from cloudlet.services.awslambda.errors import (
    conflict,
    invalid_parameter,
    not_found,
    resource_missing,
)
from cloudlet.services.awslambda.functions import LATEST, Ref, check_revision, new_revision

POLICY = "lambda.policy"
LAYER_POLICY = "lambda.layer-policy"
_ACCOUNT = re.compile(r"^\d{12}$")


def principal_of(principal: str) -> Any:
    """How AWS writes a principal: `*`, an account as its root ARN, an ARN, or a service."""
    if principal == "*":
        return "*"
    if _ACCOUNT.match(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    return {"Service": principal}


def _conditions(params: dict[str, Any]) -> dict[str, Any]:
    conditions: dict[str, dict[str, str]] = {}

    def add(operator: str, key: str, value: str) -> None:
        conditions.setdefault(operator, {})[key] = value

    if params.get("SourceAccount"):
        add("StringEquals", "AWS:SourceAccount", params["SourceAccount"])
    if params.get("PrincipalOrgID"):
        add("StringEquals", "aws:PrincipalOrgID", params["PrincipalOrgID"])
    if params.get("EventSourceToken"):
        add("StringEquals", "lambda:EventSourceToken", params["EventSourceToken"])
    if params.get("FunctionUrlAuthType"):
        add("StringEquals", "lambda:FunctionUrlAuthType", params["FunctionUrlAuthType"])
    if params.get("InvokedViaFunctionUrl"):
        add("Bool", "lambda:InvokedViaFunctionUrl", "true")
    if params.get("SourceArn"):
        add("ArnLike", "AWS:SourceArn", params["SourceArn"])
    return conditions


def _document(statements: list[dict[str, Any]]) -> str:
    return orjson.dumps(
        {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    ).decode()


class Policies:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _key(ref: Ref, qualifier: str | None) -> str:
        return f"{ref.key}/{qualifier or ''}"

    # -- functions -------------------------------------------------------------------------------
    def add(self, ref: Ref, resource: str, params: dict[str, Any]) -> dict[str, Any]:
        """Add a statement to the policy of `ref` (whose qualifier, if any, was checked to exist)."""
        if ref.qualifier == LATEST:
            raise invalid_parameter("We currently do not support adding policies for $LATEST.")
        key = self._key(ref, ref.qualifier)
        current = self.store.get(POLICY, key) or {"Statement": [], "RevisionId": None}
        statement = _new_statement(current, params, resource)
        conditions = _conditions(params)
        if conditions:
            statement["Condition"] = conditions
        self.store.put(
            POLICY,
            key,
            {"Statement": [*current["Statement"], statement], "RevisionId": new_revision()},
        )
        return {"Statement": orjson.dumps(statement).decode()}

    def remove(self, ref: Ref, sid: str, revision_id: str | None) -> None:
        self._remove_statement(POLICY, self._key(ref, ref.qualifier), sid, revision_id)

    def _remove_statement(self, kind: str, key: str, sid: str, revision_id: str | None) -> None:
        """RemovePermission / RemoveLayerVersionPermission: the policy goes when it is empty."""
        current = self.store.get(kind, key)
        if current is None or not any(s["Sid"] == sid for s in current["Statement"]):
            raise not_found(f"Statement {sid} is not found in resource policy.")
        check_revision(current["RevisionId"], revision_id)
        kept = [s for s in current["Statement"] if s["Sid"] != sid]
        if kept:
            self.store.put(kind, key, {"Statement": kept, "RevisionId": new_revision()})
        else:
            self.store.delete(kind, key)

    def get(self, ref: Ref) -> dict[str, Any]:
        current = self.store.get(POLICY, self._key(ref, ref.qualifier))
        if current is None:
            raise resource_missing()
        return {"Policy": _document(current["Statement"]), "RevisionId": current["RevisionId"]}

    def statements(self, ref: Ref, qualifier: str | None = None) -> list[dict[str, Any]]:
        """The statements that apply to `ref` (for IAM enforcement and function URLs)."""
        current = self.store.get(POLICY, self._key(ref, qualifier))
        return list(current["Statement"]) if current else []

    def drop_function(self, ref: Ref, qualifier: str | None = None) -> None:
        """Forget the policies of a deleted function (every qualifier) or of one version."""
        if qualifier is not None:
            self.store.delete(POLICY, self._key(ref, qualifier))
            return
        for key, _ in self.store.scan(POLICY, ref.key + "/"):
            self.store.delete(POLICY, key)

    # -- layer versions --------------------------------------------------------------------------
    def add_layer(self, key: str, layer_version_arn: str, params: dict[str, Any]) -> dict[str, Any]:
        current = self.store.get(LAYER_POLICY, key) or {"Statement": [], "RevisionId": None}
        statement = _new_statement(current, params, layer_version_arn)
        if params.get("OrganizationId"):
            statement["Condition"] = {
                "StringEquals": {"aws:PrincipalOrgID": params["OrganizationId"]}
            }
        revision = new_revision()
        self.store.put(
            LAYER_POLICY,
            key,
            {"Statement": [*current["Statement"], statement], "RevisionId": revision},
        )
        return {"Statement": orjson.dumps(statement).decode(), "RevisionId": revision}

    def remove_layer(self, key: str, sid: str, revision_id: str | None) -> None:
        self._remove_statement(LAYER_POLICY, key, sid, revision_id)

    def get_layer(self, key: str) -> dict[str, Any]:
        current = self.store.get(LAYER_POLICY, key)
        if current is None:
            raise not_found("No policy is associated with the given resource.")
        return {"Policy": _document(current["Statement"]), "RevisionId": current["RevisionId"]}

    def drop_layer(self, key: str) -> None:
        self.store.delete(LAYER_POLICY, key)


def _new_statement(
    current: dict[str, Any], params: dict[str, Any], resource: str
) -> dict[str, Any]:
    """The Allow statement AddPermission / AddLayerVersionPermission adds to a policy, after the
    checks both make: the caller's RevisionId, and a statement id not used yet."""
    check_revision(current["RevisionId"], params.get("RevisionId"))
    sid = params["StatementId"]
    if any(s["Sid"] == sid for s in current["Statement"]):
        raise conflict(
            f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
            "or remove the existing statement."
        )
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal_of(params["Principal"]),
        "Action": params["Action"],
        "Resource": resource,
    }
