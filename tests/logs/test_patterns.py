"""Filter pattern syntax, checked through TestMetricFilter against the documented examples.

Most rows come from the CloudWatch Logs user guide ("Filter pattern syntax for metric filters,
subscription filters, filter log events, and Live Tail"), with the messages it uses.
"""

from __future__ import annotations

import json

import pytest

from .support import error_of

THREE = ["ERROR WARN message", "ERROR message", "WARN message"]

CLOUDTRAIL = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)
METRICS = json.dumps(
    {"latency": 1500, "errorCode": 400, "numbers": [5], "ratio": 55.5, "level": "ERROR"}
)
ACCESS = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'

CASES = [
    # terms: all must occur, case sensitive, anywhere (ERROR matches ERRORCODE)
    ("", "anything at all", True),
    ('""', "anything at all", True),
    ("ERROR", "[ERROR] A fatal exception has occurred", True),
    ("ERROR", "Exiting with ERRORCODE: -1", True),
    ("ERROR", "error in lower case", False),
    ('"ERROR" -"Exiting"', "Exiting with ERRORCODE: -1", False),
    ('"ERROR" -"Exiting"', "[ERROR] A fatal exception has occurred", True),
    ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", True),
    ("ERROR Exception", "[ERROR] Unhandled Exception", True),
    ("ERROR Exception", "[ERROR] Unhandled", False),
    ("Failed to process the request", "[WARN] Failed to process the request", True),
    (
        "Failed to process the request",
        "[ERROR] Unable to continue: Failed to process the request",
        True,
    ),
    ('"Failed to process the request"', "the request Failed to process", False),
    ("Failed to process the request", "the request Failed to process", True),
    # ?term: any of them; -term: none of them
    ("?ERROR ?WARN", THREE[0], True),
    ("?ERROR ?WARN", THREE[2], True),
    ("?ERROR ?WARN", "INFO message", False),
    ("ERROR WARN", THREE[0], True),
    ("ERROR WARN", THREE[1], False),
    ("ERROR -WARN", THREE[0], False),
    ("ERROR -WARN", THREE[1], True),
    ("-ERROR", "INFO message", True),
    ('"user@example.com"', "login by user@example.com", True),
    # regex
    ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", True),
    ("%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", True),
    ("%[Ee]rror|[Ff]ail%", "disk fail", True),
    ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.0.1 ok", True),
    ("%^ERROR%", "not ERROR at start", False),
    # JSON: the guide's CloudTrail-like example
    ('{ $.eventType = "UpdateTrail" }', CLOUDTRAIL, True),
    ('{ $.eventType = "CreateTrail" }', CLOUDTRAIL, False),
    ("{ $.sourceIPAddress != 123.123.* }", CLOUDTRAIL, True),
    ("{ $.sourceIPAddress != 111.111.* }", CLOUDTRAIL, False),
    ('{ $.arrayKey[0] = "value" }', CLOUDTRAIL, True),
    ("{ $.objectList[1].id = 2 }", CLOUDTRAIL, True),
    ("{ $.objectList[1].id = 1 }", CLOUDTRAIL, False),
    ("{ $.SomeObject IS NULL }", CLOUDTRAIL, True),
    ("{ $.eventType IS NULL }", CLOUDTRAIL, False),
    ("{ $.SomeOtherObject NOT EXISTS }", CLOUDTRAIL, True),
    ("{ $.SomeObject NOT EXISTS }", CLOUDTRAIL, False),
    ("{ $.ThisFlag IS TRUE }", CLOUDTRAIL, True),
    ("{ $.ThisFlag IS FALSE }", CLOUDTRAIL, False),
    # JSON: * wildcards at either end only ("Ev*ent" is literal)
    ("{ $.eventType = *Trail }", CLOUDTRAIL, True),
    ("{ $.eventType = Update* }", CLOUDTRAIL, True),
    ('{ $.eventType = "Up*ail" }', CLOUDTRAIL, False),
    ('{ $.eventType = "*" }', CLOUDTRAIL, True),
    ("{ $.eventType = %Trail$% }", CLOUDTRAIL, True),
    # JSON: compound conditions, && before ||, parentheses
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', USERS, True),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', USERS, False),
    (
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
        " && $.actions[2] = nomatch }",
        USERS,
        True,
    ),
    (
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
        " && $.actions[2] = nomatch }",
        USERS,
        False,
    ),
    ("{ $.coordinates[1][2] = 6 }", USERS, True),
    # JSON: a selector on an array or object matches neither = nor !=
    ("{ $.users = 1 }", USERS, False),
    ("{ $.users != 1 }", USERS, False),
    # JSON: numbers
    ("{ $.latency >= 500 }", METRICS, True),
    ("{ $.latency > +1000 }", METRICS, True),
    ("{ $.latency < 1000 }", METRICS, False),
    ("{ $.numbers[0] < 10e3 }", METRICS, True),
    ("{ $.numbers[0] < 10e-3 }", METRICS, False),
    ("{ $.ratio <= 55.5 }", METRICS, True),
    ("{ $.errorCode = 400 }", METRICS, True),
    ("{ $.errorCode != 500 }", METRICS, True),
    ("{ $.missing != 500 }", METRICS, False),
    ("{ $.level = ERROR }", METRICS, True),
    ("{ $.level = ERROR }", "not json ERROR", False),
    # space-delimited
    ("[ip, user, username, timestamp, request, status_code, bytes]", ACCESS, True),
    ("[ip, user, username, timestamp, request, status_code]", ACCESS, False),
    ("[..., status_code, bytes]", ACCESS, True),
    ("[ip, user, ...]", ACCESS, True),
    ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", ACCESS, True),
    ("[ip, user, username, timestamp, request, status_code, bytes > 2000]", ACCESS, False),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", ACCESS, True),
    ("[ip, user, username, timestamp, request, status_code = 5*, bytes]", ACCESS, False),
    ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", ACCESS, True),
    # (the guide's "[..., request, status_code = 4* && bytes > 1000]" has a field too few)
    (
        "[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]",
        ACCESS,
        True,
    ),
    (
        "[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]",
        ACCESS,
        False,
    ),
    (
        "[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]",
        ACCESS,
        True,
    ),
    (
        "[ip, user, username, timestamp, request, status_code = 403 || status_code = 405, bytes]",
        ACCESS,
        False,
    ),
    ("[w1=ERROR, w2]", THREE[1], True),
    ("[w1=ERROR, w2]", THREE[0], False),
    ("[w1=ERROR || w1=WARN, w2]", THREE[2], True),
    ("[w1!=ERROR&&w1!=WARN, w2]", THREE[1], False),
    ("[ip=%127\\.0\\.0\\.[0-9]{1,3}%, ...]", ACCESS, True),
]


@pytest.mark.parametrize(("pattern", "message", "expected"), CASES)
def test_documented_pattern(logs, pattern, message, expected):
    answer = logs.test_metric_filter(filterPattern=pattern, logEventMessages=[message])
    assert bool(answer["matches"]) is expected


def test_matches_report_event_numbers_and_extracted_values(logs):
    answer = logs.test_metric_filter(
        filterPattern="[..., request=*.html*, status_code=4*,]",
        logEventMessages=["too short", ACCESS, ACCESS.replace(" 404 ", " 200 ")],
    )
    (match,) = answer["matches"]
    assert match["eventNumber"] == 2
    assert match["eventMessage"] == ACCESS
    assert match["extractedValues"] == {
        "$1": "127.0.0.1",
        "$2": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /index.html HTTP/1.0",
        "$status_code": "404",
        "$7": "1534",
    }
    terms = logs.test_metric_filter(filterPattern="ERROR", logEventMessages=THREE)
    assert [(m["eventNumber"], m["extractedValues"]) for m in terms["matches"]] == [
        (1, {}),
        (2, {}),
    ]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("user@example.com", "Invalid character(s) in term 'user@example.com'"),
        ("ERROR?", "Invalid character(s) in term 'ERROR?'"),
        ('{ $.level = "ERROR"', "If a filter pattern starts with '{' it must end with '}'"),
        ("[ip, user", "If a filter pattern starts with '[' it must end with ']'"),
        ("{ $.latency > slow }", None),
        ("{ $.a = 1 && }", None),
        ("{ level = 1 }", None),
        ("%a(b)%", None),
    ],
)
def test_invalid_patterns_answer_invalid_parameter(logs, pattern, message):
    error = error_of(logs.test_metric_filter, filterPattern=pattern, logEventMessages=["x"])
    assert error["Code"] == "InvalidParameterException"
    if message:
        assert message in error["Message"]


def test_filter_log_events_uses_the_same_engine(logs, new_group, now_ms):
    name = new_group("/test/", "s")
    messages = [METRICS, json.dumps({"latency": 20, "level": "INFO"}), ACCESS, "plain ERROR line"]
    new_group.put(name, "s", [(now_ms - 10 + i, m) for i, m in enumerate(messages)])
    for pattern, expected in [
        ("{ $.latency > 100 }", [METRICS]),
        ('{ $.level = "INFO" || $.level = "ERROR" }', messages[:2]),
        ("[..., status = 404, size > 1000]", [ACCESS]),
        ("?ERROR ?frank", [METRICS, ACCESS, "plain ERROR line"]),
    ]:
        found = logs.filter_log_events(logGroupName=name, filterPattern=pattern)
        assert [e["message"] for e in found["events"]] == expected, pattern
