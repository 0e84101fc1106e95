"""Amazon CloudWatch Logs: log groups and streams, their events, filters and tags.

Groups and streams are documents (see resources.py); events live in the store's log_events
table. Lambda writes through `append` without HTTP, creating its group and stream on first use
as AWS does. Events past a group's retention vanish from reads at once and are deleted lazily
(at most once a minute per group) by the operations that touch the group: no sweeper thread.
"""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.arns import parse_arn
from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext
from cloudlet.services.logs.events import EventOperations
from cloudlet.services.logs.filters import FilterOperations
from cloudlet.services.logs.resources import (
    GROUP,
    METRIC_FILTER,
    RETENTION_DAYS,
    STREAM,
    SUBSCRIPTION_FILTER,
    Group,
    describe_stream,
    find_group,
    group_by_identifier,
    group_key,
    group_of,
    invalid,
    page,
    stream_doc,
)

MAX_TAGS = 50
_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
_STREAM_NAME = re.compile(r"^[^:*]{1,512}$")


class LogsProvider(EventOperations, FilterOperations, Provider):
    service = "logs"
    helpers = ("append",)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self._purged: dict[str, int] = {}  # group key -> when its expired events were deleted

    def reset(self) -> None:
        self._purged.clear()

    # -- Lambda's way in ----------------------------------------------------------------------
    def append(
        self, account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]
    ) -> None:
        """Write `(timestamp ms, message)` events as Lambda does: the group and stream are created
        when missing; events are stored in timestamp order, empty messages skipped."""
        if not _GROUP_NAME.match(group) or not _STREAM_NAME.match(stream):
            raise ValueError(f"invalid log group or stream name: {group!r} / {stream!r}")
        now = self.clock.now_ms()
        with self.store.transaction():
            key = group_key(account, region, group)
            doc = self.store.get(GROUP, key)
            if doc is None:
                doc = self._new_group(account, region, group, {})
                self.store.put(GROUP, key, doc)
            found = Group(key, doc)
            stream_key = found.stream_key(stream)
            current = self.store.get(STREAM, stream_key)
            if current is None:
                current = {"name": stream, "created": now}
                self.store.put(STREAM, stream_key, current)
            ordered = sorted(((ts, msg) for ts, msg in events if msg), key=lambda e: e[0])
            self._ingest(found, current, ordered)

    # -- log groups ---------------------------------------------------------------------------
    def _new_group(
        self, account: str, region: str, name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": name,
            "account": account,
            "region": region,
            "created": self.clock.now_ms(),
            "class": params.get("logGroupClass") or "STANDARD",
            "tags": dict(params.get("tags") or {}),
            "stored_bytes": 0,
            "metric_filters": 0,
        }
        if params.get("kmsKeyId"):
            doc["kms_key_id"] = params["kmsKeyId"]
        if params.get("deletionProtectionEnabled"):
            doc["deletion_protection"] = True
        return doc

    def create_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        name = params["logGroupName"]
        key = group_key(ctx.account, ctx.region, name)
        if self.store.get(GROUP, key) is not None:
            raise AwsError(
                "ResourceAlreadyExistsException", "The specified log group already exists"
            )
        self.store.put(GROUP, key, self._new_group(ctx.account, ctx.region, name, params))

    def delete_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        if group.doc.get("deletion_protection"):
            raise AwsError(
                "ValidationException",
                "Cannot delete log group because deletion protection is enabled.",
            )
        with self.store.transaction():
            for kind in (STREAM, METRIC_FILTER, SUBSCRIPTION_FILTER):
                for key, _ in self.store.scan(kind, f"{group.key}:"):
                    self.store.delete(kind, key)
            self.store.delete_log_events(group.key)
            self.store.delete(GROUP, group.key)
        self._purged.pop(group.key, None)

    def put_log_group_deletion_protection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        group = group_by_identifier(self.store, ctx, params["logGroupIdentifier"])
        enabled = bool(params["deletionProtectionEnabled"])
        self.store.put(GROUP, group.key, {**group.doc, "deletion_protection": enabled})

    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("logGroupNamePrefix")
        pattern = params.get("logGroupNamePattern")
        if prefix and pattern:
            raise invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        wanted_class = params.get("logGroupClass")
        identifiers = params.get("logGroupIdentifiers")
        names = None
        if identifiers:
            names = {i.removesuffix(":*").rpartition("log-group:")[2] for i in identifiers}
        base = group_key(ctx.account, ctx.region, "")
        items = []
        for key, doc in self.store.scan(GROUP, base + (prefix or "")):
            if pattern and pattern not in doc["name"]:
                continue
            if names is not None and doc["name"] not in names:
                continue
            if wanted_class and doc.get("class", "STANDARD") != wanted_class:
                continue
            items.append((doc["name"], Group(key, doc).describe(brief=bool(pattern))))
        chosen, token = page(items, params)
        out: dict[str, Any] = {"logGroups": chosen}
        if token:
            out["nextToken"] = token
        return out

    def put_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        days = params["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                "satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(map(str, RETENTION_DAYS))}]"
            )
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        group.doc = {**group.doc, "retention": days}
        self.store.put(GROUP, group.key, group.doc)
        self._expire(group, self.clock.now_ms(), force=True)

    def delete_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        doc = {k: v for k, v in group.doc.items() if k != "retention"}
        self.store.put(GROUP, group.key, doc)

    # -- log streams --------------------------------------------------------------------------
    def create_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        name = params["logStreamName"]
        key = group.stream_key(name)
        if self.store.get(STREAM, key) is not None:
            raise AwsError(
                "ResourceAlreadyExistsException", "The specified log stream already exists"
            )
        self.store.put(STREAM, key, {"name": name, "created": self.clock.now_ms()})

    def delete_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        name = params["logStreamName"]
        stream_doc(self.store, group, name)
        with self.store.transaction():
            _, size = self.store.delete_log_events(group.key, name)
            self.store.delete(STREAM, group.stream_key(name))
            stored = max(group.doc.get("stored_bytes", 0) - size, 0)
            self.store.put(GROUP, group.key, {**group.doc, "stored_bytes": stored})

    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = group_of(self.store, ctx, params)
        prefix = params.get("logStreamNamePrefix")
        by_time = params.get("orderBy") == "LastEventTime"
        if by_time and prefix:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        items = []
        for _, doc in self.store.scan(STREAM, group.stream_key(prefix or "")):
            sort_key = (doc.get("last_ts") or 0, doc["name"]) if by_time else doc["name"]
            items.append((sort_key, describe_stream(group, doc)))
        chosen, token = page(items, params, descending=bool(params.get("descending")))
        out: dict[str, Any] = {"logStreams": chosen}
        if token:
            out["nextToken"] = token
        return out

    # -- tags ---------------------------------------------------------------------------------
    def _tagged_group(self, arn: str) -> Group:
        """The log group a tagging ARN names (`arn:aws:logs:<region>:<account>:log-group:<name>`)."""
        parsed = parse_arn(arn)
        if (
            parsed is None
            or parsed.service != "logs"
            or not parsed.resource.startswith("log-group:")
        ):
            raise AwsError("ResourceNotFoundException", "The specified resource does not exist.")
        name = parsed.resource[len("log-group:") :]
        return find_group(self.store, parsed.account, parsed.region, name)

    def _tag(self, group: Group, tags: dict[str, str], *, code: str) -> None:
        merged = {**group.doc.get("tags", {}), **tags}
        if len(merged) > MAX_TAGS:
            raise AwsError(code, f"A resource can have no more than {MAX_TAGS} tags.")
        self.store.put(GROUP, group.key, {**group.doc, "tags": merged})

    def _untag(self, group: Group, keys: list[str]) -> None:
        tags = {k: v for k, v in group.doc.get("tags", {}).items() if k not in set(keys)}
        self.store.put(GROUP, group.key, {**group.doc, "tags": tags})

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = self._tagged_group(params["resourceArn"])
        self._tag(group, params["tags"], code="TooManyTagsException")

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self._untag(self._tagged_group(params["resourceArn"]), params["tagKeys"])

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self._tagged_group(params["resourceArn"]).doc.get("tags", {}))}

    def tag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        self._tag(group, params["tags"], code="InvalidParameterException")

    def untag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        self._untag(group, params["tags"])

    def list_tags_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = find_group(self.store, ctx.account, ctx.region, params["logGroupName"])
        return {"tags": dict(group.doc.get("tags", {}))}
