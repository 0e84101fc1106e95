"""What targets receive: Input, InputPath and InputTransformer, with the examples of AWS's guide."""

from __future__ import annotations

import json
import uuid

import pytest

from cloudlet.services.events.transform import select, transform

from .conftest import Cloud

EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}


class Rule:
    arn = "arn:aws:events:us-east-2:123456789012:rule/example"
    name = "example"
    ingested_iso = "2015-11-11T21:29:55Z"


def run(template: str) -> str:
    return transform({"InputPathsMap": PATHS, "InputTemplate": template}, EVENT, Rule())


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        (
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
        ),
        ("<instance> is in state <state>", "i-0123456789 is in state RUNNING"),
        (
            '{"instance" : <instance>, "state": <state>}',
            '{"instance":"i-0123456789","state":"RUNNING"}',
        ),
        (
            '{"instance" : <instance>, "state": "<state>", '
            '"instanceStatus": "instance \\"<instance>\\" is in <state>"}',
            '{"instance":"i-0123456789","state":"RUNNING",'
            '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
        ),
        (
            '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
        ),
        ('"<aws.events.rule-name> triggered"', '"example triggered"'),
        (
            '{"resource": <resource>}',
            '{"resource":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}',
        ),
    ],
)
def test_templates_of_the_guide(template: str, output: str) -> None:
    assert run(template) == output


def test_reserved_variables_in_json() -> None:
    out = json.loads(
        run(
            '{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, '
            '"original": <aws.events.event>, "full": <aws.events.event.json>, '
            '"at": <aws.events.event.ingestion-time>}'
        )
    )
    assert out["ruleArn"] == Rule.arn and out["ruleName"] == "example"
    assert out["original"] == {k: v for k, v in EVENT.items() if k != "detail"}
    assert out["full"] == EVENT
    assert out["at"] == "2015-11-11T21:29:55Z"


def test_a_path_that_finds_nothing() -> None:
    transformer = {
        "InputPathsMap": {"gone": "$.detail.nothing"},
        "InputTemplate": '{"v": <gone>, "s": "x<gone>y"}',
    }
    assert transform(transformer, EVENT, Rule()) == '{"v":null,"s":"xy"}'


def test_json_paths() -> None:
    assert select(EVENT, "$.detail") == EVENT["detail"]
    assert select(EVENT, "$.resources[0]") == EVENT["resources"][0]
    assert select({"a": [{"b": 1}, {"b": 2}]}, "$.a[*].b") == [1, 2]
    assert select({"a": {"x": 1, "y": 2}}, "$.a.*") == [1, 2]
    assert select({"a/b": 1}, "$.a/b") == 1


def test_inputs_reach_the_targets(cloud: Cloud) -> None:
    src = f"test.{uuid.uuid4().hex[:8]}"
    _, constant = cloud.rule_to_queue({"source": [src]}, Input='{"fixed": true}')
    _, path = cloud.rule_to_queue({"source": [src]}, InputPath="$.detail")
    _, template = cloud.rule_to_queue(
        {"source": [src]},
        InputTransformer={
            "InputPathsMap": {"n": "$.detail.n", "src": "$.source"},
            "InputTemplate": '"<src> sent <n>"',
        },
    )
    cloud.events.put_events(Entries=[{"Source": src, "DetailType": "t", "Detail": '{"n": 7}'}])
    assert cloud.messages(constant)[0]["Body"] == '{"fixed": true}'
    assert json.loads(cloud.messages(path)[0]["Body"]) == {"n": 7}
    assert cloud.messages(template)[0]["Body"] == f'"{src} sent 7"'
