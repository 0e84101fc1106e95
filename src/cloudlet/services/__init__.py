"""AWS services: one package per service, each with a Provider.

A Provider has one method per operation, named after it in snake_case, taking `(ctx, params)` and
returning the output dict (or an awaitable of it), or raising AwsError. Methods are found from the
model's operation names, so there is no registration code per operation; an operation without a
method answers a clear 501.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlet.app import App

#: service model name -> provider class. The edge serves exactly these.
PROVIDERS: dict[str, str] = {
    "sqs": "cloudlet.services.sqs.provider:SqsProvider",
    "logs": "cloudlet.services.logs.provider:LogsProvider",
    "iam": "cloudlet.services.iam.provider:IamProvider",
    "sts": "cloudlet.services.sts.provider:StsProvider",
    "lambda": "cloudlet.services.awslambda.provider:LambdaProvider",
    "ec2": "cloudlet.services.ec2.provider:Ec2Provider",
    "sns": "cloudlet.services.sns.provider:SnsProvider",
    "s3": "cloudlet.services.s3.provider:S3Provider",
    "events": "cloudlet.services.events.provider:EventsProvider",
    "stepfunctions": "cloudlet.services.stepfunctions.provider:StepFunctionsProvider",
    "scheduler": "cloudlet.services.scheduler.provider:SchedulerProvider",
    "ses": "cloudlet.services.ses.provider:SesProvider",
    "sesv2": "cloudlet.services.sesv2.provider:SesV2Provider",
    "apigateway": "cloudlet.services.apigateway.provider:ApiGatewayProvider",
    "apigatewayv2": "cloudlet.services.apigatewayv2.provider:ApiGatewayV2Provider",
}

Handler = Callable[
    ["RequestContext", dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]] | None"
]


@dataclass(slots=True)
class RequestContext:
    """Who calls what, where: everything a provider needs besides the params."""

    service: str
    operation: str
    account: str
    region: str
    request_id: str
    access_key: str = ""
    host: str = "127.0.0.1:4566"  # as the client called us: URLs we hand out must work for it
    scheme: str = "http"
    trace_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def snake_case(name: str) -> str:
    """`GetQueueUrl` -> `get_queue_url`, `CreateDBInstance` -> `create_db_instance`."""
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


class Provider:
    """Base of the service providers."""

    #: the botocore model name of the service
    service: str = ""
    #: public methods that are not operations (used by other services), exempt from the check
    helpers: tuple[str, ...] = ()

    def __init__(self, app: App) -> None:
        self.app = app
        self._handlers: dict[str, tuple[Handler, bool] | None] = {}

    def handler(self, operation: str) -> tuple[Handler, bool] | None:
        """The method serving `operation` and whether it is a coroutine function, or None."""
        try:
            return self._handlers[operation]
        except KeyError:
            method = getattr(self, snake_case(operation), None)
            found = (method, inspect.iscoroutinefunction(method)) if callable(method) else None
            self._handlers[operation] = found
            return found

    def reset(self) -> None:
        """Forget in-memory state after the store was wiped (POST /_cloudlet/reset)."""

    def close(self) -> None:
        """Release resources when the server stops."""


def committed(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a provider method inside the server's group commit.

    The method stays synchronous and simple; concurrent calls of any committed method share one
    transaction and one commit per event-loop turn, each in its own savepoint, and nobody is
    answered before their writes are durable.
    """

    @functools.wraps(method)
    async def run(self: Provider, ctx: RequestContext, params: dict[str, Any]) -> Any:
        return await self.app.commit(method, self, ctx, params)

    return run


def provider_class(service: str) -> type[Provider]:
    module_name, _, class_name = PROVIDERS[service].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def stray_methods(cls: type[Provider]) -> list[str]:
    """Public methods of a provider that name no operation of its model (typos, renamed APIs)."""
    from cloudlet.protocols.model import load_service_model

    operations = {snake_case(name) for name in load_service_model(cls.service).operation_names}
    base = set(dir(Provider))
    return sorted(
        name
        for name in dir(cls)
        if not name.startswith("_")
        and name not in base
        and callable(getattr(cls, name))
        and not isinstance(getattr(cls, name), type)
        and name not in operations
        and name not in getattr(cls, "helpers", ())
    )


def load_provider(service: str, app: App) -> Provider:
    """Instantiate a provider, refusing one whose public methods name unknown operations."""
    cls = provider_class(service)
    stray = stray_methods(cls)
    if stray:
        raise TypeError(
            f"{cls.__name__} has methods that name no {service} operation: {', '.join(stray)}"
        )
    return cls(app)
