"""State machines, versions, aliases, tags, activities and definition validation."""

from __future__ import annotations

import json
import uuid

from .conftest import ROLE, error_of

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_create_describe_update_delete(sfn, machine):
    name = f"sm-{uuid.uuid4().hex[:8]}"
    log_group = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/vendedlogs/states/x:*"
    logging = {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group}}],
    }
    arn = machine(
        PASS,
        name=name,
        type="STANDARD",
        loggingConfiguration=logging,
        tracingConfiguration={"enabled": True},
        tags=[{"key": "team", "value": "a"}],
    )
    assert arn == f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (
        described["name"] == name
        and described["status"] == "ACTIVE"
        and described["type"] == "STANDARD"
    )
    assert json.loads(described["definition"]) == PASS and described["roleArn"] == ROLE
    assert described["loggingConfiguration"] == logging and described["tracingConfiguration"] == {
        "enabled": True
    }
    # creating again with the same settings is idempotent; different settings conflict
    assert (
        sfn.create_state_machine(
            name=name,
            definition=json.dumps(PASS),
            roleArn=ROLE,
            loggingConfiguration=logging,
            tracingConfiguration={"enabled": True},
        )["stateMachineArn"]
        == arn
    )
    other = {"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}}
    assert (
        error_of(sfn.create_state_machine, name=name, definition=json.dumps(other), roleArn=ROLE)[
            "Code"
        ]
        == "StateMachineAlreadyExists"
    )
    before = described["revisionId"]
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(other))
    assert updated["revisionId"] != before
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == other
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert name in names
    sfn.delete_state_machine(stateMachineArn=arn)
    missing = error_of(sfn.describe_state_machine, stateMachineArn=arn)
    assert missing == {
        "Code": "StateMachineDoesNotExist",
        "Message": f"State Machine Does Not Exist: '{arn}'",
    }


def test_invalid_definitions_and_names(sfn):
    bad = {
        "StartAt": "pass1",
        "States": {
            "pass1": {"Type": "Pass", "Next": "pass3"},
            "pass2": {"Type": "Pass", "End": True},
        },
    }
    error = error_of(sfn.create_state_machine, name="bad", definition=json.dumps(bad), roleArn=ROLE)
    assert error["Code"] == "InvalidDefinition"
    assert error["Message"] == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at "
        '/States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2\''
    )
    assert (
        error_of(
            sfn.create_state_machine, name="has space", definition=json.dumps(PASS), roleArn=ROLE
        )["Code"]
        == "InvalidName"
    )
    assert error_of(sfn.create_state_machine, name="x", definition="{oops", roleArn=ROLE)[
        "Message"
    ].startswith("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION")


def test_validate_state_machine_definition(sfn):
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS))
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])
    bad = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"x": "$.a"},
                "Retry": [{}],
                "End": True,
            }
        },
    }
    failed = sfn.validate_state_machine_definition(definition=json.dumps(bad))
    assert failed["result"] == "FAIL"
    assert failed["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "SCHEMA_VALIDATION_FAILED",
            "message": "These fields are required: [ErrorEquals]",
            "location": "/States/T/Retry[0]",
        }
    ]
    warned = sfn.validate_state_machine_definition(definition=json.dumps(bad), severity="WARNING")
    assert {d["code"] for d in warned["diagnostics"]} == {"SCHEMA_VALIDATION_FAILED", "NO_DOLLAR"}


def test_versions_and_aliases(sfn, machine):
    arn = machine(PASS, publish=True, versionDescription="first")
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:1"]
    assert (
        sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
        == f"{arn}:1"
    )  # unchanged
    sfn.update_state_machine(
        stateMachineArn=arn,
        definition=json.dumps(
            {"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 2, "End": True}}}
        ),
    )
    v2 = sfn.publish_state_machine_version(stateMachineArn=arn, description="second")[
        "stateMachineVersionArn"
    ]
    assert v2 == f"{arn}:2"
    assert sfn.describe_state_machine(stateMachineArn=f"{arn}:1")["description"] == "first"
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}]
    )["stateMachineAliasArn"]
    assert alias == f"{arn}:live"
    started = sfn.start_execution(stateMachineArn=alias)
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert (
        described["stateMachineAliasArn"] == alias
        and described["stateMachineVersionArn"] == f"{arn}:1"
    )
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}],
    )
    assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["routingConfiguration"] == [
        {"stateMachineVersionArn": v2, "weight": 100}
    ]
    assert [
        a["stateMachineAliasArn"]
        for a in sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    ] == [alias]
    assert (
        error_of(sfn.delete_state_machine_version, stateMachineVersionArn=v2)["Code"]
        == "ConflictException"
    )
    bad = [{"stateMachineVersionArn": v2, "weight": 60}]
    assert (
        error_of(sfn.create_state_machine_alias, name="x", routingConfiguration=bad)["Code"]
        == "ValidationException"
    )
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert (
        error_of(sfn.describe_state_machine_alias, stateMachineAliasArn=alias)["Code"]
        == "ResourceNotFound"
    )
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1")


def test_tags(sfn, machine):
    arn = machine(PASS, tags=[{"key": "a", "value": "1"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "1"},
        {"key": "b", "value": "2"},
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "b", "value": "2"}]


def test_activities(sfn):
    name = f"act-{uuid.uuid4().hex[:8]}"
    arn = sfn.create_activity(name=name)["activityArn"]
    assert arn == f"arn:aws:states:us-east-1:000000000000:activity:{name}"
    assert sfn.create_activity(name=name)["activityArn"] == arn
    assert sfn.describe_activity(activityArn=arn)["name"] == name
    assert arn in [a["activityArn"] for a in sfn.list_activities()["activities"]]
    sfn.delete_activity(activityArn=arn)
    assert error_of(sfn.describe_activity, activityArn=arn)["Code"] == "ActivityDoesNotExist"
