"""Resource policies, asynchronous invocation settings and function URL configurations."""

from __future__ import annotations

import json

from .conftest import error_of


def test_permissions_build_aws_policy(lam, create):
    out = create()
    name, arn = out["FunctionName"], out["FunctionArn"]
    error = error_of(lam.get_policy, FunctionName=name)
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
    added = lam.add_permission(
        FunctionName=name,
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount="000000000000",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "s3-invoke",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "000000000000"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
        },
    }
    lam.add_permission(
        FunctionName=name, StatementId="acct", Action="lambda:GetFunction", Principal="123456789012"
    )
    policy = lam.get_policy(FunctionName=name)
    document = json.loads(policy["Policy"])
    assert (document["Version"], document["Id"]) == ("2012-10-17", "default")
    assert document["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    error = error_of(
        lam.add_permission,
        FunctionName=name,
        StatementId="acct",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    assert (error["Code"], error["Status"]) == ("ResourceConflictException", 409)
    assert error["Message"] == (
        "The statement id (acct) provided already exists. Please provide a new statement id, or remove the existing statement."
    )
    error = error_of(
        lam.remove_permission, FunctionName=name, StatementId="acct", RevisionId="stale"
    )
    assert error["Code"] == "PreconditionFailedException"
    lam.remove_permission(FunctionName=name, StatementId="acct", RevisionId=policy["RevisionId"])
    error = error_of(lam.remove_permission, FunctionName=name, StatementId="acct")
    assert error["Message"] == "Statement acct is not found in resource policy."
    assert len(json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]) == 1


def test_permissions_on_a_version(lam, create):
    out = create()
    name = out["FunctionName"]
    lam.publish_version(FunctionName=name)
    lam.add_permission(
        FunctionName=name,
        Qualifier="1",
        StatementId="v1",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    statement = json.loads(lam.get_policy(FunctionName=name, Qualifier="1")["Policy"])["Statement"][
        0
    ]
    assert statement["Resource"] == out["FunctionArn"] + ":1"
    assert error_of(lam.get_policy, FunctionName=name)["Code"] == "ResourceNotFoundException"
    error = error_of(
        lam.add_permission,
        FunctionName=name,
        Qualifier="9",
        StatementId="x",
        Action="lambda:InvokeFunction",
        Principal="*",
    )
    assert error["Message"] == f"Function not found: {out['FunctionArn']}:9"


def test_event_invoke_config(lam, create):
    out = create()
    name = out["FunctionName"]
    error = error_of(lam.get_function_event_invoke_config, FunctionName=name)
    assert (
        error["Message"]
        == f"The function {out['FunctionArn']}:$LATEST doesn't have an EventInvokeConfig"
    )
    put = lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}},
    )
    assert put["FunctionArn"] == out["FunctionArn"] + ":$LATEST"
    assert put["MaximumRetryAttempts"] == 1
    assert put["DestinationConfig"]["OnFailure"]["Destination"].endswith(":dlq")
    updated = lam.update_function_event_invoke_config(
        FunctionName=name, MaximumEventAgeInSeconds=120
    )
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 120)
    replaced = lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=300)
    assert "MaximumRetryAttempts" not in replaced
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert len(listed) == 1
    lam.delete_function_event_invoke_config(FunctionName=name)
    assert error_of(lam.get_function_event_invoke_config, FunctionName=name)["Status"] == 404


def test_function_url_config(lam, create, endpoint):
    out = create()
    name = out["FunctionName"]
    created = lam.create_function_url_config(
        FunctionName=name, AuthType="NONE", Cors={"AllowOrigins": ["*"]}
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    url = created["FunctionUrl"]
    port = endpoint.rsplit(":", 1)[1]
    assert url.startswith("http://") and url.endswith(f".lambda-url.us-east-1.localhost:{port}/")
    assert len(url.split("//")[1].split(".")[0]) == 32
    assert created["FunctionArn"] == out["FunctionArn"]
    assert created["InvokeMode"] == "BUFFERED"
    error = error_of(lam.create_function_url_config, FunctionName=name, AuthType="NONE")
    assert error["Code"] == "ResourceConflictException"
    assert "FunctionUrlConfig exists for this Lambda function" in error["Message"]
    updated = lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["FunctionUrl"] == url
    got = lam.get_function_url_config(FunctionName=name)
    assert got["Cors"] == {"AllowOrigins": ["*"]}
    assert [
        c["FunctionUrl"]
        for c in lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    ] == [url]
    lam.delete_function_url_config(FunctionName=name)
    error = error_of(lam.get_function_url_config, FunctionName=name)
    assert (error["Code"], error["Status"]) == ("ResourceNotFoundException", 404)
