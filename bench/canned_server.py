"""A server that answers SQS calls with fixed, valid responses and does no work at all.

The reference for bench/sqs_client.py: whatever a boto3 client achieves against this is the
client's own ceiling. Raw asyncio protocol, keep-alive, nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

import orjson

BODY = "hello from the benchmark, a message of a typical small size"
MD5 = hashlib.md5(BODY.encode()).hexdigest()
RESPONSES = {
    b"SendMessage": {"MD5OfMessageBody": MD5, "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274"},
    b"ReceiveMessage": {
        "Messages": [
            {
                "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
                "ReceiptHandle": "MToxMmIzYTYxNzBiZjc2NjcyNzkwZjpzcXMvMDAwMDAwMDAwMDAwL3VzLWVhc3QtMS9xMQ==",
                "MD5OfBody": MD5,
                "Body": BODY,
            }
        ]
    },
    b"DeleteMessageBatch": {"Successful": [{"Id": str(i)} for i in range(10)], "Failed": []},
    b"GetQueueUrl": {"QueueUrl": "http://127.0.0.1/000000000000/bench"},
}


def response(target: bytes) -> bytes:
    body = orjson.dumps(RESPONSES.get(target, {}))
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Canned(asyncio.Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length, target = 0, b""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"x-amz-target":
                    target = value.strip().rpartition(b".")[2]
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.transport.write(response(target))


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
