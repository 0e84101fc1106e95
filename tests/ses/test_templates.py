"""Templates through both APIs: storage, rendering (the Handlebars subset SES documents), templated
and bulk sends, and the rendering failures SES reports."""

from __future__ import annotations

import email
import json
import uuid
from email import policy

import pytest

from cloudlet.services.ses import templates

from .conftest import Cloud, address, error_of

ADVANCED = {
    "meta": {"userId": "51806220607"},
    "contact": {"firstName": "Anaya", "lastName": "Iyengar", "city": "Bengaluru"},
    "subscription": [{"interest": "Sports"}, {"interest": "Travel"}, {"interest": "Cooking"}],
    "premium": True,
    "points": 0,
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello {{contact.firstName}}!", "Hello Anaya!"),
        ("{{{contact.city}}} / {{meta.userId}}", "Bengaluru / 51806220607"),
        (
            "<ul>\n{{#each subscription}}\n  <li>{{interest}}</li>\n{{/each}}\n</ul>",
            "<ul>\n  <li>Sports</li>\n  <li>Travel</li>\n  <li>Cooking</li>\n</ul>",
        ),
        (
            "{{#each subscription}}{{@index}}:{{this.interest}}{{#unless @last}}, {{/unless}}{{/each}}",
            "0:Sports, 1:Travel, 2:Cooking",
        ),
        ("{{#if premium}}VIP{{else}}regular{{/if}}", "VIP"),
        ("{{#if points}}some{{else if premium}}none, VIP{{else}}none{{/if}}", "none, VIP"),
        ("{{#with contact}}{{lastName}}, {{../meta.userId}}{{/with}}", "Iyengar, 51806220607"),
        (
            "{{#each contact}}{{@key}}={{this}};{{/each}}",
            "firstName=Anaya;lastName=Iyengar;city=Bengaluru;",
        ),
        ('{{#* inline "sig"}}-- {{contact.firstName}}{{/inline}}Bye {{> sig}}', "Bye -- Anaya"),
        ("a {{! a comment }}b {{~ premium ~}} c", "a btruec"),
        ("<b>{{name}}</b>", "<b><i>&amp;</i></b>"),  # SES does not escape HTML
    ],
)
def test_rendering(source: str, expected: str):
    assert templates.render(source, {**ADVANCED, "name": "<i>&amp;</i>"}) == expected


def test_rendering_errors():
    with pytest.raises(templates.RenderError, match=r"Attribute 'contact\.phone' is not present"):
        templates.render("{{contact.phone}}", ADVANCED)
    assert templates.render("{{#if missing}}x{{else}}y{{/if}}", ADVANCED) == "y"
    for broken in ("{{#if premium}}open", "{{/each}}", "{{unclosed"):
        with pytest.raises(templates.TemplateError):
            templates.parse(broken)


def test_v1_templates(cloud: Cloud):
    name = f"welcome-{uuid.uuid4().hex[:8]}"
    template = {
        "TemplateName": name,
        "SubjectPart": "Welcome, {{contact.firstName}}",
        "TextPart": "Hi {{contact.firstName}} from {{contact.city}}",
        "HtmlPart": "<h1>Hi {{contact.firstName}}</h1>",
    }
    cloud.ses.create_template(Template=template)
    assert error_of(cloud.ses.create_template, Template=template)["Code"] == "AlreadyExists"
    assert cloud.ses.get_template(TemplateName=name)["Template"] == template
    assert name in [t["Name"] for t in cloud.ses.list_templates()["TemplatesMetadata"]]

    rendered = cloud.ses.test_render_template(TemplateName=name, TemplateData=json.dumps(ADVANCED))
    parsed = email.message_from_string(rendered["RenderedTemplate"], policy=policy.default)
    assert parsed["Subject"] == "Welcome, Anaya"
    assert parsed.get_body(("html",)).get_content().strip() == "<h1>Hi Anaya</h1>"
    error = error_of(cloud.ses.test_render_template, TemplateName=name, TemplateData="{}")
    assert (error["Code"], error["Message"]) == (
        "MissingRenderingAttribute",
        "Attribute 'contact.firstName' is not present in the rendering data.",
    )
    error = error_of(cloud.ses.test_render_template, TemplateName=name, TemplateData="[1")
    assert error["Code"] == "InvalidRenderingParameter"

    cloud.ses.update_template(Template={**template, "SubjectPart": "Hello again"})
    assert cloud.ses.get_template(TemplateName=name)["Template"]["SubjectPart"] == "Hello again"
    broken = {**template, "TextPart": "{{#if x}}never closed"}
    assert error_of(cloud.ses.update_template, Template=broken)["Code"] == "InvalidTemplate"
    cloud.ses.delete_template(TemplateName=name)
    error = error_of(cloud.ses.get_template, TemplateName=name)
    assert (error["Code"], error["Message"]) == (
        "TemplateDoesNotExist",
        f"Template {name} does not exist.",
    )


def _template(cloud: Cloud) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cloud.v2.create_email_template(
        TemplateName=name,
        TemplateContent={
            "Subject": "Order {{order.id}}",
            "Text": "{{#each order.items}}{{qty}} x {{name}}\n{{/each}}",
            "Html": "<p>{{customer}}</p>",
        },
    )
    return name


def test_templated_and_bulk_sends_v1(cloud: Cloud):
    name, source = _template(cloud), cloud.sender()
    to = address("templated")
    order = {"order": {"id": 7, "items": [{"qty": 2, "name": "tea"}]}, "customer": "Kim"}
    sent = cloud.ses.send_templated_email(
        Source=source,
        Destination={"ToAddresses": [to]},
        Template=name,
        TemplateData=json.dumps(order),
    )
    [mail] = cloud.mail(id=sent["MessageId"])
    assert (mail["subject"], mail["text"], mail["html"]) == ("Order 7", "2 x tea\n", "<p>Kim</p>")
    assert mail["template"] == name

    first, second = address("bulk"), address("bulk")
    result = cloud.ses.send_bulk_templated_email(
        Source=source,
        Template=name,
        DefaultTemplateData=json.dumps({**order, "customer": "friend"}),
        Destinations=[
            {
                "Destination": {"ToAddresses": [first]},
                "ReplacementTemplateData": '{"customer": "Ann"}',
            },
            {"Destination": {"ToAddresses": [second]}},
            {"Destination": {"ToAddresses": [address() for _ in range(51)]}},
        ],
    )
    statuses = result["Status"]
    assert [s["Status"] for s in statuses] == ["Success", "Success", "InvalidParameterValue"]
    assert cloud.mail(to=first)[0]["html"] == "<p>Ann</p>"
    assert cloud.mail(to=second)[0]["html"] == "<p>friend</p>"

    error = error_of(
        cloud.ses.send_templated_email,
        Source=source,
        Destination={"ToAddresses": [to]},
        Template="no-such-template",
        TemplateData="{}",
    )
    assert error["Code"] == "TemplateDoesNotExist"


def test_rendering_failure_drops_the_message(cloud: Cloud):
    """SES accepts a send whose data lacks an attribute, then drops it (a rendering failure)."""
    name, source, to = _template(cloud), cloud.sender(), address("dropped")
    sent = cloud.ses.send_templated_email(
        Source=source, Destination={"ToAddresses": [to]}, Template=name, TemplateData="{}"
    )
    assert sent["MessageId"] and cloud.mail(to=to) == []


def test_v2_templates_and_sends(cloud: Cloud):
    name, source = _template(cloud), cloud.sender()
    got = cloud.v2.get_email_template(TemplateName=name)
    assert got["TemplateContent"]["Subject"] == "Order {{order.id}}"
    assert name in [t["TemplateName"] for t in cloud.v2.list_email_templates()["TemplatesMetadata"]]
    assert (
        cloud.ses.get_template(TemplateName=name)["Template"]["HtmlPart"] == "<p>{{customer}}</p>"
    )
    rendered = cloud.v2.test_render_email_template(
        TemplateName=name, TemplateData='{"order": {"id": 1, "items": []}, "customer": "Z"}'
    )["RenderedTemplate"]
    assert "Subject: Order 1" in rendered
    error = error_of(cloud.v2.test_render_email_template, TemplateName=name, TemplateData="{}")
    assert error["Code"] == "BadRequestException"

    to = address("v2t")
    data = '{"order": {"id": 9, "items": [{"qty": 1, "name": "pen"}]}, "customer": "Lee"}'
    sent = cloud.v2.send_email(
        FromEmailAddress=source,
        Destination={"ToAddresses": [to]},
        Content={"Template": {"TemplateName": name, "TemplateData": data}},
    )
    assert cloud.mail(id=sent["MessageId"])[0]["subject"] == "Order 9"
    sent = cloud.v2.send_email(  # an inline template
        FromEmailAddress=source,
        Destination={"ToAddresses": [to]},
        Content={
            "Template": {
                "TemplateContent": {"Subject": "Hi {{n}}", "Text": "x"},
                "TemplateData": '{"n": "inline"}',
            }
        },
    )
    assert cloud.mail(id=sent["MessageId"])[0]["subject"] == "Hi inline"

    a, b = address("b2"), address("b2")
    result = cloud.v2.send_bulk_email(
        FromEmailAddress=source,
        DefaultContent={"Template": {"TemplateName": name, "TemplateData": data}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": [a]}},
            {
                "Destination": {"ToAddresses": [b]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": '{"customer": "Bo"}'}
                },
            },
        ],
    )["BulkEmailEntryResults"]
    assert [r["Status"] for r in result] == ["SUCCESS", "SUCCESS"]
    assert cloud.mail(to=b)[0]["html"] == "<p>Bo</p>"

    cloud.v2.update_email_template(TemplateName=name, TemplateContent={"Subject": "s", "Text": "t"})
    cloud.v2.delete_email_template(TemplateName=name)
    error = error_of(cloud.v2.get_email_template, TemplateName=name)
    assert (error["Code"], error["Status"]) == ("NotFoundException", 404)
