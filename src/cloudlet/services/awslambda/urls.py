"""Function URL configurations (Create/Get/Update/Delete/ListFunctionUrlConfig(s)).

A URL is `http://<url-id>.lambda-url.<region>.localhost:<port>/`: `*.localhost` resolves to this
machine in browsers (`/_cloudlet/lambda-url/<url-id>/` serves the same function for clients that
do not resolve it; url_invoke.py serves both). `FunctionUrl` is made from the host and port the
client called, so it works for that client even after cloudlet moved to another port.
Documents: "lambda.url" at `<function key>/<alias or "">` holds the answer plus its `url_id`;
"lambda.url-id" at the url id says which function and qualifier it serves.
`FunctionUrls.target` is the lookup the URL-serving edge step uses.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from cloudlet.core.store import Store
from cloudlet.services import RequestContext
from cloudlet.services.awslambda.errors import conflict, not_found, resource_missing
from cloudlet.services.awslambda.functions import Ref
from cloudlet.services.awslambda.paging import page

URL = "lambda.url"
URL_ID = "lambda.url-id"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ANSWER = (
    "FunctionUrl",
    "FunctionArn",
    "AuthType",
    "Cors",
    "CreationTime",
    "LastModifiedTime",
    "InvokeMode",
)


def _now(clock: Any) -> str:
    """URL configs carry microsecond ISO timestamps: `2024-05-01T12:00:00.123456Z`."""
    return datetime.fromtimestamp(clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def url_for(ctx: RequestContext, url_id: str, region: str) -> str:
    host = ctx.host
    port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else ""
    suffix = f":{port}" if port and port not in ("80", "443") else ""
    return f"{ctx.scheme}://{url_id}.lambda-url.{region}.localhost{suffix}/"


class FunctionUrls:
    def __init__(self, store: Store, clock: Any) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _key(ref: Ref) -> str:
        return f"{ref.key}/{ref.qualifier or ''}"

    def target(self, url_id: str) -> dict[str, Any] | None:
        """`{"account", "region", "name", "qualifier"}` of the function a URL id serves."""
        return self.store.get(URL_ID, url_id)

    def config(self, ref: Ref) -> dict[str, Any] | None:
        """The stored config of a function (or alias) URL, with its `url_id`."""
        return self.store.get(URL, self._key(ref))

    @staticmethod
    def _answer(doc: dict[str, Any], ctx: RequestContext | None = None) -> dict[str, Any]:
        answer = {k: doc[k] for k in _ANSWER if k in doc}
        if ctx is not None:
            answer["FunctionUrl"] = url_for(ctx, doc["url_id"], doc["FunctionArn"].split(":")[3])
        return answer

    def create(self, ctx: RequestContext, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        key = self._key(ref)
        arn = ref.qualified() if ref.qualifier else ref.arn
        if self.store.get(URL, key) is not None:
            raise conflict(
                f"Failed to create function url config for [functionArn = {arn}]. "
                "Error message:  FunctionUrlConfig exists for this Lambda function"
            )
        url_id = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        now = _now(self.clock)
        doc = {
            "FunctionUrl": url_for(ctx, url_id, ref.region),
            "FunctionArn": arn,
            "AuthType": params["AuthType"],
            "CreationTime": now,
            "LastModifiedTime": now,
            "InvokeMode": params.get("InvokeMode") or "BUFFERED",
            "url_id": url_id,
        }
        if params.get("Cors"):
            doc["Cors"] = params["Cors"]
        target = {
            "account": ref.account,
            "region": ref.region,
            "name": ref.name,
            "qualifier": ref.qualifier,
        }
        with self.store.transaction():
            self.store.put(URL, key, doc)
            self.store.put(URL_ID, url_id, target)
        return self._answer(doc, ctx)

    def get(self, ref: Ref, ctx: RequestContext | None = None) -> dict[str, Any]:
        doc = self.store.get(URL, self._key(ref))
        if doc is None:
            raise resource_missing()
        return self._answer(doc, ctx)

    def update(
        self, ref: Ref, params: dict[str, Any], ctx: RequestContext | None = None
    ) -> dict[str, Any]:
        current = self.store.get(URL, self._key(ref))
        if current is None:
            raise resource_missing()
        doc = dict(current)
        for name in ("AuthType", "Cors", "InvokeMode"):
            if name in params:
                doc[name] = params[name]
        doc["LastModifiedTime"] = _now(self.clock)
        self.store.put(URL, self._key(ref), doc)
        return self._answer(doc, ctx)

    def delete(self, ref: Ref) -> None:
        current = self.store.get(URL, self._key(ref))
        if current is None:
            raise not_found("The resource you requested does not exist.")
        with self.store.transaction():
            self.store.delete(URL, self._key(ref))
            self.store.delete(URL_ID, current["url_id"])

    def list(
        self, ref: Ref, params: dict[str, Any], ctx: RequestContext | None = None
    ) -> dict[str, Any]:
        items = [(key, self._answer(doc, ctx)) for key, doc in self.store.scan(URL, ref.key + "/")]
        found, marker = page(items, params)
        return {"FunctionUrlConfigs": found, "NextMarker": marker}

    def drop_function(self, ref: Ref, qualifier: str | None = None) -> None:
        prefix = ref.key + "/" + (qualifier if qualifier is not None else "")
        for key, doc in self.store.scan(URL, prefix):
            if qualifier is not None and key != prefix:
                continue
            self.store.delete(URL, key)
            self.store.delete(URL_ID, doc["url_id"])
