"""SNS Publish -> one SQS subscriber, end to end: messages per second and publish-to-receive latency.

Targets (the SNS issue), one server process with the durable SQLite store:
  >= 2,000 messages/s published AND drained from the subscribed queue, and
  p50 publish-to-receive latency < 10 ms.

Throughput: wrk replays a signed Publish (query protocol) while a second wrk drains the queue with
ReceiveMessage (10) + DeleteMessageBatch; the figure is what reached the queue and was deleted per
second (the backlog left at the end is printed too). Latency: one client publishes messages carrying
their send time while another long-polls the queue; each message's latency is receive time minus
send time. Both run for the envelope (signed JSON notification) and for raw message delivery.
Needs `wrk` (Debian package). Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from common import client, free_port, start_cloudlet, until_ready
from sqs_wrk import backlog, post_script, rate, seconds, signed_headers, while_draining

DURATION = os.environ.get("DURATION", "5s")
LATENCY_MESSAGES = int(os.environ.get("LATENCY_MESSAGES", "500"))


def signed_publish(endpoint: str, topic: str, message: str) -> tuple[str, dict[str, str]]:
    form = {"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic, "Message": message}
    body = urllib.parse.urlencode(form)
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("test", "test"), "sns", "us-east-1").add_auth(request)
    return body, dict(request.headers)


def publish_script(endpoint: str, topic: str) -> str:
    body, headers = signed_publish(endpoint, topic, "hello from wrk, a message of a typical size")
    return post_script(body, headers)


def throughput(endpoint: str, sqs, topic: str, url: str) -> None:
    published, deleted = while_draining(endpoint, url, publish_script(endpoint, topic))
    left = backlog(sqs, url)
    print(
        f"  publish: {rate(published):,.0f} req/s; delivered and drained: "
        f"{deleted / seconds(DURATION):,.0f} messages/s (backlog left {left:,})   target >= 2,000/s"
    )
    sqs.purge_queue(QueueUrl=url)


class Raw:
    """A keep-alive HTTP connection replaying signed requests with new bodies (the server does not
    verify signatures yet, so one signature serves every body; boto3 would cost ~1 ms a call)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}

    def post(self, body: bytes) -> bytes:
        self.connection.request("POST", "/", body, self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {data[:300]!r}")
        return data


def latency(port: int, endpoint: str, topic: str, url: str, raw: bool) -> None:
    _, publish_headers = signed_publish(endpoint, topic, "x")
    receive_body = {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 5}
    receive_headers = signed_headers(
        endpoint, "ReceiveMessage", orjson.dumps(receive_body).decode()
    )
    delete_headers = signed_headers(endpoint, "DeleteMessageBatch", "{}")
    latencies: list[float] = []
    done = threading.Event()

    def receive() -> None:
        receiver = Raw(port, receive_headers)
        deleter = Raw(port, delete_headers)
        while not done.is_set() or len(latencies) < LATENCY_MESSAGES:
            answer = orjson.loads(receiver.post(orjson.dumps(receive_body)))
            now = time.perf_counter()
            messages = answer.get("Messages", [])
            for message in messages:
                text = message["Body"] if raw else orjson.loads(message["Body"])["Message"]
                latencies.append(now - float(text))
            if messages:
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                deleter.post(orjson.dumps({"QueueUrl": url, "Entries": entries}))
            if len(latencies) >= LATENCY_MESSAGES:
                return

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    publisher = Raw(port, publish_headers)
    form = {"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic}
    for _ in range(LATENCY_MESSAGES):
        body = urllib.parse.urlencode({**form, "Message": repr(time.perf_counter())}).encode()
        publisher.post(body)
        time.sleep(0.002)  # a steady light load, not a burst: latency, not queueing, is measured
    done.set()
    receiver.join(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"  publish-to-receive latency over {len(ms)} messages: p50 {statistics.median(ms):.2f} ms, "
        f"p90 {ms[int(len(ms) * 0.9)]:.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.2f} ms   target p50 < 10 ms"
    )


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp()
    proc = start_cloudlet(port, data_dir)
    try:
        sns, sqs = client("sns", port), client("sqs", port)
        until_ready(sns.list_topics)
        for raw in (False, True):
            topic = sns.create_topic(Name=f"bench-{int(raw)}")["TopicArn"]
            url = sqs.create_queue(QueueName=f"bench-{int(raw)}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes = {"RawMessageDelivery": "true"} if raw else {}
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            print("raw message delivery" if raw else "SNS envelope (signed, SignatureVersion 1)")
            latency(port, endpoint, topic, url, raw)
            throughput(endpoint, sqs, topic, url)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
