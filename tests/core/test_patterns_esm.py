"""Lambda event source mapping filters (FilterCriteria).

Sources:
  [FLT] https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
  [SQS] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
  [DDB] https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
  [KIN] https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis-filtering.html
  [ERR] "Invalid filter pattern definition." (github.com/aws/aws-cdk/issues/23057,
        github.com/serverless/serverless/pull/12131)
"""

from __future__ import annotations

import base64
import json

import pytest

from cloudlet.core.patterns import PatternError, compile_filter_criteria


def sqs_record(body: str) -> dict:  # [SQS]
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue",
        "awsRegion": "us-west-2",
    }


ORDER = json.dumps(
    {"RecordNumber": 1234, "TimeStamp": "yyyy-mm-ddThh:mm:ss", "RequestCode": "AAAA"}
)


@pytest.mark.parametrize(
    ("filters", "body", "expected"),
    [
        (['{"body": {"RequestCode": ["BBBB"]}}'], ORDER, False),  # [SQS]
        (['{"body": {"RequestCode": ["AAAA"]}}'], ORDER, True),
        (['{"body": {"RecordNumber": [{"numeric": [">", 1000]}]}}'], ORDER, True),
        (
            ['{"body": {"RequestCode": ["BBBB"]}}', '{"body": {"RecordNumber": [1234]}}'],
            ORDER,
            True,
        ),  # any filter
        ([], ORDER, True),  # no filters: everything passes
        (
            ['{"body": ["hello world"]}'],
            "hello world",
            True,
        ),  # [FLT] plain string body, plain pattern
        (['{"body": [{"prefix": "hello"}]}'], "hello world", True),
        (['{"body": {"RequestCode": ["AAAA"]}}'], "hello world", False),  # plain body, JSON pattern
        (['{"body": ["hello world"]}'], json.dumps({"a": 1}), False),  # JSON body, plain pattern
        (['{"body": [7]}'], "7", True),  # a JSON scalar body is that scalar
        (['{"attributes": {"ApproximateReceiveCount": ["1"]}}'], ORDER, True),  # metadata fields
        (['{"body": {"RequestCode": [{"exists": false}]}}'], ORDER, False),
    ],
)
def test_sqs_filters(filters, body, expected):
    assert compile_filter_criteria(filters).matches(sqs_record(body)) is expected


def test_api_shape_and_invalid_patterns():
    criteria = compile_filter_criteria([{"Pattern": '{"body": {"RequestCode": ["AAAA"]}}'}])
    assert criteria.matches(sqs_record(ORDER))
    for bad in [
        '{"eventName": "INSERT"}',
        '[{"eventName": ["INSERT"]}]',
        "null",
        "not json",
        '{"a": [{"x": 1}]}',
    ]:
        with pytest.raises(PatternError) as caught:
            compile_filter_criteria([bad])
        assert caught.value.message == "Invalid filter pattern definition."  # [ERR]
    with pytest.raises(PatternError, match="Invalid filter pattern definition"):
        compile_filter_criteria([{"NoPattern": "x"}])


def test_dynamodb_stream_filter():
    # [DDB] filter on the record's dynamodb field as delivered (no decoding)
    record = {
        "eventID": "c9fbe7d0261a5163fcb6940593e41797",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-2",
        "dynamodb": {
            "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
            "NewImage": {
                "AccountManager": {"S": "Pat Candella"},
                "PaymentTerms": {"S": "60 days"},
                "CustomerName": {"S": "AnyCompany Industries"},
            },
            "SequenceNumber": "111",
            "SizeBytes": 26,
            "StreamViewType": "NEW_IMAGE",
        },
    }
    criteria = compile_filter_criteria(
        ['{"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}']
    )
    assert criteria.matches(record)
    assert compile_filter_criteria(['{"eventName": ["INSERT"]}']).matches(record)
    assert not compile_filter_criteria(['{"eventName": ["REMOVE"]}']).matches(record)
    assert not compile_filter_criteria(
        ['{"dynamodb": {"NewImage": {"PaymentTerms": {"S": [{"prefix": "30"}]}}}}']
    ).matches(record)


def test_kinesis_data_is_base64_json():
    # [KIN] patterns name the fields of the record's "kinesis" object; data is base64, matched as the
    # JSON it decodes to, or as the decoded text
    def kinesis(payload: bytes) -> dict:
        return {"partitionKey": "1", "data": base64.b64encode(payload).decode()}

    criteria = compile_filter_criteria(
        ['{"data": {"temperature": [{"numeric": [">", 20]}]}}'], data_key="data", base64_data=True
    )
    assert criteria.matches(kinesis(b'{"temperature": 25}'))
    assert not criteria.matches(kinesis(b'{"temperature": 15}'))
    assert compile_filter_criteria(
        ['{"partitionKey": ["1"]}'], data_key="data", base64_data=True
    ).matches(kinesis(b"x"))
    plain = compile_filter_criteria(['{"data": ["hot"]}'], data_key="data", base64_data=True)
    assert plain.matches(kinesis(b"hot"))
    assert not plain.matches({"data": "%%% not base64"})
