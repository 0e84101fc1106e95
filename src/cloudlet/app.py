"""The App owns everything of one cloudlet server: config, store, clock, queues and providers.

There is no module-level mutable state, so a test can run several independent servers in one
process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudlet import __version__
from cloudlet.core.clock import Clock
from cloudlet.core.events import EventHub
from cloudlet.core.notify import Notifier
from cloudlet.core.queue import WorkQueues
from cloudlet.core.store import GroupCommit, Store, StoreClosed, open_store
from cloudlet.core.timers import Timers
from cloudlet.services import PROVIDERS, Provider, load_provider

if TYPE_CHECKING:
    from cloudlet.core.mail import Mailbox
    from cloudlet.runtime.pool import Runtime

log = logging.getLogger("cloudlet")

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


def default_data_dir() -> str:
    """Where state lives unless told otherwise: $CLOUDLET_DATA_DIR, else the per-user data dir."""
    explicit = os.environ.get("CLOUDLET_DATA_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "cloudlet")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: str = field(default_factory=default_data_dir)
    ephemeral: bool = False
    log_level: str = "info"
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    #: relay every mailbox message to this SMTP server (smtp:// or smtps://); see core/mail/relay
    smtp_url: str = ""
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    #: SES identities verify at once and the account starts out of the sandbox; off: AWS's flow
    ses_auto_verify: bool = True


class App:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.version = __version__
        if self.config.ephemeral:
            self.config.data_dir = tempfile.mkdtemp(prefix="cloudlet-")
        self.store: Store = open_store(self.config.data_dir)
        meta = self.store.get("meta", "clock") or {}
        self.clock = Clock(meta.get("offset", 0.0))
        self.clock.on_advance(self._save_clock)
        self.notifier = Notifier()
        self.events = EventHub()  # services' own events (EC2 state changes ...) for EventBridge
        #: concurrent requests' writes share one commit per event-loop turn
        self.commit = GroupCommit(self.store)
        self.queues = WorkQueues(self.store, self.clock, self.notifier, self.commit)
        self.timers = Timers(self.store, self.clock, self.commit, load_service=self.provider)
        self._providers: dict[str, Provider] = {}
        self._log_writes: set[asyncio.Task[None]] = set()
        self._runtime: Runtime | None = None
        self._mailbox: Mailbox | None = None
        #: run by the server right after it starts listening (a result that is awaitable is
        #: awaited): background work that must survive a restart resumes here
        self.on_start: list[Callable[[], Any]] = [
            self.timers.resume,
            self._resume_lambda,
            self._resume_ec2,
            self._resume_sns,
            self._resume_events,
            self._resume_stepfunctions,
            self._start_mail_relay,
        ]
        from cloudlet.edge.asgi import Edge

        self.asgi = Edge(self)

    def _resume_ec2(self) -> None:
        """Instances caught mid-transition by a restart finish it, and announce it, on time:
        loading the provider re-arms their wake-ups. Checked without importing EC2."""
        if any(doc.get("next") for _, doc in self.store.scan("ec2.instance")):
            self.provider("ec2")

    def _resume_sns(self) -> None:
        """SNS deliveries still queued (HTTP/S, Lambda) go out again; checked without importing SNS."""
        from cloudlet.services.sns.startup import resume

        resume(self)

    def _resume_stepfunctions(self) -> None:
        """Standard executions caught running by a restart continue where they were."""
        from cloudlet.services.stepfunctions.startup import resume

        resume(self)

    def _resume_events(self) -> None:
        """EventBridge loads when a rule exists (it must hear services' events from the start) or
        deliveries wait; Scheduler when a schedule exists. Checked without importing either."""
        from cloudlet.services.events.startup import resume

        resume(self)

    def _start_mail_relay(self) -> None:
        """With --smtp-url, mail goes on to that server; queued mail resumes after a restart."""
        from cloudlet.core.mail.relay import start

        start(self)

    @property
    def mailbox(self) -> Mailbox:
        """Every message cloudlet "sends" (SES, SNS email); relayed on with --smtp-url."""
        if self._mailbox is None:
            from cloudlet.core.mail import Mailbox

            self._mailbox = Mailbox(self.store, self.clock)
        return self._mailbox

    @property
    def services(self) -> list[str]:
        return list(PROVIDERS)

    def provider(self, service: str) -> Provider:
        provider = self._providers.get(service)
        if provider is None:
            provider = self._providers[service] = load_provider(service, self)
        return provider

    @property
    def runtime(self) -> Runtime:
        """Function execution environments; created on first use, so start-up imports none."""
        if self._runtime is None:
            from cloudlet.runtime.pool import Runtime

            self._runtime = Runtime(self, log_sink=self._function_logs)
        return self._runtime

    def _function_logs(
        self, account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]
    ) -> None:
        """Function output goes to CloudWatch Logs, written in the next group commit: logs are
        eventually visible, as on AWS, and never cost an invocation a commit of its own."""
        logs = self.provider("logs")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logs.append(account, region, group, stream, events)
            return

        async def write() -> None:
            try:
                await self.commit(logs.append, account, region, group, stream, events)
            except StoreClosed:
                log.debug("%d log events of %s arrived after the store closed", len(events), group)
            except Exception:
                log.exception("could not store %d log events of %s", len(events), group)

        task = loop.create_task(write())
        self._log_writes.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._log_writes.discard)

    def _resume_lambda(self) -> None:
        """Pending asynchronous invocations and event source mappings run again after a restart;
        the check is cheap and loads the Lambda provider only when there is something to resume."""
        from cloudlet.services.awslambda.startup import resume

        resume(self)

    def _save_clock(self) -> None:
        self.store.put("meta", "clock", {"offset": self.clock.offset})

    def reset(self) -> None:
        """Wipe all state: every service starts empty, as after a first start."""
        self.store.reset()
        self.clock.offset = 0.0
        for provider in self._providers.values():
            provider.reset()
        self.notifier.notify_all()

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
        for provider in self._providers.values():
            provider.close()
        self.store.close()
        if self.config.ephemeral:
            shutil.rmtree(self.config.data_dir, ignore_errors=True)
