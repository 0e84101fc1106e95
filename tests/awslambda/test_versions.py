"""Versions (immutable snapshots) and aliases (with weighted routing, honoured on invoke)."""

from __future__ import annotations

import json
from collections import Counter

from .conftest import error_of, make_zip

V1 = "def handler(event, context):\n    return 'one'\n"
V2 = "def handler(event, context):\n    return 'two'\n"


def _publish(lam, name: str, code: str) -> str:
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": code}))
    return lam.publish_version(FunctionName=name)["Version"]


def test_publish_version_is_an_immutable_snapshot(lam, create):
    out = create(code=V1, Description="first")
    name = out["FunctionName"]
    v1 = lam.publish_version(FunctionName=name, Description="release 1")
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (v1["Version"], v1["Description"], v1["State"]) == ("1", "release 1", "Active")
    assert v1["FunctionArn"] == out["FunctionArn"] + ":1"
    again = lam.publish_version(FunctionName=name)
    assert again["Version"] == "1"  # nothing changed: the latest version comes back
    lam.update_function_configuration(FunctionName=name, Timeout=9)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip({"app.py": V2}))
    v2 = lam.publish_version(FunctionName=name)
    assert v2["Version"] == "2" and v2["Timeout"] == 9
    one = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    assert (one["Timeout"], one["CodeSha256"]) == (3, out["CodeSha256"])
    assert lam.invoke(FunctionName=name, Qualifier="1")["Payload"].read() == b'"one"'
    assert lam.invoke(FunctionName=f"{name}:2")["Payload"].read() == b'"two"'
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert versions[0]["FunctionArn"] == out["FunctionArn"] + ":$LATEST"


def test_publish_version_preconditions(lam, create):
    out = create(code=V1)
    name = out["FunctionName"]
    error = error_of(lam.publish_version, FunctionName=name, RevisionId="nope")
    assert (error["Code"], error["Status"]) == ("PreconditionFailedException", 412)
    error = error_of(lam.publish_version, FunctionName=name, CodeSha256="abc")
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith(
        "CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST"
    )


def test_delete_version(lam, create):
    name = create(code=V1)["FunctionName"]
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    error = error_of(lam.delete_function, FunctionName=name, Qualifier="1")
    assert (error["Code"], error["Status"]) == ("ResourceConflictException", 409)
    assert (
        error["Message"]
        == "Unable to delete version because the following aliases reference it: [live]"
    )
    error = error_of(lam.delete_function, FunctionName=name, Qualifier="$LATEST")
    assert error["Message"] == "$LATEST version cannot be deleted without deleting the function."
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="1")
    error = error_of(lam.get_function, FunctionName=name, Qualifier="1")
    assert error["Message"].endswith(f"function:{name}:1")
    assert lam.get_function(FunctionName=name)["Configuration"]["Version"] == "$LATEST"


def test_alias_crud(lam, create):
    out = create(code=V1)
    name = out["FunctionName"]
    lam.publish_version(FunctionName=name)
    alias = lam.create_alias(
        FunctionName=name, Name="live", FunctionVersion="1", Description="prod"
    )
    assert alias["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert alias["AliasArn"] == out["FunctionArn"] + ":live"
    error = error_of(lam.create_alias, FunctionName=name, Name="live", FunctionVersion="1")
    assert error["Code"] == "ResourceConflictException"
    assert error["Message"] == f"Alias already exists: {out['FunctionArn']}:live"
    error = error_of(lam.create_alias, FunctionName=name, Name="beta", FunctionVersion="7")
    assert error["Message"] == f"Function not found: {out['FunctionArn']}:7"
    got = lam.get_alias(FunctionName=name, Name="live")
    assert (got["FunctionVersion"], got["Description"]) == ("1", "prod")
    error = error_of(lam.update_alias, FunctionName=name, Name="live", RevisionId="stale")
    assert error["Code"] == "PreconditionFailedException"
    updated = lam.update_alias(
        FunctionName=name, Name="live", FunctionVersion="$LATEST", RevisionId=got["RevisionId"]
    )
    assert updated["FunctionVersion"] == "$LATEST" and updated["RevisionId"] != got["RevisionId"]
    lam.create_alias(FunctionName=name, Name="beta", FunctionVersion="1")
    names = [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]]
    assert names == ["beta", "live"]
    only = lam.list_aliases(FunctionName=name, FunctionVersion="1")["Aliases"]
    assert [a["Name"] for a in only] == ["beta"]
    config = lam.get_function_configuration(FunctionName=name, Qualifier="beta")
    assert (config["Version"], config["FunctionArn"]) == ("1", out["FunctionArn"] + ":beta")
    lam.delete_alias(FunctionName=name, Name="beta")
    error = error_of(lam.get_alias, FunctionName=name, Name="beta")
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        f"Alias not found: {out['FunctionArn']}:beta",
    )


def test_weighted_alias_routes_both_versions(lam, create):
    name = create(code=V1)["FunctionName"]
    lam.publish_version(FunctionName=name)
    _publish(lam, name, V2)
    lam.create_alias(
        FunctionName=name,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )
    seen: Counter[tuple[str, str]] = Counter()
    for _ in range(200):
        answer = lam.invoke(FunctionName=name, Qualifier="canary")
        seen[(answer["ExecutedVersion"], json.loads(answer["Payload"].read()))] += 1
    assert set(seen) == {("1", "one"), ("2", "two")}
    assert 20 <= seen[("2", "two")] <= 110  # 60 expected; far outside means the weight is ignored
    alias = lam.get_alias(FunctionName=name, Name="canary")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}
    lam.update_alias(
        FunctionName=name, Name="canary", RoutingConfig={"AdditionalVersionWeights": {}}
    )
    versions = {lam.invoke(FunctionName=f"{name}:canary")["ExecutedVersion"] for _ in range(10)}
    assert versions == {"1"}


def test_routing_checks(lam, create):
    name = create(code=V1)["FunctionName"]
    lam.publish_version(FunctionName=name)
    error = error_of(
        lam.create_alias,
        FunctionName=name,
        Name="bad",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"5": 0.5}},
    )
    assert error["Code"] == "ResourceNotFoundException"
    error = error_of(
        lam.create_alias,
        FunctionName=name,
        Name="bad",
        FunctionVersion="$LATEST",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
    )
    assert error["Code"] == "InvalidParameterValueException"
