"""EventBridge event patterns: AWS's documented examples, null/missing/array rules, and the index.

Each table row is (pattern, event, expected) and names its source:
  [EP]  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
  [OPS] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
        (content filtering / comparison operators)
  [NUL] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
  [ARR] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
  [RUL] Event Ruler's README (https://github.com/aws/event-ruler), the engine behind EventBridge
  [SNS] Amazon SNS filter policy docs (same language; see test_patterns_sns.py for SNS itself)
"""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.core.patterns import PatternIndex, compile_event_pattern

EC2_EVENT = {  # [EP]
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

RULER_EVENT = {  # [RUL]
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

NULL_EVENT = {  # [NUL]
    "version": "0",
    "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling",
    "account": "123456789012",
    "time": "2015-11-11T21:31:47Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"eventVersion": "", "responseElements": None},
}

ARRAY_EVENT = {  # [ARR]
    "version": "0",
    "id": "75d2d4e5-da3d-6b50-b8b0-2a3b0ee0d1b0",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-east-1",
    "resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
    ],
    "detail": {"instance-id": "i-b188560f", "state": "terminated"},
}

EMPLOYEES = {  # [RUL] JSON array matching
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}


def detail(**fields):
    return {**EC2_EVENT, "detail": fields}


CASES = [
    # --- [EP] the introductory example
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
      "detail": {"state": ["terminated"]}}, EC2_EVENT, True),
    ({"source": ["aws.ec2"], "detail": {"state": ["running"]}}, EC2_EVENT, False),
    ({"source": ["aws.s3"]}, EC2_EVENT, False),
    ({"detail": {"state": ["initializing", "terminated"]}}, EC2_EVENT, True),  # [EP] OR of values
    ({"source": ["aws.ec2"], "detail": {"missing": ["x"]}}, EC2_EVENT, False),  # every field must match
    ({"source": ["AWS.EC2"]}, EC2_EVENT, False),  # [EP] matching is case-sensitive
    # --- [RUL] simple matching, and the complex example
    ({"detail-type": ["EC2 Instance State-change Notification"],
      "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
      "detail": {"state": ["initializing", "running"]}}, RULER_EVENT, True),
    ({"time": [{"prefix": "2017-10-02"}], "detail": {
        "state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
        "source-ip": [{"cidr": "10.0.0.0/8"}]}}, RULER_EVENT, True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
      "x-limit": [{"numeric": ["=", 3.018e2]}]}}, RULER_EVENT, True),
    ({"source": [{"suffix": "ec2"}]}, RULER_EVENT, True),
    ({"source": [{"equals-ignore-case": "EC2"}]}, RULER_EVENT, False),
    ({"source": [{"equals-ignore-case": "AWS.EC2"}]}, RULER_EVENT, True),
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, RULER_EVENT, True),
    ({"detail": {"x-limit": [{"anything-but": 301.8}]}}, RULER_EVENT, False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, RULER_EVENT, True),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, RULER_EVENT, True),
    ({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}, RULER_EVENT, False),
    ({"detail": {"c-count": [{"exists": True}]}}, RULER_EVENT, True),
    ({"detail": {"c-count": [{"exists": False}]}}, RULER_EVENT, False),
    ({"detail": {"e-count": [{"exists": False}]}}, RULER_EVENT, True),
    ({"source": [{"wildcard": "aws.*"}]}, RULER_EVENT, True),
    ({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleQueueService"}, True),
    ({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleQueue"}, False),
    # --- [RUL] exists works on leaves only: an object is not a value
    ({"detail": {"c-count": [{"exists": False}]}}, detail(state="x", **{"c-count": {"c1": 100}}), True),
    ({"detail": {"c-count": [{"exists": True}]}}, detail(state="x", **{"c-count": {"c1": 100}}), False),
    # --- [RUL] $or
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
      {"namespace": ["AWS/EC2", "AWS/ES"]}]},
     {"source": "aws.cloudwatch", "namespace": "AWS/ES"}, True),
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
      {"namespace": ["AWS/EC2", "AWS/ES"]}]},
     {"source": "aws.cloudwatch", "namespace": "AWS/S3"}, False),
    ({"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
      "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}},
     {"metricName": "CPUUtilization", "detail": {"detail-type": "CloudWatch Alarm State Change"}}, True),
    ({"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
      "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]}},
     {"metricName": "CPUUtilization", "detail": {"source": "aws.s3"}}, False),
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]},
      {"metricType": ["MetricType"], "namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
      {"scope": ["Service"]}]},
     {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}, True),
    ({"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]},
      {"metricType": ["MetricType"], "namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
      {"scope": ["Service"]}]},
     {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 999}, False),
    # --- [RUL] array matching and array consistency
    ({"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True),
    ({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES, True),
    ({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES, False),
    ({"employees": {"firstName": ["Anna"]}}, {"employees": [[{"firstName": "John"}, {"firstName": "Anna"}],
                                                            [{"firstName": "Peter"}]]}, True),
    # --- [RUL] dotted keys are the same field as nested ones
    ({"detail": {"state.status": ["running"]}}, {"detail": {"state": {"status": "running"}}}, True),
    ({"detail": {"state": {"status": ["running"]}}}, {"detail": {"state.status": "running"}}, True),
    # --- [OPS] prefix / suffix and their ignore-case forms
    ({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"}, True),
    ({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T18:43:48Z"}, False),
    ({"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"}, True),
    ({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}, {"service": "EventBridge"}, True),
    ({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}, {"service": "EventBRIDGE"}, True),
    ({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}, {"service": "Event"}, False),
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    ({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"FileName": "image.PNG"}, True),
    ({"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]}, {"service": "EventBridge"}, True),
    ({"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]}, {"service": "EVENTBRIDGE"}, True),
    ({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alice"}, True),
    ({"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alicia"}, False),
    ({"Name": ["Alice"]}, {"Name": "Alice"}, True),  # [OPS] equals
    ({"LastName": [""]}, {"LastName": ""}, True),  # [OPS] empty
    ({"LastName": [""]}, {"LastName": "Smith"}, False),
    ({"Location": ["New York"], "Day": ["Monday"]}, {"Location": "New York", "Day": "Monday"}, True),  # [OPS] and
    ({"Location": ["New York"], "Day": ["Monday"]}, {"Location": "New York", "Day": "Tuesday"}, False),
    ({"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, True),  # [OPS] or
    ({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}, {"Location": "Boston", "Day": "Monday"}, True),
    ({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}, {"Location": "Boston", "Day": "Sunday"}, False),
    ({"ProductName": [{"exists": True}]}, {"ProductName": "Widget"}, True),  # [OPS] exists
    ({"ProductName": [{"exists": False}]}, {"Other": "Widget"}, True),  # [OPS] does not exist
    ({"UserID": [None]}, {"UserID": None}, True),  # [OPS] null
    ({"Price": [100]}, {"Price": 100}, True),  # [OPS] numeric (equals)
    ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20}, True),  # [OPS] numeric (range)
    ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 10}, False),
    ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20.5}, False),
    ({"Weather": [{"anything-but": "Raining"}]}, {"Weather": "Sunny"}, True),  # [OPS] not
    ({"Weather": [{"anything-but": "Raining"}]}, {"Weather": "Raining"}, False),
    ({"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "dir/sub/image.png"}, True),  # [OPS] wildcard
    ({"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "other/image.png"}, False),
    ({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
     {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"}, True),
    ({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
     {"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/orders"}, False),
    ({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "eu-west-1"}, True),
    ({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "us-east-1"}, False),
    ({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.txt"}, True),
    ({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"}, False),
    ({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "INITIALIZING"}, False),
    ({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "running"}, True),
    ({"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}, {"state": "STOPPED"}, False),
    ({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/lib/x"}, False),
    ({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/bin/x"}, True),
    ({"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}, {"FilePath": "/usr/bin/x"}, False),
    ({"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddress": "10.0.0.255"}, True),
    ({"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}, {"sourceIPAddress": "10.0.1.0"}, False),
    ({"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}, {"sourceIPAddress": "2001:db8::1"}, True),
    ({"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}, {"sourceIPAddress": "2001:db9::1"}, False),
    ({"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}, {"sourceIPAddress": "10.0.0.1"}, False),
    # --- [NUL] null values and empty strings are not interchangeable; null is not missing
    ({"detail": {"eventVersion": [""]}}, NULL_EVENT, True),
    ({"detail": {"responseElements": [None]}}, NULL_EVENT, True),
    ({"detail": {"responseElements": [""]}}, NULL_EVENT, False),
    ({"detail": {"eventVersion": [None]}}, NULL_EVENT, False),
    ({"detail": {"errorCode": [None]}}, NULL_EVENT, False),  # missing is not null
    ({"detail": {"responseElements": [{"exists": True}]}}, NULL_EVENT, True),  # null exists
    ({"detail": {"responseElements": [{"anything-but": "x"}]}}, NULL_EVENT, True),
    ({"detail": {"errorCode": [{"anything-but": "x"}]}}, NULL_EVENT, False),  # anything-but needs a value
    ({"resources": [{"exists": False}]}, NULL_EVENT, True),  # an empty array has no value
    ({"resources": [{"exists": True}]}, NULL_EVENT, False),
    # --- [ARR] an array in the event matches if any element does
    ({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                    "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}, ARRAY_EVENT, True),
    ({"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}, ARRAY_EVENT, True),
    ({"resources": ["arn:aws:ec2:us-east-1:555555555555:instance/i-b188560f"]}, ARRAY_EVENT, False),
    ({"resources": [{"prefix": "arn:aws:ec2:us-east-1:4444"}]}, ARRAY_EVENT, True),
    # --- [SNS] anything-but on an array: matches when some element is not excluded
    ({"price": [{"anything-but": [100, 500]}]}, {"price": [100, 50]}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": [100, 500]}, False),
    # --- types: values are typed; numbers compare by value
    ({"n": [5]}, {"n": 5.0}, True),
    ({"n": [5]}, {"n": "5"}, False),
    ({"n": ["5"]}, {"n": 5}, False),
    ({"n": [True]}, {"n": True}, True),
    ({"n": [True]}, {"n": "true"}, False),
    ({"n": [True]}, {"n": 1}, False),
    ({"n": [1]}, {"n": True}, False),
    ({"n": [False]}, {"n": 0}, False),
    ({"n": [{"numeric": ["=", 5]}]}, {"n": 5.0}, True),
    ({"n": [{"numeric": ["=", 5]}]}, {"n": "5"}, False),  # numeric matches JSON numbers only
    ({"n": [{"numeric": [">=", 0]}]}, {"n": True}, False),
    ({"n": [{"numeric": ["<", 0]}]}, {"n": -0.000001}, True),
    ({"n": [{"numeric": ["<", 0]}]}, {"n": -0.0000001}, False),  # more than 6 decimals: not comparable
    ({"n": [{"numeric": [">", 0]}]}, {"n": 6e9}, False),  # beyond 5e9: not comparable
    ({"n": [123456789012]}, {"n": 123456789012}, True),  # exact numbers work beyond the range
    ({"n": [{"prefix": "1"}]}, {"n": 12}, False),  # string operators match strings only
    ({"n": [{"anything-but": {"prefix": "1"}}]}, {"n": 12}, True),  # ...so anything-but accepts numbers
    ({"n": [{"anything-but": ["1"]}]}, {"n": 1}, True),
    ({"n": [{"anything-but": [1]}]}, {"n": 1.0}, False),
    ({"n": [{"equals-ignore-case": "TRUE"}]}, {"n": True}, False),
    ({"n": [{"exactly": "x"}]}, {"n": "x"}, True),
    # --- wildcards: escapes and empty runs
    ({"f": [{"wildcard": "a*"}]}, {"f": "a"}, True),
    ({"f": [{"wildcard": "*"}]}, {"f": ""}, True),
    ({"f": [{"wildcard": "*"}]}, {"f": 1}, False),
    ({"f": [{"wildcard": "a\\*b"}]}, {"f": "a*b"}, True),
    ({"f": [{"wildcard": "a\\*b"}]}, {"f": "axb"}, False),
    ({"f": [{"wildcard": "a\\\\b"}]}, {"f": "a\\b"}, True),
    ({"f": [{"wildcard": "*.txt*"}]}, {"f": "x.txt.bak"}, True),
    # --- cidr keeps the address bits below the mask, as AWS does
    ({"ip": [{"cidr": "10.0.0.5/24"}]}, {"ip": "10.0.0.4"}, False),
    ({"ip": [{"cidr": "10.0.0.5/24"}]}, {"ip": "10.0.0.200"}, True),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "not an ip"}, False),
    # --- a field's values OR together, with exists false among them
    ({"x": ["a", {"exists": False}]}, {"y": 1}, True),
    ({"x": ["a", {"exists": False}]}, {"x": "a"}, True),
    ({"x": ["a", {"exists": False}]}, {"x": "b"}, False),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "event", "expected"), CASES)
def test_documented_examples(pattern, event, expected):
    compiled = compile_event_pattern(pattern)
    assert compiled.matches(event) is expected
    index = PatternIndex()
    index.add("rule", compiled)
    assert index.match(event) == ({"rule"} if expected else set())


def test_pattern_text_and_dict_are_the_same():
    text = '{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}'
    assert compile_event_pattern(text) == compile_event_pattern(
        {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}
    )
    assert compile_event_pattern(text).text == text
    assert compile_event_pattern(text.encode()).matches(EC2_EVENT)


def test_matches_json():
    pattern = compile_event_pattern({"a": [1]})
    assert pattern.matches_json('{"a": 1}')
    assert not pattern.matches_json("[1]")
    assert not pattern.matches_json("not json")


def test_duplicate_keys_last_wins():
    # Jackson keeps the last value of a repeated key; Event Ruler overrides the earlier field
    pattern = compile_event_pattern('{"source": ["a"], "source": ["b"]}')
    assert pattern.matches({"source": "b"})
    assert not pattern.matches({"source": "a"})


def test_trailing_text_after_the_pattern_is_ignored():
    # AWS's compiler stops reading at the end of the pattern's object
    assert compile_event_pattern('{"source": ["a"]} trailing').matches({"source": "a"})


# ------------------------------------------------------------------------------------- index
def test_index_add_replace_remove():
    index = PatternIndex()
    index.add("r1", compile_event_pattern({"source": ["aws.ec2"]}))
    index.add(
        "r2", compile_event_pattern({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}})
    )
    index.add("r3", compile_event_pattern({"source": [{"prefix": "aws."}]}))
    assert index.match(EC2_EVENT) == {"r1", "r2", "r3"}
    index.add(
        "r2", compile_event_pattern({"source": ["aws.ec2"], "detail": {"state": ["running"]}})
    )
    assert index.match(EC2_EVENT) == {"r1", "r3"}
    assert index.remove("r1") and not index.remove("r1")
    assert index.match(EC2_EVENT) == {"r3"}
    index.remove("r3")
    index.remove("r2")
    assert len(index) == 0 and index.match(EC2_EVENT) == set()
    assert not index._root.children and not index._root.edges  # nothing left behind


def test_index_shares_or_branches_of_one_rule():
    index = PatternIndex()
    pattern = compile_event_pattern({"$or": [{"a": ["1"]}, {"b": ["2"]}]})
    index.add("r", pattern)
    assert index.match({"a": "1", "b": "2"}) == {"r"}
    index.remove("r")
    assert index.match({"a": "1"}) == set()


def test_index_on_a_bench_like_corpus_agrees_with_patterns():
    rng = random.Random(11)
    sources = [f"svc{i}" for i in range(8)]
    patterns = {}
    for n in range(300):
        rule = {"source": [rng.choice(sources)], "detail-type": [rng.choice("ABC")]}
        if rng.random() < 0.4:
            rule["detail"] = {"path": [{"prefix": f"/p/{rng.randrange(4)}"}]}
        if rng.random() < 0.3:
            rule.setdefault("detail", {})["amount"] = [
                {"numeric": [">", rng.randrange(50), "<", 80]}
            ]
        if rng.random() < 0.3:
            rule.setdefault("detail", {})["status"] = [{"anything-but": rng.sample("xyz", 2)}]
        patterns[n] = compile_event_pattern(rule)
    index = PatternIndex()
    for n, pattern in patterns.items():
        index.add(n, pattern)
    for i in range(300):
        event = {
            "source": rng.choice(sources),
            "detail-type": rng.choice("ABCD"),
            "detail": {"path": f"/p/{rng.randrange(5)}/x", "amount": rng.randrange(100),
                       "status": rng.choice("xyzw")},
        }  # fmt: skip
        if i % 3 == 0:
            del event["detail"]["status"]
        expected = {n for n, p in patterns.items() if p.matches(event)}
        assert index.match(event) == expected


# hypothesis: random rules and events over a small vocabulary, the index against plain evaluation
SCALARS = st.sampled_from(
    ["s1", "s2", "S1", "", "10.0.0.5", "x*y", 0, 1, 1.5, -3, True, False, None]
)
MATCHERS = st.one_of(
    st.sampled_from(["s1", "s2", "", 0, 1, 1.5, True, None]),
    st.sampled_from(
        [
            {"prefix": "s"}, {"prefix": ""}, {"suffix": "1"}, {"equals-ignore-case": "s1"},
            {"prefix": {"equals-ignore-case": "S"}}, {"suffix": {"equals-ignore-case": "S1"}},
            {"anything-but": ["s1", "s2"]}, {"anything-but": "s1"}, {"anything-but": [0, 1]},
            {"anything-but": {"prefix": "s"}}, {"anything-but": {"suffix": "2"}},
            {"anything-but": {"equals-ignore-case": "S2"}}, {"anything-but": {"wildcard": "s*"}},
            {"numeric": [">", 0]}, {"numeric": ["<=", 1]}, {"numeric": [">=", -3, "<", 1.5]},
            {"numeric": ["=", 1]}, {"exists": True}, {"exists": False}, {"wildcard": "s*"},
            {"wildcard": "*1"}, {"cidr": "10.0.0.0/24"}, {"exactly": "s2"},
        ]
    ),
)  # fmt: skip
PATHS = ["a", "b", "c.d", "c.e", "arr.x", "arr.y"]


def _put(pattern: dict, path: str, values: list) -> None:
    *parents, leaf = path.split(".")
    node = pattern
    for parent in parents:
        node = node.setdefault(parent, {})
    node[leaf] = values


@st.composite
def rules(draw, paths=PATHS):
    pattern: dict = {}
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        _put(pattern, path, draw(st.lists(MATCHERS, min_size=1, max_size=3)))
    if draw(st.booleans()) and draw(st.booleans()):
        alternatives = []
        for _ in range(2):
            branch: dict = {}
            _put(
                branch,
                draw(st.sampled_from(paths)),
                draw(st.lists(MATCHERS, min_size=1, max_size=2)),
            )
            alternatives.append(branch)
        pattern["$or"] = alternatives
    return pattern


VALUE = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "a": VALUE,
        "b": VALUE,
        "c": st.one_of(st.fixed_dictionaries({}, optional={"d": VALUE, "e": VALUE}), SCALARS),
        "arr": st.lists(st.fixed_dictionaries({}, optional={"x": VALUE, "y": VALUE}), max_size=3),
    },
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rules(), min_size=1, max_size=12), st.lists(EVENTS, min_size=1, max_size=6), st.data()
)
def test_index_agrees_with_plain_evaluation(rule_list, events, data):
    patterns = {n: compile_event_pattern(rule) for n, rule in enumerate(rule_list)}
    index = PatternIndex()
    for n, pattern in patterns.items():
        index.add(n, pattern)
    removed = data.draw(st.sets(st.sampled_from(sorted(patterns))))
    for n in removed:
        index.remove(n)
    for event in events:
        expected = {n for n, p in patterns.items() if n not in removed and p.matches(event)}
        assert index.match(copy.deepcopy(event)) == expected, event


# arrays of objects: fields must come from the same element (and nested arrays from the same ones)
ARRAY_PATHS = ["arr.x", "arr.y", "arr.in.z", "a"]
SMALL = st.sampled_from(["s1", "s2", 1, None])
ELEMENT = st.fixed_dictionaries(
    {},
    optional={
        "x": SMALL,
        "y": st.one_of(SMALL, st.lists(SMALL, max_size=2)),
        "in": st.lists(st.fixed_dictionaries({}, optional={"z": SMALL}), max_size=2),
    },
)
ARRAY_EVENTS = st.fixed_dictionaries(
    {
        "arr": st.one_of(
            st.lists(ELEMENT, min_size=1, max_size=3),
            st.lists(st.lists(ELEMENT, max_size=2), max_size=2),
        )
    },
    optional={"a": SMALL},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rules(ARRAY_PATHS), min_size=1, max_size=8),
    st.lists(ARRAY_EVENTS, min_size=1, max_size=5),
)
def test_index_agrees_on_arrays_of_objects(rule_list, events):
    patterns = {n: compile_event_pattern(rule) for n, rule in enumerate(rule_list)}
    index = PatternIndex()
    for n, pattern in patterns.items():
        index.add(n, pattern)
    for event in events:
        assert index.match(event) == {n for n, p in patterns.items() if p.matches(event)}, event
