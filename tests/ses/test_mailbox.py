"""The mailbox over HTTP: cloudlet's `/_cloudlet/mail` and LocalStack's `/_aws/ses`."""

from __future__ import annotations

import json

from .conftest import Cloud, address, http


def _send(cloud: Cloud, source: str, to: str, subject: str) -> str:
    return cloud.ses.send_email(
        Source=source,
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": subject}, "Body": {"Html": {"Data": f"<p>{subject}</p>"}}},
    )["MessageId"]


def test_cloudlet_mail_filters_and_deletes(new_cloud):
    cloud = new_cloud()  # a server of its own: the test empties its mailbox
    source = cloud.sender()
    to_a, to_b = address("a"), address("b")
    first = _send(cloud, source, to_a, "one")
    _send(cloud, source, to_b, "two")
    everything = cloud.mail()
    assert [m["subject"] for m in everything] == ["one", "two"]  # oldest first
    assert [m["subject"] for m in cloud.mail(to=to_b.upper())] == ["two"]
    assert [m["id"] for m in cloud.mail(id=first)] == [first]
    assert len(cloud.mail(**{"from": source})) == 2
    mail = everything[0]
    assert set(mail) >= {"id", "from", "to", "cc", "bcc", "subject", "text", "html", "raw"}
    assert {"timestamp", "region", "account"} <= set(mail)

    status, _, body = http("DELETE", f"{cloud.endpoint}/_cloudlet/mail?id={first}")
    assert (status, json.loads(body)) == (200, {"deleted": 1})
    assert [m["subject"] for m in cloud.mail()] == ["two"]
    status, _, body = http("DELETE", f"{cloud.endpoint}/_cloudlet/mail")
    assert json.loads(body) == {"deleted": 1} and cloud.mail() == []


def test_localstack_ses_endpoint(new_cloud):
    cloud = new_cloud()
    source = cloud.sender()
    to = address("ls")
    message_id = _send(cloud, source, to, "hello")
    other = cloud.sender()
    _send(cloud, other, to, "other")

    status, _, body = http("GET", f"{cloud.endpoint}/_aws/ses")
    assert status == 200
    messages = json.loads(body)["messages"]
    assert len(messages) == 2
    found = messages[0]
    assert found["Id"] == message_id and found["Region"] == "us-east-1"
    assert found["Destination"] == {"ToAddresses": [to]}
    assert (found["Source"], found["Subject"]) == (source, "hello")
    assert found["Body"] == {"text_part": None, "html_part": "<p>hello</p>"}
    assert "Subject: hello" in found["RawData"] and found["Timestamp"].count(":") == 2

    by_id = json.loads(http("GET", f"{cloud.endpoint}/_aws/ses?id={message_id}")[2])["messages"]
    assert [m["Id"] for m in by_id] == [message_id]
    by_sender = json.loads(http("GET", f"{cloud.endpoint}/_aws/ses?email={other}")[2])["messages"]
    assert [m["Subject"] for m in by_sender] == ["other"]

    assert http("DELETE", f"{cloud.endpoint}/_aws/ses?id={message_id}")[0] == 204
    assert len(json.loads(http("GET", f"{cloud.endpoint}/_aws/ses")[2])["messages"]) == 1
    assert http("DELETE", f"{cloud.endpoint}/_aws/ses")[0] == 204
    assert json.loads(http("GET", f"{cloud.endpoint}/_aws/ses")[2]) == {"messages": []}


def test_raw_and_templated_sends_in_localstack_shape(cloud: Cloud):
    source = cloud.sender()
    raw = f"From: {source}\r\nTo: r@example.com\r\nSubject: raw\r\n\r\nbody\r\n".encode()
    message_id = cloud.ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    _, _, body = http("GET", f"{cloud.endpoint}/_aws/ses?id={message_id}")
    [found] = json.loads(body)["messages"]
    assert found["RawData"] == raw.decode() and found["Source"] == source
