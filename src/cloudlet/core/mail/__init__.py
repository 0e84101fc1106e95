"""cloudlet's mailbox: where email that services send ends up, readable over HTTP.

SNS email subscriptions and SES "send" mail by storing it here, so tests and people can read what
would have reached an inbox: `GET /_cloudlet/mail` lists it (`?to=` filters by recipient),
`DELETE /_cloudlet/mail` empties it, and `/_aws/ses` shows the same messages in the shape
LocalStack answers. Messages are store documents of kind "mail.message", so they survive a restart
and are wiped by a reset like every other state.

Every message is kept as the MIME message a mail server would receive (`raw`), composed here when
the sender gave only text and html. When cloudlet runs with `--smtp-url`, a relay (see `relay`)
is attached to the store, and each message is also queued durably for that SMTP server in the same
transaction that stores it; the entry's `relay` member follows its fate.

The mailbox holds no state of its own; make one wherever a store and a clock are at hand. Writes
join the caller's transaction (callers run them through the server's group commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.core.clock import Clock
from cloudlet.core.store import Store

if TYPE_CHECKING:
    from cloudlet.core.mail.relay import Relay

KIND = "mail.message"


@dataclass
class Mail:
    """One outgoing message. `raw` is the whole MIME message when the sender made it (SES
    SendRawEmail); otherwise it is composed from the other fields."""

    sender: str  # the From header, display name allowed
    to: list[str]
    subject: str = ""
    text: str | None = None
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    message_id: str | None = None
    #: MAIL FROM of the SMTP envelope (SES's ReturnPath); the sender's address when empty
    envelope_from: str = ""
    source: str = ""  # which service sent it ("sns", "ses" ...)
    account: str = ""
    region: str = ""
    #: more members for the listing (SES: template, tags, configuration set ...)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


def address_of(text: str) -> str:
    """`"Shop" <a@b.c>` -> `a@b.c`."""
    from email.utils import getaddresses  # the email package costs ~5 ms: only when mail is sent

    found = getaddresses([text])
    return found[0][1] if found and found[0][1] else text.strip()


def compose(mail: Mail, message_id: str, timestamp_ms: int) -> bytes:
    """The MIME message of `mail` (CRLF line ends, as sent over SMTP); Bcc is never a header."""
    from datetime import UTC, datetime
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["From"] = mail.sender
    if mail.to:
        msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    if mail.reply_to:
        msg["Reply-To"] = ", ".join(mail.reply_to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(timestamp_ms / 1000, UTC))
    msg["Message-ID"] = f"<{message_id}@{_message_id_domain(mail)}>"
    for name, value in mail.headers.items():
        if name.lower() not in _COMPOSED:
            msg[name] = value
    if mail.html is not None and mail.text is not None:
        msg.set_content(mail.text, cte=_cte(mail.text))
        msg.add_alternative(mail.html, subtype="html", cte=_cte(mail.html))
    elif mail.html is not None:
        msg.set_content(mail.html, subtype="html", cte=_cte(mail.html))
    else:
        msg.set_content(mail.text or "", cte=_cte(mail.text or ""))
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def _cte(text: str) -> str:
    """7-bit text stays readable; anything else is quoted-printable, so every SMTP server (with
    or without 8BITMIME) takes the message unchanged."""
    return (
        "7bit"
        if text.isascii() and all(len(line) < 998 for line in text.splitlines())
        else ("quoted-printable")
    )


_COMPOSED = {"from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version"}


def _message_id_domain(mail: Mail) -> str:
    if mail.source == "ses":
        return "email.amazonses.com"
    if mail.source == "sns":
        return "sns.amazonaws.com"
    return "cloudlet.localhost"


def raw_text(raw: bytes) -> str:
    """MIME bytes as text for the listing (8-bit bodies that are not UTF-8 show replacements)."""
    return raw.decode("utf-8", "replace")


class Mailbox:
    """The server's mailbox (one per App: `app.mailbox`); `relay` is set when --smtp-url is."""

    def __init__(self, store: Store, clock: Clock, relay: Relay | None = None) -> None:
        self.store = store
        self.clock = clock
        self.relay = relay

    def deliver(
        self,
        *,
        sender: str,
        to: list[str],
        subject: str,
        body: str,
        html: str | None = None,
        headers: dict[str, str] | None = None,
        source: str = "",
    ) -> str:
        """Store a plain message (as SNS email subscriptions send them); returns its id."""
        mail = Mail(sender, list(to), subject, body, html, headers=dict(headers or {}))
        mail.source = source
        return self.send(mail)

    def send(self, mail: Mail) -> str:
        """Keep one message, and queue it for the SMTP relay when there is one; returns its id.

        Keys start with the time, so listing is in order.
        """
        now = self.clock.now_ms()
        message_id = mail.message_id or ids.message_id()
        raw = mail.raw if mail.raw is not None else compose(mail, message_id, now)
        doc: dict[str, Any] = {
            "id": message_id,
            "from": mail.sender,
            "to": list(mail.to),
            "cc": list(mail.cc),
            "bcc": list(mail.bcc),
            "subject": mail.subject,
            "text": mail.text,
            "body": mail.text or "",  # the name SNS's first mailbox used for the text
            "html": mail.html,
            "raw": raw_text(raw),
            "timestamp": now,
            "source": mail.source,
            "account": mail.account,
            "region": mail.region,
        }
        if mail.reply_to:
            doc["reply_to"] = list(mail.reply_to)
        if mail.headers:
            doc["headers"] = dict(mail.headers)
        doc.update(mail.extra)
        key = f"{now:015d}-{message_id}"
        relay = self.relay
        if relay is not None and mail.recipients:
            envelope = address_of(mail.envelope_from or mail.sender)
            doc["relay"] = relay.enqueue(key, raw, envelope, mail.recipients)
        self.store.put(KIND, key, doc)
        return message_id

    def messages(
        self, to: str | None = None, *, sender: str | None = None, message_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Messages oldest first; with `to`, only those addressed to it (To, Cc or Bcc), with
        `sender` only those from it (case-insensitive), with `message_id` only that one."""
        found = [doc for _, doc in self.store.scan(KIND)]
        if to:
            wanted = to.strip().lower()
            found = [doc for doc in found if wanted in _recipients(doc)]
        if sender:
            wanted = sender.strip().lower()
            found = [doc for doc in found if address_of(doc["from"]).lower() == wanted]
        if message_id:
            found = [doc for doc in found if doc["id"] == message_id]
        return found

    def clear(self, message_id: str | None = None) -> int:
        """Delete every message (or the one with `message_id`); returns how many went."""
        keys = [
            key
            for key, doc in self.store.scan(KIND)
            if message_id is None or doc["id"] == message_id
        ]
        for key in keys:
            self.store.delete(KIND, key)
        return len(keys)


def _recipients(doc: dict[str, Any]) -> set[str]:
    everyone = [*doc.get("to", ()), *doc.get("cc", ()), *doc.get("bcc", ())]
    return {address_of(r).lower() for r in everyone} | {r.lower() for r in everyone}


def localstack_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A mailbox entry as LocalStack's `GET /_aws/ses` lists a sent message."""
    from datetime import UTC, datetime

    destination: dict[str, list[str]] = {"ToAddresses": list(doc.get("to", ()))}
    if doc.get("cc"):
        destination["CcAddresses"] = list(doc["cc"])
    if doc.get("bcc"):
        destination["BccAddresses"] = list(doc["bcc"])
    stamp = datetime.fromtimestamp(doc["timestamp"] / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    view: dict[str, Any] = {
        "Id": doc["id"],
        "Region": doc.get("region") or "us-east-1",
        "Destination": destination,
        "Source": doc.get("envelope_source") or doc["from"],
        "Subject": doc.get("subject", ""),
        "Body": {"text_part": doc.get("text"), "html_part": doc.get("html")},
        "RawData": doc.get("raw", ""),
        "Timestamp": stamp,
    }
    if doc.get("template"):
        view["Template"] = doc["template"]
        view["TemplateData"] = doc.get("template_data", "{}")
    return view
