"""Helpers of the SES tests: clients of the session server (identities auto-verified), a server of
this package that follows AWS's sandbox (`strict`), a real SMTP server as the receiving peer
(aiosmtpd, with or without STARTTLS, implicit TLS and AUTH), the mailbox over HTTP, waiting for
conditions with deadlines.
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer, free_port
from helpers import error_of, http, wait_for  # noqa: F401 - shared with the tests here


def client(endpoint: str, service: str, region: str = "us-east-1"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def address(prefix: str = "user", domain: str = "example.com") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@{domain}"


def mailbox(endpoint: str, **query: str) -> list[dict[str, Any]]:
    url = f"{endpoint}/_cloudlet/mail"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    status, _, body = http("GET", url)
    assert status == 200, body
    return json.loads(body)


def advance(endpoint: str, duration: str) -> None:
    body = json.dumps({"advance": duration}).encode()
    headers = {"Content-Type": "application/json"}
    assert http("POST", f"{endpoint}/_cloudlet/clock", body, headers)[0] == 200


class Cloud:
    """SES v1 and v2 clients of one server."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.ses = client(endpoint, "ses")
        self.v2 = client(endpoint, "sesv2")

    def sender(self) -> str:
        """A fresh verified sender address (verified at once on an auto-verifying server)."""
        source = address("sender")
        self.ses.verify_email_identity(EmailAddress=source)
        return source

    def mail(self, **query: str) -> list[dict[str, Any]]:
        return mailbox(self.endpoint, **query)


@pytest.fixture
def cloud(endpoint: str) -> Cloud:
    return Cloud(endpoint)


@pytest.fixture(scope="package")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A server that verifies identities as AWS does (mailbox links) and starts in the sandbox."""
    data_dir = tmp_path_factory.mktemp("ses-strict")
    config = Config(port=0, data_dir=str(data_dir), log_level="warning", ses_auto_verify=False)
    server = BackgroundServer(App(config)).start()
    yield Cloud(server.endpoint)
    server.stop()


# -- a real SMTP server -------------------------------------------------------------------------


class SmtpPeer:
    """aiosmtpd on a port of its own; `messages` are the envelopes it accepted."""

    def __init__(self, port: int | None = None, **options: Any) -> None:
        self.port = port or free_port()
        self.options = options
        self.messages: list[Any] = []
        self.logins: list[tuple[str, str]] = []
        self.accounts = {("mailer", "s3cret pass"), ("mailer", "hunter22")}
        self._lock = threading.Lock()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        from aiosmtpd.smtp import AuthResult

        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login in self.accounts, handled=False)

    def start(self) -> SmtpPeer:
        from aiosmtpd.controller import Controller

        options = dict(self.options)
        if options.pop("auth", False):
            options.update(authenticator=self.authenticate, auth_required=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Any]:
        wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


@pytest.fixture
def smtp_peer() -> Iterator[Callable[..., SmtpPeer]]:
    peers: list[SmtpPeer] = []

    def make(port: int | None = None, **options: Any) -> SmtpPeer:
        peer = SmtpPeer(port, **options)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.stop()


@pytest.fixture
def new_cloud(tmp_path: Path) -> Iterator[Callable[..., Cloud]]:
    """In-process servers of a test's own: `new_cloud(smtp_url="", **config)`."""
    servers: list[BackgroundServer] = []

    def make(smtp_url: str = "", **config: Any) -> Cloud:
        data_dir = tmp_path / f"data-{len(servers)}"
        config.setdefault("log_level", "warning")
        app = App(Config(port=0, data_dir=str(data_dir), smtp_url=smtp_url, **config))
        servers.append(BackgroundServer(app).start())
        return Cloud(servers[-1].endpoint)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server-side TLS context with a self-signed certificate for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context
