"""SNS subscription filter policies: scopes, limits, AWS's texts and the documented examples.

Sources:
  [STR] https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html
  [NUM] https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html
  [KEY] https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
  [LIM] https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
  [REC] messages recorded against AWS in LocalStack's AWS-validated SNS tests
        (tests/aws/services/sns/test_sns_filter_policy.py and its .snapshot.json)
"""

from __future__ import annotations

import json

import pytest

from cloudlet.core.patterns import (
    PatternError,
    PatternIndex,
    attributes_document,
    compile_filter_policy,
)


def string(value: str) -> dict:
    return {"DataType": "String", "StringValue": value}


def number(value: str) -> dict:
    return {"Type": "Number", "Value": value}  # the delivered shape works too


def array(values: list) -> dict:
    return {"DataType": "String.Array", "StringValue": json.dumps(values)}


ATTRIBUTE_CASES = [
    # [STR] exact
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": string("rugby")}, True),
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": string("tennis")}, True),
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": array(["rugby", "tennis"])}, True),
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": string("baseball")}, False),
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": array(["baseball"])}, False),
    # [STR] anything-but
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, {"customer_interests": string("baseball")}, True),
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, {"customer_interests": string("football")}, True),
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
     {"customer_interests": array(["rugby", "baseball"])}, True),
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, {"customer_interests": string("rugby")}, False),
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
     {"customer_interests": array(["rugby", "tennis"])}, False),
    ({"customer_interests": [{"anything-but": ["rugby"]}, {"exists": False}]}, {}, True),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, {"event": string("data-entry")}, True),
    ({"event": [{"anything-but": {"prefix": "order-"}}]}, {"event": string("order-cancelled")}, False),
    # [STR] equals-ignore-case, IP address, prefix, suffix
    ({"customer_interests": [{"equals-ignore-case": "tennis"}]}, {"customer_interests": string("TENNIS")}, True),
    ({"customer_interests": [{"equals-ignore-case": "tennis"}]}, {"customer_interests": string("Tennis")}, True),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": string("10.0.0.0")}, True),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": string("10.0.0.255")}, True),
    ({"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": string("10.1.1.0")}, False),
    ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": string("baseball")}, True),
    ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": string("basketball")}, True),
    ({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": string("rugby")}, False),
    ({"customer_interests": [{"suffix": "ball"}]}, {"customer_interests": string("baseball")}, True),
    ({"customer_interests": [{"suffix": "ball"}]}, {"customer_interests": string("rugby")}, False),
    # [NUM]
    ({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": number("301.5")}, True),
    ({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": number("3.015e2")}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": number("101")}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": number("100.1")}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": {"Type": "Number.Array", "Value": "[100, 50]"}}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": number("100")}, False),
    ({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": number("-1")}, True),
    ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": number("150")}, True),
    ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": number("150.5")}, False),
    ({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": number("0")}, False),
    ({"price_usd": [{"numeric": [">", 0]}]}, {"price_usd": string("5")}, False),  # a String is not a number
    # [KEY] exists
    ({"store": [{"exists": True}]}, {"store": string("example_corp")}, True),
    ({"store": [{"exists": True}]}, {"customer_interests": string("baseball")}, False),
    ({"store": [{"exists": False}]}, {"customer_interests": string("baseball")}, True),
    ({"store": [{"exists": False}]}, {"store": string("example_corp")}, False),
    # [REC] AWS-recorded deliveries
    ({"attr1": [{"numeric": [">", 0, "<=", 100]}]}, {"attr1": number("99")}, True),
    ({"attr1": [{"numeric": [">", 0, "<=", 100]}]}, {"attr1": number("111")}, False),
    ({"attr1": [None, {"anything-but": "whatever"}]}, {}, False),
    ({"store": [{"exists": True}]}, {"store": number("99"), "def": number("99")}, True),
    ({"store": [{"exists": True}]}, {"attr1": number("111")}, False),
    ({"store": [{"exists": False}]}, {"def": number("99")}, True),
    ({"store": [{"exists": False}]}, {"store": number("99"), "def": number("99")}, False),
    ({"store": ["value1"]}, {"store": string("value1")}, True),
    ({"store": ["value1"]}, {"store": array(["value1", "value2"])}, True),
    ({"store": ["value1"]}, {"store": array(["value2", "value3"])}, False),
    # AND across keys, custom types, binary attributes ignored
    ({"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
     {"customer_interests": string("rugby"), "price_usd": number("101")}, True),
    ({"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
     {"customer_interests": string("rugby"), "price_usd": number("99")}, False),
    ({"n": [5]}, {"n": {"DataType": "Number.int", "StringValue": "5"}}, True),
    ({"b": [{"exists": True}]}, {"b": {"DataType": "Binary", "BinaryValue": b"x"}}, False),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "attributes", "expected"), ATTRIBUTE_CASES)
def test_attribute_scope(policy, attributes, expected):
    compiled = compile_filter_policy(json.dumps(policy))
    assert compiled.matches_attributes(attributes) is expected
    assert compiled.matches_message("any body", attributes) is expected


BODY_CASES = [
    # [STR] [NUM] the same operators on message bodies
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": "rugby"}, True),
    ({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": "baseball"}, False),
    ({"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}, {"customer_interests": "baseball"}, True),
    ({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": 3.015e2}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": [100, 50]}, True),
    ({"price": [{"anything-but": [100, 500]}]}, {"price": 100}, False),
    # [REC] nested policy, prefix and exists false (payload-based filtering blog example)
    *[({"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": False}]},
        "test": [{"exists": False}]}, message, expected) for message, expected in [
        ({"object": {"key": "auto-test"}}, True),
        ({"object": {"key": "hardcodedvalue"}}, True),
        ({"object": {"key": "test-auto"}}, False),
        ({"object": {"key": "auto-test"}, "test": "just-exists"}, False),
        ({"object": {"key": "auto-test", "nested_key": "just-exists"}}, False),
        ({"object": {"test": "auto-test"}}, False),
        ({"test": "auto-test"}, False),
    ]],
    # [REC] dots in keys
    *[({"object.nested": ["string.value"]}, m, e) for m, e in [
        ({"object": {"nested": "string.value"}}, True), ({"object.nested": "string.value"}, True),
        ({"object": {"nested": "test-auto"}}, False)]],
    *[({"object.nested.test": ["string.value"]}, m, True) for m in [
        {"object": {"nested": {"test": "string.value"}}}, {"object.nested.test": "string.value"},
        {"object.nested": {"test": "string.value"}}, {"object": {"nested.test": "string.value"}}]],
    # [REC] arrays in the body
    *[({"headers": {"route-to": ["queue1"]}}, {"headers": {"route-to": values}}, expected) for values, expected in [
        (["queue3"], False), (["queue1"], True), (["queue2"], False), (["queue1", "queue2"], True)]],
    # [REC] $or in the body
    *[({"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}],
        "detail": {"scope": ["Service"], "$or": [{"source": ["aws.cloudwatch"]},
                                                 {"type": ["CloudWatch Alarm State Change"]}]}}, m, e)
      for m, e in [
        ({"metricName": "CPUUtilization", "detail": {"scope": "aws.cloudwatch", "type": "CloudWatch Alarm State Change"}}, False),
        ({"metricName": "CPUUtilization", "detail": {"scope": "Service", "type": "CPUUtilization"}}, False),
        ({"metricName": "CPUUtilization", "detail": {"type": "CloudWatch Alarm State Change"}}, False),
        ({"metricName": "CPUUtilization", "detail": {"scope": "Service"}}, False),
        ({"metricName": "CPUUtilization", "scope": "Service"}, False),
        ({"metricName": "CPUUtilization", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}, True),
        ({"namespace": "AWS/ES", "detail": {"scope": "Service", "source": "aws.cloudwatch"}}, True),
        ({"namespace": "CPUUtilization", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}, False),
        ({"metricName": "AWS/EC2", "detail": {"scope": "Service", "type": "CloudWatch Alarm State Change"}}, False),
      ]],
]  # fmt: skip


@pytest.mark.parametrize(("policy", "message", "expected"), BODY_CASES)
def test_body_scope(policy, message, expected):
    compiled = compile_filter_policy(policy, scope="MessageBody")
    assert compiled.matches_body(json.dumps(message)) is expected
    assert compiled.matches_message(json.dumps(message), {"ignored": string("x")}) is expected


def test_body_scope_s3_records():
    # [REC] arrays of objects, two of the four S3 notifications pass
    policy = compile_filter_policy(
        {
            "Records": {
                "s3": {"object": {"key": [{"prefix": "auto-"}]}},
                "eventName": [{"prefix": "ObjectCreated:"}],
            }
        },
        scope="MessageBody",
    )

    def record(name, key):
        return {
            "eventSource": "aws:s3",
            "eventName": name,
            "s3": {"object": {"key": key, "size": 17}},
        }

    multiple = {"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
         "s3": {"object": [[{"key": "auto-insurance-2314.xml", "size": 17}]]}},
        record("ObjectRemoved:Delete", "home-insurance-2314.xml"),
    ]}  # fmt: skip
    assert policy.matches_body(json.dumps(multiple))
    assert policy.matches_body(
        json.dumps({"Records": [record("ObjectCreated:Put", "auto-insurance-2314.xml")]})
    )
    assert not policy.matches_body(
        json.dumps({"Records": [record("ObjectRemoved:Delete", "auto-insurance-2314.xml")]})
    )
    assert not policy.matches_body(
        json.dumps({"Records": [record("ObjectCreated:Put", "home-insurance-2314.xml")]})
    )
    # fields must come from the same record
    crossed = {
        "Records": [
            record("ObjectCreated:Put", "home-1.xml"),
            record("ObjectRemoved:Delete", "auto-1.xml"),
        ]
    }
    assert not policy.matches_body(json.dumps(crossed))


def test_body_must_be_a_json_object():
    # [REC] a plain string, or JSON that is not an object, never matches a body policy
    policy = compile_filter_policy({"test": [{"exists": False}]}, scope="MessageBody")
    assert policy.matches_body("{}")
    assert not policy.matches_body("Regular string message")
    assert not policy.matches_body(json.dumps("Regular string message"))


def test_empty_policy_accepts_everything():
    policy = compile_filter_policy("{}")
    assert policy.matches_attributes({}) and policy.matches({"a": 1})
    assert not policy.matches_body("not json")  # a body policy still needs a JSON object
    index = PatternIndex()
    index.add("all", policy)
    assert index.match({}) == {"all"}


def test_attributes_document():
    assert attributes_document(
        {
            "s": string("x"),
            "n": number("3.015e2"),
            "i": {"DataType": "Number", "StringValue": "7"},
            "a": array(["a", 1, True, None]),
            "na": {"DataType": "Number.Array", "StringValue": "[1, 2]"},
            "bad": {"DataType": "Number", "StringValue": "NaN?"},
            "bin": {"DataType": "Binary", "BinaryValue": b"\x00"},
        }
    ) == {"s": "x", "n": 301.5, "i": 7, "a": ["a", 1, True, None], "na": [1, 2]}


def test_policies_share_an_index():
    index = PatternIndex()
    for n, policy in enumerate(
        [{"store": ["a"]}, {"store": [{"prefix": "a"}]}, {"price": [{"numeric": [">", 5]}]}]
    ):
        index.add(n, compile_filter_policy(policy))
    document = attributes_document({"store": string("ab"), "price": number("6")})
    assert index.match(document) == {1, 2}


# ------------------------------------------------------------------------------------ errors
def subscribe_error(policy: dict, scope: str = "MessageAttributes") -> str:
    with pytest.raises(PatternError) as caught:
        compile_filter_policy(
            json.dumps(policy), scope
        )  # json.dumps adds spaces; AWS's text has none
    return caught.value.subscribe_message()


def located(reason: str, compact: str, column: int) -> str:
    return (
        f"Invalid parameter: Attributes Reason: FilterPolicy: {reason}"
        f'\n at [Source: (String)"{compact}"; line: 1, column: {column}]'
    )


RECORDED = [  # [REC] Subscribe's message, as AWS answered it
    ({"key": [["value"]]}, "Match value must be String, number, true, false, or null", 10),
    ({"key": [{"wrong-operator": True}]}, "Unrecognized match type wrong-operator", 31),
    ({"key": [{"suffix": "value", "prefix": "value2"}]}, "Only one key allowed in match expression", 37),
    ({"key": [{"suffix": 100}]}, "suffix match pattern must be a string", 22),
    ({"key": [{"suffix": None}]}, "suffix match pattern must be a string", 23),
    ({"key": {"suffix": "value"}}, '"suffix" must be an object or an array', 19),
    ({"key": [{"suffix": []}]}, "suffix match pattern must be a string", 20),
    ({"key": [{"suffix": ["test", "test2"]}]}, "suffix match pattern must be a string", 20),
    ({"key": {"suffix": "value", "prefix": "value"}}, '"suffix" must be an object or an array', 19),
    ({"key": {"not-an-operator": "value"}}, '"not-an-operator" must be an object or an array', 28),
    ({"key": [{"numeric": []}]}, "Invalid member in numeric match: ]", 22),
    ({"key": [{"numeric": ["operator"]}]}, "Unrecognized numeric range operator: operator", 32),
    ({"key": [{"numeric": [1, "<="]}]}, "Invalid member in numeric match: 1", 22),
    ({"key": [{"numeric": ["=", "000"]}]}, "Value of equals must be numeric", 26),
    ({"key": [{"numeric": [">="]}]}, "Value of >= must be numeric", 26),
    ({"key": [{"numeric": ["<", 100, ">", 10]}]}, "Too many elements in numeric expression", 30),
    ({"key": [{"numeric": [">=", 1, ">", 2]}]}, "Bad numeric range operator: >", 31),
    ({"key": [{"numeric": [">", 3, "<", 1]}]}, "Bottom must be less than top", 33),
    ({"key": [{"numeric": [">", 20, "<="]}]}, "Value of <= must be numeric", 33),
    ({"key": [{"numeric": [">", 20, 30]}]}, "Bad value in numeric range: 30", 30),
    ({"key": [{"numeric": [">", 20, "test"]}]}, "Bad numeric range operator: test", 34),
    ({"key": [{"numeric": [">", "20", "<", "30"]}]}, "Value of > must be numeric", 26),
    ({"key": [{"numeric": [">", 20, "<", "30"]}]}, "Value of < must be numeric", 33),
    ({"key": [{"numeric": [">", 20, "<", 30, "<", 50]}]}, "Too many terms in numeric range expression", 36),
    ({"key": [{"exists": None}]}, "exists match pattern must be either true or false.", 23),
    ({"key": [{"exists": "no"}]}, "exists match pattern must be either true or false.", 20),
    ({"key": [{"anything-but": {"wrong-operator": None}}]}, "Unsupported anything-but pattern: wrong-operator", 47),
    ({"key": [{"anything-but": {"suffix": "test"}}]}, "Unsupported anything-but pattern: suffix", 36),
    ({"key": [{"anything-but": {"exists": False}}]}, "Unsupported anything-but pattern: exists", 40),
    ({"key": [{"anything-but": {"prefix": False}}]}, "prefix match pattern must be a string", 40),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "reason", "column"), RECORDED)
def test_recorded_subscribe_errors(policy, reason, column):
    compact = json.dumps(policy, separators=(",", ":"))
    assert subscribe_error(policy) == located(reason, compact, column)


def test_recorded_set_subscription_attributes_errors():
    # [REC] SetSubscriptionAttributes words them without "Attributes Reason: "
    with pytest.raises(PatternError) as caught:
        compile_filter_policy(json.dumps({"key_a": "value_one"}), "MessageBody")
    assert caught.value.message == (
        'Invalid parameter: FilterPolicy: "key_a" must be an object or an array'
        '\n at [Source: (String)"{"key_a":"value_one"}"; line: 1, column: 11]'
    )
    nested = {
        "key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
        "key_d": {"key_e": ["value_one", "value_two", "value_three"]},
        "key_f": ["value_one", "value_two", "value_three"],
    }  # [LIM] 3x4 x 2x3 x 1x3 = 216
    with pytest.raises(PatternError) as caught:
        compile_filter_policy(nested, "MessageBody")
    assert caught.value.message == "Invalid parameter: FilterPolicy: Filter policy is too complex"
    with pytest.raises(PatternError) as caught:
        compile_filter_policy({f"key_{c}": [f"value_{c}"] for c in "abcdef"}, "MessageBody")
    assert (
        caught.value.message
        == "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    )
    with pytest.raises(PatternError) as caught:
        compile_filter_policy({"object": {"key": [{"prefix": "auto-"}]}})
    assert caught.value.message == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    assert caught.value.subscribe_message() == (
        "Invalid parameter: Attributes Reason: Filter policy scope MessageAttributes does not support "
        "nested filter policy"
    )
    compile_filter_policy(
        {"object": {"key": [{"prefix": "auto-"}]}}, "MessageBody"
    )  # fine in body scope


@pytest.mark.parametrize(
    "policy",
    [
        {"key": [f"value{i}" for i in range(151)]},
        {"key1": [f"value{i}" for i in range(100)], "key2": [f"value{i}" for i in range(51)]},
        {  # (4 * 6) + (4 * 4 * 4) + (4 * 4 * 4) = 152
            "source": ["aws.cloudwatch", "aws.events", "aws.test", "aws.test2"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency", "t1", "t2", "t3", "t4"]},
                {"metricType": ["MetricType", "TestType", "TestType2", "TestType3"],
                 "$or": [{"metricId": [1234, 4321, 5678, 9012]}, {"spaceId": [1, 2, 3, 4]}]},
            ],
        },
    ],
)  # fmt: skip
def test_recorded_too_complex(policy):
    assert (
        subscribe_error(policy)
        == "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy is too complex"
    )


def test_recorded_complexity_limits():
    # [REC] 160 combinations in a nested body policy are refused; exactly 150 is accepted
    with pytest.raises(PatternError, match="too complex"):
        compile_filter_policy(
            {
                "$or": [{"metricName": ["CPUUtilization", "ReadLatency", "TestValue"]},
                        {"namespace": ["AWS/EC2", "AWS/ES"]}],
                "detail": {"scope": ["Service", "Test"], "$or": [
                    {"source": ["aws.cloudwatch"]},
                    {"type": ["CloudWatch Alarm State Change", "TestValue", "TestValue2"]}]},
            },
            "MessageBody",
        )  # fmt: skip
    compile_filter_policy(
        {
            "source": ["aws.cloudwatch", "aws.events", "aws.test"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency", "TestVal", "TestVal2", "TestVal3", "TestVal4"]},
                {"metricType": ["MetricType", "TestType", "TestType2", "TestType3"],
                 "$or": [{"metricId": [1234, 4321, 5678, 9012]}, {"spaceId": [1, 2, 3, 4, 5, 6, 7]}]},
            ],
        }
    )  # fmt: skip
    assert subscribe_error({f"key{i}": [f"value{i}"] for i in range(1, 7)}) == (
        "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy can not have more than 5 keys"
    )


def test_other_errors():
    with pytest.raises(PatternError) as caught:
        compile_filter_policy("{invalidjson}")
    assert (
        caught.value.message == "Invalid parameter: FilterPolicy: failed to parse JSON."
    )  # [REC] prefix
    with pytest.raises(PatternError) as caught:
        compile_filter_policy('{"a": ["b"]}', scope="RandomValue")
    assert caught.value.message == (  # [REC]
        "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either MessageBody "
        "or MessageAttributes"
    )
    with pytest.raises(PatternError) as caught:  # github.com/aws/aws-cdk/issues/16549
        compile_filter_policy('{"Amount": []}')
    assert caught.value.message.startswith(
        "Invalid parameter: FilterPolicy: Empty arrays are not allowed\n at"
    )
    with pytest.raises(PatternError, match="Unrecognized match type wildcard"):
        compile_filter_policy({"a": [{"wildcard": "x*"}]})  # SNS's compiler has no wildcard
    with pytest.raises(PatternError, match=r"Value must be between -1\.0E9 and 1\.0E9, inclusive"):
        compile_filter_policy({"a": [{"numeric": ["=", 2e9]}]})  # [LIM] -1e9..1e9
    compile_filter_policy({"key": [{"anything-but": {"prefix": "test-"}}]})  # [REC] accepted
    compile_filter_policy({"key": [{"anything-but": ["test", "test2"]}]})
    compile_filter_policy({"key": [{"anything-but": "test"}]})
