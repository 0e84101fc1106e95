"""cloudlet's own HTTP/1.1 server (edge/http.py), driven over raw sockets.

boto3 and the CLI only ever send one simple request at a time; these are the cases they do not
reach: pipelining, bodies that arrive after their head, `Expect: 100-continue`, chunked bodies,
HEAD, and malformed requests.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import orjson
import pytest


def _connect(endpoint: str) -> socket.socket:
    parts = urlsplit(endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _sqs_request(target: str, params: dict, *, extra: str = "") -> tuple[bytes, bytes]:
    body = orjson.dumps(params)
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Amz-Target: AmazonSQS.{target}\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode(), body


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response off the connection (Content-Length framed); leaves what follows in buffer."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        rest += chunk
    buffer[:] = rest[length:]
    return status, headers, rest[:length]


@pytest.fixture
def queue(sqs, unique) -> str:
    return sqs.create_queue(QueueName=f"http-{unique}")["QueueUrl"]


@pytest.fixture
def s3(aws_client):
    return aws_client("s3")


def test_keep_alive_serves_several_requests_on_one_connection(endpoint, queue):
    with _connect(endpoint) as sock:
        buffer = bytearray()
        for n in range(3):
            head, body = _sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": f"m{n}"})
            sock.sendall(head + body)
            status, headers, payload = _read_response(sock, buffer)
            assert status == 200 and "MessageId" in orjson.loads(payload)
            assert headers["x-amzn-requestid"]


def test_pipelined_requests_are_answered_in_order(endpoint, queue, sqs):
    requests = b"".join(
        b"".join(_sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": f"p{n}"}))
        for n in range(5)
    )
    requests += b"".join(
        _sqs_request("GetQueueAttributes", {"QueueUrl": queue, "AttributeNames": ["All"]})
    )
    with _connect(endpoint) as sock:
        sock.sendall(requests)  # six requests in one write
        buffer = bytearray()
        answers = [_read_response(sock, buffer) for _ in range(6)]
    assert [status for status, _, _ in answers] == [200] * 6
    assert all("MessageId" in orjson.loads(body) for _, _, body in answers[:5])
    attributes = orjson.loads(answers[5][2])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "5"  # answered after all five sends


def test_a_body_arriving_after_its_head_is_waited_for(endpoint, queue, sqs):
    head, body = _sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": "late body"})
    with _connect(endpoint) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.1)
        sock.sendall(body[10:])
        status, _, payload = _read_response(sock, bytearray())
    assert status == 200 and "MessageId" in orjson.loads(payload)
    received = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert [m["Body"] for m in received] == ["late body"]


def test_a_request_pipelined_behind_a_late_body_waits_its_turn(endpoint, queue, sqs):
    first = b"".join(_sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": "first"}))
    second = b"".join(_sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": "second"}))
    with _connect(endpoint) as sock:
        sock.sendall(first[:-5])  # the head and part of the body
        time.sleep(0.05)
        sock.sendall(first[-5:] + second)
        buffer = bytearray()
        answers = [_read_response(sock, buffer) for _ in range(2)]
    assert [status for status, _, _ in answers] == [200, 200]
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["first", "second"]


def test_a_client_gone_before_its_body_leaves_the_server_serving(endpoint, queue, sqs):
    head, body = _sqs_request("SendMessage", {"QueueUrl": queue, "MessageBody": "never"})
    with _connect(endpoint) as sock:
        sock.sendall(head + body[:5])
        time.sleep(0.05)
    sqs.send_message(QueueUrl=queue, MessageBody="after")
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["after"]


def test_expect_continue_gets_the_go_ahead_before_the_body(endpoint, queue, sqs):
    head, body = _sqs_request(
        "SendMessage",
        {"QueueUrl": queue, "MessageBody": "after 100"},
        extra="Expect: 100-continue\r\n",
    )
    with _connect(endpoint) as sock:
        sock.sendall(head)
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        status, _, payload = _read_response(sock, bytearray())
    assert status == 200 and "MessageId" in orjson.loads(payload)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "after 100"


def test_a_chunked_body_is_read_whole(endpoint, s3, unique):
    bucket = f"chunked-{unique}"
    s3.create_bucket(Bucket=bucket)
    pieces = [b"first piece, ", b"second piece, ", b"last"]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    head = (
        f"PUT /{bucket}/object.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    with _connect(endpoint) as sock:
        sock.sendall(head)
        for piece in chunked.split(b"\r\n", 2):  # in a few writes, as a streaming client does
            sock.sendall(piece + b"\r\n" if not piece.endswith(b"\r\n\r\n") else piece)
        status, _, _ = _read_response(sock, bytearray())
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="object.txt")["Body"].read() == b"".join(pieces)


def test_head_tells_the_length_without_sending_the_body(endpoint, s3, unique):
    bucket = f"head-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 1234)
    with _connect(endpoint) as sock:
        sock.sendall(f"HEAD /{bucket}/k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.sendall(f"GET /{bucket}/k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"x" * 1234):
            assert time.monotonic() < deadline, data[:500]
            data += sock.recv(65536)
    head_response, _, get_response = data.partition(b"HTTP/1.1 200 OK\r\n")[2].partition(
        b"HTTP/1.1 200"
    )
    assert b"content-length: 1234" in head_response.lower()
    assert not head_response.rstrip(b"\r\n").endswith(b"x")  # no body after HEAD's head
    assert get_response.endswith(b"x" * 1234)


def test_a_malformed_request_gets_400_and_the_connection_closes(endpoint):
    with _connect(endpoint) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in data.lower()


def test_responses_carry_an_http_date(endpoint, queue):
    from email.utils import formatdate, parsedate_to_datetime

    from cloudlet.edge.http import http_date

    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"  # RFC 9110's example
    assert all(http_date(t) == formatdate(t, usegmt=True) for t in range(0, 4 * 10**9, 7_777_777))
    with _connect(endpoint) as sock:
        head, body = _sqs_request("GetQueueUrl", {"QueueName": queue.rsplit("/", 1)[1]})
        sock.sendall(head + body)
        _, headers, _ = _read_response(sock, bytearray())
    sent = parsedate_to_datetime(headers["date"]).timestamp()
    assert abs(sent - time.time()) < 5
