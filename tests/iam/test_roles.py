"""IAM roles through boto3 and the AWS CLI: lifecycle, trust policies, listing, tags, conflicts.

Error codes, statuses and messages are AWS's (statuses from the IAM model: NoSuchEntity 404,
EntityAlreadyExists and DeleteConflict 409, MalformedPolicyDocument 400).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from iam.conftest import ACCOUNT, LAMBDA_TRUST, S3_READ, error_of

BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_create_role_answers_arn_id_and_date_and_get_role_reads_it_back(iam, aws_client, unique):
    name = f"exec-{unique}"
    created = iam.create_role(
        RoleName=name,
        Path="/service/",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        Description="runs the orders function",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "orders"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service/{name}"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", created["RoleId"])
    assert created["Path"] == "/service/"
    age = dt.datetime.now(dt.UTC) - created["CreateDate"]
    assert abs(age.total_seconds()) < 60
    assert created["AssumeRolePolicyDocument"] == LAMBDA_TRUST  # botocore decodes it

    role = iam.get_role(RoleName=name)["Role"]
    assert role["RoleId"] == created["RoleId"]
    assert role["Arn"] == created["Arn"]
    assert role["Description"] == "runs the orders function"
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "team", "Value": "orders"}]
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    # IAM is global: a client signing for another region sees the same role
    elsewhere = aws_client("iam", region="eu-central-1").get_role(RoleName=name)["Role"]
    assert elsewhere["RoleId"] == created["RoleId"]


def test_a_role_name_is_unique_regardless_of_case(iam, new_role):
    name = new_role()["RoleName"]
    for taken in (name, name.upper()):
        error = error_of(
            iam.create_role, RoleName=taken, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )
        assert error["Code"] == "EntityAlreadyExists"
        assert error["Message"] == f"Role with name {taken} already exists."
        assert error["Status"] == 409


def test_a_missing_role_is_no_such_entity(iam, unique):
    for call in (iam.get_role, iam.delete_role, iam.list_role_policies):
        error = error_of(call, RoleName=f"ghost-{unique}")
        assert error["Code"] == "NoSuchEntity"
        assert error["Message"] == f"The role with name ghost-{unique} cannot be found."
        assert error["Status"] == 404


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "This policy contains invalid Json"),
        (
            {**LAMBDA_TRUST, "Statement": [{**LAMBDA_TRUST["Statement"][0], "Resource": "*"}]},
            "Has prohibited field Resource",
        ),
        (
            {**LAMBDA_TRUST, "Statement": [{**LAMBDA_TRUST["Statement"][0], "Action": "s3:*"}]},
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        ({"Version": "2012-10-17", "Statement": []}, "Syntax errors in policy."),
    ],
)
def test_a_malformed_trust_policy_is_refused_and_nothing_is_created(iam, unique, document, message):
    text = document if isinstance(document, str) else json.dumps(document)
    error = error_of(iam.create_role, RoleName=f"bad-{unique}", AssumeRolePolicyDocument=text)
    assert error["Code"] == "MalformedPolicyDocument"
    assert error["Message"] == message
    assert error["Status"] == 400
    assert error_of(iam.get_role, RoleName=f"bad-{unique}")["Code"] == "NoSuchEntity"


def test_max_session_duration_is_bounded_by_the_model(iam, unique):
    error = error_of(
        iam.create_role,
        RoleName=f"long-{unique}",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        MaxSessionDuration=43201,
    )
    assert error["Status"] == 400
    assert "Member must have value less than or equal to 43200" in error["Message"]


def test_max_session_duration_violation_is_a_validation_error(iam, unique):
    error = error_of(
        iam.create_role,
        RoleName=f"long-{unique}",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        MaxSessionDuration=43201,
    )
    assert error["Code"] == "ValidationError"


def test_list_roles_pages_with_marker_and_filters_by_path(iam, unique):
    path = f"/pages-{unique}/"
    names = sorted(f"r{i}-{unique}" for i in range(5))
    for name in reversed(names):
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    seen: list[str] = []
    response = iam.list_roles(PathPrefix=path, MaxItems=2)
    pages = [response]
    while response["IsTruncated"]:
        response = iam.list_roles(PathPrefix=path, MaxItems=2, Marker=response["Marker"])
        pages.append(response)
    for listed in pages:
        seen.extend(role["RoleName"] for role in listed["Roles"])
    assert [len(p["Roles"]) for p in pages] == [2, 2, 1]
    assert "Marker" not in pages[-1]
    assert seen == names
    listed = pages[0]["Roles"][0]
    assert listed["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    assert "Tags" not in listed and "RoleLastUsed" not in listed  # as ListRoles answers

    paginated = iam.get_paginator("list_roles").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 3}
    )
    assert [r["RoleName"] for p in paginated for r in p["Roles"]] == names
    assert iam.list_roles(PathPrefix=f"/none-{unique}/")["Roles"] == []


def test_update_role_and_its_trust_policy(iam, new_role):
    name = new_role()["RoleName"]
    iam.update_role(RoleName=name, Description="new words", MaxSessionDuration=10800)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("new words", 10800)

    states = {**LAMBDA_TRUST, "Statement": [{**LAMBDA_TRUST["Statement"][0]}]}
    states["Statement"][0]["Principal"] = {"Service": "states.amazonaws.com"}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(states))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == states

    error = error_of(iam.update_assume_role_policy, RoleName=name, PolicyDocument="[1,")
    assert (error["Code"], error["Status"]) == ("MalformedPolicyDocument", 400)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == states


def test_delete_role_refuses_while_policies_remain(iam, new_role):
    name = new_role()["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(S3_READ))
    iam.attach_role_policy(RoleName=name, PolicyArn=BASIC_EXECUTION)

    error = error_of(iam.delete_role, RoleName=name)
    assert error["Code"] == "DeleteConflict"
    assert error["Message"] == "Cannot delete entity, must detach all policies first."
    assert error["Status"] == 409

    iam.detach_role_policy(RoleName=name, PolicyArn=BASIC_EXECUTION)
    error = error_of(iam.delete_role, RoleName=name)
    assert (error["Code"], error["Status"]) == ("DeleteConflict", 409)
    assert error["Message"] == "Cannot delete entity, must delete policies first."

    iam.delete_role_policy(RoleName=name, PolicyName="read")
    iam.delete_role(RoleName=name)
    assert error_of(iam.get_role, RoleName=name)["Status"] == 404


def test_tag_untag_and_list_role_tags(iam, new_role):
    name = new_role(Tags=[{"Key": "env", "Value": "dev"}])["RoleName"]
    iam.tag_role(
        RoleName=name, Tags=[{"Key": "ENV", "Value": "prod"}, {"Key": "team", "Value": "a"}]
    )
    # tag keys are case-insensitive: ENV replaced env
    assert iam.list_role_tags(RoleName=name)["Tags"] == [
        {"Key": "ENV", "Value": "prod"},
        {"Key": "team", "Value": "a"},
    ]
    first = iam.list_role_tags(RoleName=name, MaxItems=1)
    assert first["IsTruncated"] and first["Tags"] == [{"Key": "ENV", "Value": "prod"}]
    rest = iam.list_role_tags(RoleName=name, Marker=first["Marker"])
    assert rest["Tags"] == [{"Key": "team", "Value": "a"}] and not rest["IsTruncated"]

    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.get_role(RoleName=name)["Role"]["Tags"] == [{"Key": "team", "Value": "a"}]

    error = error_of(
        iam.tag_role, RoleName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]
    )
    assert (error["Code"], error["Status"]) == ("InvalidInput", 400)


def test_permissions_boundary_must_exist_and_is_counted(iam, new_role, unique):
    missing = f"arn:aws:iam::{ACCOUNT}:policy/nothing-{unique}"
    error = error_of(
        iam.create_role,
        RoleName=f"bounded-{unique}",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        PermissionsBoundary=missing,
    )
    assert error["Code"] == "NoSuchEntity"
    assert error["Message"] == f"Scope ARN: {missing} does not exist or is not attachable."

    policy = iam.create_policy(PolicyName=f"bound-{unique}", PolicyDocument=json.dumps(S3_READ))
    arn = policy["Policy"]["Arn"]
    name = new_role(PermissionsBoundary=arn)["RoleName"]
    role = iam.get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": arn,
    }
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    assert error_of(iam.delete_policy, PolicyArn=arn)["Code"] == "DeleteConflict"

    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    iam.delete_policy(PolicyArn=arn)


def test_roles_through_the_aws_cli(aws_cli, tmp_path, unique):
    (tmp_path / "trust.json").write_text(json.dumps(LAMBDA_TRUST, indent=2))
    name = f"cli-{unique}"
    done = aws_cli(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        "file://trust.json",
    )
    assert done.returncode == 0, done.stderr
    role = json.loads(done.stdout)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert role["AssumeRolePolicyDocument"] == LAMBDA_TRUST

    done = aws_cli("iam", "get-role", "--role-name", f"{name}-missing")
    assert done.returncode != 0
    assert (
        f"An error occurred (NoSuchEntity) when calling the GetRole operation: "
        f"The role with name {name}-missing cannot be found." in done.stderr
    )
