"""What one SQS call costs the server itself, without the network or the client.

boto3's own request bytes (signed, as a client sends them) are fed to the server's HTTP
connection in this process, with a transport that only collects the response; the App, its
store and everything between are the real ones. Two figures per operation:

- microseconds per request, warm (`python bench/request_cost.py`);
- instructions per request under callgrind (`python bench/request_cost.py --callgrind`): the
  same count for the same code whatever else the machine is doing, so a change of a few
  percent shows, where wall-clock figures on a shared machine move by more than that.

The figures are a guide for work on issue 2 (the server's share of a boto3 call); the targets
themselves are measured end to end by `sqs_client.py`. Prints figures; never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import orjson
from canned_server import BODY

OPERATIONS = ("ReceiveMessage", "SendMessage", "DeleteMessageBatch")
ENDPOINT = "http://127.0.0.1:4566"
QUEUE_URL = f"{ENDPOINT}/000000000000/bench"


def request_bytes() -> dict[str, bytes]:
    """The requests boto3 sends for the benchmark's calls, captured before they leave."""
    from common import client

    sqs = client("sqs", 4566)
    captured: dict[str, bytes] = {}

    def capture(request: Any, **_: Any) -> None:
        path = "/" + request.url.split("/", 3)[3] if request.url.count("/") >= 3 else "/"
        headers = "".join(
            f"{k}: {v.decode() if isinstance(v, bytes) else v}\r\n"
            for k, v in request.headers.items()
        )
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        head = f"{request.method} {path} HTTP/1.1\r\nHost: 127.0.0.1:4566\r\n{headers}\r\n"
        captured["last"] = head.encode() + body
        raise _Captured

    sqs.meta.events.register("before-send", capture)
    calls = {
        "CreateQueue": lambda: sqs.create_queue(QueueName="bench"),
        "SendMessageBatch": lambda: sqs.send_message_batch(
            QueueUrl=QUEUE_URL, Entries=[{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        ),
        "ReceiveTen": lambda: sqs.receive_message(
            QueueUrl=QUEUE_URL, MaxNumberOfMessages=10, VisibilityTimeout=0
        ),
        "ReceiveMessage": lambda: sqs.receive_message(QueueUrl=QUEUE_URL, VisibilityTimeout=0),
        "SendMessage": lambda: sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=BODY),
        # placeholders, replaced by real receipt handles once there are messages
        "DeleteMessageBatch": lambda: sqs.delete_message_batch(
            QueueUrl=QUEUE_URL,
            Entries=[{"Id": str(i), "ReceiptHandle": f"HANDLE{i}"} for i in range(10)],
        ),
    }
    out = {}
    for name, call in calls.items():
        try:
            call()
        except _Captured:
            out[name] = captured["last"]
    return out


class _Captured(Exception):
    pass


def _with_body(request: bytes, body: bytes) -> bytes:
    head = request.partition(b"\r\n\r\n")[0]
    head = re.sub(rb"(?i)content-length: \d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


class _Transport(asyncio.Transport):
    """Collects what the server writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 4566), "peername": ("127.0.0.1", 50000)}.get(name)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def measure(operation: str, requests: dict[str, bytes], warm: int, count: int) -> float:
    """Seconds per request of `operation`, after `warm` unmeasured ones."""
    from cloudlet.app import App, Config
    from cloudlet.edge.http import HttpConnection, HttpServer

    data_dir = tempfile.mkdtemp(prefix="cloudlet-cost-")
    app = App(Config(data_dir=data_dir, port=4566))
    server = HttpServer(
        app.asgi, "127.0.0.1", 0, begin_turn=app.commit.begin_turn, end_of_turn=app.commit.flush_now
    )
    server.loop = asyncio.get_running_loop()
    connection = HttpConnection(app.asgi, server)
    transport = _Transport()
    connection.connection_made(transport)

    async def call(request: bytes) -> bytes:
        transport.written.clear()
        connection.data_received(request)
        while not transport.written:
            await asyncio.sleep(0)
        return transport.written[-1]

    try:
        for name in ("CreateQueue", "SendMessageBatch"):
            await call(requests[name])
        request = requests[operation]
        if operation == "DeleteMessageBatch":  # the receipts of messages received just now
            answer = await call(requests["ReceiveTen"])
            body = request.partition(b"\r\n\r\n")[2]
            messages = orjson.loads(answer.partition(b"\r\n\r\n")[2])["Messages"]
            for i, message in enumerate(messages):
                body = body.replace(b"HANDLE%d" % i, message["ReceiptHandle"].encode())
            request = _with_body(request, body)
        for _ in range(warm):
            await call(request)
        started = time.perf_counter()
        for _ in range(count):
            await call(request)
        return (time.perf_counter() - started) / count
    finally:
        app.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(operation: str, requests: dict[str, bytes], warm: int, count: int) -> float:
    import uvloop

    return uvloop.run(measure(operation, requests, warm, count))


def instructions(operation: str, requests_file: str) -> int:
    """Instructions per request: two runs under callgrind, 1,000 requests apart."""
    totals = []
    for count in (200, 1200):
        out = tempfile.mktemp(prefix="callgrind-")
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--one",
                operation,
                requests_file,
                str(count),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if os.path.exists(out):
            os.unlink(out)
        found = re.search(r"Collected : (\d+)", result.stderr)
        if found is None:
            raise RuntimeError(result.stderr[-2000:])
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) // 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # operation, requests, count
    args = parser.parse_args()
    if args.one:  # a run under callgrind
        operation, path, count = args.one
        with open(path, "rb") as file:
            requests = orjson.loads(file.read())
        _run(operation, {k: v.encode("latin-1") for k, v in requests.items()}, 300, int(count))
        return
    requests = request_bytes()
    if not args.callgrind:
        for operation in OPERATIONS:
            seconds = _run(operation, requests, 2000, 20000)
            print(f"{operation:<20} {seconds * 1e6:6.1f} us per request (in-process, warm)")
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind")
        return
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as file:
        file.write(orjson.dumps({k: v.decode("latin-1") for k, v in requests.items()}))
    try:
        for operation in OPERATIONS:
            count = instructions(operation, file.name)
            print(f"{operation:<20} {count:>9,} instructions per request")
    finally:
        os.unlink(file.name)


if __name__ == "__main__":
    main()
