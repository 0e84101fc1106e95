"""EventBridge PutEvents -> rule -> SQS target, end to end: events per second and latency.

Targets (the EventBridge issue), one server process with the durable SQLite store:
  >= 3,000 events/s put AND drained from the target queue, and
  p50 PutEvents-to-receive latency < 10 ms.

Throughput: wrk replays a signed PutEvents of 10 entries (the API's batch) while a second wrk drains
the queue with ReceiveMessage (10) + DeleteMessageBatch; the figure is what reached the queue and
was deleted per second (the backlog left is printed too). The bus also holds 200 rules that do not
match, so matching cost is part of the figure. Latency: one client puts single events carrying
their send time while another long-polls the queue. Needs `wrk` (Debian package). Prints figures;
never fails because a machine is slow.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from common import client, free_port, start_cloudlet, until_ready
from sns_sqs import Raw
from sqs_wrk import backlog, post_script, rate, seconds, while_draining
from sqs_wrk import signed_headers as sqs_headers

DURATION = os.environ.get("DURATION", "5s")
LATENCY_EVENTS = int(os.environ.get("LATENCY_EVENTS", "500"))
OTHER_RULES = int(os.environ.get("OTHER_RULES", "200"))


def events_headers(endpoint: str, body: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSEvents.PutEvents",
        },
    )
    SigV4Auth(Credentials("test", "test"), "events", "us-east-1").add_auth(request)
    return dict(request.headers)


def entry(detail: dict) -> dict[str, str]:
    return {
        "Source": "bench.app",
        "DetailType": "order placed",
        "Detail": orjson.dumps(detail).decode(),
    }


def put_script(endpoint: str) -> str:
    detail = {"order": 1234, "customer": "c-42", "amount": 19.99, "items": ["a", "b"]}
    body = orjson.dumps({"Entries": [entry(detail)] * 10}).decode()
    headers = events_headers(endpoint, body)
    return post_script(body, headers)


def throughput(endpoint: str, sqs, url: str) -> None:
    put, deleted = while_draining(endpoint, url, put_script(endpoint))
    left = backlog(sqs, url)
    print(
        f"  PutEvents (10 entries): {rate(put):,.0f} req/s = {rate(put) * 10:,.0f} events/s put; "
        f"delivered and drained: {deleted / seconds(DURATION):,.0f} events/s "
        f"(backlog left {left:,})   target >= 3,000/s"
    )
    sqs.purge_queue(QueueUrl=url)


def latency(port: int, endpoint: str, url: str) -> None:
    receive_body = {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 5}
    receive_headers = sqs_headers(endpoint, "ReceiveMessage", orjson.dumps(receive_body).decode())
    delete_headers = sqs_headers(endpoint, "DeleteMessageBatch", "{}")
    latencies: list[float] = []

    def receive() -> None:
        receiver, deleter = Raw(port, receive_headers), Raw(port, delete_headers)
        while len(latencies) < LATENCY_EVENTS:
            answer = orjson.loads(receiver.post(orjson.dumps(receive_body)))
            now = time.perf_counter()
            messages = answer.get("Messages", [])
            for message in messages:
                latencies.append(now - orjson.loads(message["Body"])["detail"]["sent"])
            if messages:
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                deleter.post(orjson.dumps({"QueueUrl": url, "Entries": entries}))

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    putter = Raw(port, events_headers(endpoint, "{}"))
    for _ in range(LATENCY_EVENTS):
        putter.post(orjson.dumps({"Entries": [entry({"sent": time.perf_counter()})]}))
        time.sleep(0.002)  # a steady light load: latency, not queueing, is measured
    receiver.join(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"  PutEvents-to-receive latency over {len(ms)} events: p50 {statistics.median(ms):.2f} ms, "
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
        events, sqs = client("events", port), client("sqs", port)
        until_ready(events.list_event_buses)
        url = sqs.create_queue(QueueName="bench-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for n in range(OTHER_RULES):
            pattern = {"source": ["bench.app"], "detail-type": [f"other {n}"]}
            events.put_rule(Name=f"other-{n}", EventPattern=orjson.dumps(pattern).decode())
        pattern = {"source": ["bench.app"], "detail-type": ["order placed"]}
        events.put_rule(Name="orders", EventPattern=orjson.dumps(pattern).decode())
        events.put_targets(Rule="orders", Targets=[{"Id": "queue", "Arn": arn}])
        print(f"PutEvents -> rule (1 of {OTHER_RULES + 1} on the bus) -> SQS queue")
        latency(port, endpoint, url)
        throughput(endpoint, sqs, url)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
