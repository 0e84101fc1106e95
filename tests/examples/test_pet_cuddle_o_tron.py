"""The Pet Cuddle-O-Tron tutorial, end to end in headless Chromium: the page served by the S3
website posts the form to API Gateway, api_lambda starts the state machine, its Wait state waits
on cloudlet's clock, email_reminder_lambda sends the reminder with SES, and the email lands in
cloudlet's mailbox and at a real SMTP server (aiosmtpd) that cloudlet relays to."""

from __future__ import annotations

import email
import importlib.util
import json
import threading
import urllib.parse
import uuid
from email import policy
from pathlib import Path

import boto3
import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer, free_port
from helpers import http, wait_for

EXAMPLE = Path(__file__).parents[2] / "examples" / "pet-cuddle-o-tron" / "deploy.py"


class SmtpPeer:
    """A real SMTP server (aiosmtpd) on a free port: what cloudlet's mail relay delivers to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.envelopes: list = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def received(self, to: str) -> list[email.message.EmailMessage]:
        with self._lock:
            envelopes = [e for e in self.envelopes if to in e.rcpt_tos]
        return [email.message_from_bytes(e.content, policy=policy.default) for e in envelopes]


@pytest.fixture
def smtp_peer():
    from aiosmtpd.controller import Controller

    peer = SmtpPeer()
    controller = Controller(peer, hostname="127.0.0.1", port=peer.port)
    controller.start()
    yield peer
    controller.stop()


@pytest.fixture
def own_server(tmp_path, smtp_peer, monkeypatch):
    """A server of its own, relaying mail to the SMTP peer; the test moves its clock."""
    config = Config(
        port=0,
        data_dir=str(tmp_path / "data"),
        log_level="warning",
        smtp_url=f"smtp://127.0.0.1:{smtp_peer.port}",
    )
    server = BackgroundServer(App(config)).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    yield server
    server.stop()


@pytest.fixture
def browser(chromium):
    return chromium()


def load_example():
    spec = importlib.util.spec_from_file_location("pet_cuddle_o_tron_deploy", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mailbox(endpoint: str, to: str) -> list[dict]:
    status, _, body = http(
        "GET", f"{endpoint}/_cloudlet/mail?" + urllib.parse.urlencode({"to": to})
    )
    assert status == 200, body
    return json.loads(body)


def submit_reminder(driver, website_url: str, to: str, message: str, wait_seconds: int) -> str:
    """Open the site, fill the form, submit it; the text the page shows once it has an answer."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(website_url)
    WebDriverWait(driver, 15).until(ec.element_to_be_clickable((By.ID, "submit")))
    assert driver.title == "Pet Cuddle-O-Tron"
    for field, value in (("email", to), ("message", message), ("waitSeconds", str(wait_seconds))):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.ID, "submit").click()
    result = driver.find_element(By.ID, "result")
    try:
        WebDriverWait(driver, 20).until(
            lambda _: result.get_attribute("class") in ("success", "error")
        )
    except TimeoutException:
        pytest.fail(f"the page never answered; browser log: {driver.get_log('browser')}")
    assert result.get_attribute("class") == "success", (
        f"{result.text!r}; browser log: {driver.get_log('browser')}"
    )
    return result.text


def test_the_page_schedules_a_reminder_that_arrives_by_email(own_server, smtp_peer, browser):
    endpoint = own_server.endpoint
    deployed = load_example().deploy(prefix=f"t{uuid.uuid4().hex[:6]}")
    info = json.loads(http("GET", endpoint + "/_cloudlet/info")[2])
    bucket = deployed["bucket"]
    assert deployed["website_url"] == info["urls"]["s3_website_path"].format(bucket=bucket)
    assert deployed["api_endpoint"].startswith(endpoint + "/_cloudlet/apigateway/")
    assert deployed["api_endpoint"].endswith("/prod/petcuddleotron")

    # The page, as the tutorial's user sees it: scheduled, but nothing sent before the wait.
    to, message = f"owner-{uuid.uuid4().hex[:8]}@example.com", f"Cuddle Whiskers! {uuid.uuid4()}"
    text = submit_reminder(browser, deployed["website_url"], to, message, wait_seconds=60)
    assert to in text and "60 seconds" in text
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [execution] = sfn.list_executions(stateMachineArn=deployed["state_machine_arn"])["executions"]
    assert execution["status"] == "RUNNING"
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {
        "email": to,
        "message": message,
        "waitSeconds": 60,
    }
    assert mailbox(endpoint, to) == []

    # A minute later (on cloudlet's clock) the reminder goes out.
    status, _, body = http(
        "POST", endpoint + "/_cloudlet/clock", json.dumps({"advance": "90s"}).encode()
    )
    assert status == 200, body
    [mail] = wait_for(lambda: mailbox(endpoint, to), timeout=30)
    assert mail["from"] == deployed["sender"]
    assert mail["subject"] == "Whiskers Commands You to attend!"
    assert mail["text"].strip() == message
    wait_for(
        lambda: (
            sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "SUCCEEDED"
        ),
        timeout=15,
    )

    # ... and reaches the real SMTP server.
    [received] = wait_for(lambda: smtp_peer.received(to), timeout=30)
    assert received["Subject"] == "Whiskers Commands You to attend!"
    assert received["To"] == to and deployed["sender"] in received["From"]
    assert received.get_content().strip() == message
    wait_for(lambda: mailbox(endpoint, to)[0]["relay"]["status"] == "sent", timeout=15)


def test_a_page_on_another_origin_passes_the_cors_preflight(own_server, browser):
    """On AWS the site and the API never share an origin, so the browser's preflight (a JSON POST)
    must get the answers the console's "Enable CORS" set up. The host-style website URL
    (`<bucket>.s3-website.localhost`, which Chromium resolves without DNS) is such an origin."""
    endpoint = own_server.endpoint
    deployed = load_example().deploy(prefix=f"c{uuid.uuid4().hex[:6]}")
    info = json.loads(http("GET", endpoint + "/_cloudlet/info")[2])
    other_origin = info["urls"]["s3_website"].format(bucket=deployed["bucket"])
    assert urllib.parse.urlsplit(other_origin).netloc != urllib.parse.urlsplit(endpoint).netloc
    to = f"far-{uuid.uuid4().hex[:8]}@example.com"
    assert to in submit_reminder(browser, other_origin, to, "from afar", wait_seconds=3600)

    # The preflight and the POST, as the browser sent them.
    origin = other_origin.rstrip("/")
    status, headers, _ = http(
        "OPTIONS",
        deployed["api_endpoint"],
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "OPTIONS,POST"
    assert "Content-Type" in headers["access-control-allow-headers"].split(",")

    body = json.dumps({"email": to, "message": "hi", "waitSeconds": 3600}).encode()
    status, headers, answer = http(
        "POST",
        deployed["api_endpoint"],
        body,
        {"Origin": origin, "Content-Type": "application/json"},
    )
    assert status == 200, answer
    assert {k.lower(): v for k, v in headers.items()}["access-control-allow-origin"] == "*"
    assert json.loads(answer)["Status"] == "Success"

    # A bad request is the function's 400, still with the CORS header the page needs to read it.
    status, headers, answer = http(
        "POST", deployed["api_endpoint"], b"not json", {"Content-Type": "application/json"}
    )
    assert status == 400 and json.loads(answer)["Status"] == "Error"
    assert {k.lower(): v for k, v in headers.items()}["access-control-allow-origin"] == "*"
