"""botocore's service models, read as plain data.

The wire format of every AWS API is described by the JSON models botocore ships. cloudlet reads
them straight from botocore's data directory (gzip + orjson, a few milliseconds per service) instead
of importing botocore's loader and model classes, which cost ~170 ms of imports — more than the
whole start-up budget. Models load lazily, one service at a time, on first use.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import zlib
from functools import cache, cached_property
from typing import Any

import orjson


@cache
def botocore_data_dir() -> str:
    """The directory holding botocore's models, found without importing botocore."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed; cloudlet reads its service models")
    return os.path.join(next(iter(spec.submodule_search_locations)), "data")


@cache
def available_services() -> frozenset[str]:
    """Names of every service model botocore ships (directory names, as botocore calls them)."""
    root = botocore_data_dir()
    return frozenset(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))


@cache
def load_service_model(service: str) -> ServiceModel:
    """Load the newest API version of `service` (a botocore data directory name, e.g. "sqs")."""
    root = os.path.join(botocore_data_dir(), service)
    try:
        version = max(v for v in os.listdir(root) if v[:1].isdigit())
    except (FileNotFoundError, ValueError):
        raise KeyError(f"no botocore model for service {service!r}") from None
    base = os.path.join(root, version, "service-2.json")
    if os.path.exists(base + ".gz"):
        with gzip.open(base + ".gz", "rb") as fh:
            raw = orjson.loads(fh.read())
    else:
        with open(base, "rb") as fh:
            raw = orjson.loads(fh.read())
    extras = os.path.join(root, version, "service-2.sdk-extras.json")
    if os.path.exists(extras):
        # botocore merges these into the model it serializes with (S3's `Expires` becomes a
        # timestamp, so boto3 sends and reads an HTTP date): the wire follows the merged model.
        with open(extras, "rb") as fh:
            _deep_merge(raw, orjson.loads(fh.read()).get("merge", {}))
    return ServiceModel(service, raw)


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


_METADATA_KEYS = (
    "protocol",
    "protocols",
    "signingName",
    "endpointPrefix",
    "targetPrefix",
    "jsonVersion",
)


def _cache_path() -> str:
    """Where the metadata of botocore's models is kept between runs, keyed by botocore's data."""
    root = botocore_data_dir()
    stamp = f"{root}:{os.stat(root).st_mtime_ns}".encode()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cloudlet", f"metadata-{zlib.crc32(stamp):08x}.json")


@cache
def _metadata_cache() -> dict[str, dict[str, Any]]:
    try:
        with open(_cache_path(), "rb") as fh:
            return orjson.loads(fh.read())
    except (OSError, ValueError):
        return {}


def service_metadata(service: str) -> dict[str, Any]:
    """The routing-relevant metadata of a service, without keeping its whole model in memory.

    The edge needs target prefixes and signing names of every implemented service on the first
    request; loading all their models for that cost ~25 MB and ~100 ms (EC2's alone is ~5 MB of
    JSON). The few fields are cached on disk, so later starts read one small file.
    """
    cached = _metadata_cache()
    found = cached.get(service)
    if found is None:
        metadata = load_service_model(service).metadata
        found = cached[service] = {k: metadata[k] for k in _METADATA_KEYS if k in metadata}
        try:
            path = _cache_path()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(cached))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: recomputed next time
    return found


class ServiceModel:
    """One service's model: metadata, operations and shapes, resolved on demand."""

    def __init__(self, name: str, raw: dict[str, Any]) -> None:
        self.name = name
        #: the description as botocore ships it (codecs derive variants of it, e.g. query-era SQS)
        self.raw = raw
        self.metadata: dict[str, Any] = raw["metadata"]
        self._operations: dict[str, Any] = raw["operations"]
        self._shapes: dict[str, Any] = raw["shapes"]
        self._operation_cache: dict[str, Operation] = {}

    def __repr__(self) -> str:
        return f"<ServiceModel {self.name}>"

    @property
    def protocol(self) -> str:
        return self.metadata["protocol"]

    @property
    def protocols(self) -> list[str]:
        return self.metadata.get("protocols") or [self.metadata["protocol"]]

    @property
    def signing_name(self) -> str:
        return self.metadata.get("signingName") or self.metadata["endpointPrefix"]

    @property
    def target_prefix(self) -> str | None:
        return self.metadata.get("targetPrefix")

    @property
    def operation_names(self) -> list[str]:
        return list(self._operations)

    def has_operation(self, name: str) -> bool:
        return name in self._operations

    def operation(self, name: str) -> Operation:
        op = self._operation_cache.get(name)
        if op is None:
            op = self._operation_cache[name] = Operation(self, self._operations[name])
        return op

    def shape(self, name: str, ref: dict[str, Any] | None = None) -> Shape:
        return Shape(self, name, ref)

    def raw_shape(self, name: str) -> dict[str, Any]:
        return self._shapes[name]

    @cached_property
    def error_shapes(self) -> dict[str, Shape]:
        """Every exception shape, keyed by shape name and by its wire code where they differ."""
        found: dict[str, Shape] = {}
        for name, raw in self._shapes.items():
            if raw.get("exception"):
                shape = Shape(self, name)
                found[name] = shape
                found.setdefault(shape.error_code, shape)
        return found


class Operation:
    """One operation: its HTTP binding and input/output shapes."""

    def __init__(self, model: ServiceModel, raw: dict[str, Any]) -> None:
        self.model = model
        self.raw = raw
        self.name: str = raw["name"]
        http = raw.get("http", {})
        self.http_method: str = http.get("method", "POST")
        self.request_uri: str = http.get("requestUri", "/")
        self.response_code: int = http.get("responseCode", 200)
        self.input: Shape | None = (
            model.shape(raw["input"]["shape"], raw["input"]) if "input" in raw else None
        )
        self.output: Shape | None = (
            model.shape(raw["output"]["shape"], raw["output"]) if "output" in raw else None
        )

    def __repr__(self) -> str:
        return f"<Operation {self.model.name}.{self.name}>"

    @cached_property
    def errors(self) -> list[Shape]:
        return [self.model.shape(e["shape"]) for e in self.raw.get("errors", [])]

    @property
    def host_prefix(self) -> str | None:
        return self.raw.get("endpoint", {}).get("hostPrefix")


class Shape:
    """A shape as seen through one reference to it.

    Serialization traits (location, locationName, flattened, xmlNamespace...) may sit on the
    reference (the member) or on the shape itself; `trait` reads the reference first, as botocore
    does. Children resolve lazily, which also makes recursive shapes safe.
    """

    def __init__(self, model: ServiceModel, name: str, ref: dict[str, Any] | None = None) -> None:
        self.model = model
        self.name = name
        self.raw: dict[str, Any] = model.raw_shape(name)
        self.ref: dict[str, Any] = ref or {}
        self.type: str = self.raw["type"]

    def __repr__(self) -> str:
        return f"<Shape {self.name}:{self.type}>"

    def trait(self, key: str, default: Any = None) -> Any:
        if key in self.ref:
            return self.ref[key]
        return self.raw.get(key, default)

    # -- structure ---------------------------------------------------------------------------
    @cached_property
    def members(self) -> dict[str, Shape]:
        return {
            name: self.model.shape(ref["shape"], ref)
            for name, ref in self.raw.get("members", {}).items()
        }

    @cached_property
    def required(self) -> frozenset[str]:
        return frozenset(self.raw.get("required", ()))

    @cached_property
    def serialized_names(self) -> dict[str, str]:
        """Member name -> the key it travels under in a JSON body: its locationName, else its name.

        Some rest-json models rename body members (API Gateway's `items` travels as "item",
        API Gateway v2 and the Media* services use camelCase names); botocore honours them.
        """
        return {name: m.location_name or name for name, m in self.members.items()}

    @cached_property
    def members_by_serialized_name(self) -> dict[str, tuple[str, Shape]]:
        """The inverse of `serialized_names`: wire key -> (member name, member shape)."""
        return {m.location_name or name: (name, m) for name, m in self.members.items()}

    # -- list / map --------------------------------------------------------------------------
    @cached_property
    def member(self) -> Shape:
        ref = self.raw["member"]
        return self.model.shape(ref["shape"], ref)

    @cached_property
    def key(self) -> Shape:
        ref = self.raw["key"]
        return self.model.shape(ref["shape"], ref)

    @cached_property
    def value(self) -> Shape:
        ref = self.raw["value"]
        return self.model.shape(ref["shape"], ref)

    # -- common traits -----------------------------------------------------------------------
    @property
    def location(self) -> str | None:
        return self.ref.get("location")

    @property
    def location_name(self) -> str | None:
        return self.ref.get("locationName") or self.raw.get("locationName")

    @property
    def flattened(self) -> bool:
        return bool(self.trait("flattened", False))

    @property
    def timestamp_format(self) -> str | None:
        return self.trait("timestampFormat")

    @property
    def is_payload_streaming(self) -> bool:
        return bool(self.raw.get("streaming") or self.raw.get("requiresLength"))

    @property
    def is_event_stream(self) -> bool:
        return bool(self.raw.get("eventstream"))

    @property
    def is_document(self) -> bool:
        return bool(self.raw.get("document"))

    @property
    def is_union(self) -> bool:
        return bool(self.raw.get("union"))

    @property
    def enum(self) -> list[str] | None:
        return self.raw.get("enum")

    @property
    def payload_member(self) -> str | None:
        return self.raw.get("payload")

    # -- errors ------------------------------------------------------------------------------
    @property
    def error_code(self) -> str:
        """The code an error of this shape carries on the wire (awsQueryError code or name)."""
        return self.raw.get("error", {}).get("code") or self.name

    @property
    def error_status(self) -> int:
        return self.raw.get("error", {}).get("httpStatusCode") or 400

    @property
    def error_sender_fault(self) -> bool:
        return bool(self.raw.get("error", {}).get("senderFault", self.error_status < 500))
