"""Event source mappings from SQS (Create/Get/Update/Delete/ListEventSourceMappings).

A mapping is a document ("lambda.esm" at its UUID): `config` is the EventSourceMappingConfiguration
answer, `ref` the function it invokes, `enabled` what the user asked for. Changes go through the
states AWS reports — Creating → Enabled (or Disabled), Enabling → Enabled, Disabling → Disabled,
Updating → Enabled/Disabled, Deleting → gone — settled by a task once the pollers (pollers.py) have
started or stopped. Enabled mappings poll again after a restart (`resume`).

Only SQS queues are event sources for now; settings that apply to other sources are refused with
AWS's texts; FilterCriteria compile with core/patterns.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid as uuids
from typing import TYPE_CHECKING, Any

from cloudlet.core.arns import parse_arn
from cloudlet.core.patterns import FilterCriteria, PatternError, compile_filter_criteria
from cloudlet.core.queue import ReceivePolicy
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext
from cloudlet.services.awslambda.errors import (
    conflict,
    function_not_found,
    invalid_parameter,
    not_available,
    resource_missing,
)
from cloudlet.services.awslambda.functions import FUNCTION, Ref, parse_ref
from cloudlet.services.awslambda.paging import page
from cloudlet.services.awslambda.pollers import Poller, Setup
from cloudlet.services.awslambda.startup import MAPPING
from cloudlet.services.sqs import attributes as qattrs

if TYPE_CHECKING:
    from cloudlet.app import App
    from cloudlet.services.awslambda.invoke import Invoker
    from cloudlet.services.sqs.provider import Queue

log = logging.getLogger("cloudlet.lambda")

_DEFAULT_BATCH = 10
_FIFO_MAX_BATCH = 10
_DEFAULT_MAX_CONCURRENCY = 1000
#: settings of stream, Kafka and MQ sources, which an SQS mapping refuses
_OTHER_SOURCES = (
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "BisectBatchOnFunctionError",
    "MaximumRecordAgeInSeconds",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "DestinationConfig",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ProvisionedPollerConfig",
)
#: states a change passes through; a restart in the middle finishes the change
_UNSETTLED = {"Creating", "Enabling", "Disabling", "Updating", "Deleting"}


class Mappings:
    def __init__(self, app: App, invoker: Invoker) -> None:
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self.queues = app.queues
        self.invoker = invoker
        self.pollers: dict[str, Poller] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lookups ---------------------------------------------------------------------------------
    def _doc(self, ctx: RequestContext, uuid: str) -> dict[str, Any]:
        """A mapping of the caller's account and region (UUIDs are unique, mappings are not
        shared across accounts or regions)."""
        doc = self.store.get(MAPPING, uuid)
        if doc is None or tuple(doc["ref"][:2]) != (ctx.account, ctx.region):
            raise resource_missing()
        return doc

    def _queue(self, arn: str) -> Queue:
        parsed = parse_arn(arn)
        if parsed is None or parsed.service != "sqs":
            service = parsed.service if parsed is not None else arn
            raise not_available(f"Event source mappings from {service} (only SQS queues)")
        queue = self.app.provider("sqs").queue_by_arn(arn)  # type: ignore[attr-defined]
        if queue is None:
            raise invalid_parameter(
                "Error occurred while ReceiveMessage. SQS Error Code: "
                "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
                "does not exist for this wsdl version."
            )
        return queue

    def _function_timeout(self, ref: Ref) -> int:
        """The timeout of the version a reference runs (it must exist, qualifier included)."""
        target = self.invoker.target(ref)
        return int(target.version["config"]["Timeout"])

    # -- the API ---------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("EventSourceArn")
        if not arn:
            raise invalid_parameter("Unrecognized event source, must be an SQS queue ARN.")
        queue = self._queue(arn)
        ref = parse_ref(ctx, params["FunctionName"])
        settings = _settings(params, {}, queue, self._function_timeout(ref))
        for key, doc in self.store.scan(MAPPING):
            if doc["config"]["EventSourceArn"] == arn and _same_function(doc, ref):
                raise conflict(
                    f'An event source mapping with SQS arn (" {arn} ") and function (" {ref.name} '
                    f'") already exists. Please update or delete the existing mapping with UUID {key}'
                )
        uuid = str(uuids.uuid4())
        config = {
            "UUID": uuid,
            **settings,
            "EventSourceArn": arn,
            "FunctionArn": ref.qualified() if ref.qualifier else ref.arn,
            "LastModified": self.clock.now(),
            "LastProcessingResult": "No records processed",
            "State": "Creating",
            "StateTransitionReason": "USER_INITIATED",
            "EventSourceMappingArn": (
                f"arn:aws:lambda:{ref.region}:{ref.account}:event-source-mapping:{uuid}"
            ),
        }
        doc = {
            "config": config,
            "ref": [ref.account, ref.region, ref.name, ref.qualifier],
            "enabled": params.get("Enabled", True) is not False,
            "tags": dict(params.get("Tags") or {}),
        }
        self.store.put(MAPPING, uuid, doc)
        self._settle_later(uuid)
        return config

    def get(self, ctx: RequestContext, uuid: str) -> dict[str, Any]:
        return self._doc(ctx, uuid)["config"]

    def update(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        uuid = params["UUID"]
        doc = self._doc(ctx, uuid)
        if doc["config"]["State"] == "Deleting":
            raise AwsError(
                "ResourceInUseException",
                "Cannot update the event source mapping because it is in use.",
                fields={"Type": "User"},
            )
        ref = _ref(doc)
        if params.get("FunctionName"):
            ref = parse_ref(ctx, params["FunctionName"])
        queue = self._queue(doc["config"]["EventSourceArn"])
        settings = _settings(params, doc["config"], queue, self._function_timeout(ref))
        enabled = doc["enabled"] if params.get("Enabled") is None else bool(params["Enabled"])
        state = "Updating"
        if enabled != doc["enabled"]:
            state = "Enabling" if enabled else "Disabling"
        config = {k: v for k, v in doc["config"].items() if k not in ("ScalingConfig",)}
        config.update(settings)
        config.update(
            FunctionArn=ref.qualified() if ref.qualifier else ref.arn,
            LastModified=self.clock.now(),
            State=state,
            StateTransitionReason="USER_INITIATED",
        )
        ref_list = [ref.account, ref.region, ref.name, ref.qualifier]
        self.store.put(
            MAPPING, uuid, {**doc, "config": config, "ref": ref_list, "enabled": enabled}
        )
        self._settle_later(uuid)
        return config

    def delete(self, ctx: RequestContext, uuid: str) -> dict[str, Any]:
        doc = self._doc(ctx, uuid)
        config = {**doc["config"], "State": "Deleting", "StateTransitionReason": "USER_INITIATED"}
        self.store.put(MAPPING, uuid, {**doc, "config": config})
        self._settle_later(uuid)
        return config

    def list(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("EventSourceArn")
        wanted = parse_ref(ctx, params["FunctionName"]) if params.get("FunctionName") else None
        if wanted is not None and self.store.get(FUNCTION, wanted.key) is None:
            raise function_not_found(wanted.arn)
        items = []
        for key, doc in self.store.scan(MAPPING):
            ref = _ref(doc)
            if (ref.account, ref.region) != (ctx.account, ctx.region):
                continue
            if arn and doc["config"]["EventSourceArn"] != arn:
                continue
            if wanted is not None and not _same_function(doc, wanted):
                continue
            items.append((key, doc["config"]))
        found, marker = page(items, params, limit=100)
        return {"EventSourceMappings": found, "NextMarker": marker}

    # -- states and pollers ----------------------------------------------------------------------
    def _settle_later(self, uuid: str) -> None:
        task = asyncio.get_running_loop().create_task(self._settle(uuid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, uuid: str) -> None:
        """Start or stop the pollers a change asks for, then report the settled state."""
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        async with lock:
            doc = self.store.get(MAPPING, uuid)
            if doc is None:
                return
            state = doc["config"]["State"]
            if state == "Deleting":
                await self._stop(uuid)
                await self.app.commit(self.store.delete, MAPPING, uuid)
                self._locks.pop(uuid, None)
                return
            if doc["enabled"]:
                self._start(uuid)
            else:
                await self._stop(uuid)
            final = "Enabled" if doc["enabled"] else "Disabled"
            current = self.store.get(MAPPING, uuid)
            if current is not None and current["config"]["State"] == state and state != final:
                config = {**current["config"], "State": final}
                await self.app.commit(self.store.put, MAPPING, uuid, {**current, "config": config})

    def _start(self, uuid: str) -> None:
        poller = self.pollers.get(uuid)
        if poller is None or poller.stopping:
            poller = self.pollers[uuid] = Poller(self, uuid)
            poller.start()

    async def _stop(self, uuid: str) -> None:
        poller = self.pollers.pop(uuid, None)
        if poller is not None:
            await poller.stop()

    def setup(self, uuid: str) -> Setup | None:
        """The settings of a mapping's next batch; None when it should no longer poll."""
        doc = self.store.get(MAPPING, uuid)
        if doc is None or not doc["enabled"] or doc["config"]["State"] == "Deleting":
            return None
        config = doc["config"]
        queue = self.app.provider("sqs").queue_by_arn(config["EventSourceArn"])  # type: ignore[attr-defined]
        if queue is None:
            self.report(uuid, "PROBLEM: The specified queue does not exist.")
            return None
        policy = ReceivePolicy(
            visibility_ms=queue.int_attribute("VisibilityTimeout") * 1000, fifo=queue.fifo
        )
        redrive = queue.attributes.get("RedrivePolicy")
        if redrive:
            target_arn, count = qattrs.parse_redrive_policy(redrive)
            target = self.app.provider("sqs").queue_by_arn(target_arn)  # type: ignore[attr-defined]
            if target is not None:
                policy.dead_letter_queue, policy.max_receives = target.rows_key, count
        ref = _ref(doc)
        function = self.store.get(FUNCTION, ref.key)
        if function is None:  # parked until the function exists again (`function_created`)
            self.report(uuid, f"PROBLEM: Function not found: {ref.arn}")
            return None
        cap = (config.get("ScalingConfig") or {}).get("MaximumConcurrency")
        cap = cap or _DEFAULT_MAX_CONCURRENCY
        if function.get("reserved") is not None:
            cap = max(1, min(cap, function["reserved"]))
        return Setup(
            ref=ref,
            queue=queue,
            policy=policy,
            batch_size=config["BatchSize"],
            window_s=config.get("MaximumBatchingWindowInSeconds") or 0,
            report_failures="ReportBatchItemFailures"
            in (config.get("FunctionResponseTypes") or []),
            cap=cap,
            filters=_filters((config.get("FilterCriteria") or {}).get("Filters") or []),
        )

    def report(self, uuid: str, result: str) -> None:
        """Record LastProcessingResult (written only when it changes)."""
        doc = self.store.get(MAPPING, uuid)
        if doc is None or doc["config"].get("LastProcessingResult") == result:
            return
        config = {**doc["config"], "LastProcessingResult": result}
        self.store.put(MAPPING, uuid, {**doc, "config": config})

    def resume(self) -> None:
        """After a restart: poll every enabled mapping, finish interrupted changes."""
        for uuid, doc in self.store.scan(MAPPING):
            if doc["config"]["State"] in _UNSETTLED:
                self._settle_later(uuid)
            elif doc["enabled"]:
                self._start(uuid)

    def function_created(self, ref: Ref) -> None:
        """A function was (re)created: mappings parked because it was missing poll again."""
        for uuid, doc in self.store.scan(MAPPING):
            if doc["enabled"] and _ref(doc).key == ref.key:
                self._start(uuid)

    def function_deleted(self, ref: Ref) -> None:
        """The function is gone: its mappings stay (as on AWS) but stop polling until it is back."""
        for uuid, doc in self.store.scan(MAPPING):
            poller = self.pollers.get(uuid)
            if poller is not None and _ref(doc).key == ref.key:
                poller.halt(running_too=False)
                self.report(uuid, f"PROBLEM: Function not found: {ref.arn}")

    def close(self, *, running_too: bool = True) -> None:
        """Stop polling. `running_too=False` (a reset of the state) lets batches being processed
        finish rather than cutting them off inside the runtime."""
        for poller in self.pollers.values():
            poller.halt(running_too=running_too)
        self.pollers.clear()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()


def _ref(doc: dict[str, Any]) -> Ref:
    account, region, name, qualifier = doc["ref"]
    return Ref(account, region, name, qualifier)


def _same_function(doc: dict[str, Any], ref: Ref) -> bool:
    mapped = _ref(doc)
    if mapped.key != ref.key:
        return False
    return ref.qualifier is None or mapped.qualifier == ref.qualifier


def _filters(filters: list[dict[str, str]]) -> FilterCriteria | None:
    """The compiled filters of a mapping, compiled once per distinct set."""
    if not filters:
        return None
    return _compiled_filters(tuple(f["Pattern"] for f in filters))


@functools.lru_cache(maxsize=256)
def _compiled_filters(patterns: tuple[str, ...]) -> FilterCriteria:
    return compile_filter_criteria(list(patterns))


def _settings(
    params: dict[str, Any], current: dict[str, Any], queue: Queue, function_timeout: int
) -> dict[str, Any]:
    """The batching, filter, response and scaling settings, checked as Lambda checks them."""
    for name in _OTHER_SOURCES:
        if params.get(name) not in (None, [], {}):
            raise invalid_parameter(
                f"Unsupported {name} parameter for given event source mapping type."
            )
    criteria = params.get("FilterCriteria", current.get("FilterCriteria"))
    filters = (criteria or {}).get("Filters") or []
    if filters:
        try:
            compile_filter_criteria(filters)
        except PatternError as error:
            raise invalid_parameter(error.message) from None
    batch = params.get("BatchSize") or current.get("BatchSize") or _DEFAULT_BATCH
    window = params.get("MaximumBatchingWindowInSeconds")
    if window is None:
        window = current.get("MaximumBatchingWindowInSeconds", 0)
    if queue.fifo and batch > _FIFO_MAX_BATCH:
        raise invalid_parameter("Batch size for SQS FIFO queues must be between 1 and 10.")
    if batch > 10 and not window:
        raise invalid_parameter(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )
    visibility = queue.int_attribute("VisibilityTimeout")
    if visibility < function_timeout:
        raise invalid_parameter(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{function_timeout} seconds"
        )
    out: dict[str, Any] = {
        "BatchSize": batch,
        "MaximumBatchingWindowInSeconds": window,
        "FunctionResponseTypes": list(
            params.get("FunctionResponseTypes", current.get("FunctionResponseTypes") or [])
        ),
    }
    if filters:
        out["FilterCriteria"] = {"Filters": [{"Pattern": f["Pattern"]} for f in filters]}
    scaling = params.get("ScalingConfig", current.get("ScalingConfig"))
    if scaling and scaling.get("MaximumConcurrency"):
        out["ScalingConfig"] = {"MaximumConcurrency": scaling["MaximumConcurrency"]}
    return out
