"""S3 throughput with a raw HTTP client: 64 MB PUTs and GETs through presigned URLs (curl), and
listing 10,000 keys page by page.

Targets: PUT and GET >= 300 MB/s each; 10,000 keys listed (10 pages of 1,000) in < 1 s in total.
Also prints the server's peak RSS (VmHWM) after the transfers: object data is streamed, so it
stays far below the object size. Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from common import client, free_port, start_cloudlet, until_ready

SIZE = 64 * 1024 * 1024
ROUNDS = int(os.environ.get("ROUNDS", "5"))
KEYS = 10_000


def curl(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", *args], check=True)
    return time.perf_counter() - started


def transfers(s3, bucket: str, path: str) -> None:
    put_times, get_times = [], []
    for n in range(ROUNDS):
        key = f"big-{n}"
        put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
        get = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        put_times.append(curl("-X", "PUT", "-T", path, put))
        get_times.append(curl(get))
    mb = SIZE / 1e6
    print(
        f"PUT 64 MB: best {mb / min(put_times):,.0f} MB/s, median "
        f"{mb / sorted(put_times)[len(put_times) // 2]:,.0f} MB/s   target >= 300 MB/s"
    )
    print(
        f"GET 64 MB: best {mb / min(get_times):,.0f} MB/s, median "
        f"{mb / sorted(get_times)[len(get_times) // 2]:,.0f} MB/s   target >= 300 MB/s"
    )


def fill(port: int, bucket: str) -> None:
    """10,000 small objects over 8 keep-alive connections (unsigned PUTs reach S3)."""

    def worker(part: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for i in range(part, KEYS, 8):
            conn.request("PUT", f"/{bucket}/dir{i % 10}/key-{i:05d}", body=b"x")
            conn.getresponse().read()
        conn.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))


def listing(port: int, bucket: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    token, pages, keys = None, 0, 0
    while True:
        query = "list-type=2&max-keys=1000" + (f"&continuation-token={token}" if token else "")
        conn.request("GET", f"/{bucket}?{query}")
        body = conn.getresponse().read()
        pages += 1
        keys += body.count(b"<Key>")
        found = re.search(rb"<NextContinuationToken>([^<]+)<", body)
        if not found:
            break
        token = found.group(1).decode()
    elapsed = time.perf_counter() - started
    print(
        f"ListObjectsV2: {keys:,} keys in {pages} pages in {elapsed * 1000:,.0f} ms   target < 1 s"
    )


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    port = free_port()
    data_dir = tempfile.mkdtemp()
    proc = start_cloudlet(port, data_dir)
    path = os.path.join(data_dir, "payload.bin")
    with open(path, "wb") as fh:
        for _ in range(SIZE // (1 << 20)):
            fh.write(os.urandom(1 << 20))
    try:
        s3 = client("s3", port)
        until_ready(s3.list_buckets)
        s3.create_bucket(Bucket="bench")
        transfers(s3, "bench", path)
        print(f"server peak RSS after the transfers: {peak_rss_mb(proc.pid):,.0f} MiB")
        s3.create_bucket(Bucket="bench-list")
        fill(port, "bench-list")
        listing(port, "bench-list")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
