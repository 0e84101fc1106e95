"""Stored email templates, shared by SES v1 (Template*) and v2 (EmailTemplate*).

A template is a document (kind "ses.template", key `account/region/name`):
`{"name", "subject", "text", "html", "created", "tags"}`. Its syntax is checked when it is stored,
so a send only meets data problems.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services.ses import templates
from cloudlet.services.ses.common import TEMPLATE, key, template_missing

if TYPE_CHECKING:
    from cloudlet.core.clock import Clock
    from cloudlet.core.store import Store
    from cloudlet.services import RequestContext


class Library:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def _key(self, ctx: RequestContext, name: str) -> str:
        return key(ctx.account, ctx.region, name)

    def get(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        doc = self.store.get(TEMPLATE, self._key(ctx, name))
        if doc is None:
            raise template_missing(name)
        return doc

    def all(self, ctx: RequestContext) -> list[dict[str, Any]]:
        docs = [doc for _, doc in self.store.scan(TEMPLATE, key(ctx.account, ctx.region))]
        return sorted(docs, key=lambda d: (d["created"], d["name"]))

    def put(
        self,
        ctx: RequestContext,
        name: str,
        parts: dict[str, str | None],
        *,
        create: bool,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        """Create (refused when it exists) or update (refused when it does not) a template."""
        existing = self.store.get(TEMPLATE, self._key(ctx, name))
        if create and existing is not None:
            raise AwsError(
                "AlreadyExists", f"Template {name} already exists.", fields={"Name": name}
            )
        if not create and existing is None:
            raise template_missing(name)
        for part in ("Subject", "Text", "Html"):
            check(parts.get(part), name)
        doc = {
            "name": name,
            "subject": parts.get("Subject"),
            "text": parts.get("Text"),
            "html": parts.get("Html"),
            "created": existing["created"] if existing else self.clock.now_ms(),
            "tags": list(tags if tags is not None else (existing or {}).get("tags", [])),
        }
        self.store.put(TEMPLATE, self._key(ctx, name), doc)

    def delete(self, ctx: RequestContext, name: str) -> bool:
        return self.store.delete(TEMPLATE, self._key(ctx, name))


def parts_of(doc: dict[str, Any]) -> dict[str, str | None]:
    return {"Subject": doc.get("subject"), "Text": doc.get("text"), "Html": doc.get("html")}


def check(source: str | None, name: str) -> None:
    if source is None:
        return
    try:
        templates.parse(source)
    except templates.TemplateError as error:
        raise AwsError(
            "InvalidTemplate",
            f"Template {name} is invalid: {error}",
            fields={"TemplateName": name},
        ) from None


def render_mime(parts: dict[str, str | None], data: dict[str, Any]) -> str:
    """TestRenderTemplate's answer: the MIME message the template and data make.

    Raises templates.RenderError for data that lacks an attribute the template prints.
    """
    subject = templates.render(parts.get("Subject") or "", data)
    text = templates.render(parts["Text"], data) if parts.get("Text") is not None else None
    html = templates.render(parts["Html"], data) if parts.get("Html") is not None else None
    message = EmailMessage()
    message["Subject"] = subject
    if text is not None and html is not None:
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text or "")
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    return message.as_string(policy=policy.SMTP)
