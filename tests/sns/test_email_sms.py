"""Email through cloudlet's mailbox, text messages recorded, mobile push endpoints."""

from __future__ import annotations

import json
import re

from .conftest import error_of, http, unique, verify_signature, wait_for


def test_email_subscription_confirmed_from_the_mailbox(cloud):
    topic = cloud.topic()
    cloud.sns.set_topic_attributes(
        TopicArn=topic, AttributeName="DisplayName", AttributeValue="Shop"
    )
    address = f"{unique('reader')}@example.com"
    assert cloud.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)[
        "SubscriptionArn"
    ] == ("pending confirmation")
    [invitation] = cloud.mail(address)
    assert invitation["subject"] == "AWS Notification - Subscription Confirmation"
    assert invitation["to"] == [address] and topic in invitation["body"]
    link = re.search(r"https?://\S+Action=ConfirmSubscription\S+", invitation["body"]).group()
    status, _, body = http("GET", link)
    assert status == 200, body
    [sub] = cloud.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(topic + ":")

    cloud.sns.publish(TopicArn=topic, Message="Your order shipped", Subject="Order 42")
    mail = wait_for(lambda: (found := cloud.mail(address)) and len(found) == 2 and found[1])
    assert mail["subject"] == "Order 42"
    assert mail["from"] == "Shop <no-reply@sns.amazonaws.com>"
    assert mail["body"].startswith(
        "Your order shipped\n\n--\nIf you wish to stop receiving notifications"
    )
    assert f"SubscriptionArn={sub['SubscriptionArn']}" in mail["body"]
    status, _, _ = http("DELETE", f"{cloud.endpoint}/_cloudlet/mail")
    assert status == 200 and cloud.mail(address) == []


def test_email_json_gets_the_json_documents(cloud):
    topic = cloud.topic()
    address = f"{unique('robot')}@example.com"
    cloud.sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=address)
    confirmation = json.loads(cloud.mail(address)[0]["body"])
    assert confirmation["Type"] == "SubscriptionConfirmation"
    verify_signature(confirmation)
    cloud.sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    cloud.sns.publish(TopicArn=topic, Message="as json")
    note = json.loads(wait_for(lambda: (m := cloud.mail(address)) and len(m) == 2 and m)[1]["body"])
    assert (note["Type"], note["Message"]) == ("Notification", "as json")
    verify_signature(note)


def test_sms_is_recorded(cloud):
    phone = "+1555" + unique("")[-7:].translate(str.maketrans("abcdef", "123456"))
    answer = cloud.sns.publish(
        PhoneNumber=phone,
        Message="Your code is 1234",
        MessageAttributes={"AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "Shop"}},
    )
    [sms] = cloud.sms(phone)
    assert sms["MessageId"] == answer["MessageId"]
    assert (sms["PhoneNumber"], sms["Message"], sms["SenderID"]) == (
        phone,
        "Your code is 1234",
        "Shop",
    )
    topic = cloud.topic(DisplayName="Alerts")
    cloud.sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=phone)
    cloud.sns.publish(TopicArn=topic, Message="disk full")
    assert cloud.sms(phone)[-1]["Message"] == "Alerts> disk full"
    error = error_of(cloud.sns.publish, PhoneNumber="+1a234", Message="m")
    assert (
        error["Message"]
        == "Invalid parameter: PhoneNumber Reason: +1a234 is not valid to publish to"
    )


def test_sms_settings_and_sandbox(cloud):
    cloud.sns.set_sms_attributes(
        attributes={"DefaultSMSType": "Transactional", "DefaultSenderID": "Acme"}
    )
    assert cloud.sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"] == {
        "DefaultSMSType": "Transactional"
    }
    assert (
        cloud.sns.check_if_phone_number_is_opted_out(phoneNumber="+15550100")["isOptedOut"] is False
    )
    assert cloud.sns.list_phone_numbers_opted_out()["phoneNumbers"] == []
    phone = "+15550199"
    cloud.sns.create_sms_sandbox_phone_number(PhoneNumber=phone)
    code = re.search(r"\d{6}", cloud.sms(phone)[-1]["Message"]).group()
    cloud.sns.verify_sms_sandbox_phone_number(PhoneNumber=phone, OneTimePassword=code)
    listed = cloud.sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"]
    assert {"PhoneNumber": phone, "Status": "Verified"} in listed
    cloud.sns.delete_sms_sandbox_phone_number(PhoneNumber=phone)


def test_mobile_push_endpoints(cloud):
    app = cloud.sns.create_platform_application(
        Name=unique("app"), Platform="GCM", Attributes={"PlatformCredential": "secret"}
    )["PlatformApplicationArn"]
    assert (
        "PlatformCredential"
        not in cloud.sns.get_platform_application_attributes(PlatformApplicationArn=app)[
            "Attributes"
        ]
    )
    endpoint = cloud.sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1")[
        "EndpointArn"
    ]
    assert (
        cloud.sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1")[
            "EndpointArn"
        ]
        == endpoint
    )
    assert cloud.sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"] == {
        "Enabled": "true",
        "Token": "device-1",
    }
    cloud.sns.publish(
        TargetArn=endpoint,
        Message=json.dumps({"default": "d", "GCM": "{}"}),
        MessageStructure="json",
    )
    cloud.sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    error = error_of(cloud.sns.publish, TargetArn=endpoint, Message="m")
    assert (error["Code"], error["Message"]) == ("EndpointDisabled", "Endpoint is disabled")
    listed = cloud.sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)[
        "Endpoints"
    ]
    assert [e["EndpointArn"] for e in listed] == [endpoint]
    cloud.sns.delete_platform_application(PlatformApplicationArn=app)
    error = error_of(cloud.sns.publish, TargetArn=endpoint, Message="m")
    assert (
        error["Message"]
        == "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified"
    )
