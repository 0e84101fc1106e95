"""HTTP API authorizers: JWT (issuer, audience, expiry, scopes, signature by the issuer's JWKS)
and Lambda REQUEST authorizers with simple responses, IAM policies and caching."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from apigatewayv2.conftest import ECHO, get, json_of

AUDIENCE = "my-client"


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[str, object]]:
    """An OpenID provider on a local port: discovery document and JWKS; yields (issuer, key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    box: dict[str, str] = {}

    class Provider(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                body = orjson.dumps({"issuer": box["url"], "jwks_uri": box["url"] + "/jwks.json"})
            elif self.path.endswith("/jwks.json"):
                body = orjson.dumps({"keys": [jwk]})
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    box["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box["url"], key
    server.shutdown()


def token(key: object, iss: str, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": iss, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_jwt_authorizer(v2, http_api, function, issuer, endpoint):
    url, key = issuer
    api = http_api(Target=function(ECHO))
    api_id = api["ApiId"]
    authorizer = v2.create_authorizer(
        ApiId=api_id,
        Name="jwt",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": url, "Audience": [AUDIENCE]},
    )
    route = v2.get_routes(ApiId=api_id)["Items"][0]
    v2.update_route(
        ApiId=api_id,
        RouteId=route["RouteId"],
        AuthorizationType="JWT",
        AuthorizerId=authorizer["AuthorizerId"],
        AuthorizationScopes=["orders/read"],
    )
    assert get(endpoint, api_id, "/x")[0] == 401
    good = token(key, url, scope="orders/read profile")
    status, _, body = get(endpoint, api_id, "/x", headers={"Authorization": f"Bearer {good}"})
    assert status == 200, body
    claims = json_of(body)["requestContext"]["authorizer"]["jwt"]
    assert claims["claims"]["sub"] == "user-1" and claims["scopes"] == ["orders/read", "profile"]
    wrong_scope = token(key, url, scope="profile")
    assert get(endpoint, api_id, "/x", headers={"Authorization": wrong_scope})[0] == 403
    for bad in (
        token(key, url, exp=int(time.time()) - 10),
        token(key, url, aud="someone-else"),
        token(key, url + "/other"),
        token(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), url, scope="orders/read"
        ),
        "not.a.jwt",
    ):
        status, _, body = get(endpoint, api_id, "/x", headers={"Authorization": f"Bearer {bad}"})
        assert (status, json_of(body)) == (401, {"message": "Unauthorized"})
    cognito_style = token(key, url, aud=None, client_id=AUDIENCE, scope="orders/read")
    assert get(endpoint, api_id, "/x", headers={"Authorization": cognito_style})[0] == 200


AUTHORIZER = """
CALLS = [0]

def handler(event, context):
    CALLS[0] += 1
    allowed = event["identitySource"][0] == "letmein" if isinstance(event["identitySource"], list) \\
        else event["identitySource"] == "letmein"
    arn = event.get("routeArn") or event["methodArn"]
    if event.get("rawPath", "").endswith("simple"):
        return {"isAuthorized": allowed, "context": {"calls": CALLS[0], "who": "simple"}}
    effect = "Allow" if allowed else "Deny"
    return {"principalId": "me", "context": {"calls": CALLS[0], "who": "policy"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn}]}}
"""


def test_lambda_authorizers(v2, http_api, function, endpoint):
    api = http_api(Target=function(ECHO))
    api_id = api["ApiId"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function(AUTHORIZER)}/invocations"
    simple = v2.create_authorizer(
        ApiId=api_id,
        Name="simple",
        AuthorizerType="REQUEST",
        AuthorizerUri=uri,
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=True,
        IdentitySource=["$request.header.X-Key"],
        AuthorizerResultTtlInSeconds=300,
    )
    route = v2.get_routes(ApiId=api_id)["Items"][0]
    v2.update_route(
        ApiId=api_id,
        RouteId=route["RouteId"],
        AuthorizationType="CUSTOM",
        AuthorizerId=simple["AuthorizerId"],
    )
    assert get(endpoint, api_id, "/simple")[0] == 401
    status, _, body = get(endpoint, api_id, "/simple", headers={"X-Key": "letmein"})
    assert status == 200
    first = json_of(body)["requestContext"]["authorizer"]["lambda"]
    assert first["who"] == "simple"
    again = json_of(get(endpoint, api_id, "/simple", headers={"X-Key": "letmein"})[2])
    assert again["requestContext"]["authorizer"]["lambda"]["calls"] == first["calls"]  # cached
    status, _, body = get(endpoint, api_id, "/simple", headers={"X-Key": "wrong"})
    assert (status, json_of(body)) == (403, {"message": "Forbidden"})
    policy = v2.create_authorizer(
        ApiId=api_id,
        Name="policy",
        AuthorizerType="REQUEST",
        AuthorizerUri=uri,
        AuthorizerPayloadFormatVersion="1.0",
        IdentitySource=["$request.header.X-Key"],
        AuthorizerResultTtlInSeconds=0,
    )
    v2.update_route(ApiId=api_id, RouteId=route["RouteId"], AuthorizerId=policy["AuthorizerId"])
    status, _, body = get(endpoint, api_id, "/policy", headers={"X-Key": "letmein"})
    assert status == 200
    assert json_of(body)["requestContext"]["authorizer"]["lambda"]["who"] == "policy"
    assert get(endpoint, api_id, "/policy", headers={"X-Key": "nope"})[0] == 403
