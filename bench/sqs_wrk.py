"""Raw SQS server capacity, measured with wrk replaying signed requests.

Targets (issue 2), one server process with the durable SQLite store:
  >= 8,000 SendMessage/s and >= 5,000 receive+delete pairs/s.
Needs `wrk` (Debian package). Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from common import client, free_port, start_cloudlet, until_ready

DURATION = os.environ.get("DURATION", "5s")
CONNECTIONS = os.environ.get("CONNECTIONS", "8")


def signed_headers(endpoint: str, target: str, body: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"AmazonSQS.{target}",
        },
    )
    SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(request)
    return dict(request.headers)


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def post_script(body: str, headers: dict[str, str]) -> str:
    """A wrk script that POSTs the same signed request over and over."""
    lines = "\n".join(
        f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()
    )
    return f'wrk.method = "POST"\nwrk.body = {lua_string(body)}\n{lines}\n'


def while_draining(endpoint: str, url: str, script: str) -> tuple[str, int]:
    """Run a producer's wrk script while a long-polling consumer drains the queue `url`:
    (the producer's wrk output, how many messages the consumer received and deleted)."""
    results: dict[str, str] = {}

    def drain() -> None:
        results["drain"] = run_wrk(
            receive_delete_script(endpoint, url, 10, wait_seconds=1), endpoint, threads=1
        )

    drainer = threading.Thread(target=drain)
    drainer.start()
    produced = run_wrk(script, endpoint, threads=1)
    drainer.join()
    return produced, int(re.search(r"DELETED (\d+)", results["drain"]).group(1))


def backlog(sqs, url: str) -> int:
    """Messages still in the queue, visible or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def send_script(endpoint: str, url: str) -> str:
    message = {"QueueUrl": url, "MessageBody": "hello from wrk, a message of a typical small size"}
    body = orjson.dumps(message).decode()
    headers = signed_headers(endpoint, "SendMessage", body)
    return post_script(body, headers)


def receive_delete_script(endpoint: str, url: str, batch: int, wait_seconds: int = 0) -> str:
    """Receive then delete what was received, over and over. A consumer that drains a queue
    being filled (`wait_seconds` > 0) long-polls, as SQS consumers do, rather than spinning on
    empty receives that would take the server's time from the producers."""
    request = {"QueueUrl": url, "MaxNumberOfMessages": batch, "VisibilityTimeout": 60}
    if wait_seconds:
        request["WaitTimeSeconds"] = wait_seconds
    receive = orjson.dumps(request).decode()
    rh = signed_headers(endpoint, "ReceiveMessage", receive)
    dh = signed_headers(endpoint, "DeleteMessageBatch" if batch > 1 else "DeleteMessage", "{}")
    return (
        textwrap.dedent(
            f"""
        local receive_body = {lua_string(receive)}
        local url = {lua_string(url)}
        local rh = {{}}
        local dh = {{}}
        """
        )
        + "\n".join(
            f"rh[ {lua_string(k)} ] = {lua_string(v)}"
            for k, v in rh.items()
            if k != "Content-Length"
        )
        + "\n"
        + "\n".join(
            f"dh[ {lua_string(k)} ] = {lua_string(v)}"
            for k, v in dh.items()
            if k != "Content-Length"
        )
        + textwrap.dedent(
            f"""
        local pending = {{}}
        deleted = 0
        local batch = {batch}
        function request()
          if #pending > 0 then
            local handles = table.remove(pending, 1)
            local body
            if batch > 1 then
              local entries = {{}}
              for i, h in ipairs(handles) do
                entries[#entries + 1] = '{{"Id":"' .. i .. '","ReceiptHandle":"' .. h .. '"}}'
              end
              body = '{{"QueueUrl":"' .. url .. '","Entries":[' .. table.concat(entries, ",") .. ']}}'
            else
              body = '{{"QueueUrl":"' .. url .. '","ReceiptHandle":"' .. handles[1] .. '"}}'
            end
            deleted = deleted + #handles
            return wrk.format("POST", "/", dh, body)
          end
          return wrk.format("POST", "/", rh, receive_body)
        end
        function response(status, headers, body)
          local handles = {{}}
          for h in string.gmatch(body, '"ReceiptHandle":"([^"]+)"') do
            handles[#handles + 1] = h
          end
          if #handles > 0 then pending[#pending + 1] = handles end
        end
        function setup(thread) threads = threads or {{}}; table.insert(threads, thread) end
        function done(summary, latency, requests)
          local total = 0
          for _, t in ipairs(threads) do total = total + t:get("deleted") end
          io.write(string.format("DELETED %d\\n", total))
        end
        """
        )
    )


def run_wrk(script: str, endpoint: str, threads: int = 2) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{CONNECTIONS}",
                f"-d{DURATION}",
                "--latency",
                "-s",
                fh.name,
                endpoint + "/",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(fh.name)
    return out


def rate(out: str) -> float:
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def seconds(duration: str) -> float:
    return float(duration.rstrip("s"))


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp()
    proc = start_cloudlet(port, data_dir)
    try:
        sqs = client("sqs", port)
        until_ready(sqs.list_queues)
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        out = run_wrk(send_script(endpoint, url), endpoint)
        sent = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        print(f"SendMessage: {rate(out):,.0f} req/s ({sent:,} messages stored)   target >= 8,000/s")
        print(
            out.split("Latency Distribution")[1].split("\n")[1:5]
            if "Latency Distribution" in out
            else ""
        )
        for batch in (1, 10):
            out = run_wrk(receive_delete_script(endpoint, url, batch), endpoint)
            deleted = int(re.search(r"DELETED (\d+)", out).group(1))
            pairs = deleted / seconds(DURATION)
            print(
                f"receive+delete (batch {batch:>2}): {pairs:,.0f} messages/s received and deleted "
                f"({rate(out):,.0f} req/s)   target >= 5,000 pairs/s"
            )
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
