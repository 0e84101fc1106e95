"""Functions and their versions: names, documents, create/update/publish/delete, and the
Pending -> Active / InProgress -> Successful transitions AWS reports.

Documents (all keyed by `<account>/<region>/<name>`):
- "lambda.function": the function itself: ARN, tags, reserved concurrency, version counter.
- "lambda.version" at `<key>/$LATEST` and `<key>/<10-digit number>`: `config` is the version's
  `FunctionConfiguration` answer as AWS reports it; `code` names its zip (sha256 hex), `layers`
  the zips of its layers, `digest` what changes what runs, `pending` the token of an unfinished
  state transition.

A new or updated `$LATEST` is Pending / InProgress until its code (and layers) are unpacked for
the runtime, then Active / Successful, with a new RevisionId as on AWS. The transition runs as a
task on the event loop; after a restart, reading a document that is still pending restarts it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudlet.core.store import Store
from cloudlet.services import RequestContext
from cloudlet.services.awslambda import config as cfg
from cloudlet.services.awslambda.code import CodeStore, Package
from cloudlet.services.awslambda.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
    not_available,
    precondition_failed,
    validation,
)

log = logging.getLogger("cloudlet.lambda")

FUNCTION = "lambda.function"
VERSION = "lambda.version"
LATEST = "$LATEST"

#: (layer ARNs) -> (the `Layers` member of a configuration, the layers' zip shas)
LayerResolver = Callable[[list[str]], tuple[list[dict[str, Any]], list[str]]]


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


@dataclass(frozen=True, slots=True)
class Ref:
    """A function as a request names it: name, partial ARN or ARN, maybe with a qualifier."""

    account: str
    region: str
    name: str
    qualifier: str | None = None

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account, self.name)

    def qualified(self, qualifier: str | None = None) -> str:
        return function_arn(self.region, self.account, self.name, qualifier or self.qualifier)


def parse_ref(ctx: RequestContext, value: str, qualifier: str | None = None) -> Ref:
    """`name`, `name:qualifier`, `123456789012:function:name[:q]` or a full ARN, plus the
    request's own Qualifier (which must agree with one in the name)."""
    account, region = ctx.account, ctx.region
    parts = value.split(":")
    derived = None
    if value.startswith("arn:"):
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            raise invalid_parameter(f"Invalid function ARN: {value}")
        region, account, name = parts[3] or region, parts[4] or account, parts[6]
        derived = parts[7] if len(parts) == 8 else None
    elif len(parts) >= 3 and parts[1] == "function":
        if len(parts) > 4:
            raise invalid_parameter(f"Invalid function name: {value}")
        account, name = parts[0], parts[2]
        derived = parts[3] if len(parts) == 4 else None
    else:
        if len(parts) > 2:
            raise invalid_parameter(f"Invalid function name: {value}")
        name = parts[0]
        derived = parts[1] if len(parts) == 2 else None
        if len(name) > 64:
            raise validation(
                name, "functionName", "Member must have length less than or equal to 64"
            )
    if derived and qualifier and derived != qualifier:
        raise invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return Ref(account, region, name, qualifier or derived)


def version_key(ref: Ref, version: str) -> str:
    return f"{ref.key}/{version if version == LATEST else f'{int(version):010d}'}"


def timestamp(ms: int) -> str:
    """Lambda's LastModified format: `2024-05-01T12:00:00.123+0000`."""
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def owner(function: dict[str, Any]) -> str:
    """Who a function's unpacked code belongs to: one function *incarnation*, so a deleted and
    re-created function never inherits directories prepared for its predecessor."""
    return function.get("code_owner") or function["arn"]


def new_revision() -> str:
    return str(uuid.uuid4())


def check_revision(current: str | None, wanted: str | None) -> None:
    if wanted and wanted != current:
        raise precondition_failed()


def presented(doc: dict[str, Any], qualified: bool = False) -> dict[str, Any]:
    """A version's configuration as answered; `$LATEST` named by its qualified ARN on request."""
    config = doc["config"]
    if qualified and config["Version"] == LATEST:
        return {**config, "FunctionArn": config["FunctionArn"] + ":" + LATEST}
    return config


_TRANSIENT = (
    "StateReason",
    "StateReasonCode",
    "LastUpdateStatusReason",
    "LastUpdateStatusReasonCode",
)


class Functions:
    """Function and version documents, and the code they point to."""

    def __init__(self, store: Store, clock: Any, code: CodeStore, layers: LayerResolver) -> None:
        self.store = store
        self.clock = clock
        self.code = code
        self.resolve_layers = layers
        self._settling: dict[str, asyncio.Task[None]] = {}

    # -- reading ---------------------------------------------------------------------------------
    def function(self, ref: Ref) -> dict[str, Any]:
        doc = self.store.get(FUNCTION, ref.key)
        if doc is None:
            raise function_not_found(ref.arn)
        return doc

    def version(self, ref: Ref, version: str) -> dict[str, Any]:
        doc = self.store.get(VERSION, version_key(ref, version))
        if doc is None:
            raise function_not_found(ref.qualified(version) if version != LATEST else ref.arn)
        self._resume(version_key(ref, version), doc)
        return doc

    def find_version(self, ref: Ref, version: str) -> dict[str, Any] | None:
        if version != LATEST and not version.isdigit():
            return None
        return self.store.get(VERSION, version_key(ref, version))

    def versions(self, ref: Ref) -> list[dict[str, Any]]:
        """$LATEST first, then published versions in order."""
        return [doc for _, doc in self.store.scan(VERSION, ref.key + "/")]

    def all_versions(self, account: str, region: str) -> list[tuple[str, dict[str, Any]]]:
        return self.store.scan(VERSION, f"{account}/{region}/")

    def all_functions(self, account: str, region: str) -> list[tuple[str, dict[str, Any]]]:
        return self.store.scan(FUNCTION, f"{account}/{region}/")

    # -- creating and updating -------------------------------------------------------------------
    async def create(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = parse_ref(ctx, params["FunctionName"])
        if ref.qualifier:
            raise invalid_parameter("Unsupported function name: a qualifier is not allowed here.")
        arn = ref.arn
        settings = cfg.apply_settings(cfg.defaults(ref.name, arn), params, ref.name)
        layers, layer_shas = self.resolve_layers(params.get("Layers") or [])
        package = await self.code.save(self._zip_of(params.get("Code") or {}), "CreateFunction")
        if self.store.get(FUNCTION, ref.key) is not None:
            raise conflict(f"Function already exist: {ref.name}")
        now = self.clock.now_ms()
        config = {
            **settings,
            "Role": params["Role"],
            "CodeSize": package.size,
            "CodeSha256": package.code_sha256,
            "LastModified": timestamp(now),
            "RevisionId": new_revision(),
            "State": "Pending",
            "StateReason": "The function is being created.",
            "StateReasonCode": "Creating",
            "RuntimeVersionConfig": {
                "RuntimeVersionArn": cfg.runtime_version_arn(settings["Runtime"], ref.region)
            },
        }
        if layers:
            config["Layers"] = layers
        function = {
            "name": ref.name,
            "account": ref.account,
            "region": ref.region,
            "arn": arn,
            "code_owner": f"{arn}#{new_revision()}",
            "created": now,
            "tags": dict(params.get("Tags") or {}),
            "reserved": None,
            "next_version": 1,
            "last_published": 0,
        }
        token = new_revision()
        version = self._version_doc(config, package, layer_shas, token)
        with self.store.transaction():
            self.store.put(FUNCTION, ref.key, function)
            self.store.put(VERSION, version_key(ref, LATEST), version)
        self._settle_later(ref, version)
        if params.get("Publish"):
            return await self.publish(ref)
        return config

    def _zip_of(self, code: dict[str, Any]) -> bytes:
        if code.get("S3Bucket") or code.get("S3Key"):
            raise not_available(
                "Code from S3 (S3Bucket/S3Key): S3 is not part of cloudlet yet; send the zip in ZipFile"
            )
        if code.get("ImageUri"):
            raise not_available("Container image functions (ImageUri)")
        data = code.get("ZipFile")
        if not data:
            raise invalid_parameter("Please provide a source for function code.")
        return data

    def _version_doc(
        self,
        config: dict[str, Any],
        package: Package | dict[str, Any],
        layer_shas: list[str],
        token: str | None,
    ) -> dict[str, Any]:
        code = (
            package
            if isinstance(package, dict)
            else {"sha": package.sha, "unzipped": package.unzipped}
        )
        return {
            "config": config,
            "code": code,
            "layers": layer_shas,
            "digest": cfg.digest(config),
            "pending": token,
        }

    async def update_code(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        self.version(ref, LATEST)  # a missing function fails before the zip is hashed
        package = await self.code.save(self._zip_of(params), "UpdateFunctionCode")
        doc = self.version(ref, LATEST)
        config = doc["config"]
        check_revision(config.get("RevisionId"), params.get("RevisionId"))
        updated = {
            **config,
            "CodeSize": package.size,
            "CodeSha256": package.code_sha256,
            "LastModified": timestamp(self.clock.now_ms()),
        }
        if params.get("Architectures"):
            updated["Architectures"] = list(params["Architectures"])
        if params.get("DryRun"):
            return updated  # what the update would give; nothing is stored
        updated = _in_progress(updated)
        token = new_revision()
        new = self._version_doc(updated, package, doc.get("layers") or [], token)
        self.store.put(VERSION, version_key(ref, LATEST), new)
        self._settle_later(ref, new)
        if params.get("Publish"):
            return await self.publish(ref)
        return updated

    def update_configuration(self, ref: Ref, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.version(ref, LATEST)
        config = doc["config"]
        check_revision(config.get("RevisionId"), params.get("RevisionId"))
        updated = cfg.apply_settings(config, params, ref.name)
        layer_shas = doc.get("layers") or []
        if "Layers" in params:
            layers, layer_shas = self.resolve_layers(params.get("Layers") or [])
            updated.pop("Layers", None)
            if layers:
                updated["Layers"] = layers
        if updated.get("Runtime") != config.get("Runtime"):
            updated["RuntimeVersionConfig"] = {
                "RuntimeVersionArn": cfg.runtime_version_arn(updated["Runtime"], ref.region)
            }
        updated["LastModified"] = timestamp(self.clock.now_ms())
        updated = _in_progress(updated)
        token = new_revision()
        new = self._version_doc(updated, doc["code"], layer_shas, token)
        self.store.put(VERSION, version_key(ref, LATEST), new)
        self._settle_later(ref, new)
        return updated

    async def publish(
        self,
        ref: Ref,
        description: str | None = None,
        revision_id: str | None = None,
        code_sha256: str | None = None,
    ) -> dict[str, Any]:
        """Snapshot $LATEST as the next version; unchanged code and configuration give back the
        latest published version instead of a new one."""
        latest = self.version(ref, LATEST)
        check_revision(latest["config"].get("RevisionId"), revision_id)
        current = latest["config"]["CodeSha256"]
        if code_sha256 and code_sha256 != current:
            raise invalid_parameter(
                f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST ({current}). "
                "Please try again with the CodeSHA256 in $LATEST."
            )
        await self.code.unpack(owner(self.function(ref)), latest["code"]["sha"])  # Active at once
        function, latest = self.function(ref), self.version(ref, LATEST)
        last = (
            self.find_version(ref, str(function["last_published"]))
            if function["last_published"]
            else None
        )
        if (
            last is not None
            and last["code"] == latest["code"]
            and last["digest"] == latest["digest"]
        ):
            return last["config"]
        number = function["next_version"]
        config = {k: v for k, v in latest["config"].items() if k not in _TRANSIENT}
        config.update(
            Version=str(number),
            FunctionArn=ref.qualified(str(number)),
            RevisionId=new_revision(),
            State="Active",
            LastUpdateStatus="Successful",
        )
        if description is not None:
            config["Description"] = description
        version = self._version_doc(config, latest["code"], latest.get("layers") or [], None)
        with self.store.transaction():
            self.store.put(VERSION, version_key(ref, str(number)), version)
            self.store.put(
                FUNCTION,
                ref.key,
                {**function, "next_version": number + 1, "last_published": number},
            )
        return config

    def put_function(self, ref: Ref, **changes: Any) -> dict[str, Any]:
        """Store a changed copy of the function document (tags, reserved concurrency)."""
        doc = {**self.function(ref), **changes}
        self.store.put(FUNCTION, ref.key, doc)
        return doc

    # -- deleting --------------------------------------------------------------------------------
    def delete_version(self, ref: Ref, version: str, aliases_using: list[str]) -> None:
        if version == LATEST:
            raise invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if not version.isdigit():
            raise invalid_parameter("Deletion of aliases is not currently supported.")
        self.version(ref, version)
        if aliases_using:
            raise conflict(
                f"Unable to delete version because the following aliases reference it: [{', '.join(aliases_using)}]"
            )
        self.store.delete(VERSION, version_key(ref, version))

    def delete_function(self, ref: Ref) -> list[str]:
        """Remove the function and its versions; returns the zip shas it used."""
        self.function(ref)
        shas = []
        for key, doc in self.store.scan(VERSION, ref.key + "/"):
            shas.append(doc["code"]["sha"])
            self.store.delete(VERSION, key)
        self.store.delete(FUNCTION, ref.key)
        task = self._settling.pop(version_key(ref, LATEST), None)
        if task is not None:
            task.cancel()
        return sorted(set(shas))

    # -- transitions -----------------------------------------------------------------------------
    def _settle_later(self, ref: Ref, doc: dict[str, Any]) -> None:
        key = version_key(ref, doc["config"]["Version"])
        previous = self._settling.pop(key, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._settle(ref, key, doc))
        self._settling[key] = task
        task.add_done_callback(lambda done: self._settled(key, done))

    def _settled(self, key: str, task: asyncio.Task[None]) -> None:
        if self._settling.get(key) is task:
            del self._settling[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("finishing %s failed", key, exc_info=task.exception())

    def _resume(self, key: str, doc: dict[str, Any]) -> None:
        """A document still pending with nothing finishing it (the server restarted)."""
        if doc.get("pending") and key not in self._settling:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return
            account, region, name, _ = key.split("/", 3)
            self._settle_later(Ref(account, region, name), doc)

    async def _settle(self, ref: Ref, key: str, doc: dict[str, Any]) -> None:
        token = doc["pending"]
        failure = None
        try:
            function = self.store.get(FUNCTION, ref.key)
            if function is None:
                return  # deleted meanwhile
            await self.code.unpack(owner(function), doc["code"]["sha"])
            for sha in doc.get("layers") or []:
                await self.code.unpack("layer", sha)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:  # unpacking failed after all
            log.warning("could not unpack the code of %s: %s", ref.arn, exc)
            failure = str(exc)
        current = self.store.get(VERSION, key)
        if current is None or current.get("pending") != token:
            return  # deleted, or a later update took over
        config = {k: v for k, v in current["config"].items() if k not in _TRANSIENT}
        if failure is None:
            if config.get("State") == "Pending":
                config["State"] = "Active"
            if config.get("LastUpdateStatus") == "InProgress" or "LastUpdateStatus" not in config:
                config["LastUpdateStatus"] = "Successful"
        else:
            config.update(
                State="Failed", StateReason=failure, StateReasonCode="InvalidZipFileException"
            )
            config.update(LastUpdateStatus="Failed", LastUpdateStatusReason=failure)
            config["LastUpdateStatusReasonCode"] = "InvalidZipFileException"
        config["RevisionId"] = new_revision()
        self.store.put(VERSION, key, {**current, "config": config, "pending": None})

    def cancel_all(self) -> None:
        for task in self._settling.values():
            task.cancel()
        self._settling.clear()


def _in_progress(config: dict[str, Any]) -> dict[str, Any]:
    return {
        **config,
        "RevisionId": new_revision(),
        "LastUpdateStatus": "InProgress",
        "LastUpdateStatusReason": "The function is being created.",
        "LastUpdateStatusReasonCode": "Creating",
    }
