"""Layers: versioned zips that functions add to /opt.

Documents: "lambda.layer" at `<account>/<region>/<name>` counts versions (numbers are never
reused, even after a delete, as on AWS); "lambda.layer-version" at `<layer key>/<10 digits>`
holds the answer (`out`, without the download URL, which depends on the caller's host) and the
zip's sha. A layer version's content is unpacked once and shared by every function using it;
deleting a version does not take it away from functions that already reference it.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.store import Store
from cloudlet.services import RequestContext
from cloudlet.services.awslambda.code import CodeStore
from cloudlet.services.awslambda.config import MAX_LAYERS
from cloudlet.services.awslambda.errors import invalid_parameter, not_available, resource_missing
from cloudlet.services.awslambda.functions import timestamp
from cloudlet.services.awslambda.paging import page

LAYER = "lambda.layer"
LAYER_VERSION = "lambda.layer-version"


def layer_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:layer:{name}"


def code_location(ctx: RequestContext, sha: str) -> str:
    """The URL on this server that downloads a stored zip (see edge/internal.py)."""
    return f"{ctx.base_url}/_cloudlet/lambda/code/{sha}"


class Layers:
    def __init__(self, store: Store, clock: Any, code: CodeStore) -> None:
        self.store = store
        self.clock = clock
        self.code = code

    # -- names -----------------------------------------------------------------------------------
    @staticmethod
    def layer_key(ctx: RequestContext, name_or_arn: str) -> tuple[str, str, str]:
        """(account, region, name) of a layer named by name or ARN."""
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":")
            return parts[4], parts[3], parts[6]
        return ctx.account, ctx.region, name_or_arn

    @staticmethod
    def _version_key(account: str, region: str, name: str, number: int) -> str:
        return f"{account}/{region}/{name}/{number:010d}"

    def find(self, account: str, region: str, name: str, number: int) -> dict[str, Any] | None:
        return self.store.get(LAYER_VERSION, self._version_key(account, region, name, number))

    def get_doc(self, ctx: RequestContext, layer: str, number: int) -> tuple[str, dict[str, Any]]:
        account, region, name = self.layer_key(ctx, layer)
        key = self._version_key(account, region, name, number)
        doc = self.store.get(LAYER_VERSION, key)
        if doc is None:
            raise resource_missing()
        return key, doc

    @staticmethod
    def answer(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        out = dict(doc["out"])
        out["Content"] = {**out["Content"], "Location": code_location(ctx, doc["sha"])}
        return out

    # -- operations ------------------------------------------------------------------------------
    async def publish(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, region, name = self.layer_key(ctx, params["LayerName"])
        content = params.get("Content") or {}
        if content.get("S3Bucket") or content.get("S3Key"):
            raise not_available(
                "Layer content from S3 (S3Bucket/S3Key): S3 is not part of cloudlet yet; send the zip in ZipFile"
            )
        if not content.get("ZipFile"):
            raise invalid_parameter("Please provide a source for the layer content.")
        package = await self.code.save(content["ZipFile"], "PublishLayerVersion")
        counter = self.store.get(LAYER, f"{account}/{region}/{name}") or {"next_version": 1}
        number = counter["next_version"]
        arn = layer_arn(region, account, name)
        out: dict[str, Any] = {
            "Content": {"CodeSha256": package.code_sha256, "CodeSize": package.size},
            "LayerArn": arn,
            "LayerVersionArn": f"{arn}:{number}",
            "Description": params.get("Description") or "",
            "CreatedDate": timestamp(self.clock.now_ms()),
            "Version": number,
            "CompatibleRuntimes": list(params.get("CompatibleRuntimes") or []),
            "CompatibleArchitectures": list(params.get("CompatibleArchitectures") or []),
        }
        if params.get("LicenseInfo"):
            out["LicenseInfo"] = params["LicenseInfo"]
        doc = {"out": out, "sha": package.sha, "unzipped": package.unzipped}
        with self.store.transaction():
            self.store.put(LAYER, f"{account}/{region}/{name}", {"next_version": number + 1})
            self.store.put(LAYER_VERSION, self._version_key(account, region, name, number), doc)
        await self.code.unpack("layer", package.sha)
        return self.answer(ctx, doc)

    def get(self, ctx: RequestContext, layer: str, number: int) -> dict[str, Any]:
        return self.answer(ctx, self.get_doc(ctx, layer, number)[1])

    def get_by_arn(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        base, _, number = arn.rpartition(":")
        return self.get(ctx, base, int(number))

    def delete(self, ctx: RequestContext, layer: str, number: int) -> None:
        account, region, name = self.layer_key(ctx, layer)
        self.store.delete(LAYER_VERSION, self._version_key(account, region, name, number))

    @staticmethod
    def _matches(out: dict[str, Any], params: dict[str, Any]) -> bool:
        runtime = params.get("CompatibleRuntime")
        arch = params.get("CompatibleArchitecture")
        if runtime and runtime not in out["CompatibleRuntimes"]:
            return False
        return not (arch and arch not in out["CompatibleArchitectures"])

    @staticmethod
    def _list_item(out: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "LayerVersionArn",
            "Version",
            "Description",
            "CreatedDate",
            "CompatibleRuntimes",
            "LicenseInfo",
            "CompatibleArchitectures",
        )
        return {k: out[k] for k in keys if k in out}

    def list_layers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        newest: dict[str, dict[str, Any]] = {}
        for key, doc in self.store.scan(LAYER_VERSION, f"{ctx.account}/{ctx.region}/"):
            name = key.split("/")[2]
            if self._matches(doc["out"], params):
                newest[name] = doc["out"]  # scan order: the last one seen is the newest
        items = [
            (
                name,
                {
                    "LayerName": name,
                    "LayerArn": out["LayerArn"],
                    "LatestMatchingVersion": self._list_item(out),
                },
            )
            for name, out in sorted(newest.items())
        ]
        found, marker = page(items, params)
        return {"Layers": found, "NextMarker": marker}

    def list_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, region, name = self.layer_key(ctx, params["LayerName"])
        docs = self.store.scan(LAYER_VERSION, f"{account}/{region}/{name}/")
        items = [
            (f"{10**10 - doc['out']['Version']:010d}", self._list_item(doc["out"]))
            for _, doc in docs
            if self._matches(doc["out"], params)
        ]
        items.sort(key=lambda item: item[0])  # newest first, as AWS lists them
        found, marker = page(items, params)
        return {"LayerVersions": found, "NextMarker": marker}

    # -- what functions reference ----------------------------------------------------------------
    def resolve(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The `Layers` member of a configuration and the layers' zip shas, in order; every
        layer version must exist."""
        if len(arns) > MAX_LAYERS:
            raise invalid_parameter(f"Cannot reference more than {MAX_LAYERS} layers.")
        layers, shas = [], []
        for arn in arns:
            parts = arn.split(":")
            doc = None
            if len(parts) == 8 and parts[7].isdigit():
                doc = self.find(parts[4], parts[3], parts[6], int(parts[7]))
            if doc is None:
                raise invalid_parameter(f"Layer version {arn} does not exist.")
            layers.append({"Arn": arn, "CodeSize": doc["out"]["Content"]["CodeSize"]})
            shas.append(doc["sha"])
        return layers, shas

    def total_code_size(self, account: str, region: str) -> int:
        return sum(
            doc["out"]["Content"]["CodeSize"]
            for _, doc in self.store.scan(LAYER_VERSION, f"{account}/{region}/")
        )
