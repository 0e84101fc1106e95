"""Invalid event patterns: AWS's exact InvalidEventPatternException messages.

Sources: [AWS] messages AWS returned, quoted in public issues (cited per row); [SNS-AWS] SNS messages
recorded against AWS (LocalStack's AWS-validated snapshots, tests/aws/services/sns/
test_sns_filter_policy.snapshot.json), which come from the same compiler and pin down the locations;
[RULER] the reason texts of AWS's rule compiler (Event Ruler's JsonRuleCompiler, CIDR, Range,
ComparableNumber, WildcardParser).
"""

from __future__ import annotations

import pytest

from cloudlet.core.patterns import PatternError, compile_event_pattern

PREFIX = "Event pattern is not valid. Reason: "


def error_of(pattern) -> PatternError:
    with pytest.raises(PatternError) as caught:
        compile_event_pattern(pattern)
    return caught.value


def at(text: str, line: int, column: int) -> str:
    return f'\n at [Source: (String)"{text}"; line: {line}, column: {column}]'


# --- [AWS] full messages, location included
def test_empty_object_cloud_custodian_6507():
    # github.com/cloud-custodian/cloud-custodian/issues/6507
    text = '{"source": ["aws.health"], "detail": {}}'
    assert error_of(text).message == PREFIX + "Empty objects are not allowed" + at(text, 1, 40)


def test_value_not_in_array_json_schema_171():
    # github.com/lalcebo/json-schema/pull/171 (CloudFormation deploy error)
    text = (
        '{"detail-type":["Object Created"],"source":"aws.s3","detail":{"bucket":{"name":'
        '["sabi-test-bucket"]},"object":{"key":[{"prefix":"reach-query"},{"suffix":".json"}]}}}'
    )
    assert error_of(text).message == PREFIX + '"source" must be an object or an array' + at(
        text, 1, 45
    )


def test_nested_value_not_in_array_cdk_blog():
    text = '{"source":["test.event-pattern"],"detail":{"lenderId":"LenderA"}}'
    assert error_of(text).message == PREFIX + '"lenderId" must be an object or an array' + at(
        text, 1, 56
    )


def test_multiline_location_buildkite_docs_896():
    # github.com/buildkite/docs/pull/896: "... line: 5, column: 16"
    text = (
        "{\n"
        '  "detail-type": [ "Build Started", "Build Finished" ],\n'
        '  "detail": {\n'
        '    "pipeline": {\n'
        '      "slug": "some-pipeline"\n'
        "    }\n"
        "  }\n"
        "}"
    )
    assert error_of(text).message == PREFIX + '"slug" must be an object or an array' + at(
        text, 5, 16
    )


def test_malformed_json_ansible_67510():
    # github.com/ansible/ansible/issues/67510
    text = '{\\"detail\\": {\\"eventName\\": [\\"PutImage\\"]}}'
    message = error_of(text).message
    assert message == (
        PREFIX + "Unexpected character ('\\' (code 92)): was expecting double-quote to start field name"
        + at(text, 1, 3)
    )  # fmt: skip


def test_too_complex_wildcards():
    # github.com/vals-ai/Valkyrie/pull/278: three "*:stack/<name>/*" accepted, a fourth refused;
    # a terraform config refused four "*/datasync/*.<ext>" but accepted two, and four "*.<ext>"
    stacks = [
        f"*:stack/{name}/*" for name in ("ApiStack", "DataStack", "WebStack", "MonitoringStack")
    ]
    compile_event_pattern({"detail": {"stack-id": [{"wildcard": w} for w in stacks[:3]]}})
    assert error_of({"detail": {"stack-id": [{"wildcard": w} for w in stacks]}}).message == (
        PREFIX + "Rule is too complex - try using fewer wildcard characters or fewer repeating "
        "character sequences after a wildcard character"
    )
    datasync = [f"*/datasync/*.{ext}" for ext in ("bif", "tif", "tiff", "svs")]
    compile_event_pattern({"key": [{"wildcard": w} for w in datasync[:2]]})
    assert "too complex" in error_of({"key": [{"wildcard": w} for w in datasync]}).message
    compile_event_pattern({"key": [{"wildcard": f"*.{e}"} for e in ("bif", "tiff", "tif", "svs")]})
    assert "too complex" in error_of({"key": [{"anything-but": {"wildcard": datasync}}]}).message


# --- [RULER] reasons, with or without a location
LOCATED = [
    ("", "Filter is not an object"),
    ("[]", "Filter is not an object"),
    ('"x"', "Filter is not an object"),
    ("123", "Filter is not an object"),
    ('{"a": "b"}', '"a" must be an object or an array'),
    ('{"a": 5}', '"a" must be an object or an array'),
    ('{"a": null}', '"a" must be an object or an array'),
    ("{}", "Empty objects are not allowed"),
    ('{"a": {}}', "Empty objects are not allowed"),
    ('{"a": []}', "Empty arrays are not allowed"),
    ('{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
    ('{"a": [{}]}', "Match expression name not found"),
    ('{"a": [{"foo": 1}]}', "Unrecognized match type foo"),
    ('{"a": [{"contains": "x"}]}', "Unrecognized match type contains"),
    ('{"a": [{"prefix": 1}]}', "prefix match pattern must be a string"),
    ('{"a": [{"prefix": ["x"]}]}', "prefix match pattern must be a string"),
    ('{"a": [{"suffix": null}]}', "suffix match pattern must be a string"),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
    ('{"a": [{"prefix": {}}]}', "Prefix expression name not found"),
    ('{"a": [{"prefix": {"foo": "x"}}]}', "Unsupported prefix pattern: foo"),
    ('{"a": [{"suffix": {"bar": "x"}}]}', "Unsupported suffix pattern: bar"),
    ('{"a": [{"prefix": {"equals-ignore-case": 1}}]}', "equals-ignore-case match pattern must be a string"),
    ('{"a": [{"prefix": {"equals-ignore-case": "x", "y": 1}}]}', "Only one key allowed in match expression"),
    ('{"a": [{"equals-ignore-case": 5}]}', "equals-ignore-case match pattern must be a string"),
    ('{"a": [{"exactly": 5}]}', "exact match pattern must be a string"),
    ('{"a": [{"wildcard": 5}]}', "wildcard match pattern must be a string"),
    ('{"a": [{"wildcard": "a**"}]}', "Consecutive wildcard characters at pos 2"),
    ('{"a": [{"wildcard": "a\\\\b"}]}', "Invalid escape character at pos 2"),
    ('{"a": [{"wildcard": "é\\\\b"}]}', "Invalid escape character at pos 3"),
    ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
    ('{"a": [{"exists": true, "prefix": "x"}]}', "Only one key allowed in match expression"),
    ('{"a": [{"numeric": 5}]}', "Value of numeric must be an array."),
    ('{"a": [{"numeric": [">", 5], "x": 1}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": ["=", 5, 6]}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": [">", 5, "<", 10, ">", 1]}]}', "Too many terms in numeric range expression"),
    ('{"a": [{"numeric": [">", 10, "<", 5]}]}', "Bottom must be less than top"),
    ('{"a": [{"numeric": [">", 5000000000]}]}', "Bottom must be less than top"),
    ('{"a": [{"numeric": ["=", 6e9]}]}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
    ('{"a": [{"numeric": [">", -6e9, "<", 0]}]}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
    ('{"a": [{"numeric": [">", "5"]}]}', "Value of > must be numeric"),
    ('{"a": [{"numeric": ["=", null]}]}', "Value of equals must be numeric"),
    ('{"a": [{"numeric": ["!", 5]}]}', "Unrecognized numeric range operator: !"),
    ('{"a": [{"numeric": [5]}]}', "Invalid member in numeric match: 5"),
    ('{"a": [{"numeric": [">", 1, 2]}]}', "Bad value in numeric range: 2"),
    ('{"a": [{"numeric": [">", 1, ">", 2]}]}', "Bad numeric range operator: >"),
    ('{"a": [{"numeric": [">", 1, "<", "2"]}]}', "Value of < must be numeric"),
    ('{"a": [{"anything-but": null}]}', "Value of anything-but must be an array or single string/number value."),
    ('{"a": [{"anything-but": true}]}', "Value of anything-but must be an array or single string/number value."),
    ('{"a": [{"anything-but": ["a", 1]}]}',
     "Inside anything but list, either all values are number or string, mixed type is not supported"),
    ('{"a": [{"anything-but": []}]}',
     "Inside anything but list, either all values are number or string, mixed type is not supported"),
    ('{"a": [{"anything-but": [6e9]}]}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
    ('{"a": [{"anything-but": {"foo": "x"}}]}', "Unsupported anything-but pattern: foo"),
    ('{"a": [{"anything-but": {}}]}', "Anything-But expression name not found"),
    ('{"a": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed"),
    ('{"a": [{"anything-but": {"suffix": 5}}]}', "prefix/suffix match pattern must be a string"),
    ('{"a": [{"anything-but": {"equals-ignore-case": 5}}]}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    ('{"a": [{"anything-but": {"wildcard": 5}}]}', "wildcard match pattern must be a string"),
    ('{"a": [{"anything-but": {"wildcard": "a**"}}]}', "Consecutive wildcard characters at pos 2"),
    ('{"a": [{"anything-but": {"wildcard": ["ok*", "a**"]}}]}', "Consecutive wildcard characters at pos 2"),
    ('{"a": [{"anything-but": "x", "y": 1}]}', "Too many elements in numeric expression"),
    ('{"a": [{"anything-but": {"prefix": "x", "y": 1}}]}', "Too many elements in numeric expression"),
    ('{"a": [{"cidr": 5}]}', "prefix match pattern must be a string"),
    ('{"a": [{"cidr": "10.0.0.0/8", "x": 1}]}', "Only one key allowed in match expression"),
    ('{"$or": {"a": ["b"]}}', "It must be an Array followed with $or."),
    ('{"$or": [{"a": ["b"]}]}', "There must have at least 2 Objects in $or relationship."),
    ('{"$or": [{"a": ["b"]}, "x"]}', "Only JSON object is allowed in array of $or relationship."),
    ('{"$or": [{"a": ["b"]}, {"prefix": ["c"]}]}', "prefix is Ruler reserved fieldName which cannot be used inside $or."),
    ('{"$or": [{"a": ["b"]}, {"x": {"numeric": ["c"]}}]}',
     "numeric is Ruler reserved fieldName which cannot be used inside $or."),
    # JSON syntax, worded as Jackson words it
    ('{a: ["b"]}', "Unexpected character ('a' (code 97)): was expecting double-quote to start field name"),
    ('{"a" ["b"]}', "Unexpected character ('[' (code 91)): was expecting a colon to separate field name and value"),
    ('{"a": ["b"] "c": ["d"]}', "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries"),
    ('{"a": ["b" "c"]}', "Unexpected character ('\"' (code 34)): was expecting comma to separate Array entries"),
    ('{"a": [tru]}',
     "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"),
    ('{"a": [01]}', "Invalid numeric value: Leading zeroes not allowed"),
    ('{"a": ["\\x"]}', "Unrecognized character escape 'x' (code 120)"),
    ('{"a": ["b\n"]}',
     "Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped using backslash to be included in string value"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), LOCATED)
def test_reasons_with_location(text, reason):
    message = error_of(text).message
    assert message.startswith(PREFIX + reason + "\n at [Source: (String)"), message
    assert message.count("\n at [Source") == 1


UNLOCATED = [
    ('{"a": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
    ('{"a": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"),
    ('{"a": [{"cidr": "10.0.0.0/-1"}]}', "Malformed CIDR, mask bits must not be negative"),
    ('{"a": [{"cidr": "10.0.0.0/32"}]}', "IPv4 mask bits must be < 32"),
    ('{"a": [{"cidr": "::/128"}]}', "IPv6 mask bits must be < 128"),
    ('{"a": [{"cidr": "999.0.0.0/8"}]}', "Invalid IP address: 999.0.0.0"),
    ('{"a": [{"cidr": "host.example/8"}]}', "Nonstandard IP address: host.example"),
    ('{"a": [{"anything-but": 6e9}]}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
]


@pytest.mark.parametrize(("text", "reason"), UNLOCATED)
def test_reasons_without_location(text, reason):
    # these escape AWS's compiler as plain exceptions: no JSON location is appended
    error = error_of(text)
    assert error.message == PREFIX + reason
    assert error.reason == reason


TWICE = [
    ('{"a": [{"anything-but": [null]}]}', "Inside anything but list, start|null|boolean is not supported."),
    ('{"a": [{"anything-but": {"prefix": [""]}}]}', "Null prefix/suffix not allowed"),
    ('{"a": [{"anything-but": {"equals-ignore-case": [1]}}]}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), TWICE)
def test_reasons_located_twice_inside_anything_but_lists(text, reason):
    # AWS's compiler catches its own error inside these lists and raises it again, located again
    message = error_of(text).message
    location = message.split("\n", 1)[1]
    assert message == PREFIX + reason + "\n" + location
    first, second = location.split("\n")
    assert first == second


def test_location_details():
    message = error_of('{"a": [{"numeric": ["<", 100, ">", 10]}]}').message
    assert message.endswith("; line: 1, column: 32]")  # after the lazily read ">" quote
    # the end of the input: Jackson names the unclosed container and where it started
    message = error_of('{"a": ["b"]').message
    assert message.startswith(
        PREFIX
        + "Unexpected end-of-input: expected close marker for Object (start marker at "
        '[Source: (String)"{\\"a\\": [\\"b\\"]"; line: 1, column: 1])'.replace('\\"', '"')
    )
    # line breaks count lines, columns restart (\r\n is one break)
    text = '{\r\n"a":\r\n  5}'
    assert error_of(text).message.endswith("line: 3, column: 4]")
    # columns count UTF-16 units, as Java does
    text = '{"\U0001f600": 5}'
    assert error_of(text).message.endswith("line: 1, column: 9]")


def test_decimal_places():
    message = error_of('{"a": [{"numeric": [">", 0.1234567]}]}').message
    # Event Ruler's text, hex of the value rounded to 6 decimals as Java's Double.toHexString prints it
    assert message.startswith(
        PREFIX
        + "Only values upto 6 decimals are supported0.1234567 0.1234567 0x1.f9ae0c1765775p-4\n at"
    ), message


def test_long_patterns_are_truncated_in_the_location():
    text = '{"a": "' + "x" * 600 + '"}'
    message = error_of(text).message
    assert '"[truncated 109 chars]; line: 1, column: 8]' in message
    assert message.count("x") == 500 - 7


def test_error_attributes():
    error = error_of('{"a": [{"foo": 1}]}')
    assert error.prefix == PREFIX
    assert error.reason.startswith("Unrecognized match type foo\n at")
    assert str(error) == error.message
