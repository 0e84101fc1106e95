"""Sending with both APIs and the AWS CLI: what lands in the mailbox, AWS's checks and errors,
the sandbox, quotas and statistics, configuration sets."""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
from email import policy
from email.message import EmailMessage

from .conftest import Cloud, address, advance, error_of, wait_for

MESSAGE_ID = re.compile(
    r"^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000$"
)


def _message(subject: str = "Hello", text: str | None = "Hi there", html: str | None = None):
    body = {}
    if text is not None:
        body["Text"] = {"Data": text, "Charset": "UTF-8"}
    if html is not None:
        body["Html"] = {"Data": html, "Charset": "UTF-8"}
    return {"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body}


def test_send_email_lands_in_the_mailbox(cloud: Cloud):
    source = cloud.sender()
    to, cc, bcc = address("to"), address("cc"), address("bcc")
    sent = cloud.ses.send_email(
        Source=f"Shop <{source}>",
        Destination={"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]},
        Message=_message("Your order", "Thanks — €5", "<p>Thanks</p>"),
        ReplyToAddresses=["help@example.com"],
        Tags=[{"Name": "campaign", "Value": "spring"}],
    )
    assert MESSAGE_ID.match(sent["MessageId"])
    [mail] = cloud.mail(to=bcc)
    assert mail["id"] == sent["MessageId"]
    assert (mail["from"], mail["to"], mail["cc"], mail["bcc"]) == (
        f"Shop <{source}>",
        [to],
        [cc],
        [bcc],
    )
    assert (mail["subject"], mail["text"], mail["html"]) == (
        "Your order",
        "Thanks — €5",
        "<p>Thanks</p>",
    )
    assert (mail["region"], mail["account"], mail["source"]) == ("us-east-1", "000000000000", "ses")
    assert mail["tags"] == {"campaign": "spring"}
    parsed = email.message_from_string(mail["raw"], policy=policy.default)
    assert parsed["To"] == to and parsed["Cc"] == cc and "Bcc" not in parsed
    assert parsed["Reply-To"] == "help@example.com"
    assert parsed["Message-ID"] == f"<{sent['MessageId']}@email.amazonses.com>"
    assert parsed.get_body(("plain",)).get_content().strip() == "Thanks — €5"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Thanks</p>"


def test_send_raw_email_with_attachment(cloud: Cloud):
    source, to, hidden = cloud.sender(), address("raw"), address("hidden")
    message = EmailMessage()
    message["From"] = f"Reports <{source}>"
    message["To"] = to
    message["Bcc"] = hidden
    message["Subject"] = "Monthly report"
    message.set_content("See the attachment.")
    message.add_alternative("<p>See the attachment.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="r.pdf"
    )
    sent = cloud.ses.send_raw_email(RawMessage={"Data": message.as_bytes()})

    [mail] = cloud.mail(id=sent["MessageId"])
    assert (mail["from"], mail["to"], mail["bcc"]) == (f"Reports <{source}>", [to], [hidden])
    assert mail["subject"] == "Monthly report" and mail["text"].strip() == "See the attachment."
    assert mail["html"].strip() == "<p>See the attachment.</p>"
    assert mail["attachments"] == [
        {"FileName": "r.pdf", "ContentType": "application/pdf", "Size": 13}
    ]
    parsed = email.message_from_string(mail["raw"], policy=policy.default)
    assert "Bcc" not in parsed  # recipients never see the Bcc header
    [attachment] = parsed.iter_attachments()
    assert attachment.get_content() == b"%PDF-1.4 fake"

    # explicit Source and Destinations win over the headers
    other = address("only")
    sent = cloud.ses.send_raw_email(
        Source=source, Destinations=[other], RawMessage={"Data": message.as_bytes()}
    )
    [mail] = cloud.mail(id=sent["MessageId"])
    assert mail["bcc"] == [other] and mail["to"] == []


def test_v2_send_email_simple_raw_and_attachments(cloud: Cloud):
    source, to = cloud.sender(), address("v2")
    sent = cloud.v2.send_email(
        FromEmailAddress=source,
        Destination={"ToAddresses": [to]},
        Content={
            "Simple": {
                "Subject": {"Data": "Invoice"},
                "Body": {"Text": {"Data": "Attached."}},
                "Headers": [{"Name": "X-Order", "Value": "42"}],
                "Attachments": [
                    {"RawContent": b"a,b\n1,2\n", "FileName": "i.csv", "ContentType": "text/csv"}
                ],
            }
        },
        EmailTags=[{"Name": "kind", "Value": "invoice"}],
    )
    [mail] = cloud.mail(id=sent["MessageId"])
    parsed = email.message_from_string(mail["raw"], policy=policy.default)
    assert parsed["X-Order"] == "42"
    [attachment] = parsed.iter_attachments()
    assert attachment.get_filename() == "i.csv" and attachment.get_content() == "a,b\n1,2\n"

    raw = f"From: {source}\r\nTo: {to}\r\nSubject: raw v2\r\n\r\nplain body\r\n".encode()
    sent = cloud.v2.send_email(Content={"Raw": {"Data": raw}})
    [mail] = cloud.mail(id=sent["MessageId"])
    assert (mail["subject"], mail["text"].strip(), mail["to"]) == ("raw v2", "plain body", [to])


def test_unverified_sender_is_rejected(cloud: Cloud):
    stranger = address("stranger")
    error = error_of(
        cloud.ses.send_email,
        Source=stranger,
        Destination={"ToAddresses": [address()]},
        Message=_message(),
    )
    assert (error["Code"], error["Status"]) == ("MessageRejected", 400)
    assert error["Message"] == (
        "Email address is not verified. The following identities failed the check in region "
        f"US-EAST-1: {stranger}"
    )
    error = error_of(
        cloud.v2.send_email,
        FromEmailAddress=stranger,
        Destination={"ToAddresses": [address()]},
        Content={"Simple": _message()},
    )
    assert error["Code"] == "MessageRejected" and stranger in error["Message"]
    assert cloud.mail(**{"from": stranger}) == []


def test_a_verified_domain_covers_its_addresses(cloud: Cloud):
    domain = f"{address().split('@')[0]}.example.org"
    cloud.ses.verify_domain_identity(Domain=domain)
    sent = cloud.ses.send_email(
        Source=f"anyone@mail.{domain}", Destination={"ToAddresses": [address()]}, Message=_message()
    )
    assert cloud.mail(id=sent["MessageId"])


def test_address_and_recipient_limits(cloud: Cloud):
    source = cloud.sender()
    error = error_of(
        cloud.ses.send_email,
        Source=source,
        Destination={"ToAddresses": [address() for _ in range(51)]},
        Message=_message(),
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "Recipient count exceeds 50.",
    )
    error = error_of(
        cloud.ses.send_email,
        Source=source,
        Destination={"ToAddresses": ["not-an-address"]},
        Message=_message(),
    )
    assert (error["Code"], error["Message"]) == ("InvalidParameterValue", "Missing final '@domain'")
    error = error_of(
        cloud.v2.send_email,
        FromEmailAddress=source,
        Destination={"ToAddresses": [address() for _ in range(51)]},
        Content={"Simple": _message()},
    )
    assert error["Code"] == "BadRequestException"
    sent = cloud.ses.send_email(
        Source=source,
        Destination={"ToAddresses": [address() for _ in range(50)]},
        Message=_message(),
    )
    assert MESSAGE_ID.match(sent["MessageId"])


def test_sandbox_needs_verified_recipients_and_counts_the_quota(strict: Cloud):
    source = address("sandbox")
    strict.ses.verify_email_identity(EmailAddress=source)
    error = error_of(
        strict.ses.send_email,
        Source=source,
        Destination={"ToAddresses": [address()]},
        Message=_message(),
    )
    assert error["Code"] == "MessageRejected"  # the sender is still pending
    domain = f"{source.split('@')[0]}.example.org"
    strict.ses.verify_domain_identity(Domain=domain)
    sender = f"news@{domain}"
    friend, stranger = f"friend@{domain}", address("stranger")
    error = error_of(
        strict.ses.send_email,
        Source=sender,
        Destination={"ToAddresses": [friend, stranger]},
        Message=_message(),
    )
    assert error["Message"].endswith(f"in region US-EAST-1: {stranger}")
    before = strict.ses.get_send_quota()
    assert (before["Max24HourSend"], before["MaxSendRate"]) == (200.0, 1.0)
    strict.ses.send_email(
        Source=sender,
        Destination={"ToAddresses": [friend, "success@simulator.amazonses.com"]},
        Message=_message(),
    )
    after = strict.ses.get_send_quota()
    assert after["SentLast24Hours"] == before["SentLast24Hours"] + 2
    account = strict.v2.get_account()
    assert account["ProductionAccessEnabled"] is False
    assert account["SendQuota"]["SentLast24Hours"] == after["SentLast24Hours"]
    points = strict.ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == after["SentLast24Hours"]


def test_daily_quota_and_production_access(strict: Cloud):
    domain = f"{address().split('@')[0]}.example.org"
    strict.ses.verify_domain_identity(Domain=domain)
    left = int(
        strict.ses.get_send_quota()["Max24HourSend"]
        - strict.ses.get_send_quota()["SentLast24Hours"]
    )
    recipients = [f"r{i}@{domain}" for i in range(50)]
    while left >= 50:
        strict.ses.send_email(
            Source=f"bulk@{domain}", Destination={"BccAddresses": recipients}, Message=_message()
        )
        left -= 50
    error = error_of(
        strict.ses.send_email,
        Source=f"bulk@{domain}",
        Destination={"BccAddresses": recipients},
        Message=_message(),
    )
    assert (error["Code"], error["Message"]) == ("Throttling", "Daily message quota exceeded.")
    details = {"MailType": "TRANSACTIONAL", "WebsiteURL": "https://example.org"}
    strict.v2.put_account_details(**details, ProductionAccessEnabled=True)
    try:
        account = strict.v2.get_account()
        assert account["ProductionAccessEnabled"]
        assert account["SendQuota"]["Max24HourSend"] == 50000.0
        assert account["Details"]["ReviewDetails"]["Status"] == "GRANTED"
        strict.ses.send_email(  # out of the sandbox: any recipient, a bigger quota
            Source=f"bulk@{domain}", Destination={"ToAddresses": [address()]}, Message=_message()
        )
    finally:  # back to the sandbox for the other tests of this server
        strict.v2.put_account_details(**details, ProductionAccessEnabled=False)
        advance(strict.endpoint, "25h")  # and a new day's quota
    assert strict.ses.get_send_quota()["SentLast24Hours"] == 0


def test_sending_paused_and_configuration_sets(cloud: Cloud):
    source, to = cloud.sender(), address()
    name = f"cs-{to.split('@')[0]}"
    error = error_of(
        cloud.ses.send_email,
        Source=source,
        Destination={"ToAddresses": [to]},
        Message=_message(),
        ConfigurationSetName=name,
    )
    assert error["Code"] == "ConfigurationSetDoesNotExist"
    cloud.ses.create_configuration_set(ConfigurationSet={"Name": name})
    cloud.ses.create_configuration_set_event_destination(
        ConfigurationSetName=name,
        EventDestination={
            "Name": "to-sns",
            "Enabled": True,
            "MatchingEventTypes": ["send", "delivery"],
            "SNSDestination": {"TopicARN": "arn:aws:sns:us-east-1:000000000000:ses-events"},
        },
    )
    described = cloud.ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )
    assert described["EventDestinations"][0]["SNSDestination"]["TopicARN"].endswith("ses-events")
    [dest] = cloud.v2.get_configuration_set_event_destinations(ConfigurationSetName=name)[
        "EventDestinations"
    ]
    assert dest["MatchingEventTypes"] == ["SEND", "DELIVERY"]
    assert name in [c["Name"] for c in cloud.ses.list_configuration_sets()["ConfigurationSets"]]
    assert name in cloud.v2.list_configuration_sets()["ConfigurationSets"]

    sent = cloud.ses.send_email(
        Source=source,
        Destination={"ToAddresses": [to]},
        Message=_message(),
        ConfigurationSetName=name,
    )
    assert cloud.mail(id=sent["MessageId"])[0]["configuration_set"] == name
    cloud.ses.update_configuration_set_sending_enabled(ConfigurationSetName=name, Enabled=False)
    error = error_of(
        cloud.v2.send_email,
        FromEmailAddress=source,
        Destination={"ToAddresses": [to]},
        Content={"Simple": _message()},
        ConfigurationSetName=name,
    )
    assert error["Code"] == "SendingPausedException"
    cloud.ses.delete_configuration_set(ConfigurationSetName=name)
    error = error_of(cloud.v2.get_configuration_set, ConfigurationSetName=name)
    assert error["Code"] == "NotFoundException"


def test_account_sending_switch(strict: Cloud):
    strict.ses.update_account_sending_enabled(Enabled=False)
    try:
        assert strict.ses.get_account_sending_enabled()["Enabled"] is False
        assert strict.v2.get_account()["SendingEnabled"] is False
        error = error_of(
            strict.ses.send_email,
            Source="x@example.com",
            Destination={"ToAddresses": ["y@example.com"]},
            Message=_message(),
        )
        assert error["Code"] == "AccountSendingPausedException"
    finally:
        strict.v2.put_account_sending_attributes(SendingEnabled=True)
    assert strict.ses.get_account_sending_enabled()["Enabled"] is True


def test_aws_cli_send_email(cloud: Cloud):
    source, to = cloud.sender(), address("cli")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    command = [sys.executable, "-m", "awscli", "--endpoint-url", cloud.endpoint, "ses"]
    result = subprocess.run(
        [
            *command,
            "send-email",
            "--from",
            source,
            "--to",
            to,
            "--subject",
            "From the CLI",
            "--text",
            "plain text",
            "--html",
            "<b>html</b>",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    message_id = json.loads(result.stdout)["MessageId"]
    mail = wait_for(lambda: cloud.mail(id=message_id))[0]
    assert (mail["subject"], mail["text"], mail["html"]) == (
        "From the CLI",
        "plain text",
        "<b>html</b>",
    )
