"""STS through boto3 and the AWS CLI: caller identity, AssumeRole and the credentials it issues.

Credentials issued by AssumeRole are used by new clients, whose calls then run as the role.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator

import boto3
import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from iam.conftest import ACCOUNT, error_of


def _client(endpoint: str, service: str, credentials: dict, region: str = "us-east-1"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_caller_identity_of_the_default_credentials_is_the_account_root(aws_client):
    for region in ("us-east-1", "eu-west-1"):  # STS clients sign for their own region
        identity = aws_client("sts", region=region).get_caller_identity()
        assert identity["Account"] == ACCOUNT
        assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
        assert identity["UserId"] == ACCOUNT
    other = aws_client("sts", access_key="111111111111").get_caller_identity()
    assert (other["Account"], other["Arn"]) == ("111111111111", "arn:aws:iam::111111111111:root")


def test_assume_role_issues_credentials_that_act_as_the_role(sts, new_role, endpoint):
    role = new_role()
    before = dt.datetime.now(dt.UTC)
    answer = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="deploy@ci")
    credentials = answer["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", credentials["AccessKeyId"])
    assert len(credentials["SecretAccessKey"]) == 40 and credentials["SessionToken"]
    lifetime = (credentials["Expiration"] - before).total_seconds()
    assert 3540 <= lifetime <= 3660  # one hour by default
    assumed = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/deploy@ci"
    assert answer["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role['RoleId']}:deploy@ci",
        "Arn": assumed,
    }

    identity = _client(endpoint, "sts", credentials, "ap-southeast-2").get_caller_identity()
    assert identity["Arn"] == assumed
    assert identity["UserId"] == f"{role['RoleId']}:deploy@ci"
    assert identity["Account"] == ACCOUNT

    second = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="deploy@ci")["Credentials"]
    assert second["AccessKeyId"] != credentials["AccessKeyId"]


def test_assume_role_of_a_missing_role_is_access_denied(sts, unique):
    arn = f"arn:aws:iam::{ACCOUNT}:role/ghost-{unique}"
    error = error_of(sts.assume_role, RoleArn=arn, RoleSessionName="s1")
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)
    assert error["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: sts:AssumeRole "
        f"on resource: {arn}"
    )


def test_duration_is_bounded_by_the_role_and_by_role_chaining(sts, new_role, endpoint):
    short = new_role()
    error = error_of(
        sts.assume_role, RoleArn=short["Arn"], RoleSessionName="s0", DurationSeconds=3601
    )
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert error["Message"] == (
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    )
    long = new_role(MaxSessionDuration=7200)
    credentials = sts.assume_role(RoleArn=long["Arn"], RoleSessionName="s0", DurationSeconds=7200)[
        "Credentials"
    ]
    lifetime = (credentials["Expiration"] - dt.datetime.now(dt.UTC)).total_seconds()
    assert 7100 <= lifetime <= 7260

    as_role = _client(endpoint, "sts", credentials)
    error = error_of(
        as_role.assume_role, RoleArn=long["Arn"], RoleSessionName="s02", DurationSeconds=7200
    )
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert "1 hour session limit for roles assumed by role chaining" in error["Message"]
    chained = as_role.assume_role(RoleArn=short["Arn"], RoleSessionName="s02")
    assert chained["AssumedRoleUser"]["Arn"].endswith(f"/{short['RoleName']}/s02")
    refused = error_of(as_role.assume_role, RoleArn=f"{short['Arn']}-gone", RoleSessionName="s03")
    assert refused["Message"].startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{long['RoleName']}/s0 is not authorized"
    )


def test_role_session_name_follows_the_model(sts, new_role):
    error = error_of(sts.assume_role, RoleArn=new_role()["Arn"], RoleSessionName="has space")
    assert error["Status"] == 400
    assert "roleSessionName" in error["Message"]


def test_get_session_token_stands_for_the_caller(sts, endpoint, new_role):
    credentials = sts.get_session_token(DurationSeconds=7200)["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    lifetime = (credentials["Expiration"] - dt.datetime.now(dt.UTC)).total_seconds()
    assert lifetime <= 3660  # the root user's sessions last an hour at most
    identity = _client(endpoint, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"

    assumed = sts.assume_role(RoleArn=new_role()["Arn"], RoleSessionName="s0")["Credentials"]
    error = error_of(_client(endpoint, "sts", assumed).get_session_token)
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)


def test_assume_role_with_web_identity_accepts_any_token(sts, new_role, endpoint):
    role = new_role()
    token = _jwt(
        {"sub": "repo:acme/app:ref:main", "aud": "sts.amazonaws.com", "iss": "https://id.example"}
    )
    answer = sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="gh", WebIdentityToken=token
    )
    assert answer["SubjectFromWebIdentityToken"] == "repo:acme/app:ref:main"
    assert answer["Audience"] == "sts.amazonaws.com"
    assert answer["Provider"] == "id.example"
    identity = _client(endpoint, "sts", answer["Credentials"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/gh"

    opaque = sts.assume_role_with_web_identity(
        RoleArn=role["Arn"], RoleSessionName="any", WebIdentityToken="not-a-jwt"
    )
    assert opaque["Credentials"]["AccessKeyId"].startswith("ASIA")
    error = error_of(
        sts.assume_role_with_web_identity,
        RoleArn=f"{role['Arn']}-gone",
        RoleSessionName="gh",
        WebIdentityToken=token,
    )
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)


def test_principal_for_maps_issued_keys_to_their_role(server, sts, new_role):
    role = new_role()
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="helper")["Credentials"]
    provider = server.app.provider("sts")
    principal = provider.principal_for(credentials["AccessKeyId"])
    assert principal is not None
    assert principal["role_arn"] == role["Arn"]
    assert principal["session_name"] == "helper"
    assert principal["account"] == ACCOUNT
    assert principal["expired"] is False
    assert provider.principal_for("test") is None
    assert provider.principal_for("ASIA0000000000000000") is None


def test_role_credentials_for_services_act_as_the_role(server, new_role, endpoint, unique):
    provider = server.app.provider("sts")
    role = new_role()
    credentials = provider.role_credentials(ACCOUNT, role["Arn"], "orders-fn")
    identity = _client(endpoint, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/orders-fn"
    assert identity["UserId"] == f"{role['RoleId']}:orders-fn"
    # a made-up role ARN (common in local tutorials) still gets working credentials
    made_up = f"arn:aws:iam::{ACCOUNT}:role/never-created-{unique}"
    credentials = provider.role_credentials(ACCOUNT, made_up)
    identity = _client(endpoint, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/never-created-{unique}/cloudlet"


def test_get_user_without_a_name_is_the_caller(iam, sts, new_role, endpoint):
    user = iam.get_user()["User"]
    assert (user["Arn"], user["UserId"]) == (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
    assumed = sts.assume_role(RoleArn=new_role()["Arn"], RoleSessionName="s0")["Credentials"]
    error = error_of(_client(endpoint, "iam", assumed).get_user)
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert error_of(iam.get_user, UserName="nobody")["Code"] == "NoSuchEntity"


def test_caller_identity_through_the_aws_cli(aws_cli):
    done = aws_cli("sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


# -- expiry: a server of its own, since moving the clock is for good --------------------------------


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    data_dir = tmp_path_factory.mktemp("sts-clock")
    server = BackgroundServer(
        App(Config(port=0, data_dir=str(data_dir), log_level="warning"))
    ).start()
    yield server
    server.stop()


def test_credentials_expire_on_cloudlets_clock(clock_server):
    endpoint = clock_server.endpoint
    root = {"AccessKeyId": "test", "SecretAccessKey": "test", "SessionToken": None}
    iam = _client(endpoint, "iam", root)
    role = iam.create_role(
        RoleName="expiring",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]
    credentials = _client(endpoint, "sts", root).assume_role(
        RoleArn=role["Arn"], RoleSessionName="short", DurationSeconds=900
    )["Credentials"]
    as_role = _client(endpoint, "sts", credentials)
    assert as_role.get_caller_identity()["Arn"].endswith("/expiring/short")

    clock_server.app.clock.advance(901)
    error = error_of(as_role.get_caller_identity)
    assert (error["Code"], error["Status"]) == ("ExpiredToken", 403)
    assert error["Message"] == "The security token included in the request is expired"
    assert clock_server.app.provider("sts").principal_for(credentials["AccessKeyId"])["expired"]


def test_assumed_role_credentials_act_in_the_role_account(aws_client, unique):
    """Temporary credentials of a role in another account create resources in that account."""
    import boto3

    other = "111111111111"
    iam = aws_client("iam", access_key=other)
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
    role = iam.create_role(RoleName=f"cross-{unique}", AssumeRolePolicyDocument=trust)["Role"]
    creds = aws_client("sts")
    issued = creds.assume_role(RoleArn=role["Arn"], RoleSessionName="session")["Credentials"]
    endpoint = creds.meta.endpoint_url
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )
    url = sqs.create_queue(QueueName=f"in-role-account-{unique}")["QueueUrl"]
    assert f"/{other}/" in url
