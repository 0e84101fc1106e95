"""Identities through both APIs: auto-verified on the default server, verified by following the
mailbox link on a server that follows AWS's flow."""

from __future__ import annotations

import re

from .conftest import Cloud, address, error_of, http


def test_email_and_domain_identities_v1(cloud: Cloud):
    email = address()
    domain = f"d{email.split('-')[1].split('@')[0]}.example.net"
    cloud.ses.verify_email_identity(EmailAddress=email)
    token = cloud.ses.verify_domain_identity(Domain=domain)["VerificationToken"]
    assert token

    attrs = cloud.ses.get_identity_verification_attributes(
        Identities=[email, domain, "unknown@example.com"]
    )["VerificationAttributes"]
    assert attrs == {
        email: {"VerificationStatus": "Success"},
        domain: {"VerificationStatus": "Success", "VerificationToken": token},
    }
    names = cloud.ses.list_identities()["Identities"]
    assert email in names and domain in names
    assert domain not in cloud.ses.list_identities(IdentityType="EmailAddress")["Identities"]
    assert email not in cloud.ses.list_identities(IdentityType="Domain")["Identities"]
    assert email in cloud.ses.list_verified_email_addresses()["VerifiedEmailAddresses"]

    dkim = cloud.ses.verify_domain_dkim(Domain=domain)["DkimTokens"]
    assert len(dkim) == 3
    found = cloud.ses.get_identity_dkim_attributes(Identities=[domain, email])["DkimAttributes"]
    assert found[domain] == {
        "DkimEnabled": True,
        "DkimVerificationStatus": "Success",
        "DkimTokens": dkim,
    }
    assert found[email]["DkimVerificationStatus"] == "NotStarted"

    cloud.ses.delete_identity(Identity=email)
    assert email not in cloud.ses.list_identities()["Identities"]
    assert cloud.v2.get_email_identity(EmailIdentity=domain)["IdentityType"] == "DOMAIN"


def test_list_identities_pages(cloud: Cloud):
    mine = [cloud.sender() for _ in range(5)]
    seen, token = [], None
    while True:
        kwargs = {"MaxItems": 2, **({"NextToken": token} if token else {})}
        page = cloud.ses.list_identities(IdentityType="EmailAddress", **kwargs)
        assert len(page["Identities"]) <= 2
        seen += page["Identities"]
        token = page.get("NextToken")
        if not token:
            break
    assert set(mine) <= set(seen) and len(seen) == len(set(seen))


def test_notification_and_mail_from_attributes(cloud: Cloud):
    email = cloud.sender()
    topic = "arn:aws:sns:us-east-1:000000000000:bounces"
    cloud.ses.set_identity_notification_topic(
        Identity=email, NotificationType="Bounce", SnsTopic=topic
    )
    cloud.ses.set_identity_feedback_forwarding_enabled(Identity=email, ForwardingEnabled=False)
    cloud.ses.set_identity_headers_in_notifications_enabled(
        Identity=email, NotificationType="Bounce", Enabled=True
    )
    found = cloud.ses.get_identity_notification_attributes(Identities=[email])
    assert found["NotificationAttributes"][email] == {
        "BounceTopic": topic,
        "ForwardingEnabled": False,
        "HeadersInBounceNotificationsEnabled": True,
        "HeadersInComplaintNotificationsEnabled": False,
        "HeadersInDeliveryNotificationsEnabled": False,
    }
    cloud.ses.set_identity_mail_from_domain(Identity=email, MailFromDomain="bounce.example.com")
    found = cloud.ses.get_identity_mail_from_domain_attributes(Identities=[email])
    assert found["MailFromDomainAttributes"][email]["MailFromDomain"] == "bounce.example.com"
    v2 = cloud.v2.get_email_identity(EmailIdentity=email)
    assert v2["FeedbackForwardingStatus"] is False
    assert v2["MailFromAttributes"]["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"


def test_v2_identities(cloud: Cloud):
    email, domain = address(), f"v2-{address().split('@')[0]}.example.org"
    created = cloud.v2.create_email_identity(EmailIdentity=email, Tags=[{"Key": "k", "Value": "v"}])
    assert created["IdentityType"] == "EMAIL_ADDRESS" and created["VerifiedForSendingStatus"]
    created = cloud.v2.create_email_identity(EmailIdentity=domain)
    assert created["DkimAttributes"]["Status"] == "SUCCESS"
    assert len(created["DkimAttributes"]["Tokens"]) == 3

    got = cloud.v2.get_email_identity(EmailIdentity=email)
    assert got["VerificationStatus"] == "SUCCESS" and got["Tags"] == [{"Key": "k", "Value": "v"}]
    listed = {i["IdentityName"]: i for i in cloud.v2.list_email_identities()["EmailIdentities"]}
    assert listed[domain]["IdentityType"] == "DOMAIN" and listed[email]["SendingEnabled"]
    # v1 sees v2's identities: one state
    assert email in cloud.ses.list_identities()["Identities"]

    cloud.v2.put_email_identity_dkim_attributes(EmailIdentity=domain, SigningEnabled=False)
    assert not cloud.v2.get_email_identity(EmailIdentity=domain)["DkimAttributes"]["SigningEnabled"]
    cloud.v2.create_email_identity_policy(EmailIdentity=email, PolicyName="p", Policy="{}")
    assert cloud.v2.get_email_identity_policies(EmailIdentity=email)["Policies"] == {"p": "{}"}

    assert error_of(cloud.v2.create_email_identity, EmailIdentity=email)["Code"] == (
        "AlreadyExistsException"
    )
    cloud.v2.delete_email_identity(EmailIdentity=email)
    error = error_of(cloud.v2.get_email_identity, EmailIdentity=email)
    assert (error["Code"], error["Status"]) == ("NotFoundException", 404)


def test_verification_link_in_the_mailbox(strict: Cloud):
    """Without auto-verify an address stays Pending until the link SES mailed is followed."""
    email = address("verify")
    strict.ses.verify_email_identity(EmailAddress=email)
    status = strict.ses.get_identity_verification_attributes(Identities=[email])
    assert status["VerificationAttributes"][email]["VerificationStatus"] == "Pending"
    assert strict.v2.get_email_identity(EmailIdentity=email)["VerificationStatus"] == "PENDING"

    [message] = strict.mail(to=email)
    assert message["from"] == "no-reply-aws@amazon.com"
    assert message["subject"].endswith("Verification Request in region US East (N. Virginia)")
    link = re.search(r"http://\S+/_cloudlet/ses/verify\?token=\S+", message["text"]).group()
    status, _, body = http("GET", link)
    assert status == 200 and b"successfully verified" in body

    status = strict.ses.get_identity_verification_attributes(Identities=[email])
    assert status["VerificationAttributes"][email]["VerificationStatus"] == "Success"
    assert http("GET", link)[0] == 404  # a link works once

    domain = f"{email.split('@')[0]}.example.org"
    strict.ses.verify_domain_identity(Domain=domain)  # domains: no DNS to check, verified
    found = strict.ses.get_identity_verification_attributes(Identities=[domain])
    assert found["VerificationAttributes"][domain]["VerificationStatus"] == "Success"
