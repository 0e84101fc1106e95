"""Connections and API destinations: stored credentials, and HTTP calls that carry them."""

from __future__ import annotations

import base64
import json
import uuid

from .conftest import Cloud, Endpoint, error_of, wait_for


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_connections_keep_their_secrets(events) -> None:
    name = unique("conn")
    created = events.create_connection(
        Name=name,
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cr3t"},
            "InvocationHttpParameters": {
                "HeaderParameters": [
                    {"Key": "x-plain", "Value": "p", "IsValueSecret": False},
                    {"Key": "x-hidden", "Value": "h", "IsValueSecret": True},
                ]
            },
        },
    )
    assert created["ConnectionState"] == "AUTHORIZED"
    assert created["ConnectionArn"].startswith(
        f"arn:aws:events:us-east-1:000000000000:connection/{name}/"
    )
    described = events.describe_connection(Name=name)
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    headers = described["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"]
    assert headers == [
        {"Key": "x-plain", "Value": "p", "IsValueSecret": False},
        {"Key": "x-hidden", "IsValueSecret": True},
    ]
    assert described["SecretArn"].startswith(
        f"arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/{name}/"
    )
    assert "s3cr3t" not in json.dumps(described, default=str)
    assert [c["Name"] for c in events.list_connections(NamePrefix=name)["Connections"]] == [name]
    assert events.deauthorize_connection(Name=name)["ConnectionState"] == "DEAUTHORIZING"
    assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    assert error_of(events.describe_connection, Name=name)["Code"] == "ResourceNotFoundException"


def destination(
    cloud: Cloud, endpoint: Endpoint, auth_type: str, auth: dict, path: str = "/hook/*"
) -> str:
    conn = cloud.events.create_connection(
        Name=unique("conn"), AuthorizationType=auth_type, AuthParameters=auth
    )["ConnectionArn"]
    dest = cloud.events.create_api_destination(
        Name=unique("dest"),
        ConnectionArn=conn,
        InvocationEndpoint=endpoint.url + path,
        HttpMethod="POST",
    )
    assert dest["ApiDestinationState"] == "ACTIVE"
    return dest["ApiDestinationArn"]


def route_to(cloud: Cloud, arn: str, **target) -> str:
    src = f"test.{uuid.uuid4().hex[:8]}"
    rule = unique("rule")
    cloud.events.put_rule(Name=rule, EventPattern=json.dumps({"source": [src]}))
    cloud.events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "api", "Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/r", **target}
        ],
    )
    return src


def test_api_key_connection_with_path_query_and_headers(
    cloud: Cloud, endpoint_server: Endpoint
) -> None:
    auth = {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k-1"},
        "InvocationHttpParameters": {
            "QueryStringParameters": [{"Key": "from", "Value": "conn", "IsValueSecret": False}]
        },
    }
    arn = destination(cloud, endpoint_server, "API_KEY", auth)
    src = route_to(
        cloud,
        arn,
        HttpParameters={
            "PathParameterValues": ["orders"],
            "HeaderParameters": {"x-target": "t"},
            "QueryStringParameters": {"q": "1"},
        },
    )
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": '{"n": 1}'}])
    [call] = wait_for(lambda: endpoint_server.calls("/hook"))
    assert call["method"] == "POST"
    assert call["path"] == "/hook/orders?from=conn&q=1"
    assert call["headers"]["x-api-key"] == "k-1"
    assert call["headers"]["x-target"] == "t"
    assert call["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(call["body"])["detail"] == {"n": 1}


def test_basic_auth_connection(cloud: Cloud, endpoint_server: Endpoint) -> None:
    auth = {"BasicAuthParameters": {"Username": "user", "Password": "pw"}}
    src = route_to(cloud, destination(cloud, endpoint_server, "BASIC", auth, "/basic"))
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": "{}"}])
    [call] = wait_for(lambda: endpoint_server.calls("/basic"))
    assert call["headers"]["Authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


def test_oauth_client_credentials_connection(cloud: Cloud, endpoint_server: Endpoint) -> None:
    auth = {
        "OAuthParameters": {
            "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"},
            "AuthorizationEndpoint": endpoint_server.url + "/token",
            "HttpMethod": "POST",
        }
    }
    arn = destination(cloud, endpoint_server, "OAUTH_CLIENT_CREDENTIALS", auth, "/oauth")
    src = route_to(cloud, arn)
    for _ in range(2):
        cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": "{}"}])
    calls = wait_for(
        lambda: len(endpoint_server.calls("/oauth")) == 2 and endpoint_server.calls("/oauth")
    )
    assert {c["headers"]["Authorization"] for c in calls} == {"Bearer tok-123"}
    [token] = endpoint_server.calls("/token")  # fetched once, then cached
    assert token["headers"]["Authorization"] == "Basic " + base64.b64encode(b"id:secret").decode()
    assert "grant_type=client_credentials" in token["body"]
    name = arn.split("/")[1]
    described = cloud.events.describe_api_destination(Name=name)
    connection = described["ConnectionArn"].split("/")[1]
    assert cloud.events.describe_connection(Name=connection)["ConnectionState"] == "AUTHORIZED"


def test_api_destinations_are_listed_updated_and_deleted(
    cloud: Cloud, endpoint_server: Endpoint
) -> None:
    auth = {"BasicAuthParameters": {"Username": "u", "Password": "p"}}
    arn = destination(cloud, endpoint_server, "BASIC", auth)
    name = arn.split("/")[1]
    cloud.events.update_api_destination(
        Name=name, HttpMethod="PUT", InvocationRateLimitPerSecond=10
    )
    described = cloud.events.describe_api_destination(Name=name)
    assert (described["HttpMethod"], described["InvocationRateLimitPerSecond"]) == ("PUT", 10)
    assert [
        d["Name"] for d in cloud.events.list_api_destinations(NamePrefix=name)["ApiDestinations"]
    ] == [name]
    cloud.events.delete_api_destination(Name=name)
    assert (
        error_of(cloud.events.describe_api_destination, Name=name)["Code"]
        == "ResourceNotFoundException"
    )
