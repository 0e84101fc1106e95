"""The signing process: RSA signatures computed beside the server, on another core.

An RSA-2048 signature costs ~0.25 ms of CPU and `cryptography` holds the GIL while it computes, so
signing on the server's event loop would cap SNS at a few thousand envelopes a second and a thread
would not help. The server starts this process once (`python -m cloudlet.services.sns.signer_worker
<key file>`) and exchanges frames over its pipes: a 4-byte big-endian length and a JSON array,
requests `[[version, text], ...]`, answers `["<base64 signature>", ...]` in the same order. The
process exits when its stdin closes, so it never outlives the server, even after `kill -9`.
"""

from __future__ import annotations

import base64
import sys

import orjson


def main(key_path: str) -> None:
    from cryptography.hazmat.primitives import serialization

    from cloudlet.services.sns.signing import sign_args

    with open(key_path, "rb") as file:
        key = serialization.load_pem_private_key(file.read(), password=None)
    args = sign_args()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        items = orjson.loads(stdin.read(int.from_bytes(head, "big")))
        answers = [
            base64.b64encode(key.sign(text.encode(), *args[version])).decode()  # type: ignore[union-attr]
            for version, text in items
        ]
        data = orjson.dumps(answers)
        stdout.write(len(data).to_bytes(4, "big") + data)
        stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
