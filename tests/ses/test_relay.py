"""The SMTP relay against a real SMTP server (aiosmtpd): plain, STARTTLS with AUTH, implicit TLS;
permanent failures; durability while the server is down and across a `kill -9`; SNS email too."""

from __future__ import annotations

import email
from email import policy

import boto3
import pytest

from cloudlet.core.mail.relay import SmtpSettings, retry_delay_s
from cloudlet.server import free_port

from .conftest import Cloud, address, advance, wait_for


def _send(cloud: Cloud, **extra) -> tuple[str, str, str, str]:
    source, to, bcc = cloud.sender(), address("to"), address("bcc")
    message_id = cloud.ses.send_email(
        Source=f"Sender <{source}>",
        Destination={"ToAddresses": [to], "BccAddresses": [bcc]},
        Message={"Subject": {"Data": "relayed"}, "Body": {"Text": {"Data": "over SMTP"}}},
        **extra,
    )["MessageId"]
    return message_id, source, to, bcc


def _relay_state(cloud: Cloud, message_id: str) -> dict:
    return cloud.mail(id=message_id)[0]["relay"]


def test_url_parsing():
    plain = SmtpSettings.parse("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls) == (
        "mail.example.com",
        25,
        False,
        None,
    )
    tls = SmtpSettings.parse("smtps://u%40x:p%3Ass@host?verify=false")
    assert (tls.port, tls.implicit_tls, tls.user, tls.password, tls.verify) == (
        465,
        True,
        "u@x",
        "p:ss",
        False,
    )
    assert "p:ss" not in repr(tls) and tls.redacted() == "smtps://u@x:***@host:465"
    assert SmtpSettings.parse("smtp://h:587?starttls=true").starttls is True
    assert SmtpSettings.parse("smtp://h:2525?starttls=false").starttls is False
    explicit = SmtpSettings.parse("smtp://a:b@h", user="cli-user", password="cli-pass")
    assert (explicit.user, explicit.password) == ("cli-user", "cli-pass")
    for bad in ("http://h", "smtp://", "smtp://h?starttls=maybe"):
        with pytest.raises(ValueError):
            SmtpSettings.parse(bad)
    assert [retry_delay_s(n) for n in (1, 2, 3, 10, 20)] == [1, 2, 4, 300, 300]


def test_relay_plain_smtp(smtp_peer, new_cloud):
    peer = smtp_peer().start()
    cloud = new_cloud(f"smtp://127.0.0.1:{peer.port}")
    message_id, source, to, bcc = _send(cloud, ReturnPath="bounces@example.com")
    [envelope] = peer.wait(1)
    assert envelope.mail_from == "bounces@example.com"
    assert envelope.rcpt_tos == [to, bcc]
    received = email.message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "relayed" and "Bcc" not in received
    assert received["From"] == f"Sender <{source}>"
    assert received.get_content().strip() == "over SMTP"
    state = wait_for(
        lambda: (
            _relay_state(cloud, message_id)["status"] == "sent" and _relay_state(cloud, message_id)
        )
    )
    assert state["attempts"] == 1 and state["server"] == f"127.0.0.1:{peer.port}"


def test_relay_starttls_with_auth(smtp_peer, new_cloud, tls_context):
    peer = smtp_peer(tls_context=tls_context, require_starttls=True, auth=True).start()
    url = f"smtp://mailer:s3cret%20pass@127.0.0.1:{peer.port}?starttls=true&verify=false"
    cloud = new_cloud(url)
    message_id, *_ = _send(cloud)
    peer.wait(1)
    assert peer.logins == [("mailer", "s3cret pass")]
    state = wait_for(
        lambda: (
            _relay_state(cloud, message_id)["status"] == "sent" and _relay_state(cloud, message_id)
        )
    )
    assert "s3cret" not in str(state)

    # credentials from --smtp-user / --smtp-password (Config fields) work the same
    other = new_cloud(
        f"smtp://127.0.0.1:{peer.port}?verify=false",
        smtp_user="mailer",
        smtp_password="s3cret pass",
    )
    _send(other)
    peer.wait(2)


def test_relay_implicit_tls(smtp_peer, new_cloud, tls_context):
    peer = smtp_peer(ssl_context=tls_context).start()
    cloud = new_cloud(f"smtps://127.0.0.1:{peer.port}?verify=false")
    _send(cloud)
    [envelope] = peer.wait(1)
    assert b"Subject: relayed" in envelope.content


def test_wrong_password_fails_for_good(smtp_peer, new_cloud, tls_context):
    peer = smtp_peer(tls_context=tls_context, auth=True).start()
    cloud = new_cloud(f"smtp://mailer:wrong@127.0.0.1:{peer.port}?verify=false")
    message_id, *_ = _send(cloud)
    state = wait_for(
        lambda: (
            _relay_state(cloud, message_id)["status"] == "failed"
            and _relay_state(cloud, message_id)
        )
    )
    assert state["error"].startswith("(535") and "wrong" not in str(state)
    assert peer.messages == []


def test_relay_waits_for_the_server(smtp_peer, new_cloud):
    """The SMTP server is down: the message is retried with back-off until it is up."""
    port = free_port()
    cloud = new_cloud(f"smtp://127.0.0.1:{port}")
    message_id, *_ = _send(cloud)
    state = wait_for(
        lambda: (
            _relay_state(cloud, message_id)["status"] == "retrying"
            and _relay_state(cloud, message_id)
        )
    )
    assert state["attempts"] >= 1 and state["error"]
    peer = smtp_peer(port).start()

    def arrived() -> bool:
        if peer.messages:
            return True
        advance(cloud.endpoint, "5m")  # the next retry is due at once
        return False

    wait_for(arrived, timeout=15, interval=0.2)
    assert wait_for(lambda: _relay_state(cloud, message_id)["status"] == "sent")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_relay_survives_kill_9(smtp_peer, cloudlet_process):
    port = free_port()
    url = f"smtp://mailer:hunter22@127.0.0.1:{port}"
    process = cloudlet_process.start("--smtp-url", url, "--log-level", "info")
    cloud = Cloud(process.endpoint)
    message_id, _, to, _ = _send(cloud)
    wait_for(lambda: _relay_state(cloud, message_id)["status"] == "retrying")
    process.kill()
    log = process.proc.stderr.read().decode()
    assert "hunter22" not in log and "mailer:***@127.0.0.1" in log

    process.start("--smtp-url", url)
    peer = smtp_peer(port, auth=True, auth_require_tls=False).start()

    def arrived() -> bool:
        if peer.messages:
            return True
        advance(cloud.endpoint, "5m")
        return False

    wait_for(arrived, timeout=20, interval=0.2)
    [envelope] = peer.messages
    assert to in envelope.rcpt_tos
    assert peer.logins[-1] == ("mailer", "hunter22")
    assert wait_for(lambda: _relay_state(cloud, message_id)["status"] == "sent")


def test_sns_email_is_relayed(smtp_peer, new_cloud):
    peer = smtp_peer().start()
    cloud = new_cloud(f"smtp://127.0.0.1:{peer.port}")
    sns = boto3.client(
        "sns",
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    topic = sns.create_topic(Name="relayed")["TopicArn"]
    subscriber = address("sns")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=subscriber)
    [envelope] = peer.wait(1)
    assert envelope.rcpt_tos == [subscriber]
    received = email.message_from_bytes(envelope.content, policy=policy.default)
    assert received["Subject"] == "AWS Notification - Subscription Confirmation"
    assert cloud.mail(to=subscriber)[0]["source"] == "sns"


def test_command_line_options(monkeypatch):
    from cloudlet import cli

    monkeypatch.setenv("CLOUDLET_SMTP_URL", "smtp://env-host:2525")
    monkeypatch.setenv("CLOUDLET_SMTP_PASSWORD", "from-env")
    monkeypatch.setenv("CLOUDLET_SES_AUTO_VERIFY", "false")
    args = cli._parser().parse_args(["start"])
    assert (args.smtp_url, args.smtp_password, args.ses_auto_verify) == (
        "smtp://env-host:2525",
        "from-env",
        False,
    )
    args = cli._parser().parse_args(["start", "--smtp-url", "smtps://h", "--ses-auto-verify"])
    assert (args.smtp_url, args.ses_auto_verify) == ("smtps://h", True)
    monkeypatch.delenv("CLOUDLET_SES_AUTO_VERIFY")
    assert cli._parser().parse_args(["start"]).ses_auto_verify is True


def test_a_bad_smtp_url_stops_the_start(capsys):
    from cloudlet import cli

    assert cli.main(["start", "--ephemeral", "--smtp-url", "http://mail.example.com"]) == 2
    assert "--smtp-url" in capsys.readouterr().err
