"""Velocity mapping templates: AWS's documented examples through a Lambda non-proxy
integration (request and response mapping, error selection by errorMessage), and the `$util`,
`$input` and Java-flavoured behaviour templates rely on."""

from __future__ import annotations

import orjson
import pytest

from apigateway.conftest import call, json_of, lambda_uri
from cloudlet.services.apigateway.vtl import Templates

GREETER = """
def handler(event, context):
    if not event.get("city"):
        raise Exception("Bad Request: city is required")
    return {"greeting": f"Good {event['day']}, {event['name']} of {event['city']}.",
            "event": event}
"""
#: the request template of AWS's "Lambda non-proxy integration" tutorial
REQUEST = """#set($inputRoot = $input.path('$'))
{
  "city": "$input.params('city')",
  "time": "$input.params('time')",
  "day":  "$input.params('day')",
  "name": "$inputRoot.callerName"
}"""
RESPONSE = """#set($inputRoot = $input.path('$'))
{
  "greeting": "$inputRoot.greeting",
  "time": "$inputRoot.event.time"
}"""


def test_lambda_non_proxy_with_aws_templates(apigw, rest_api, function, endpoint):
    arn = function(GREETER)
    api = rest_api()
    api_id = api["id"]
    city = apigw.create_resource(
        restApiId=api_id, parentId=api["rootResourceId"], pathPart="{city}"
    )
    apigw.put_method(
        restApiId=api_id,
        resourceId=city["id"],
        httpMethod="POST",
        authorizationType="NONE",
        requestParameters={
            "method.request.path.city": True,
            "method.request.querystring.time": True,
            "method.request.header.day": True,
        },
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=city["id"],
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn),
        requestTemplates={"application/json": REQUEST},
        passthroughBehavior="WHEN_NO_TEMPLATES",
    )
    for status in ("200", "400"):
        apigw.put_method_response(
            restApiId=api_id, resourceId=city["id"], httpMethod="POST", statusCode=status
        )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=city["id"],
        httpMethod="POST",
        statusCode="200",
        responseTemplates={"application/json": RESPONSE},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=city["id"],
        httpMethod="POST",
        statusCode="400",
        selectionPattern=".*Bad Request.*",
        responseTemplates={
            "application/json": '{"error": "$util.escapeJavaScript($input.path(\'$.errorMessage\'))"}'
        },
    )
    apigw.create_deployment(restApiId=api_id, stageName="test")
    status, _, body = call(
        endpoint,
        api_id,
        "/Seattle?time=morning",
        "POST",
        b'{"callerName": "John"}',
        {"Content-Type": "application/json", "day": "Thursday"},
    )
    assert status == 200
    assert json_of(body) == {"greeting": "Good Thursday, John of Seattle.", "time": "morning"}
    status, _, body = call(
        endpoint, api_id, "/Seattle", "POST", b"<x/>", {"Content-Type": "text/xml"}
    )
    assert status == 415


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates()


def render(templates: Templates, text: str, body: str = "{}", **kwargs) -> str:
    return templates.render(
        text,
        body=body,
        params=kwargs.get("params") or {"path": {}, "querystring": {}, "header": {}},
        context=kwargs.get("context") or {},
        stage_variables=kwargs.get("stage_variables") or {},
    )


def test_photo_album_example(templates):
    """The response template of AWS's "photos" mapping template example."""
    template = """#set($inputRoot = $input.path('$'))
{
  "photos": [
#foreach($elem in $inputRoot.photos.photo)
    {
      "id": "$elem.id",
      "title": "$elem.title",
      "ispublic": $elem.ispublic
    }#if($foreach.hasNext),#end
#end
  ]
}"""
    body = orjson.dumps(
        {
            "photos": {
                "photo": [
                    {"id": "1", "title": "a", "ispublic": True},
                    {"id": "2", "title": "b", "ispublic": False},
                ]
            }
        }
    ).decode()
    out = orjson.loads(render(templates, template, body))
    assert out == {
        "photos": [
            {"id": "1", "title": "a", "ispublic": True},
            {"id": "2", "title": "b", "ispublic": False},
        ]
    }


def test_method_request_passthrough(templates):
    """The console's "Method Request passthrough" template."""
    template = """#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "account-id" : "$context.identity.accountId",
    "http-method" : "$context.httpMethod",
    "request-id" : "$context.requestId"
    }
}"""
    out = orjson.loads(
        render(
            templates,
            template,
            '{"a": [1, 2]}',
            params={"path": {"id": "7"}, "querystring": {"q": 'say "hi"'}, "header": {"Host": "h"}},
            context={"httpMethod": "POST", "requestId": "r-1", "identity": {"accountId": None}},
            stage_variables={"env": "dev"},
        )
    )
    assert out["body-json"] == {"a": [1, 2]}
    assert out["params"] == {
        "path": {"id": "7"},
        "querystring": {"q": 'say "hi"'},
        "header": {"Host": "h"},
    }
    assert out["stage-variables"] == {"env": "dev"}
    assert out["context"] == {"account-id": "", "http-method": "POST", "request-id": "r-1"}


def test_util_and_input_functions(templates):
    body = '{"name": "Ada Lovelace", "tags": ["x", "y"], "n": 3, "nested": {"k": "v"}}'
    cases = {
        '$util.escapeJavaScript("it\'s \\"q\\"")': 'it\\\'s \\"q\\"',
        "$util.urlEncode('a b&c=d')": "a+b%26c%3Dd",
        "$util.urlDecode('a+b%26c')": "a b&c",
        "$util.base64Encode('hello')": "aGVsbG8=",
        "$util.base64Decode('aGVsbG8=')": "hello",
        "#set($p = $util.parseJson('{\"x\": [1, 2]}'))$p.x.size()": "2",
        "$input.json('$.tags')": '["x","y"]',
        "$input.json('$.name')": '"Ada Lovelace"',
        "$input.path('$.nested.k')": "v",
        "$input.path('$.tags[1]')": "y",
        "$input.path('$.nested')": "{k=v}",
        "$input.path('$.name').toUpperCase()": "ADA LOVELACE",
        "$input.path('$.name').split(' ')[0]": "Ada",
        "$input.path('$.name').substring(0, 3)": "Ada",
        "#if($input.path('$.n') > 2)big#{else}small#end": "big",
        "[$input.path('$.missing')]": "[]",
        "#foreach($t in $input.path('$.tags'))$t#if($foreach.hasNext)-#end#end": "x-y",
        "$input.body": body,
    }
    for template, expected in cases.items():
        assert render(templates, template, body) == expected, template
