"""A 200 MB object streamed through a `cloudlet start` process: server memory stays low."""

from __future__ import annotations

import hashlib
import http.client

CHUNK = 1 << 20
SIZE = 200 * CHUNK


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_200_mb_streamed_in_and_out(cloudlet_process):
    cloudlet_process.start()
    s3 = cloudlet_process.client("s3")
    s3.create_bucket(Bucket="large")
    block = bytes(range(256)) * (CHUNK // 256)
    expected = hashlib.md5()
    for _ in range(SIZE // CHUNK):
        expected.update(block)

    def body():
        for _ in range(SIZE // CHUNK):
            yield block

    conn = http.client.HTTPConnection("127.0.0.1", cloudlet_process.port, timeout=120)
    conn.request("PUT", "/large/blob.bin", body=body(), headers={"Content-Length": str(SIZE)})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.getheader("ETag") == f'"{expected.hexdigest()}"'
    response.read()
    conn.request("GET", "/large/blob.bin")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(SIZE)
    got = hashlib.md5()
    while piece := response.read(CHUNK):
        got.update(piece)
    assert got.hexdigest() == expected.hexdigest()
    peak = peak_rss_mib(cloudlet_process.proc.pid)
    assert peak < 150, f"server peak RSS {peak:.0f} MiB for a {SIZE >> 20} MiB object"
