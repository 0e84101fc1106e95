"""Functions, versions, aliases and layers survive a restart, and run without re-uploading."""

from __future__ import annotations

import json

from .conftest import ECHO, ROLE, RUNTIME, make_zip


def test_functions_survive_a_restart(cloudlet_process):
    cloudlet_process.start()
    lam = cloudlet_process.client("lambda")
    layer = lam.publish_layer_version(
        LayerName="shared", Content={"ZipFile": make_zip({"python/shared.py": "X = 1\n"})}
    )
    lam.create_function(
        FunctionName="durable",
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": ECHO})},
        Layers=[layer["LayerVersionArn"]],
    )
    lam.publish_version(FunctionName="durable")
    lam.create_alias(FunctionName="durable", Name="live", FunctionVersion="1")
    before = lam.get_function(FunctionName="durable")["Configuration"]
    cloudlet_process.kill()
    cloudlet_process.start()
    lam = cloudlet_process.client("lambda")
    after = lam.get_function(FunctionName="durable")["Configuration"]
    assert after["CodeSha256"] == before["CodeSha256"]
    assert after["Layers"] == before["Layers"]
    assert lam.get_alias(FunctionName="durable", Name="live")["FunctionVersion"] == "1"
    answer = lam.invoke(FunctionName="durable", Qualifier="live", Payload=b'{"after": "restart"}')
    assert answer["ExecutedVersion"] == "1"
    assert json.loads(answer["Payload"].read())["event"] == {"after": "restart"}
