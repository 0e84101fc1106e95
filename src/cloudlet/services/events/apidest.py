"""Connections and API destinations: EventBridge calling HTTP endpoints with stored credentials.

A connection keeps its authorization — API_KEY (a header), BASIC (user and password) or
OAUTH_CLIENT_CREDENTIALS (a token fetched from the authorization endpoint with the client id and
secret, cached until it expires) — plus extra headers, query string and body parameters. Secrets
stay in the connection's document: no answer carries them (AWS keeps them in Secrets Manager; the
SecretArn it reports is given here too) and nothing logs them.

An API destination is an endpoint (`*` in its URL are filled from the target's
PathParameterValues), a method and a connection. Invoking it sends the input as the body with the
connection's and the target's headers and query parameters; 2xx is delivered, 429 / 5xx / no
answer are retried by the target's RetryPolicy, any other status is final.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson

from cloudlet.core import ids
from cloudlet.core.http_client import HttpFailure, fetch
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.events.common import CONNECTION, DESTINATION, arn, key, not_found, page
from cloudlet.services.events.targets import TargetError

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store

#: AWS gives an API destination endpoint 5 seconds to answer
_TIMEOUT_S = 5.0

_SECRET_FIELDS = {"Password", "ApiKeyValue", "ClientSecret"}
_NO_BODY = ("GET", "HEAD")
_AUTH_KINDS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}


def _public(value: Any) -> Any:
    """AuthParameters as answered: secrets and secret parameter values left out."""
    if isinstance(value, dict):
        if value.get("IsValueSecret"):
            return {k: v for k, v in value.items() if k != "Value"}
        return {k: _public(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for name, value in new.items():
        out[name] = (
            _merge(out[name], value)
            if isinstance(value, dict) and isinstance(out.get(name), dict)
            else value
        )
    return out


class ConnectionOperations:
    store: Store
    clock: Clock
    _tokens: dict[str, tuple[str, int]]
    _token_locks: dict[str, asyncio.Lock]

    # -- connections -------------------------------------------------------------------------------
    def _connection(self, ctx: RequestContext, name: str) -> tuple[str, dict[str, Any]]:
        conn_key = key(ctx.account, ctx.region, name)
        doc = self.store.get(CONNECTION, conn_key)
        if doc is None:
            raise not_found(f"Connection '{name}' does not exist.")
        return conn_key, doc

    @committed
    def create_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        conn_key = key(ctx.account, ctx.region, name)
        if self.store.get(CONNECTION, conn_key) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Connection {name} already exists.")
        kind = params["AuthorizationType"]
        now = self.clock.now_ms()
        oauth = kind == "OAUTH_CLIENT_CREDENTIALS"
        doc = {
            "name": name,
            "arn": arn(ctx.region, ctx.account, f"connection/{name}/{ids.uuid4()}"),
            "secret_arn": (
                f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:events!connection/"
                f"{name}/{ids.uuid4()}-{base64.b32encode(os.urandom(4)).decode()[:6]}"
            ),
            "description": params.get("Description"),
            "type": kind,
            "auth": params["AuthParameters"],
            "state": "AUTHORIZING" if oauth else "AUTHORIZED",
            "created": now,
            "modified": now,
            "authorized": None if oauth else now,
        }
        self.store.put(CONNECTION, conn_key, doc)
        return self._connection_state(doc)

    def _connection_state(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = {
            "ConnectionArn": doc["arn"],
            "ConnectionState": doc["state"],
            "CreationTime": doc["created"] / 1000,
            "LastModifiedTime": doc["modified"] / 1000,
        }
        if doc.get("authorized"):
            out["LastAuthorizedTime"] = doc["authorized"] / 1000
        return out

    def describe_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._connection(ctx, params["Name"])
        out = {
            **self._connection_state(doc),
            "Name": doc["name"],
            "AuthorizationType": doc["type"],
            "SecretArn": doc["secret_arn"],
            "AuthParameters": _public(doc["auth"]),
        }
        if doc.get("description"):
            out["Description"] = doc["description"]
        if doc.get("reason"):
            out["StateReason"] = doc["reason"]
        return out

    @committed
    def update_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        conn_key, doc = self._connection(ctx, params["Name"])
        kind = params.get("AuthorizationType") or doc["type"]
        auth = params.get("AuthParameters") or {}
        merged = auth if kind != doc["type"] else _merge(doc["auth"], auth)
        now = self.clock.now_ms()
        oauth = kind == "OAUTH_CLIENT_CREDENTIALS"
        new = {
            **doc,
            "type": kind,
            "auth": merged,
            "description": params.get("Description", doc.get("description")),
            "state": "AUTHORIZING" if oauth else "AUTHORIZED",
            "modified": now,
            "authorized": doc.get("authorized") if oauth else now,
            "reason": None,
        }
        self.store.put(CONNECTION, conn_key, new)
        self._tokens.pop(conn_key, None)
        return self._connection_state(new)

    @committed
    def deauthorize_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        conn_key, doc = self._connection(ctx, params["Name"])
        new = {**doc, "state": "DEAUTHORIZED", "modified": self.clock.now_ms()}
        self.store.put(CONNECTION, conn_key, new)
        self._tokens.pop(conn_key, None)
        return {**self._connection_state(new), "ConnectionState": "DEAUTHORIZING"}

    @committed
    def delete_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        conn_key, doc = self._connection(ctx, params["Name"])
        self.store.delete(CONNECTION, conn_key)
        self._tokens.pop(conn_key, None)
        return {**self._connection_state(doc), "ConnectionState": "DELETING"}

    def list_connections(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = key(ctx.account, ctx.region, params.get("NamePrefix") or "")
        wanted = params.get("ConnectionState")
        found = [
            {**self._connection_state(d), "Name": d["name"], "AuthorizationType": d["type"]}
            for _, d in self.store.scan(CONNECTION, prefix)
            if not wanted or d["state"] == wanted
        ]
        items, following = page(found, params)
        return {"Connections": items, **({"NextToken": following} if following else {})}

    # -- API destinations --------------------------------------------------------------------------
    def _destination(self, ctx: RequestContext, name: str) -> tuple[str, dict[str, Any]]:
        dest_key = key(ctx.account, ctx.region, name)
        doc = self.store.get(DESTINATION, dest_key)
        if doc is None:
            raise not_found(f"An api-destination '{name}' does not exist.")
        return dest_key, doc

    def _connection_by_arn(self, connection_arn: str) -> tuple[str, dict[str, Any]]:
        parts = connection_arn.split(":", 5)
        name = parts[5].split("/")[1] if len(parts) == 6 and parts[5].count("/") >= 1 else ""
        conn_key = key(parts[4], parts[3], name) if len(parts) == 6 else ""
        doc = self.store.get(CONNECTION, conn_key) if conn_key else None
        if doc is None or doc["arn"] != connection_arn:
            raise not_found(f"Connection '{name or connection_arn}' does not exist.")
        return conn_key, doc

    @committed
    def create_api_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        dest_key = key(ctx.account, ctx.region, name)
        if self.store.get(DESTINATION, dest_key) is not None:
            raise AwsError(
                "ResourceAlreadyExistsException", f"An api-destination '{name}' already exists."
            )
        self._connection_by_arn(params["ConnectionArn"])
        now = self.clock.now_ms()
        doc = {
            "name": name,
            "arn": arn(ctx.region, ctx.account, f"api-destination/{name}/{ids.uuid4()}"),
            "description": params.get("Description"),
            "connection": params["ConnectionArn"],
            "endpoint": params["InvocationEndpoint"],
            "method": params["HttpMethod"],
            "rate": params.get("InvocationRateLimitPerSecond") or 300,
            "created": now,
            "modified": now,
        }
        self.store.put(DESTINATION, dest_key, doc)
        return self._destination_state(doc)

    def _destination_state(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "ApiDestinationArn": doc["arn"],
            "ApiDestinationState": "ACTIVE",
            "CreationTime": doc["created"] / 1000,
            "LastModifiedTime": doc["modified"] / 1000,
        }

    def _destination_view(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = {
            **self._destination_state(doc),
            "Name": doc["name"],
            "ConnectionArn": doc["connection"],
            "InvocationEndpoint": doc["endpoint"],
            "HttpMethod": doc["method"],
            "InvocationRateLimitPerSecond": doc["rate"],
        }
        if doc.get("description"):
            out["Description"] = doc["description"]
        return out

    def describe_api_destination(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self._destination_view(self._destination(ctx, params["Name"])[1])

    @committed
    def update_api_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        dest_key, doc = self._destination(ctx, params["Name"])
        if params.get("ConnectionArn"):
            self._connection_by_arn(params["ConnectionArn"])
        changes = {
            "description": params.get("Description"),
            "connection": params.get("ConnectionArn"),
            "endpoint": params.get("InvocationEndpoint"),
            "method": params.get("HttpMethod"),
            "rate": params.get("InvocationRateLimitPerSecond"),
        }
        new = {**doc, **{k: v for k, v in changes.items() if v is not None}}
        new["modified"] = self.clock.now_ms()
        self.store.put(DESTINATION, dest_key, new)
        return self._destination_state(new)

    @committed
    def delete_api_destination(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        dest_key, _ = self._destination(ctx, params["Name"])
        self.store.delete(DESTINATION, dest_key)

    def list_api_destinations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = key(ctx.account, ctx.region, params.get("NamePrefix") or "")
        connection = params.get("ConnectionArn")
        found = [
            {k: v for k, v in self._destination_view(d).items() if k != "Description"}
            for _, d in self.store.scan(DESTINATION, prefix)
            if not connection or d["connection"] == connection
        ]
        items, following = page(found, params)
        return {"ApiDestinations": items, **({"NextToken": following} if following else {})}

    # -- invoking ----------------------------------------------------------------------------------
    async def invoke_api_destination(self, target: dict[str, Any], body: str) -> None:
        parts = target["Arn"].split(":", 5)
        name = parts[5].split("/")[1] if len(parts) == 6 else ""
        dest = self.store.get(DESTINATION, key(parts[4], parts[3], name)) if name else None
        if dest is None or dest["arn"] != target["Arn"]:
            raise TargetError("NO_RESOURCE", f"API destination {target['Arn']} does not exist.")
        try:
            conn_key, conn = self._connection_by_arn(dest["connection"])
        except AwsError as error:
            raise TargetError("NO_RESOURCE", error.message) from None
        if conn["state"] in ("DEAUTHORIZED", "DEAUTHORIZING"):
            raise TargetError("NO_PERMISSIONS", f"Connection {conn['name']} is deauthorized.")
        headers, query, extra_body = _invocation_parameters(
            conn["auth"], target.get("HttpParameters") or {}
        )
        headers.update(await self._auth_headers(conn_key, conn))
        url = _endpoint(dest["endpoint"], target.get("HttpParameters") or {}, query)
        method = dest["method"]
        payload = b"" if method in _NO_BODY else _with_body_parameters(body, extra_body).encode()
        try:
            status, _, _ = await fetch(method, url, headers, payload, _TIMEOUT_S)
        except HttpFailure as failure:
            raise TargetError(
                "CONNECTION_FAILURE", f"Unable to invoke ApiDestination endpoint: {failure}", True
            ) from None
        if not 200 <= status < 300:
            raise TargetError(
                "SDK_CLIENT_ERROR",
                "Unable to invoke ApiDestination endpoint: The request failed because the "
                f"endpoint returned an error. [status code {status}]",
                status == 429 or status >= 500,
            )

    async def _auth_headers(self, conn_key: str, conn: dict[str, Any]) -> dict[str, str]:
        auth = conn["auth"]
        if conn["type"] == "BASIC":
            basic = auth["BasicAuthParameters"]
            pair = f"{basic['Username']}:{basic['Password']}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if conn["type"] == "API_KEY":
            api_key = auth["ApiKeyAuthParameters"]
            return {api_key["ApiKeyName"]: api_key["ApiKeyValue"]}
        return {"Authorization": "Bearer " + await self._oauth_token(conn_key, conn)}

    async def _oauth_token(self, conn_key: str, conn: dict[str, Any]) -> str:
        """The connection's token, fetched once for concurrent deliveries and cached."""
        lock = self._token_locks.setdefault(conn_key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(conn_key)
            if cached and cached[1] > self.clock.now_ms():
                return cached[0]
            return await self._fetch_token(conn_key, conn)

    async def _fetch_token(self, conn_key: str, conn: dict[str, Any]) -> str:
        now = self.clock.now_ms()
        oauth = conn["auth"]["OAuthParameters"]
        client = oauth["ClientParameters"]
        pair = f"{client['ClientID']}:{client['ClientSecret']}".encode()
        headers, query, form = _invocation_parameters(oauth.get("OAuthHttpParameters") or {}, {})
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        form.setdefault("grant_type", "client_credentials")
        url = _endpoint(oauth["AuthorizationEndpoint"], {}, query)
        try:
            status, _, answer = await fetch(
                oauth["HttpMethod"], url, headers, urlencode(form).encode(), _TIMEOUT_S
            )
            token = orjson.loads(answer)["access_token"] if 200 <= status < 300 else None
            expires = int(orjson.loads(answer).get("expires_in", 3600)) if token else 0
        except (HttpFailure, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            token, expires = None, 0
        if not token:
            await self.app.commit(self._set_connection_state, conn_key, "DEAUTHORIZED")  # type: ignore[attr-defined]
            raise TargetError("NO_PERMISSIONS", "Failed to obtain an OAuth token.")
        self._tokens[conn_key] = (token, now + max(expires - 60, 1) * 1000)
        if conn["state"] != "AUTHORIZED":
            await self.app.commit(self._set_connection_state, conn_key, "AUTHORIZED")  # type: ignore[attr-defined]
        return token

    def _set_connection_state(self, conn_key: str, state: str) -> None:
        doc = self.store.get(CONNECTION, conn_key)
        if doc is not None:
            now = self.clock.now_ms()
            authorized = now if state == "AUTHORIZED" else doc.get("authorized")
            self.store.put(CONNECTION, conn_key, {**doc, "state": state, "authorized": authorized})


def _pairs(entries: list[dict[str, Any]] | None) -> dict[str, str]:
    return {e["Key"]: e.get("Value", "") for e in entries or []}


def _invocation_parameters(
    auth: dict[str, Any], http_parameters: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(headers, query, body parameters): the connection's, then the target's on top."""
    invocation = auth.get("InvocationHttpParameters", auth)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Amazon/EventBridge/ApiDestinations",
        **_pairs(invocation.get("HeaderParameters")),
        **(http_parameters.get("HeaderParameters") or {}),
    }
    query = {
        **_pairs(invocation.get("QueryStringParameters")),
        **(http_parameters.get("QueryStringParameters") or {}),
    }
    return headers, query, _pairs(invocation.get("BodyParameters"))


def _endpoint(endpoint: str, http_parameters: dict[str, Any], query: dict[str, str]) -> str:
    for value in http_parameters.get("PathParameterValues") or []:
        endpoint = endpoint.replace("*", value, 1)
    if not query:
        return endpoint
    parts = urlsplit(endpoint)
    joined = "&".join(p for p in (parts.query, urlencode(query)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _with_body_parameters(body: str, extra: dict[str, str]) -> str:
    if not extra:
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(document, dict):
        return orjson.dumps({**document, **extra}).decode()
    return body
