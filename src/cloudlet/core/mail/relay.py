"""The SMTP relay: every message the mailbox keeps also goes to a real SMTP server, durably.

`cloudlet start --smtp-url smtp://user:password@host:587` makes one Relay per server. A message
becomes a row of the core/queue queue `mail/relay`, written in the same transaction as its
mailbox entry, so a message the API acknowledged is relayed even if cloudlet stops first: at the
next start the consumer picks the row up again. Attempts run with aiosmtplib (imported on first
use); a temporary failure (unreachable server, 4xx reply) is retried with exponential back-off
(1 s, 2 s, 4 s ... at most 5 minutes apart, for a day by cloudlet's clock, so moving the clock
makes retries due), a permanent one (5xx reply) ends it. The mailbox entry's `relay` member
records the state: queued, retrying (with the last error), sent or failed.

The relay belongs to the store it serves (`attach`): any Mailbox made from that store — SNS makes
its own from a store and a clock — finds it, while several servers in one process keep theirs
apart. The password never reaches a log line or the mailbox.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from cloudlet.core.queue import Consumer
from cloudlet.core.store import NewRow, QueueRow, Store

if TYPE_CHECKING:
    from cloudlet.app import App

log = logging.getLogger("cloudlet.mail")

QUEUE = "mail/relay"
_PARALLEL = 8
_WAIT_S = 20.0
_MAX_DELAY_S = 300
_GIVE_UP_MS = 86_400_000
_RETENTION_MS = 14 * 86_400_000
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to relay: parsed from `smtp://` / `smtps://` URLs."""

    host: str
    port: int
    implicit_tls: bool = False
    #: None: STARTTLS when the server offers it; True: required; False: never
    starttls: bool | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    timeout: float = 30.0

    @classmethod
    def parse(cls, url: str, user: str | None = None, password: str | None = None) -> SmtpSettings:
        """`smtp[s]://[user[:password]@]host[:port][?starttls=true|false&verify=false]`.

        `user` and `password` (from --smtp-user / --smtp-password) win over the URL's.
        """
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp://host:port or smtps://host:port")
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=None if implicit else _flag(query.get("starttls"), "starttls"),
            user=user or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
            verify=_flag(query.get("verify"), "verify") is not False,
        )

    def redacted(self) -> str:
        """The URL without the password, for logs and the mailbox."""
        who = f"{self.user}:***@" if self.user else ""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{who}{self.host}:{self.port}"


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"the SMTP URL's {name} must be true or false, not {value!r}")


def retry_delay_s(attempt: int) -> int:
    """Seconds before the next try after failed attempt number `attempt` (1-based)."""
    return min(2 ** (attempt - 1), _MAX_DELAY_S)


class Relay:
    def __init__(self, app: App, settings: SmtpSettings) -> None:
        self.app = app
        self.settings = settings
        self.store = app.store
        self.clock = app.clock
        self.queues = app.queues
        self.worker = Consumer(
            app.queues,
            QUEUE,
            self._attempt,
            lease_ms=int((settings.timeout * 2 + 30) * 1000),
            parallel=_PARALLEL,
            wait_s=_WAIT_S,
            name="cloudlet-mail-relay",
        )

    # -- writing (inside the caller's commit) ----------------------------------------------------
    def enqueue(self, key: str, raw: bytes, sender: str, recipients: list[str]) -> dict[str, Any]:
        """Queue one message for the SMTP server; returns the relay state for its mailbox entry."""
        now = self.clock.now_ms()
        try:
            body, encoded = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode("ascii"), True
        meta = {"key": key, "from": sender, "rcpt": recipients, "b64": encoded}
        meta.update(attempt=0, first=now)
        row = NewRow(
            message_id=key.partition("-")[2] or key,  # keys are "<time>-<message id>"
            body=body,
            meta=orjson.dumps(meta),
            sent_at=now,
            visible_at=now,
            expires_at=now + _RETENTION_MS,
        )
        self.queues.send(QUEUE, [row])
        self.start()
        return {"status": "queued", "server": self.server, "attempts": 0}

    @property
    def server(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # -- consuming -------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the consumer (idempotent); the start hook calls this after a restart."""
        self.worker.start()

    def close(self) -> None:
        self.worker.close()

    async def _attempt(self, row: QueueRow) -> None:
        meta = orjson.loads(row.meta)
        raw = base64.b64decode(row.body) if meta.get("b64") else row.body.encode("utf-8")
        outcome = await self._send(raw, meta["from"], meta["rcpt"])
        await self.app.commit(self._settle, row, meta, outcome)

    async def _send(self, raw: bytes, sender: str, recipients: list[str]) -> Outcome:
        import aiosmtplib  # lazily: only servers that relay pay for the import

        s = self.settings
        try:
            refused, response = await aiosmtplib.send(
                raw,
                sender=sender,
                recipients=recipients,
                hostname=s.host,
                port=s.port,
                username=s.user,
                password=s.password,
                use_tls=s.implicit_tls,
                start_tls=s.starttls,
                validate_certs=s.verify,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            permanent = all(code >= 500 for code in codes)
            return Outcome("failed" if permanent else "retry", _describe(error))
        except aiosmtplib.SMTPResponseException as error:
            return Outcome("failed" if error.code >= 500 else "retry", _describe(error))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return Outcome("retry", _describe(error))
        detail = {addr: f"{r.code} {r.message}" for addr, r in refused.items()}
        return Outcome("sent", response, detail)

    def _settle(self, row: QueueRow, meta: dict[str, Any], outcome: Outcome) -> None:
        """Acknowledge, retry later or give up — in one commit with the row's removal — and
        record the state on the mailbox entry."""
        receipt = self.worker.receipt(row)
        if not self.queues.delete(QUEUE, row.seq, receipt):
            return  # the lease ran out and another attempt owns the row now
        attempt = meta["attempt"] + 1
        now = self.clock.now_ms()
        state: dict[str, Any] = {"server": self.server, "attempts": attempt}
        if outcome.status == "sent":
            state.update(status="sent", at=now, response=outcome.detail)
            if outcome.refused:
                state["refused"] = outcome.refused
            log.info("relayed mail %s to %s", row.message_id, self.settings.redacted())
        elif outcome.status == "retry" and now - meta["first"] < _GIVE_UP_MS:
            due = now + retry_delay_s(attempt) * 1000
            state.update(status="retrying", error=outcome.detail, next=due)
            meta = {**meta, "attempt": attempt}
            self.queues.send(QUEUE, [_again(row, meta, due)])
            log.info("relaying mail %s: %s; retrying", row.message_id, outcome.detail)
        else:
            state.update(status="failed", error=outcome.detail)
            log.warning("relaying mail %s failed: %s", row.message_id, outcome.detail)
        _record(self.store, meta["key"], state)


@dataclass
class Outcome:
    status: str  # "sent", "retry" or "failed"
    detail: str = ""
    refused: dict[str, str] = field(default_factory=dict)


def _again(row: QueueRow, meta: dict[str, Any], due: int) -> NewRow:
    return NewRow(
        message_id=row.message_id,
        body=row.body,
        meta=orjson.dumps(meta),
        sent_at=row.sent_at,
        visible_at=due,
        expires_at=row.expires_at,
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _record(store: Store, key: str, state: dict[str, Any]) -> None:
    from cloudlet.core.mail import KIND

    doc = store.get(KIND, key)
    if doc is not None:  # gone when the mailbox was emptied meanwhile: the mail still went
        store.put(KIND, key, {**doc, "relay": state})


def start(app: App) -> None:
    """At server start: attach the relay `--smtp-url` asks for, and resume queued messages."""
    config = app.config
    url = getattr(config, "smtp_url", "")
    pending = app.store.counts(QUEUE, app.clock.now_ms())
    waiting = pending.visible + pending.in_flight + pending.delayed
    if not url:
        if waiting:
            log.warning(
                "%d mail messages wait for an SMTP relay; start with --smtp-url to send them",
                waiting,
            )
        return
    settings = SmtpSettings.parse(
        url, getattr(config, "smtp_user", None), getattr(config, "smtp_password", None)
    )
    relay = Relay(app, settings)
    app.mailbox.relay = relay
    log.info("relaying mail to %s", settings.redacted())
    if waiting:
        relay.start()
