"""cloudlet's own endpoints under /_cloudlet/, and the moto server's reset for its test suites."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from cloudlet.protocols import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from cloudlet.app import App

_JSON = {"Content-Type": "application/json"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(status, dict(_JSON), orjson.dumps(body))


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `2d` -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 2d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_LOCALSTACK_NAMES = {"awslambda": "lambda", "stepfunctions": "stepfunctions"}


def _localstack_name(service: str) -> str:
    return _LOCALSTACK_NAMES.get(service, service)


def info(app: App, request: HttpRequest) -> dict[str, Any]:
    base = f"http://{request.host or f'{app.config.host}:{app.config.port}'}"
    port = f":{base.rpartition(':')[2]}" if base.count(":") > 1 else ""
    return {
        "name": "cloudlet",
        "version": app.version,
        "services": app.services,
        "endpoint": base,
        "data_dir": None if app.config.ephemeral else app.config.data_dir,
        "ephemeral": app.config.ephemeral,
        "default_account": app.config.account,
        "default_region": app.config.region,
        "clock": {"now": app.clock.now(), "offset_seconds": app.clock.offset},
        "urls": {
            "aws_api": base + "/",
            "sqs_queue": base + "/{account_id}/{queue_name}",
            # browsers resolve *.localhost; the path-style form needs no DNS
            "lambda_function_url": "http://{url_id}.lambda-url.{region}.localhost" + port + "/",
            "lambda_function_url_path": base + "/_cloudlet/lambda-url/{url_id}/",
            # REST APIs: /{stage}/{path}; HTTP APIs: /{path} on their $default stage
            "apigateway_invoke_url": "http://{api_id}.execute-api.localhost" + port + "/{stage}/",
            "apigateway_invoke_url_path": base + "/_cloudlet/apigateway/{api_id}/{stage}/",
            "s3_virtual_host": "http://{bucket}.s3.localhost" + port + "/{key}",
            "s3_website": "http://{bucket}.s3-website.localhost" + port + "/",
            "s3_website_path": base + "/_cloudlet/s3-website/{bucket}/",
        },
        # The forms tools and tutorials written for LocalStack or AWS use, answered as well
        # (routed by Host header and path: a name needs to resolve here, nothing more).
        "url_aliases": {
            "apigateway_invoke_url": [
                "http://{api_id}.execute-api.localhost.localstack.cloud" + port + "/{stage}/",
                base + "/restapis/{api_id}/{stage}/_user_request_/",
                base + "/_aws/execute-api/{api_id}/{stage}/",
            ],
            "s3_virtual_host": ["http://{bucket}.s3.localhost.localstack.cloud" + port + "/{key}"],
            "s3_website": [
                "http://{bucket}.s3-website.localhost.localstack.cloud" + port + "/",
                "http://{bucket}.s3-website-{region}.amazonaws.com" + port + "/",
                "http://{bucket}.s3-website.{region}.amazonaws.com" + port + "/",
            ],
            "ses_mailbox": [base + "/_aws/ses"],
            "health": [base + "/_localstack/health"],
        },
    }


async def handle_internal(app: App, request: HttpRequest, scope: dict[str, Any]) -> HttpResponse:
    path, method = request.path.rstrip("/"), request.method
    if path == "/_cloudlet/health":
        return _json(
            200,
            {
                "status": "ready",
                "version": app.version,
                "services": {s: "available" for s in app.services},
            },
        )
    if path == "/_cloudlet/info":
        return _json(200, info(app, request))
    if path in ("/_localstack/health", "/_localstack/init") and method in ("GET", "HEAD"):
        # What CI helpers written for LocalStack poll before they start their tests.
        return _json(
            200,
            {
                "services": {_localstack_name(s): "running" for s in app.services},
                "edition": "community",
                "version": f"cloudlet-{app.version}",
            },
        )
    if path == "/moto-api/reset-auth" and method == "POST":
        # moto's switch for the number of unauthenticated requests before IAM checks begin;
        # cloudlet does not enforce IAM yet, so there is nothing to reset.
        return _json(200, {"PASS": "The IAM authentication process has been reset"})
    if path in ("/_cloudlet/reset", "/moto-api/reset") and method == "POST":
        app.reset()
        return _json(200, {"status": "reset"})
    if path == "/_cloudlet/clock":
        if method == "POST":
            try:
                body = orjson.loads(request.body or b"{}")
                seconds = parse_duration(str(body.get("advance", "0")))
                app.clock.advance(seconds)
            except (ValueError, orjson.JSONDecodeError) as exc:
                return _json(400, {"error": str(exc)})
        return _json(200, {"now": app.clock.now(), "offset_seconds": app.clock.offset})
    if path in ("/_aws/ses", "/_cloudlet/ses/verify"):
        found = await _ses(app, request, path, method)
        if found is not None:
            return found
    if path in ("/_cloudlet/mail", "/_cloudlet/sms") or path.startswith("/_cloudlet/sns/"):
        found = await _messaging(app, request, path, method)
        if found is not None:
            return found
    if path.startswith("/_cloudlet/lambda/code/") and method in ("GET", "HEAD"):
        from cloudlet.services.awslambda.code import download

        data = await download(app.config.data_dir, path.rpartition("/")[2])
        if data is not None:
            return HttpResponse(200, {"Content-Type": "application/zip"}, data)
    return _json(404, {"error": f"no such cloudlet endpoint: {method} {request.path}"})


async def _messaging(app: App, request: HttpRequest, path: str, method: str) -> HttpResponse | None:
    """What services "sent" without sending: the mailbox (`?to=`), recorded SMS (`?phone=`), and
    the certificate SNS signs messages with."""
    if path == "/_cloudlet/mail":
        mailbox = app.mailbox
        query = request.query_params
        if method == "DELETE":
            return _json(200, {"deleted": await app.commit(mailbox.clear, query.get("id"))})
        if method == "GET":
            found = mailbox.messages(
                query.get("to"), sender=query.get("from"), message_id=query.get("id")
            )
            return _json(200, found)
    elif path == "/_cloudlet/sms":
        from cloudlet.services.sns import sms

        if method == "DELETE":
            return _json(200, {"deleted": await app.commit(sms.clear, app.store)})
        if method == "GET":
            return _json(200, sms.recorded(app.store, request.query_params.get("phone")))
    elif path.startswith("/_cloudlet/sns/SimpleNotificationService") and method in ("GET", "HEAD"):
        pem = await app.provider("sns").certificate()  # type: ignore[attr-defined]
        return HttpResponse(200, {"Content-Type": "application/x-pem-file"}, pem)
    return None


async def _ses(app: App, request: HttpRequest, path: str, method: str) -> HttpResponse | None:
    """SES's mail as LocalStack serves it (`/_aws/ses`, `?id=` / `?email=` for the sender), so
    LocalStack-era test helpers work; and the verification links SES mails (`?token=`)."""
    import html

    from cloudlet.core.mail import localstack_view

    query = request.query_params
    if path == "/_cloudlet/ses/verify" and method in ("GET", "HEAD"):
        ses = app.provider("ses")
        doc = await ses.confirm_verification(query.get("token", ""))  # type: ignore[attr-defined]
        if doc is None:
            page = "<h1>Verification failed</h1><p>The link is unknown or has expired.</p>"
            return HttpResponse(404, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
        page = (
            "<h1>Congratulations!</h1><p>You have successfully verified an email address. You "
            f"can now start sending email from this address.</p><p>{html.escape(doc['name'])}</p>"
        )
        return HttpResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
    if path != "/_aws/ses":
        return None
    mailbox = app.mailbox
    if method == "DELETE":
        await app.commit(mailbox.clear, query.get("id"))
        return HttpResponse(204, {}, b"")
    if method == "GET":
        found = mailbox.messages(sender=query.get("email"), message_id=query.get("id"))
        return _json(200, {"messages": [localstack_view(doc) for doc in found]})
    return None
