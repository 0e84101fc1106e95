"""The `cloudlet` command: start a server, move its clock."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.request

from cloudlet import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudlet", description="The AWS serverless cloud on one machine."
    )
    parser.add_argument("--version", action="version", version=f"cloudlet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="serve every implemented AWS service on one port")
    start.add_argument(
        "--host",
        default=os.environ.get("CLOUDLET_HOST", "127.0.0.1"),
        help="address to bind (default 127.0.0.1: only this machine can connect)",
    )
    start.add_argument("--port", type=int, default=int(os.environ.get("CLOUDLET_PORT", "4566")))
    start.add_argument(
        "--data-dir",
        default=None,
        help="where state lives (default: $CLOUDLET_DATA_DIR or ~/.local/share/cloudlet)",
    )
    start.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep state in a temporary directory removed on exit",
    )
    start.add_argument(
        "--account-id",
        default=os.environ.get("CLOUDLET_ACCOUNT_ID", "000000000000"),
        help="the account of requests whose access key names no account (default 000000000000)",
    )
    start.add_argument(
        "--log-level",
        default=os.environ.get("CLOUDLET_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    _mail_options(start)

    commands.add_parser(
        "aws",
        help="run the AWS CLI against the running cloudlet: `cloudlet aws sqs list-queues`",
        add_help=False,
    )
    clock = commands.add_parser("clock", help="show or move the server's clock")
    clock_commands = clock.add_subparsers(dest="clock_command")
    advance = clock_commands.add_parser(
        "advance", help="move time forward, e.g. `cloudlet clock advance 1h`"
    )
    advance.add_argument("duration", help="seconds, or with a unit: 500ms, 30s, 15m, 1h, 2d")
    clock.add_argument(
        "--endpoint",
        default=None,
        help="default: $CLOUDLET_ENDPOINT, $AWS_ENDPOINT_URL or http://127.0.0.1:4566",
    )
    return parser


def _mail_options(start: argparse.ArgumentParser) -> None:
    """SMTP relay and SES verification options; each has a CLOUDLET_* environment variable."""
    env = os.environ.get
    start.add_argument(
        "--smtp-url",
        default=env("CLOUDLET_SMTP_URL", ""),
        help="relay every sent email to this SMTP server: smtp://[user:password@]host:port"
        "[?starttls=true|false&verify=false] or smtps:// for implicit TLS",
    )
    start.add_argument("--smtp-user", default=env("CLOUDLET_SMTP_USER", ""))
    start.add_argument(
        "--smtp-password",
        default=env("CLOUDLET_SMTP_PASSWORD", ""),
        help="prefer $CLOUDLET_SMTP_PASSWORD: command lines are visible to other users",
    )
    start.add_argument(
        "--ses-auto-verify",
        action=argparse.BooleanOptionalAction,
        default=env("CLOUDLET_SES_AUTO_VERIFY", "1").lower() not in ("0", "false", "no", "off"),
        help="SES identities verify at once, out of the sandbox (default); --no-ses-auto-verify: "
        "verification links in the mailbox and the sandbox's limits, as on AWS",
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["aws"]:
        return run_aws_cli(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "start":
        return _start(args)
    if args.command == "clock":
        return _clock(args)
    return 2


def _start(args: argparse.Namespace) -> int:
    from cloudlet.app import App, Config
    from cloudlet.server import serve

    if args.smtp_url:  # refused before anything starts, in words that name the option
        from cloudlet.core.mail.relay import SmtpSettings

        try:
            SmtpSettings.parse(args.smtp_url)
        except ValueError as exc:
            print(f"cloudlet: --smtp-url: {exc}", file=sys.stderr)
            return 2
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = Config(
        host=args.host,
        port=args.port,
        ephemeral=args.ephemeral,
        log_level=args.log_level,
        account=args.account_id,
        smtp_url=args.smtp_url,
        smtp_user=args.smtp_user,
        smtp_password=args.smtp_password,
        ses_auto_verify=args.ses_auto_verify,
    )
    if args.data_dir:
        config.data_dir = args.data_dir
    from cloudlet.core.store.sqlite import StoreInUse

    try:
        app = App(config)
    except StoreInUse:
        print(
            f"cloudlet: the data directory {config.data_dir} is in use by another cloudlet server; "
            "stop it or pass --data-dir / --ephemeral",
            file=sys.stderr,
        )
        return 1
    where = "a temporary directory" if config.ephemeral else config.data_dir
    logging.getLogger("cloudlet").info(
        "cloudlet %s on http://%s:%d, state in %s", __version__, config.host, config.port, where
    )
    serve(app)
    return 0


def _clock(args: argparse.Namespace) -> int:
    args.endpoint = args.endpoint or endpoint_url()
    url = args.endpoint.rstrip("/") + "/_cloudlet/clock"
    if args.clock_command == "advance":
        body = json.dumps({"advance": args.duration}).encode()
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
    else:
        request = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach cloudlet at {args.endpoint}: {exc}", file=sys.stderr)
        return 1
    return 0


def endpoint_url() -> str:
    return os.environ.get("CLOUDLET_ENDPOINT") or os.environ.get(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:4566"
    )


def run_aws_cli(args: list[str]) -> int:
    """The AWS CLI with cloudlet's endpoint, a region and test credentials filled in.

    The endpoint goes in as `--endpoint-url` (older CLI versions ignore AWS_ENDPOINT_URL);
    credentials, region and host-prefix injection are set only where the caller's environment
    has none.
    """
    import shutil
    import subprocess

    env = dict(os.environ)
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    # StartSyncExecution and TestState would go to `sync-<host>`, which does not resolve locally
    env.setdefault("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    aws = shutil.which("aws")
    command = [aws] if aws else [sys.executable, "-m", "awscli"]
    if not any(a == "--endpoint-url" or a.startswith("--endpoint-url=") for a in args):
        command += ["--endpoint-url", endpoint_url()]
    try:
        return subprocess.call([*command, *args], env=env)
    except FileNotFoundError:
        print("cloudlet aws: the AWS CLI is not installed (pip install awscli)", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
