"""Lambda invocation through the API, as users and load generators see it.

Targets (issue 3):
- warm synchronous invoke of a no-op Python handler through boto3: p50 under 2 ms and at most
  1.5x the p50 of a trivial boto3 call (GetFunctionConfiguration) measured in the same run;
- with 8 concurrent callers (wrk replaying a signed Invoke; boto3's own cost would hide the
  server's): at least 1,500 warm invokes/s on this 2-core machine.
Prints figures; never fails because a machine is slow.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from common import client, free_port, handler_zip, start_cloudlet, until_ready

CALLS = int(os.environ.get("CALLS", "2000"))
DURATION = os.environ.get("DURATION", "5s")


def p50_ms(call, n: int) -> float:
    for _ in range(50):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def wrk_invoke(endpoint: str, name: str) -> str:
    url = f"{endpoint}/2015-03-31/functions/{name}/invocations"
    request = AWSRequest(
        method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(request)
    headers = "\n".join(
        f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]" for k, v in request.headers.items()
    )
    script = f'wrk.method = "POST"\nwrk.body = "{{}}"\n{headers}\n'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        return subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{DURATION}", "--latency", "-s", fh.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(fh.name)


def main() -> None:
    port = free_port()
    data_dir = tempfile.mkdtemp()
    server = start_cloudlet(port, data_dir)
    try:
        lam = client("lambda", port)
        until_ready(lam.list_functions)
        name = "noop"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role="arn:aws:iam::000000000000:role/bench",
            Handler="app.handler",
            Code={"ZipFile": handler_zip("def handler(event, context):\n    return None\n")},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        trivial = p50_ms(lambda: lam.get_function_configuration(FunctionName=name), CALLS)
        invoke = p50_ms(lambda: lam.invoke(FunctionName=name, Payload=b"{}"), CALLS)
        print(f"warm invoke through boto3: p50 {invoke:.2f} ms   target < 2 ms")
        print(
            f"GetFunctionConfiguration:  p50 {trivial:.2f} ms   ratio {invoke / trivial:.2f}   target <= 1.5"
        )
        if shutil.which("wrk"):
            out = wrk_invoke(f"http://127.0.0.1:{port}", name)
            rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(
                f"8 concurrent callers (wrk): {rate:,.0f} invokes/s"
                f"{' (' + errors.group(1) + ' non-2xx)' if errors else ''}   target >= 1,500/s"
            )
        else:
            print("wrk not installed: concurrent throughput not measured (apt-get install wrk)")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
