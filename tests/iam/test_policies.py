"""IAM inline and managed policies through boto3: documents round-trip, versions, attachments.

AWS answers policy documents percent-encoded; botocore decodes them back into dicts, so a
round trip compares dicts, and one test reads the raw XML to see the encoding itself.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, urlencode

import pytest

from iam.conftest import ACCOUNT, S3_READ, error_of

AWS_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole",
    "service-role/AWSLambdaSQSQueueExecutionRole",
    "service-role/AWSLambdaRole",
    "AWSStepFunctionsFullAccess",
    "AmazonSQSFullAccess",
    "AmazonSNSFullAccess",
    "AmazonSESFullAccess",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2FullAccess",
    "CloudWatchLogsFullAccess",
    "AmazonEventBridgeFullAccess",
    "AWSXrayWriteOnlyAccess",
    "AdministratorAccess",
    "ReadOnlyAccess",
    "service-role/AWSLambdaVPCAccessExecutionRole",
    "AWSLambda_FullAccess",
    "AmazonAPIGatewayInvokeFullAccess",
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
    "service-role/AWSLambdaDynamoDBExecutionRole",
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

# Whitespace, key order and characters that need encoding survive the round trip untouched.
ODD_TEXT = (
    '{\n  "Version": "2012-10-17",\n  "Statement": [{"Sid": "Odd", "Effect": "Allow",\n'
    '    "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/a b+c&d%e<f>#?"}]}'
)


def _policy(**statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# -- inline policies ------------------------------------------------------------------------------


def test_inline_policy_round_trips_and_lists(iam, new_role):
    name = new_role()["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="odd", PolicyDocument=ODD_TEXT)
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(S3_READ))

    got = iam.get_role_policy(RoleName=name, PolicyName="odd")
    assert (got["RoleName"], got["PolicyName"]) == (name, "odd")
    assert got["PolicyDocument"] == json.loads(ODD_TEXT)
    listed = iam.list_role_policies(RoleName=name)
    assert (listed["PolicyNames"], listed["IsTruncated"]) == (["odd", "read"], False)
    first = iam.list_role_policies(RoleName=name, MaxItems=1)
    assert first["PolicyNames"] == ["odd"] and first["IsTruncated"]
    assert iam.list_role_policies(RoleName=name, Marker=first["Marker"])["PolicyNames"] == ["read"]

    # PutRolePolicy with an existing name replaces the document
    iam.put_role_policy(RoleName=name, PolicyName="odd", PolicyDocument=json.dumps(S3_READ))
    assert iam.get_role_policy(RoleName=name, PolicyName="odd")["PolicyDocument"] == S3_READ

    iam.delete_role_policy(RoleName=name, PolicyName="odd")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["read"]
    for call in (iam.get_role_policy, iam.delete_role_policy):
        error = error_of(call, RoleName=name, PolicyName="odd")
        assert error["Code"] == "NoSuchEntity"
        assert error["Message"] == "The role policy with name odd cannot be found."
        assert error["Status"] == 404


def test_policy_documents_travel_percent_encoded(iam, new_role, endpoint):
    name = new_role()["RoleName"]
    iam.put_role_policy(RoleName=name, PolicyName="odd", PolicyDocument=ODD_TEXT)
    body = urlencode(
        {"Action": "GetRolePolicy", "Version": "2010-05-08", "RoleName": name, "PolicyName": "odd"}
    ).encode()
    request = urllib.request.Request(
        endpoint,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        xml = response.read().decode()
    found = re.search(r"<PolicyDocument>(.*)</PolicyDocument>", xml)
    assert found is not None, xml
    assert found.group(1) == quote(ODD_TEXT, safe="")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("This is not a json document", "Syntax errors in policy."),
        (_policy(Effect="Allow", Action="s3:*"), "Policy statement must contain resources."),
        (_policy(Effect="Allow", Resource="*"), "Policy statement must contain actions."),
        (
            _policy(Effect="Allow", Action="s3:*", Resource="*", Principal="*"),
            "Policy document should not specify a principal.",
        ),
        (_policy(Effect="Perhaps", Action="s3:*", Resource="*"), "Syntax errors in policy."),
        (
            _policy(Effect="Allow", Action="GetObject", Resource="*"),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
    ],
)
def test_malformed_identity_policies_are_refused(iam, new_role, unique, document, message):
    name = new_role()["RoleName"]
    error = error_of(iam.put_role_policy, RoleName=name, PolicyName="p", PolicyDocument=document)
    assert (error["Code"], error["Message"], error["Status"]) == (
        "MalformedPolicyDocument",
        message,
        400,
    )
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    error = error_of(iam.create_policy, PolicyName=f"bad-{unique}", PolicyDocument=document)
    assert (error["Code"], error["Message"]) == ("MalformedPolicyDocument", message)


def test_managed_policies_need_version_2012_while_inline_ones_may_be_older(iam, new_role, unique):
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    for document in ({"Statement": [statement]}, {"Version": "2008-10-17", "Statement": statement}):
        error = error_of(
            iam.create_policy, PolicyName=f"old-{unique}", PolicyDocument=json.dumps(document)
        )
        assert (error["Code"], error["Status"]) == ("MalformedPolicyDocument", 400)
        assert error["Message"] == "Policy document must be version 2012-10-17 or greater."
    name = new_role()["RoleName"]
    old = {"Version": "2008-10-17", "Statement": statement}
    iam.put_role_policy(RoleName=name, PolicyName="old", PolicyDocument=json.dumps(old))
    assert iam.get_role_policy(RoleName=name, PolicyName="old")["PolicyDocument"] == old


# -- managed policies -----------------------------------------------------------------------------


def test_create_and_get_a_managed_policy(iam, unique):
    name = f"reader-{unique}"
    created = iam.create_policy(
        PolicyName=name,
        Path="/app/",
        PolicyDocument=ODD_TEXT,
        Description="reads objects",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]
    arn = f"arn:aws:iam::{ACCOUNT}:policy/app/{name}"
    assert created["Arn"] == arn
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", created["PolicyId"])
    assert (created["DefaultVersionId"], created["AttachmentCount"]) == ("v1", 0)
    assert created["IsAttachable"] is True

    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PolicyId"] == created["PolicyId"]
    assert policy["Description"] == "reads objects"
    assert policy["Tags"] == [{"Key": "k", "Value": "v"}]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(ODD_TEXT)
    assert version["IsDefaultVersion"] is True

    error = error_of(iam.create_policy, PolicyName=name.upper(), PolicyDocument=ODD_TEXT)
    assert error["Code"] == "EntityAlreadyExists"
    assert error["Message"] == (
        f"A policy called {name.upper()} already exists. Duplicate names are not allowed."
    )
    assert error["Status"] == 409

    missing = f"arn:aws:iam::{ACCOUNT}:policy/app/none-{unique}"
    error = error_of(iam.get_policy, PolicyArn=missing)
    assert (error["Code"], error["Status"]) == ("NoSuchEntity", 404)
    assert error["Message"] == f"Policy {missing} was not found."


def test_policy_versions_are_capped_at_five_and_the_default_is_protected(iam, unique):
    arn = iam.create_policy(PolicyName=f"v-{unique}", PolicyDocument=json.dumps(S3_READ))["Policy"][
        "Arn"
    ]
    documents = {"v1": S3_READ}
    for number in range(2, 6):
        document = {**S3_READ, "Statement": [{**S3_READ["Statement"][0], "Sid": f"S{number}"}]}
        version = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=number == 3
        )["PolicyVersion"]
        assert version["VersionId"] == f"v{number}"
        documents[f"v{number}"] = document

    error = error_of(iam.create_policy_version, PolicyArn=arn, PolicyDocument=json.dumps(S3_READ))
    assert error["Code"] == "LimitExceeded"
    assert error["Message"] == "Cannot exceed quota for PolicyVersionsPerPolicy: 5"
    assert error["Status"] == 409

    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    for version_id, document in documents.items():
        got = iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"]
        assert got["Document"] == document

    error = error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v3")
    assert (error["Code"], error["Status"]) == ("DeleteConflict", 409)
    assert error["Message"] == "Cannot delete the default version of a policy."
    error = error_of(iam.delete_policy, PolicyArn=arn)
    assert error["Code"] == "DeleteConflict"
    assert error["Message"].startswith("This policy has more than one version.")

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    for version_id in ("v1", "v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version_id)
    error = error_of(iam.get_policy_version, PolicyArn=arn, VersionId="v2")
    assert error["Code"] == "NoSuchEntity"
    assert error["Message"] == f"Policy {arn} version v2 does not exist or is not attachable."
    # the next version number is never reused
    again = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_READ))
    assert again["PolicyVersion"]["VersionId"] == "v6"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v6")
    iam.delete_policy(PolicyArn=arn)
    assert error_of(iam.get_policy, PolicyArn=arn)["Code"] == "NoSuchEntity"


def test_attach_detach_counts_attachments_and_guards_deletion(iam, new_role, unique):
    role = new_role()["RoleName"]
    arn = iam.create_policy(PolicyName=f"att-{unique}", PolicyDocument=json.dumps(S3_READ))[
        "Policy"
    ]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)  # twice is once
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC_EXECUTION)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert sorted(attached, key=lambda p: p["PolicyArn"]) == [
        {"PolicyName": f"att-{unique}", "PolicyArn": arn},
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION},
    ]
    service_role = iam.list_attached_role_policies(RoleName=role, PathPrefix="/service-role/")
    assert [p["PolicyArn"] for p in service_role["AttachedPolicies"]] == [BASIC_EXECUTION]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]

    local = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert arn in [p["Arn"] for p in local]

    error = error_of(iam.delete_policy, PolicyArn=arn)
    assert (error["Code"], error["Status"]) == ("DeleteConflict", 409)
    assert error["Message"] == "Cannot delete a policy attached to entities."

    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    error = error_of(iam.detach_role_policy, RoleName=role, PolicyArn=arn)
    assert (error["Code"], error["Status"]) == ("NoSuchEntity", 404)
    assert error["Message"] == f"Policy {arn} was not found."
    iam.delete_policy(PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=BASIC_EXECUTION)


def test_attaching_an_unknown_policy_is_no_such_entity(iam, new_role, unique):
    role = new_role()["RoleName"]
    for arn in (
        "arn:aws:iam::aws:policy/AWSLambdaFullAccessThatDoesNotExist",
        f"arn:aws:iam::{ACCOUNT}:policy/none-{unique}",
    ):
        error = error_of(iam.attach_role_policy, RoleName=role, PolicyArn=arn)
        assert (error["Code"], error["Status"]) == ("NoSuchEntity", 404)
        assert error["Message"] == f"Policy {arn} does not exist or is not attachable."
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_aws_managed_policies_resolve_with_their_documents(iam):
    for name in sorted(AWS_MANAGED):
        arn = f"arn:aws:iam::aws:policy/{name}"
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        assert policy["Arn"] == arn
        assert policy["Path"] == ("/service-role/" if "/" in name else "/")
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        document = version["PolicyVersion"]["Document"]
        assert document["Version"] == "2012-10-17" and document["Statement"], name
    basic = iam.get_policy_version(PolicyArn=BASIC_EXECUTION, VersionId="v1")["PolicyVersion"]
    assert basic["Document"]["Statement"][0]["Action"] == [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    admin = iam.get_policy_version(
        PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess", VersionId="v1"
    )
    assert admin["PolicyVersion"]["Document"]["Statement"] == [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}
    ]


def test_aws_managed_policies_are_read_only(iam):
    error = error_of(iam.delete_policy, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)


def test_list_policies_by_scope_path_and_pages(iam, unique):
    aws_arns = {
        p["Arn"]
        for p in iam.get_paginator("list_policies").paginate(Scope="AWS").search("Policies")
    }
    assert {f"arn:aws:iam::aws:policy/{name}" for name in AWS_MANAGED} <= aws_arns
    assert not any(":policy/" in arn and "::aws:" not in arn for arn in aws_arns)

    path = f"/list-{unique}/"
    names = [f"p{i}-{unique}" for i in range(3)]
    for name in names:
        iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(S3_READ))
    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] and len(first["Policies"]) == 2
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert not rest["IsTruncated"] and "Marker" not in rest
    assert [p["PolicyName"] for p in first["Policies"] + rest["Policies"]] == names
    assert "Description" not in first["Policies"][0]  # as ListPolicies answers
    everything = iam.list_policies(PathPrefix=path)["Policies"]
    assert [p["PolicyName"] for p in everything] == names
    assert iam.list_policies(Scope="AWS", PathPrefix=path)["Policies"] == []
    for name in names:
        iam.delete_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy{path}{name}")


def test_policy_tags(iam, unique):
    arn = iam.create_policy(PolicyName=f"tags-{unique}", PolicyDocument=json.dumps(S3_READ))[
        "Policy"
    ]["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    iam.delete_policy(PolicyArn=arn)
