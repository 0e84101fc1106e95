"""The STS provider: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken.

Credentials are issued for real — distinct keys, an expiry on cloudlet's clock — and kept in the
store with the principal they stand for. Signatures are not verified yet (that comes with IAM
enforcement), so the secret key and session token are stored only to check them later.

Any access key that STS did not issue is the root user of the account the edge chose for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext
from cloudlet.services.iam.common import split_arn, stable_id

CREDENTIALS = "sts.credentials"
DEFAULT_ROLE_SESSION = 3600
DEFAULT_SESSION_TOKEN = 43200
CHAINED_ROLE_LIMIT = 3600
ROOT_SESSION_LIMIT = 3600
SERVICE_SESSION = 43200  # what a service (Lambda) hands its functions lasts as long as it may
_PURGE_EVERY = 256  # issues between two sweeps of long-expired credentials
_KEEP_EXPIRED_MS = 24 * 3600 * 1000  # expired keys stay known (ExpiredToken) for a day
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, status=400)


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without verification (any token is accepted), or {}."""
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _assumed_role(role: dict[str, Any], session: str) -> dict[str, Any]:
    """The principal of a session of `role` (a stored role document, or its ARN's parts)."""
    account = role["account"]
    return {
        "type": "assumed-role",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role['name']}/{session}",
        "user_id": f"{role['id']}:{session}",
        "account": account,
        "role_arn": role["arn"],
        "role_id": role["id"],
        "session_name": session,
    }


class StsProvider(Provider):
    service = "sts"
    helpers = ("principal_for", "caller", "role_credentials")

    def __init__(self, app) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self._issued = 0

    def reset(self) -> None:
        self._issued = 0

    # -- principals -------------------------------------------------------------------------------
    def principal_for(self, access_key: str) -> dict[str, Any] | None:
        """Who an access key issued by STS stands for, or None for keys STS did not issue.

        Keys: type ("assumed-role" or "root"), arn, user_id, account, and for roles role_arn,
        role_id and session_name; expires (epoch ms) and expired (on cloudlet's clock now).
        """
        doc = self.store.get(CREDENTIALS, access_key) if access_key else None
        if doc is None:
            return None
        return {**doc["principal"], "expired": doc["expires"] <= self.clock.now_ms()}

    def caller(self, ctx: RequestContext) -> dict[str, Any]:
        """The principal of the request: what its access key was issued for, else the account's
        root user. Expired credentials are refused as AWS refuses them."""
        found = self.principal_for(ctx.access_key)
        if found is None:
            return {
                "type": "root",
                "arn": f"arn:aws:iam::{ctx.account}:root",
                "user_id": ctx.account,
                "account": ctx.account,
            }
        if found["expired"]:
            raise AwsError(
                "ExpiredToken", "The security token included in the request is expired", status=403
            )
        return found

    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        who = self.caller(ctx)
        return {"UserId": who["user_id"], "Account": who["account"], "Arn": who["arn"]}

    # -- issuing ----------------------------------------------------------------------------------
    def _issue(
        self, principal: dict[str, Any], duration: int, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """Store new credentials for `principal`; returns the Credentials structure."""
        now = self.clock.now_ms()
        key = "ASIA" + _random(_KEY_ALPHABET, 16)
        secret = _random(_SECRET_ALPHABET, 40)
        token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(270)).decode()
        expires = (now // 1000 + duration) * 1000  # whole seconds, as AWS hands them out
        doc = {
            "principal": {**principal, "expires": expires},
            "secret": secret,
            "token": token,
            "issued": now,
            "expires": expires,
            **extra,
        }
        with self.store.transaction():
            self.store.put(CREDENTIALS, key, doc)
            self._issued += 1
            if self._issued % _PURGE_EVERY == 0:
                self._purge(now)
        return {
            "AccessKeyId": key,
            "SecretAccessKey": secret,
            "SessionToken": token,
            "Expiration": expires // 1000,
        }

    def role_credentials(
        self,
        account: str,
        role_arn: str,
        session_name: str = "cloudlet",
        duration: int = SERVICE_SESSION,
    ) -> dict[str, Any]:
        """Credentials of a role as a service assumes it for its own use (a Lambda function's
        execution role): no trust policy or session limits apply. A role that does not exist still
        gets credentials standing for its ARN, so functions created with a made-up role ARN run.
        """
        role = self.app.provider("iam").role_by_arn(role_arn)
        if role is None:
            parts = split_arn(role_arn, "role")
            name = parts[2] if parts else "unknown"
            role = {
                "account": parts[0] if parts else account,
                "name": name,
                "arn": role_arn,
                "id": stable_id("AROA", role_arn),
            }
        principal = _assumed_role(role, session_name)
        return self._issue(principal, duration, {"source": "service"})

    def _purge(self, now: int) -> None:
        for key, doc in self.store.scan(CREDENTIALS):
            if doc["expires"] + _KEEP_EXPIRED_MS < now:
                self.store.delete(CREDENTIALS, key)

    def _role(self, arn: str, denied: AwsError) -> dict[str, Any]:
        role = self.app.provider("iam").role_by_arn(arn)
        if role is None:
            raise denied
        return role

    def _session(
        self, role: dict[str, Any], session: str, params: dict[str, Any], chained: bool
    ) -> tuple[dict[str, Any], int]:
        """The assumed-role principal for `role` and the session's duration in seconds."""
        duration = params.get("DurationSeconds") or DEFAULT_ROLE_SESSION
        if duration > role["max_session"]:
            raise _validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        if chained and duration > CHAINED_ROLE_LIMIT:
            raise _validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        policy = params.get("Policy")
        if policy is not None:
            try:
                parsed = json.loads(policy)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.")
        return _assumed_role(role, session), duration

    @staticmethod
    def _session_extra(params: dict[str, Any], caller: dict[str, Any]) -> dict[str, Any]:
        """What the request adds to the session, kept for enforcement later."""
        return {
            "source": caller["arn"],
            "policy": params.get("Policy"),
            "policy_arns": [item["arn"] for item in params.get("PolicyArns") or []],
            "tags": params.get("Tags") or [],
            "transitive_tag_keys": params.get("TransitiveTagKeys") or [],
            "external_id": params.get("ExternalId"),
            "source_identity": params.get("SourceIdentity"),
        }

    @staticmethod
    def _packed_size(params: dict[str, Any]) -> int | None:
        """PackedPolicySize: how full the session's packed policies and tags are, in percent."""
        if not (params.get("Policy") or params.get("PolicyArns") or params.get("Tags")):
            return None
        packed = len(params.get("Policy") or "") + sum(
            len(tag["Key"]) + len(tag["Value"]) for tag in params.get("Tags") or []
        )
        packed += 64 * len(params.get("PolicyArns") or [])
        return max(1, min(100, packed * 100 // 2048))

    def assume_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = self.caller(ctx)
        arn = params["RoleArn"]
        if split_arn(arn, "role") is None:
            raise _validation(f"{arn} is invalid")
        denied = AwsError(
            "AccessDenied",
            f"User: {caller['arn']} is not authorized to perform: sts:AssumeRole on resource: {arn}",
            status=403,
        )
        role = self._role(arn, denied)
        session = params["RoleSessionName"]
        principal, duration = self._session(role, session, params, caller["type"] == "assumed-role")
        extra = self._session_extra(params, caller)
        return {
            "Credentials": self._issue(principal, duration, extra),
            "AssumedRoleUser": {"AssumedRoleId": principal["user_id"], "Arn": principal["arn"]},
            "PackedPolicySize": self._packed_size(params),
            "SourceIdentity": params.get("SourceIdentity"),
        }

    def assume_role_with_web_identity(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Any token is accepted; its claims (read, not verified) name subject and audience."""
        arn = params["RoleArn"]
        denied = AwsError(
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", status=403
        )
        if split_arn(arn, "role") is None:
            raise _validation(f"{arn} is invalid")
        role = self._role(arn, denied)
        claims = _jwt_claims(params["WebIdentityToken"])
        subject = str(claims.get("sub") or "anonymous")
        audience = claims.get("aud")
        if isinstance(audience, list):
            audience = audience[0] if audience else None
        issuer = str(claims.get("iss") or "")
        provider = params.get("ProviderId") or issuer.removeprefix("https://") or "cloudlet"
        principal, duration = self._session(role, params["RoleSessionName"], params, False)
        extra = {
            "source": f"web-identity:{provider}:{subject}",
            "policy": params.get("Policy"),
            "policy_arns": [item["arn"] for item in params.get("PolicyArns") or []],
            "web_identity": {"provider": provider, "subject": subject, "audience": audience},
        }
        return {
            "Credentials": self._issue(principal, duration, extra),
            "SubjectFromWebIdentityToken": subject,
            "AssumedRoleUser": {"AssumedRoleId": principal["user_id"], "Arn": principal["arn"]},
            "PackedPolicySize": self._packed_size(params),
            "Provider": provider,
            "Audience": str(audience) if audience is not None else None,
        }

    def get_session_token(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Temporary credentials standing for the caller itself."""
        caller = self.caller(ctx)
        if caller["type"] == "assumed-role":
            raise AwsError(
                "AccessDenied", "Cannot call GetSessionToken with session credentials", status=403
            )
        principal = {k: v for k, v in caller.items() if k not in ("expires", "expired")}
        duration = params.get("DurationSeconds") or DEFAULT_SESSION_TOKEN
        if caller["type"] == "root":
            duration = min(duration, ROOT_SESSION_LIMIT)  # AWS caps the root user's silently
        return {"Credentials": self._issue(principal, duration, {"source": caller["arn"]})}
