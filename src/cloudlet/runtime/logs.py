"""Function logs: the platform lines AWS writes, log stream names, and where log events go.

An environment's stdout/stderr lines and the platform's own lines (INIT_START, START, END, REPORT,
timeouts, exits) become log events of one log stream per environment, named as AWS names them:
`2024/05/01/[$LATEST]<32 hex>`. They are handed to a *sink*, a callable
`(account, region, group, stream, events) -> None` with events as `(timestamp_ms, message)`
tuples. CloudWatch Logs
wires its own sink; until then `MemoryLogSink` keeps the most recent events so tests can read them.

The platform lines are formatted here, in one place, exactly as AWS prints them (tab separated,
each REPORT field followed by a tab).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

LogEvent = tuple[int, str]
LogSink = Callable[[str, str, str, str, list[LogEvent]], None]

#: LogType=Tail returns this many bytes of the end of an invocation's log
TAIL_BYTES = 4096


def log_group_name(function_name: str, configured: str = "") -> str:
    return configured or f"/aws/lambda/{function_name}"


def log_stream_name(version: str, now: float | None = None) -> str:
    """`YYYY/MM/DD/[<version>]<32 hex>`: the date the environment started, in UTC."""
    day = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return f"{day:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def iso_ms(epoch_s: float) -> str:
    """`2024-05-01T12:00:00.123Z`, the timestamp format of Lambda's own log lines."""
    stamp = datetime.fromtimestamp(epoch_s, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def init_start_line(runtime: str, region: str) -> str:
    """`INIT_START Runtime Version: python:3.12.v1 ...`: written once per cold start."""
    family = re.sub(r"^(python|nodejs|provided)\.?(?=.)", r"\1:", runtime).removesuffix(".x")
    digest = hashlib.sha256(runtime.encode()).hexdigest()
    arn = f"arn:aws:lambda:{region}::runtime:{digest}"
    return f"INIT_START Runtime Version: {family}.v1\tRuntime Version ARN: {arn}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Billed duration: rounded up to the next millisecond; since August 2025 a cold start's
    INIT phase is billed too."""
    return max(1, math.ceil(duration_ms + (init_ms or 0.0)))


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_used_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line; `Status`/`Error Type` only when the platform ended the invocation."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms, init_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_used_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields) + "\t"


def init_report_line(init_ms: float, phase: str, status: str, error_type: str | None) -> str:
    """`INIT_REPORT ...`: AWS writes it when an INIT phase fails or times out."""
    line = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return line + (f"\tError Type: {error_type}" if error_type else "")


def timeout_message(request_id: str, elapsed_s: float, now: float | None = None) -> str:
    """`2024-05-01T12:00:03.004Z <request id> Task timed out after 3.00 seconds`."""
    stamp = iso_ms(time.time() if now is None else now)
    return f"{stamp} {request_id} Task timed out after {elapsed_s:.2f} seconds"


def exit_message(request_id: str, how: str) -> str:
    """`RequestId: <id> Error: Runtime exited with error: exit status 1` (or `signal: killed`)."""
    return f"RequestId: {request_id} Error: Runtime exited with error: {how}"


def exit_description(returncode: int) -> str:
    """How Go's os/exec (which AWS's runtime manager is written in) describes a process exit."""
    if returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal: {-returncode}"
        return f"signal: {_SIGNAL_WORDS.get(name, name.lower().removeprefix('sig'))}"
    return f"exit status {returncode}"


_SIGNAL_WORDS = {
    "SIGKILL": "killed",
    "SIGTERM": "terminated",
    "SIGSEGV": "segmentation fault",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGILL": "illegal instruction",
    "SIGFPE": "floating point exception",
    "SIGINT": "interrupt",
    "SIGHUP": "hangup",
    "SIGPIPE": "broken pipe",
}


class TailBuffer:
    """The most recent lines of one invocation, only as many as a LogType=Tail answer needs."""

    __slots__ = ("lines", "size")

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.size = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > TAIL_BYTES + 1024 and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1

    def text(self) -> str:
        return tail(self.lines)


def tail(lines: Sequence[str], limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of the lines, newline-terminated, cut on a character boundary."""
    text = "".join(line + "\n" for line in lines)
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[-limit:].decode("utf-8", errors="ignore")


class MemoryLogSink:
    """The default sink: the most recent events of each log group, in memory.

    Bounded per group so a chatty function cannot grow the server without limit.
    """

    def __init__(self, max_events_per_group: int = 10_000) -> None:
        self.max_events = max_events_per_group
        self._groups: dict[str, deque[tuple[str, int, str]]] = {}

    def __call__(
        self, account: str, region: str, group: str, stream: str, events: list[LogEvent]
    ) -> None:
        store = self._groups.get(group)
        if store is None:
            store = self._groups[group] = deque(maxlen=self.max_events)
        store.extend((stream, ts, message) for ts, message in events)

    def events(self, group: str, stream: str | None = None) -> list[LogEvent]:
        """Events of a group (or of one of its streams), oldest first."""
        return [
            (ts, message)
            for name, ts, message in self._groups.get(group, ())
            if stream is None or name == stream
        ]

    def messages(self, group: str, stream: str | None = None) -> list[str]:
        return [message for _, message in self.events(group, stream)]

    def streams(self, group: str) -> list[str]:
        return list(dict.fromkeys(name for name, _, _ in self._groups.get(group, ())))

    def clear(self) -> None:
        self._groups.clear()
