"""State machines, their versions and aliases, tags, and definition validation.

A state machine's definition and settings live in a *revision* document keyed by revisionId
(a digest of them): executions and versions point at the revision they run, so updating a
machine never changes what a running execution or a published version does.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from cloudlet import workflows
from cloudlet.protocols.errors import AwsError
from cloudlet.services import RequestContext, committed
from cloudlet.services.stepfunctions.common import (
    ACTIVITY,
    ALIAS,
    EXPRESS,
    MACHINE,
    REVISION,
    STANDARD,
    VERSION,
    check_name,
    machine_arn,
    machine_missing,
    page,
    resource_missing,
    revision_of,
    seconds,
    split_machine_arn,
    tag_list,
    validation,
)
from cloudlet.workflows.states import Machine, find_state

if TYPE_CHECKING:
    from cloudlet.services.stepfunctions.provider import StepFunctionsProvider

MAX_TAGS = 50
_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")


def check_definition(definition: str) -> None:
    try:
        workflows.load(definition)
    except workflows.DefinitionError as error:
        raise AwsError("InvalidDefinition", error.message) from None


def check_logging(config: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {})
    level = config.setdefault("level", "OFF")
    config.setdefault("includeExecutionData", False)
    destinations = config.get("destinations") or []
    if level not in _LOG_LEVELS:
        raise AwsError(
            "InvalidLoggingConfiguration", f"Invalid Logging Configuration: level {level}"
        )
    if level != "OFF" and len(destinations) != 1:
        raise AwsError(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        )
    for destination in destinations:
        arn = (destination.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn", "")
        if (
            not arn.startswith("arn:aws:logs:")
            or ":log-group:" not in arn
            or not arn.endswith(":*")
        ):
            raise AwsError(
                "InvalidLoggingConfiguration",
                f"Invalid Logging Configuration: Log Destination not found or invalid: {arn}",
            )
    return config


class MachineOperations:
    # -- lookup ---------------------------------------------------------------------------
    def machine_doc(self: StepFunctionsProvider, arn: str) -> dict[str, Any]:
        doc = self.store.get(MACHINE, arn)
        if doc is None:
            raise machine_missing(arn)
        return doc

    def revision(self: StepFunctionsProvider, revision_id: str) -> dict[str, Any]:
        doc = self.store.get(REVISION, revision_id)
        if doc is None:
            raise AwsError(
                "InternalFailure", "the definition of this execution is gone", status=500
            )
        return doc

    def compiled(self: StepFunctionsProvider, revision_id: str) -> Machine:
        machine = self._machines.get(revision_id)
        if machine is None:
            machine = self._machines[revision_id] = workflows.load(
                self.revision(revision_id)["definition"]
            )
        return machine

    def machine_for(self: StepFunctionsProvider, doc: dict[str, Any]) -> Machine:
        """What an execution runs: its revision's machine, or for a distributed Map's child
        execution the processor of that Map state (`mapState`)."""
        machine = self.compiled(doc["revisionId"])
        if not doc.get("mapState"):
            return machine
        state = find_state(machine, doc["mapState"])
        if state is None:
            raise AwsError("InternalFailure", "the Map state of this execution is gone", status=500)
        return state.spec["processor"]

    def resolve(
        self: StepFunctionsProvider, arn: str
    ) -> tuple[dict[str, Any], str, str | None, str | None]:
        """(machine, revisionId, version ARN, alias ARN) that a StartExecution of `arn` runs."""
        base, qualifier = split_machine_arn(arn)
        machine = self.store.get(MACHINE, base)
        if machine is None:
            raise machine_missing(arn)
        if qualifier is None:
            return machine, machine["revisionId"], None, None
        if qualifier.isdigit():
            version = self.store.get(VERSION, arn)
            if version is None:
                raise machine_missing(arn)
            return machine, version["revisionId"], arn, None
        alias = self.store.get(ALIAS, arn)
        if alias is None:
            raise resource_missing(arn)
        version_arn = _pick(alias["routingConfiguration"])
        return machine, self.store.get(VERSION, version_arn)["revisionId"], version_arn, arn

    def _save_revision(self: StepFunctionsProvider, machine: dict[str, Any]) -> str:
        settings = {
            "definition": machine["definition"],
            "roleArn": machine["roleArn"],
            "logging": machine["logging"],
            "tracing": machine["tracing"],
        }
        revision = revision_of(
            machine["definition"], machine["roleArn"], [machine["logging"], machine["tracing"]]
        )
        if self.store.get(REVISION, revision) is None:
            self.store.put(
                REVISION,
                revision,
                {
                    **settings,
                    "name": machine["name"],
                    "arn": machine["arn"],
                    "type": machine["type"],
                    "updateDate": machine["updateDate"],
                },
            )
        return revision

    # -- state machines -------------------------------------------------------------------
    @committed
    def create_state_machine(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["name"]
        check_name(name)
        kind = params.get("type") or STANDARD
        check_definition(params["definition"])
        logging = check_logging(params.get("loggingConfiguration"))
        arn = machine_arn(ctx.region, ctx.account, name)
        tags = {t["key"]: t["value"] for t in params.get("tags") or []}
        if len(tags) > MAX_TAGS:
            raise AwsError("TooManyTags", "Too many tags", fields={"resourceName": arn})
        existing = self.store.get(MACHINE, arn)
        if existing is not None:
            same = (existing["definition"], existing["roleArn"], existing["type"]) == (
                params["definition"],
                params["roleArn"],
                kind,
            )
            if not same or existing["logging"] != logging:
                raise AwsError(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
                )
            return {"stateMachineArn": arn, "creationDate": seconds(existing["creationDate"])}
        now = self.clock.now_ms()
        machine = {
            "arn": arn,
            "name": name,
            "account": ctx.account,
            "region": ctx.region,
            "type": kind,
            "definition": params["definition"],
            "roleArn": params["roleArn"],
            "logging": logging,
            "tracing": params.get("tracingConfiguration") or {"enabled": False},
            "encryption": params.get("encryptionConfiguration") or {"type": "AWS_OWNED_KEY"},
            "creationDate": now,
            "updateDate": now,
            "tags": tags,
            "versions": 0,
        }
        machine["revisionId"] = self._save_revision(machine)
        out: dict[str, Any] = {"stateMachineArn": arn, "creationDate": now / 1000}
        if params.get("publish"):
            out["stateMachineVersionArn"] = self._publish(machine, params.get("versionDescription"))
        self.store.put(MACHINE, arn, machine)
        return out

    def describe_state_machine(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        base, qualifier = split_machine_arn(arn)
        machine = self.machine_doc(base)
        if qualifier is None:
            return self._describe(machine, machine, arn)
        version = self.store.get(VERSION, arn)
        if version is None:
            raise machine_missing(arn)
        revision = self.revision(version["revisionId"])
        out = self._describe(machine, revision, arn)
        out["creationDate"] = seconds(version["creationDate"])
        out["revisionId"] = version["revisionId"]
        if version.get("description"):
            out["description"] = version["description"]
        return out

    def _describe(
        self: StepFunctionsProvider, machine: dict[str, Any], source: dict[str, Any], arn: str
    ) -> dict[str, Any]:
        return {
            "stateMachineArn": arn,
            "name": machine["name"],
            "status": "ACTIVE",
            "definition": source["definition"],
            "roleArn": source["roleArn"],
            "type": machine["type"],
            "creationDate": seconds(machine["creationDate"]),
            "loggingConfiguration": source["logging"],
            "tracingConfiguration": source["tracing"],
            "revisionId": machine["revisionId"],
            "encryptionConfiguration": machine.get("encryption") or {"type": "AWS_OWNED_KEY"},
        }

    @committed
    def update_state_machine(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        base, qualifier = split_machine_arn(arn)
        if qualifier is not None:
            raise validation(
                "Updating a state machine version or alias is not allowed; update the state machine instead"
            )
        machine = dict(self.machine_doc(base))
        keys = (
            "definition",
            "roleArn",
            "loggingConfiguration",
            "tracingConfiguration",
            "encryptionConfiguration",
        )
        if not any(params.get(k) is not None for k in keys) and not params.get("publish"):
            raise AwsError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified",
            )
        if params.get("definition") is not None:
            check_definition(params["definition"])
            machine["definition"] = params["definition"]
        if params.get("roleArn"):
            machine["roleArn"] = params["roleArn"]
        if params.get("loggingConfiguration") is not None:
            machine["logging"] = check_logging(params["loggingConfiguration"])
        if params.get("tracingConfiguration") is not None:
            machine["tracing"] = params["tracingConfiguration"]
        if params.get("encryptionConfiguration") is not None:
            machine["encryption"] = params["encryptionConfiguration"]
        machine["updateDate"] = self.clock.now_ms()
        machine["revisionId"] = self._save_revision(machine)
        out: dict[str, Any] = {
            "updateDate": machine["updateDate"] / 1000,
            "revisionId": machine["revisionId"],
        }
        if params.get("publish"):
            out["stateMachineVersionArn"] = self._publish(machine, params.get("versionDescription"))
        self.store.put(MACHINE, base, machine)
        return out

    @committed
    def delete_state_machine(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        base, qualifier = split_machine_arn(arn)
        if qualifier is not None:  # a version ARN deletes the version
            return self.delete_state_machine_version.__wrapped__(
                self, ctx, {"stateMachineVersionArn": arn}
            )  # type: ignore[attr-defined]
        if self.store.get(MACHINE, base) is None:
            return {}
        for kind in (VERSION, ALIAS):
            for key, _ in self.store.scan(kind, base + ":"):
                self.store.delete(kind, key)
        self.store.delete(MACHINE, base)
        return {}

    def list_state_machines(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = machine_arn(ctx.region, ctx.account, "")
        items = [
            {
                "stateMachineArn": doc["arn"],
                "name": doc["name"],
                "type": doc["type"],
                "creationDate": seconds(doc["creationDate"]),
            }
            for _, doc in self.store.scan(MACHINE, prefix)
        ]
        found, following = page(items, params)
        out: dict[str, Any] = {"stateMachines": found}
        if following:
            out["nextToken"] = following
        return out

    # -- versions -------------------------------------------------------------------------
    def _publish(
        self: StepFunctionsProvider, machine: dict[str, Any], description: str | None
    ) -> str:
        latest = machine.get("latestVersion")
        if latest:
            current = self.store.get(VERSION, latest)
            if current and current["revisionId"] == machine["revisionId"]:
                return latest
        machine["versions"] = machine.get("versions", 0) + 1
        arn = f"{machine['arn']}:{machine['versions']}"
        self.store.put(
            VERSION,
            arn,
            {
                "arn": arn,
                "machine": machine["arn"],
                "number": machine["versions"],
                "revisionId": machine["revisionId"],
                "description": description or "",
                "creationDate": self.clock.now_ms(),
            },
        )
        machine["latestVersion"] = arn
        return arn

    @committed
    def publish_state_machine_version(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        base, qualifier = split_machine_arn(params["stateMachineArn"])
        if qualifier is not None:
            raise validation("Publishing a version requires the state machine's ARN")
        machine = dict(self.machine_doc(base))
        if params.get("revisionId") and params["revisionId"] != machine["revisionId"]:
            raise AwsError(
                "ConflictException",
                f"Failed to publish the State Machine version for revision {params['revisionId']}. The current State Machine revision is {machine['revisionId']}.",
            )
        arn = self._publish(machine, params.get("description"))
        self.store.put(MACHINE, base, machine)
        return {
            "stateMachineVersionArn": arn,
            "creationDate": seconds(self.store.get(VERSION, arn)["creationDate"]),
        }

    def list_state_machine_versions(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        base, _ = split_machine_arn(params["stateMachineArn"])
        versions = sorted(
            (doc for _, doc in self.store.scan(VERSION, base + ":")), key=lambda d: -d["number"]
        )
        items = [
            {"stateMachineVersionArn": d["arn"], "creationDate": seconds(d["creationDate"])}
            for d in versions
        ]
        found, following = page(items, params)
        return {"stateMachineVersions": found, **({"nextToken": following} if following else {})}

    @committed
    def delete_state_machine_version(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["stateMachineVersionArn"]
        base, qualifier = split_machine_arn(arn)
        if qualifier is None or not qualifier.isdigit():
            raise validation(f"Invalid state machine version ARN: {arn}")
        for _, alias in self.store.scan(ALIAS, base + ":"):
            if any(r["stateMachineVersionArn"] == arn for r in alias["routingConfiguration"]):
                raise AwsError(
                    "ConflictException",
                    f"Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{alias['arn']}]",
                )
        self.store.delete(VERSION, arn)
        return {}

    # -- aliases --------------------------------------------------------------------------
    def _check_routing(self: StepFunctionsProvider, routing: list[dict[str, Any]]) -> str:
        if not 1 <= len(routing) <= 2:
            raise validation("Routing configuration must contain one or two versions")
        bases = set()
        for item in routing:
            base, qualifier = split_machine_arn(item["stateMachineVersionArn"])
            if (
                qualifier is None
                or not qualifier.isdigit()
                or self.store.get(VERSION, item["stateMachineVersionArn"]) is None
            ):
                raise resource_missing(item["stateMachineVersionArn"])
            bases.add(base)
        if len(bases) != 1:
            raise validation("Routing configuration versions must belong to the same state machine")
        if sum(item["weight"] for item in routing) != 100:
            raise validation("Sum of routing configuration weights must be equal to 100")
        if len({item["stateMachineVersionArn"] for item in routing}) != len(routing):
            raise validation("Routing configuration must contain distinct versions")
        return bases.pop()

    @committed
    def create_state_machine_alias(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = params["name"]
        if name.isdigit():
            raise AwsError("InvalidName", f"Invalid Name: '{name}'")
        check_name(name)
        base = self._check_routing(params["routingConfiguration"])
        self.machine_doc(base)
        arn = f"{base}:{name}"
        existing = self.store.get(ALIAS, arn)
        if existing is not None:
            if existing["routingConfiguration"] == params["routingConfiguration"] and existing.get(
                "description", ""
            ) == params.get("description", ""):
                return {
                    "stateMachineAliasArn": arn,
                    "creationDate": seconds(existing["creationDate"]),
                }
            raise AwsError(
                "ConflictException",
                "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
            )
        now = self.clock.now_ms()
        self.store.put(
            ALIAS,
            arn,
            {
                "arn": arn,
                "name": name,
                "description": params.get("description", ""),
                "routingConfiguration": params["routingConfiguration"],
                "creationDate": now,
                "updateDate": now,
            },
        )
        return {"stateMachineAliasArn": arn, "creationDate": now / 1000}

    def _alias(self: StepFunctionsProvider, arn: str) -> dict[str, Any]:
        _, qualifier = split_machine_arn(arn)
        doc = self.store.get(ALIAS, arn) if qualifier and not qualifier.isdigit() else None
        if doc is None:
            raise resource_missing(arn)
        return doc

    def describe_state_machine_alias(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._alias(params["stateMachineAliasArn"])
        return {
            "stateMachineAliasArn": doc["arn"],
            "name": doc["name"],
            "description": doc["description"],
            "routingConfiguration": doc["routingConfiguration"],
            "creationDate": seconds(doc["creationDate"]),
            "updateDate": seconds(doc["updateDate"]),
        }

    def list_state_machine_aliases(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        base, _ = split_machine_arn(params["stateMachineArn"])
        self.machine_doc(base)
        items = [
            {"stateMachineAliasArn": d["arn"], "creationDate": seconds(d["creationDate"])}
            for _, d in self.store.scan(ALIAS, base + ":")
        ]
        found, following = page(items, params)
        return {"stateMachineAliases": found, **({"nextToken": following} if following else {})}

    @committed
    def update_state_machine_alias(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        doc = dict(self._alias(params["stateMachineAliasArn"]))
        if params.get("routingConfiguration") is None and params.get("description") is None:
            raise validation("Either the description or the RoutingConfiguration must be specified")
        if params.get("routingConfiguration") is not None:
            self._check_routing(params["routingConfiguration"])
            doc["routingConfiguration"] = params["routingConfiguration"]
        if params.get("description") is not None:
            doc["description"] = params["description"]
        doc["updateDate"] = self.clock.now_ms()
        self.store.put(ALIAS, doc["arn"], doc)
        return {"updateDate": doc["updateDate"] / 1000}

    @committed
    def delete_state_machine_alias(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        arn = params["stateMachineAliasArn"]
        self._alias(arn)
        self.store.delete(ALIAS, arn)
        return {}

    # -- tags -----------------------------------------------------------------------------
    def _tagged(self: StepFunctionsProvider, arn: str) -> tuple[str, dict[str, Any]]:
        for kind in (MACHINE, ACTIVITY):
            doc = self.store.get(kind, arn)
            if doc is not None:
                return kind, doc
        raise AwsError(
            "ResourceNotFound", f"Resource not found: '{arn}'", fields={"resourceName": arn}
        )

    @committed
    def tag_resource(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        kind, doc = self._tagged(params["resourceArn"])
        tags = {**doc.get("tags", {}), **{t["key"]: t["value"] for t in params["tags"]}}
        if len(tags) > MAX_TAGS:
            raise AwsError(
                "TooManyTags", "Too many tags", fields={"resourceName": params["resourceArn"]}
            )
        self.store.put(kind, params["resourceArn"], {**doc, "tags": tags})
        return {}

    @committed
    def untag_resource(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        kind, doc = self._tagged(params["resourceArn"])
        tags = {k: v for k, v in doc.get("tags", {}).items() if k not in params["tagKeys"]}
        self.store.put(kind, params["resourceArn"], {**doc, "tags": tags})
        return {}

    def list_tags_for_resource(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        _, doc = self._tagged(params["resourceArn"])
        return {"tags": tag_list(doc.get("tags", {}))}

    # -- validation -----------------------------------------------------------------------
    def validate_state_machine_definition(
        self: StepFunctionsProvider, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        diagnostics = workflows.validate(params["definition"])
        if (params.get("type") or STANDARD) not in (STANDARD, EXPRESS):
            raise validation("type must be STANDARD or EXPRESS")
        if params.get("severity", "ERROR") == "ERROR":
            shown = [d for d in diagnostics if d.severity == "ERROR"]
        else:
            shown = diagnostics
        limit = params.get("maxResults") or 100
        result = "FAIL" if any(d.severity == "ERROR" for d in diagnostics) else "OK"
        return {
            "result": result,
            "diagnostics": [d.as_dict() for d in shown[:limit]],
            "truncated": len(shown) > limit,
        }


def _pick(routing: list[dict[str, Any]]) -> str:
    """An alias's version for one execution, by weight."""
    roll = random.uniform(0, 100)
    for item in routing:
        roll -= item["weight"]
        if roll < 0:
            return item["stateMachineVersionArn"]
    return routing[-1]["stateMachineVersionArn"]
