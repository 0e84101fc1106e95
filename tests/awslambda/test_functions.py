"""Functions: create, read, list, update, delete; the checks and errors AWS answers; states."""

from __future__ import annotations

import base64
import hashlib
import io
import urllib.request
import zipfile

from .conftest import ECHO, ROLE, RUNTIME, error_of, make_zip


def test_create_function_reports_configuration(lam, name):
    code = make_zip({"app.py": ECHO})
    out = lam.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
        Description="echo",
        Timeout=10,
        MemorySize=256,
        Environment={"Variables": {"APP_MODE": "test"}},
        TracingConfig={"Mode": "Active"},
        EphemeralStorage={"Size": 1024},
        Architectures=["arm64"],
        VpcConfig={"SubnetIds": ["subnet-1234"], "SecurityGroupIds": ["sg-1234"]},
        Tags={"team": "core"},
    )
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["FunctionName"] == name
    assert out["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert out["CodeSize"] == len(code)
    assert out["Version"] == "$LATEST"
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert (out["Timeout"], out["MemorySize"], out["Description"]) == (10, 256, "echo")
    assert out["Environment"] == {"Variables": {"APP_MODE": "test"}}
    assert out["TracingConfig"] == {"Mode": "Active"}
    assert out["EphemeralStorage"] == {"Size": 1024}
    assert out["Architectures"] == ["arm64"]
    assert out["VpcConfig"]["SubnetIds"] == ["subnet-1234"]
    assert out["VpcConfig"]["VpcId"].startswith("vpc-")
    assert out["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    assert out["PackageType"] == "Zip"
    assert out["Role"] == ROLE
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    got = lam.get_function(FunctionName=name)
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Configuration"]["RevisionId"] != out["RevisionId"]
    assert got["Tags"] == {"team": "core"}
    assert got["Code"]["RepositoryType"] == "S3"
    lam.delete_function(FunctionName=name)


def test_code_location_downloads_the_zip(lam, create):
    code = {"app.py": ECHO, "data/notes.txt": "hello"}
    out = create(code=code)
    location = lam.get_function(FunctionName=out["FunctionName"])["Code"]["Location"]
    with urllib.request.urlopen(location, timeout=10) as response:
        data = response.read()
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == out["CodeSha256"]
    assert zipfile.ZipFile(io.BytesIO(data)).read("data/notes.txt") == b"hello"


def test_get_function_configuration_and_names(lam, create):
    out = create()
    name, arn = out["FunctionName"], out["FunctionArn"]
    for ref in (name, arn, f"000000000000:function:{name}"):
        assert lam.get_function_configuration(FunctionName=ref)["FunctionArn"] == arn
    latest = lam.get_function_configuration(FunctionName=name, Qualifier="$LATEST")
    assert latest["FunctionArn"] == arn + ":$LATEST"


def test_function_not_found(lam, name):
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    error = error_of(lam.get_function, FunctionName=name)
    assert (error["Code"], error["Status"]) == ("ResourceNotFoundException", 404)
    assert error["Message"] == f"Function not found: {arn}"
    error = error_of(lam.invoke, FunctionName=name)
    assert error["Message"] == f"Function not found: {arn}"
    error = error_of(lam.delete_function, FunctionName=name)
    assert error["Code"] == "ResourceNotFoundException"


def test_create_twice_conflicts(lam, create):
    out = create()
    error = error_of(
        lam.create_function,
        FunctionName=out["FunctionName"],
        Runtime=RUNTIME,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": ECHO})},
    )
    assert (error["Code"], error["Status"]) == ("ResourceConflictException", 409)
    assert error["Message"] == f"Function already exist: {out['FunctionName']}"


def _create_error(lam, name, **overrides):
    kwargs = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": make_zip({"app.py": ECHO})},
        **overrides,
    }
    return error_of(lam.create_function, **{k: v for k, v in kwargs.items() if v is not None})


def test_create_validation_errors(lam, name):
    error = _create_error(lam, name, Role="not-a-role")
    assert (error["Code"], error["Status"]) == ("ValidationException", 400)
    assert "Value 'not-a-role' at 'role' failed to satisfy constraint" in error["Message"]
    error = _create_error(lam, name, Handler="has space")
    assert error["Code"] == "ValidationException" and "'handler'" in error["Message"]
    error = _create_error(lam, name, MemorySize=20000)
    assert error["Message"] == (
        "1 validation error detected: Value '20000' at 'memorySize' failed to satisfy constraint: "
        "Member must have value less than or equal to 10240"
    )
    error = _create_error(lam, name, Timeout=901)
    assert "Member must have value less than or equal to 900" in error["Message"]
    error = _create_error(lam, name, Runtime="python3.7")
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith("The runtime parameter of python3.7 is no longer supported")
    error = _create_error(lam, name, Code={"ZipFile": b"not a zip"})
    assert error["Code"] == "InvalidParameterValueException"
    assert (
        error["Message"]
        == "Could not unzip uploaded file. Please check your file, then try to upload again."
    )
    error = _create_error(lam, name, Code={"S3Bucket": "bucket", "S3Key": "code.zip"})
    assert error["Code"] == "InvalidParameterValueException" and "S3" in error["Message"]
    error = _create_error(lam, name, Handler=None)
    assert (
        error["Message"]
        == "Runtime and Handler are mandatory parameters for functions created with deployment packages."
    )
    error = _create_error(lam, name, Environment={"Variables": {"AWS_REGION": "eu-west-1"}})
    assert "reserved keys" in error["Message"] and "AWS_REGION" in error["Message"]
    error = _create_error(lam, name, Environment={"Variables": {"BIG": "x" * 5000}})
    assert error["Message"].startswith(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit. String measured: "
    )
    error = _create_error(lam, name, Layers=["arn:aws:lambda:us-east-1:000000000000:layer:nope:1"])
    assert (
        error["Message"]
        == "Layer version arn:aws:lambda:us-east-1:000000000000:layer:nope:1 does not exist."
    )
    assert error_of(lam.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"


def test_unknown_runtime_is_an_invalid_parameter(lam, name):
    error = _create_error(lam, name, Runtime="python9.9")
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith("Value python9.9 at 'runtime' failed to satisfy constraint")


def test_update_configuration_and_revision(lam, create):
    out = create(Environment={"Variables": {"APP_A": "1"}})
    name = out["FunctionName"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    revision = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    error = error_of(
        lam.update_function_configuration, FunctionName=name, Timeout=5, RevisionId="stale"
    )
    assert (error["Code"], error["Status"]) == ("PreconditionFailedException", 412)
    updated = lam.update_function_configuration(
        FunctionName=name,
        RevisionId=revision,
        Timeout=30,
        MemorySize=512,
        Description="changed",
        Environment={"Variables": {"APP_B": "2"}},
        LoggingConfig={"LogFormat": "JSON"},
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    assert updated["RevisionId"] != revision
    assert (updated["Timeout"], updated["MemorySize"]) == (30, 512)
    assert updated["Environment"] == {"Variables": {"APP_B": "2"}}
    assert updated["LoggingConfig"]["LogFormat"] == "JSON"
    assert updated["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    after = lam.get_function_configuration(FunctionName=name)
    assert after["LastUpdateStatus"] == "Successful"
    assert after["Description"] == "changed"


def test_update_code(lam, create):
    out = create()
    name = out["FunctionName"]
    new_code = make_zip({"app.py": "def handler(event, context):\n    return 'v2'\n"})
    dry = lam.update_function_code(FunctionName=name, ZipFile=new_code, DryRun=True)
    assert dry["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == out["CodeSha256"]
    updated = lam.update_function_code(FunctionName=name, ZipFile=new_code)
    assert updated["CodeSize"] == len(new_code)
    assert updated["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    published = lam.update_function_code(FunctionName=name, ZipFile=new_code, Publish=True)
    assert published["Version"] == "1"
    assert published["FunctionArn"].endswith(f"{name}:1")
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"v2"'


def test_list_functions_paginates(lam, create):
    names = sorted(create()["FunctionName"] for _ in range(3))
    lam.publish_version(FunctionName=names[0])
    seen = []
    marker = None
    while True:
        kwargs = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = lam.list_functions(**kwargs)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n in names] == names
    every = [
        f["FunctionArn"]
        for p in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL")
        for f in p["Functions"]
        if f["FunctionName"] == names[0]
    ]
    assert every == [f"{every[0].rsplit(':', 1)[0]}:$LATEST", f"{every[0].rsplit(':', 1)[0]}:1"]


def test_tags(lam, create):
    arn = create(Tags={"a": "1"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"b": "2"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2"}
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}


def test_concurrency_and_account_settings(lam, create):
    name = create()["FunctionName"]
    before = lam.get_account_settings()
    assert before["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert (
        lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    )
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    after = lam.get_account_settings()
    unreserved = after["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert unreserved == before["AccountLimit"]["UnreservedConcurrentExecutions"] - 5
    assert after["AccountUsage"]["FunctionCount"] >= 1
    error = error_of(
        lam.put_function_concurrency, FunctionName=name, ReservedConcurrentExecutions=990
    )
    assert error["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100]."
    )
    lam.delete_function_concurrency(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)


def test_delete_function_removes_everything(lam, create):
    name = create()["FunctionName"]
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.delete_function(FunctionName=name)
    assert error_of(lam.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"
    assert (
        error_of(lam.get_alias, FunctionName=name, Name="live")["Code"]
        == "ResourceNotFoundException"
    )
