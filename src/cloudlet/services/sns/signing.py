"""Message signatures, so that subscribers' standard verification code succeeds against cloudlet.

Each data directory gets its own RSA key (see KEY_BITS) and a self-signed X.509 certificate
(`<data dir>/sns/`), made once and kept across restarts, served at `SigningCertURL`
(`<endpoint>/_cloudlet/sns/SimpleNotificationService-<fingerprint>.pem`). SignatureVersion 1 signs
with SHA1withRSA, 2 with SHA256withRSA, over AWS's canonical string: for each field of the message
type in the documented order, the field name and its value, each followed by a newline.

`cryptography` is imported and the key made or loaded in a worker thread on first use (key
generation takes ~100 ms), so neither start-up nor the event loop pays for it. Publishing signs
through `sign_many`, which hands the work to the signing process (`signer_worker`) so that RSA runs
on another core; until that process is up, or if it dies, signatures are computed here.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime
import hashlib
import logging
import os
import subprocess
import sys
import threading
from typing import Any

import orjson

log = logging.getLogger("cloudlet.sns")

#: the fields each message type signs, in the documented order ("Subject" only when present)
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)

#: RSA-1024, not AWS's 2048: the key of a local server protects nothing, and a 1024-bit signature
#: costs a third of the CPU (~0.09 ms against ~0.26 ms here), which is what keeps a fan-out of signed
#: envelopes above 2,000 messages/s on two cores. Every verifier SNS users run (OpenSSL, Python's
#: `cryptography`, Node's `crypto`, Go, Java) accepts 1024-bit RSA signatures.
KEY_BITS = 1024
_KEY_FILE = "signing-key.pem"
_ANSWER_WITHIN_S = 10.0
_CERT_FILE = "SimpleNotificationService.pem"


def canonical(fields: dict[str, Any], names: tuple[str, ...]) -> str:
    """The string SNS signs: `Name\\nvalue\\n` for each signed field present."""
    return "".join(f"{name}\n{fields[name]}\n" for name in names if fields.get(name) is not None)


class Signer:
    def __init__(self, data_dir: str) -> None:
        self.directory = os.path.join(data_dir, "sns")
        self._key: Any = None
        self._cert_pem: bytes = b""
        self._cert_path = ""  # the URL path of the certificate, named after its fingerprint
        self._sign_args: dict[str, tuple[Any, Any]] = {}  # version -> (padding, hash)
        self._ready: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        self._worker: asyncio.subprocess.Process | None = None
        self._worker_tasks: list[asyncio.Future[Any]] = []
        self._waiting: collections.deque[asyncio.Future[list[str]]] = collections.deque()
        self._batch: list[tuple[str, str]] = []  # requests of this loop turn, sent together
        self._batch_futures: list[asyncio.Future[list[str]]] = []

    @property
    def loaded(self) -> bool:
        return self._key is not None

    async def ready(self) -> None:
        """Load (or make, the first time) the key and certificate, off the event loop."""
        if self._key is not None:
            return
        if self._ready is None:
            self._ready = asyncio.ensure_future(asyncio.to_thread(self._load_or_create))
            self._worker_tasks.append(asyncio.ensure_future(self._start_worker(self._ready)))
        await asyncio.shield(self._ready)

    def _load_or_create(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        with self._lock:
            if self._key is not None:
                return
            key_path = os.path.join(self.directory, _KEY_FILE)
            cert_path = os.path.join(self.directory, _CERT_FILE)
            if not (os.path.exists(key_path) and os.path.exists(cert_path)):
                self._create(key_path, cert_path)
            with open(key_path, "rb") as file:
                key = serialization.load_pem_private_key(file.read(), password=None)
            with open(cert_path, "rb") as file:
                self._cert_pem = file.read()
            x509.load_pem_x509_certificate(self._cert_pem)  # refuse a damaged file early
            fingerprint = hashlib.sha256(self._cert_pem).hexdigest()[:32]
            self._cert_path = f"/_cloudlet/sns/SimpleNotificationService-{fingerprint}.pem"
            self._sign_args = sign_args()
            self._key = key

    def _create(self, key_path: str, cert_path: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        os.makedirs(self.directory, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("sns.amazonaws.com")]), False)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write(key_path, key_pem, private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))

    # -- the signing process ----------------------------------------------------------------------
    async def _start_worker(self, loaded: asyncio.Future[None]) -> None:
        try:
            await loaded
        except Exception:  # `ready()` reports it to its callers
            return
        try:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cloudlet.services.sns.signer_worker",
                os.path.join(self.directory, _KEY_FILE),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as error:
            log.warning("SNS signs on the event loop: no signing process (%s)", error)
            return
        self._worker = worker
        await self._read_answers(worker)

    async def _read_answers(self, worker: asyncio.subprocess.Process) -> None:
        assert worker.stdout is not None
        try:
            while True:
                head = await worker.stdout.readexactly(4)
                data = await worker.stdout.readexactly(int.from_bytes(head, "big"))
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(orjson.loads(data))
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        self._worker = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError("the SNS signing process ended"))

    async def sign_many(self, items: list[tuple[str, str]]) -> list[str]:
        """Signatures of (version, text) pairs, from the signing process while it runs.

        Requests of one event-loop turn travel together in one frame (a pipe round trip costs
        system calls on both sides; under load many publishes arrive in the same turn)."""
        worker = self._worker
        if not items or worker is None or worker.stdin is None or worker.returncode is not None:
            return [self.sign(text, version) for version, text in items]
        loop = asyncio.get_running_loop()
        if not self._batch:
            loop.call_soon(self._send_batch)
        start = len(self._batch)
        self._batch.extend(items)
        future: asyncio.Future[list[str]] = loop.create_future()
        self._batch_futures.append(future)
        try:
            answers = await future
        except ConnectionError:
            return [self.sign(text, version) for version, text in items]
        return answers[start : start + len(items)]

    def _send_batch(self) -> None:
        items, futures = self._batch, self._batch_futures
        self._batch, self._batch_futures = [], []
        worker = self._worker
        if worker is None or worker.stdin is None or worker.returncode is not None:
            for future in futures:
                future.set_exception(ConnectionError("the SNS signing process ended"))
            return
        loop = asyncio.get_running_loop()
        shared: asyncio.Future[list[str]] = loop.create_future()
        shared.add_done_callback(lambda done: _settle(done, futures))
        self._waiting.append(shared)
        data = orjson.dumps(items)
        worker.stdin.write(len(data).to_bytes(4, "big") + data)
        deadline = loop.call_later(_ANSWER_WITHIN_S, self._stuck, shared)
        shared.add_done_callback(lambda _: deadline.cancel())

    def _stuck(self, shared: asyncio.Future[list[str]]) -> None:
        """A signing process that stops answering is ended; publishing signs here from then on."""
        if shared.done():
            return
        log.warning("the SNS signing process stopped answering; signing on the event loop")
        shared.set_exception(ConnectionError("the SNS signing process stopped answering"))
        if self._worker is not None and self._worker.returncode is None:
            self._worker.kill()

    def close(self) -> None:
        for task in self._worker_tasks:
            task.cancel()
        self._worker_tasks.clear()
        if self._worker is not None and self._worker.returncode is None:
            self._worker.kill()
        self._worker = None

    # -- use (after `ready()`) -------------------------------------------------------------------
    def certificate_pem(self) -> bytes:
        return self._cert_pem

    def cert_url(self, base_url: str) -> str:
        return base_url + self._cert_path

    def sign(self, text: str, version: str) -> str:
        """Base64 of the RSA signature of `text` (SHA1 for version "1", SHA256 for "2")."""
        pad, digest = self._sign_args["2" if version == "2" else "1"]
        return base64.b64encode(self._key.sign(text.encode(), pad, digest)).decode()

    def signing_fields(
        self, fields: dict[str, Any], names: tuple[str, ...], version: str, base_url: str
    ) -> dict[str, str]:
        """SignatureVersion, Signature and SigningCertURL for a message."""
        return {
            "SignatureVersion": version,
            "Signature": self.sign(canonical(fields, names), version),
            "SigningCertURL": self.cert_url(base_url),
        }


def _settle(done: asyncio.Future[list[str]], futures: list[asyncio.Future[list[str]]]) -> None:
    """Hand a frame's answers (or its failure) to every request that travelled in it."""
    for future in futures:
        if future.done():
            continue
        if done.cancelled() or done.exception() is not None:
            future.set_exception(ConnectionError("the SNS signing process ended"))
        else:
            future.set_result(done.result())


def sign_args() -> dict[str, tuple[Any, Any]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return {
        "1": (padding.PKCS1v15(), hashes.SHA1()),
        "2": (padding.PKCS1v15(), hashes.SHA256()),
    }


def _write(path: str, data: bytes, private: bool = False) -> None:
    """Write atomically (a crash never leaves half a key), private files readable by us only."""
    temporary = f"{path}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(temporary, flags, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
