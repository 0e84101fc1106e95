"""Layers: publish, read, list, delete, permissions, and their code importable by handlers."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest

from .conftest import error_of, make_zip

HELPER = "GREETING = 'hello from a layer'\n"
USES_LAYER = """
import greetings

def handler(event, context):
    return greetings.GREETING
"""


@pytest.fixture
def layer_name(lam):
    name = f"layer-{uuid.uuid4().hex[:8]}"
    yield name
    for version in lam.list_layer_versions(LayerName=name)["LayerVersions"]:
        lam.delete_layer_version(LayerName=name, VersionNumber=version["Version"])


def test_publish_get_list_delete(lam, layer_name):
    content = make_zip({"python/greetings.py": HELPER})
    first = lam.publish_layer_version(
        LayerName=layer_name,
        Description="greetings",
        Content={"ZipFile": content},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"],
        LicenseInfo="MIT",
    )
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = f"arn:aws:lambda:us-east-1:000000000000:layer:{layer_name}"
    assert (first["LayerArn"], first["LayerVersionArn"], first["Version"]) == (arn, arn + ":1", 1)
    assert (
        first["Content"]["CodeSha256"]
        == base64.b64encode(hashlib.sha256(content).digest()).decode()
    )
    assert first["Content"]["CodeSize"] == len(content)
    second = lam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": content}, CompatibleRuntimes=["nodejs20.x"]
    )
    assert second["Version"] == 2
    got = lam.get_layer_version(LayerName=layer_name, VersionNumber=1)
    assert (got["Description"], got["LicenseInfo"], got["CompatibleRuntimes"]) == (
        "greetings",
        "MIT",
        ["python3.12"],
    )
    assert lam.get_layer_version_by_arn(Arn=arn + ":2")["Version"] == 2
    versions = lam.list_layer_versions(LayerName=layer_name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    python = lam.list_layer_versions(LayerName=layer_name, CompatibleRuntime="python3.12")[
        "LayerVersions"
    ]
    assert [v["Version"] for v in python] == [1]
    listed = [item for item in lam.list_layers()["Layers"] if item["LayerName"] == layer_name]
    assert listed[0]["LatestMatchingVersion"]["Version"] == 2
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=2)
    error = error_of(lam.get_layer_version, LayerName=layer_name, VersionNumber=2)
    assert (error["Code"], error["Status"]) == ("ResourceNotFoundException", 404)
    assert error["Message"] == "The resource you requested does not exist."
    third = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": content})
    assert third["Version"] == 3  # numbers are never reused


def test_layer_code_is_importable(lam, create, layer_name):
    layer = lam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": make_zip({"python/greetings.py": HELPER})}
    )
    out = create(code=USES_LAYER, Layers=[layer["LayerVersionArn"]])
    assert out["Layers"] == [
        {"Arn": layer["LayerVersionArn"], "CodeSize": layer["Content"]["CodeSize"]}
    ]
    answer = lam.invoke(FunctionName=out["FunctionName"])
    assert json.loads(answer["Payload"].read()) == "hello from a layer"


def test_layer_permissions(lam, layer_name):
    lam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": make_zip({"python/x.py": "X = 1\n"})}
    )
    error = error_of(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=1)
    assert error["Code"] == "ResourceNotFoundException"
    added = lam.add_layer_version_permission(
        LayerName=layer_name,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "everyone",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": f"arn:aws:lambda:us-east-1:000000000000:layer:{layer_name}:1",
    }
    policy = lam.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)
    assert json.loads(policy["Policy"])["Statement"] == [statement]
    assert policy["RevisionId"] == added["RevisionId"]
    error = error_of(
        lam.add_layer_version_permission,
        LayerName=layer_name,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="123456789012",
    )
    assert error["Code"] == "ResourceConflictException"
    lam.remove_layer_version_permission(
        LayerName=layer_name, VersionNumber=1, StatementId="everyone"
    )
    assert (
        error_of(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=1)["Status"]
        == 404
    )
