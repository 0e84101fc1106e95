"""A service's wire quirks, one row each with its reason.

Codecs are generic; where a service departs from its protocol family, the departure is data here.
"""

from __future__ import annotations

from typing import Any

#: (service, validation kind) -> error code, where a service answers bad input differently from
#: the rest of its protocol family.
VALIDATION_CODE_OVERRIDES: dict[tuple[str, str], str] = {
    # SQS moved from query to JSON keeping its query-era error codes (awsQueryCompatible).
    ("sqs", "missing"): "MissingParameter",
    ("sqs", "invalid"): "InvalidParameterValue",
    ("sqs", "malformed"): "MalformedQueryString",
    # IAM and STS answer input their model rejects with ValidationError (not the query default).
    ("iam", "missing"): "ValidationError",
    ("iam", "invalid"): "ValidationError",
    ("sts", "missing"): "ValidationError",
    ("sts", "invalid"): "ValidationError",
    # CloudWatch Logs answers every input its model rejects with InvalidParameterException.
    ("logs", "missing"): "InvalidParameterException",
    ("logs", "invalid"): "InvalidParameterException",
}

#: Services that still accept the query protocol from older SDKs although their current model
#: speaks JSON. The query codec then reads the model's `flattened` flags plus the query-era names
#: of LEGACY_QUERY_TRAITS below.
LEGACY_QUERY_SERVICES: frozenset[str] = frozenset({"sqs"})

#: Error codes of former query services, keyed by error shape name. Their JSON errors name the
#: shape in `__type` and carry the query-era code in the `x-amzn-query-error` header, which is
#: what SDKs report as the code; their query responses use it as `<Code>`.
QUERY_ERROR_CODES: dict[str, dict[str, str]] = {
    "sqs": {
        "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
        "QueueNameExists": "QueueAlreadyExists",
        "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
        "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
        "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
        "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
        "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
        "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
        "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    },
}

#: The query-era wire names of services in LEGACY_QUERY_SERVICES. Their JSON models kept the
#: `flattened` flags but dropped the locationNames and resultWrappers the query protocol needs, so
#: older SDKs (which still send `MessageAttribute.1.Name=...` and expect `<Message>` elements) would
#: not be understood. These rows restore them, taken from the last query-era botocore model of the
#: service; the query codec merges them over the current model (and adds `resultWrapper`
#: "<Operation>Result" to every output, as every query service does).
#: Format: shape name -> traits merged into the shape; "member"/"key"/"value" merge into those
#: references and "members" into the structure's member references.
LEGACY_QUERY_TRAITS: dict[str, dict[str, Any]] = {
    "sqs": {
        # AWS's SQS XML namespace is the old queue.amazonaws.com one, not sqs.amazonaws.com.
        "xmlNamespace": "http://queue.amazonaws.com/doc/2012-11-05/",
        "shapes": {
            "AWSAccountIdList": {"member": {"locationName": "AWSAccountId"}},
            "ActionNameList": {"member": {"locationName": "ActionName"}},
            "AttributeNameList": {"member": {"locationName": "AttributeName"}},
            "BatchResultErrorEntryList": {"member": {"locationName": "BatchResultErrorEntry"}},
            "BinaryList": {"member": {"locationName": "BinaryListValue"}},
            "StringList": {"member": {"locationName": "StringListValue"}},
            "ChangeMessageVisibilityBatchRequestEntryList": {
                "member": {"locationName": "ChangeMessageVisibilityBatchRequestEntry"}
            },
            "ChangeMessageVisibilityBatchResultEntryList": {
                "member": {"locationName": "ChangeMessageVisibilityBatchResultEntry"}
            },
            "DeleteMessageBatchRequestEntryList": {
                "member": {"locationName": "DeleteMessageBatchRequestEntry"}
            },
            "DeleteMessageBatchResultEntryList": {
                "member": {"locationName": "DeleteMessageBatchResultEntry"}
            },
            "SendMessageBatchRequestEntryList": {
                "member": {"locationName": "SendMessageBatchRequestEntry"}
            },
            "SendMessageBatchResultEntryList": {
                "member": {"locationName": "SendMessageBatchResultEntry"}
            },
            # Added in 2023 just before SQS moved to JSON; named by the convention of every other
            # SQS list (one element per entry, named after the entry shape).
            "ListMessageMoveTasksResultEntryList": {
                "member": {"locationName": "ListMessageMoveTasksResultEntry"}
            },
            "MessageAttributeNameList": {"member": {"locationName": "MessageAttributeName"}},
            # JSON-era member (2024); query clients never send it, named like AttributeName.N.
            "MessageSystemAttributeList": {
                "member": {"locationName": "MessageSystemAttributeName"}
            },
            "MessageList": {"member": {"locationName": "Message"}},
            "QueueUrlList": {"member": {"locationName": "QueueUrl"}},
            "TagKeyList": {"member": {"locationName": "TagKey"}},
            "MessageBodyAttributeMap": {
                "key": {"locationName": "Name"},
                "value": {"locationName": "Value"},
            },
            "MessageBodySystemAttributeMap": {
                "key": {"locationName": "Name"},
                "value": {"locationName": "Value"},
            },
            "MessageSystemAttributeMap": {
                "key": {"locationName": "Name"},
                "value": {"locationName": "Value"},
                "locationName": "Attribute",
            },
            "QueueAttributeMap": {
                "key": {"locationName": "Name"},
                "value": {"locationName": "Value"},
                "locationName": "Attribute",
            },
            "TagMap": {
                "key": {"locationName": "Key"},
                "value": {"locationName": "Value"},
                "locationName": "Tag",
            },
            "CreateQueueRequest": {
                "members": {
                    "Attributes": {"locationName": "Attribute"},
                    "tags": {"locationName": "Tag"},
                }
            },
            "SetQueueAttributesRequest": {"members": {"Attributes": {"locationName": "Attribute"}}},
            "GetQueueAttributesResult": {"members": {"Attributes": {"locationName": "Attribute"}}},
            "ListQueueTagsResult": {"members": {"Tags": {"locationName": "Tag"}}},
            "Message": {
                "members": {
                    "Attributes": {"locationName": "Attribute"},
                    "MessageAttributes": {"locationName": "MessageAttribute"},
                }
            },
            "SendMessageRequest": {
                "members": {
                    "MessageAttributes": {"locationName": "MessageAttribute"},
                    "MessageSystemAttributes": {"locationName": "MessageSystemAttribute"},
                }
            },
            "SendMessageBatchRequestEntry": {
                "members": {
                    "MessageAttributes": {"locationName": "MessageAttribute"},
                    "MessageSystemAttributes": {"locationName": "MessageSystemAttribute"},
                }
            },
            "MessageAttributeValue": {
                "members": {
                    "StringListValues": {"locationName": "StringListValue"},
                    "BinaryListValues": {"locationName": "BinaryListValue"},
                }
            },
            "MessageSystemAttributeValue": {
                "members": {
                    "StringListValues": {"locationName": "StringListValue"},
                    "BinaryListValues": {"locationName": "BinaryListValue"},
                }
            },
        },
    },
}

#: Legacy query services that let a request name its resource by the request URL instead of a
#: parameter: SQS query requests are sent to the queue URL (`POST /123456789012/MyQueue`) and may
#: omit `QueueUrl`, as AWS's own query API examples do.
LEGACY_QUERY_URL_MEMBERS: dict[str, str] = {"sqs": "QueueUrl"}

#: rest-xml services that answer the S3 way: the request id in `x-amz-request-id` plus a host id in
#: `x-amz-id-2` (instead of `x-amzn-RequestId`), and errors as a bare `<Error>` document carrying
#: both (no `<ErrorResponse>` wrapper, no namespace), as the S3 API reference shows.
S3_STYLE_RESPONSES: frozenset[str] = frozenset({"s3"})

#: Services whose providers take a `streaming` payload member (S3 object data, up to 5 GB per
#: request) as an async iterator of chunks, read while it arrives (see `protocols.streams`). The
#: others get bytes as before: Lambda's InvokeAsync, the only other streaming input of a served
#: service, is limited to 256 KB.
STREAMED_PAYLOAD_SERVICES: frozenset[str] = frozenset({"s3"})

#: Operations answering 206 Partial Content when an output member is set (the model has no status
#: member for it): GetObject and HeadObject with a Range or partNumber return ContentRange.
PARTIAL_CONTENT_OUTPUTS: dict[tuple[str, str], str] = {
    ("s3", "GetObject"): "ContentRange",
    ("s3", "HeadObject"): "ContentRange",
}

#: The namespace AWS puts on the root of every XML response of a rest-xml service whose model
#: leaves it out of its output shapes.
XML_RESPONSE_NAMESPACES: dict[str, str] = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}

#: Root element of XML responses whose output shape has no locationName (botocore ignores the
#: root, other SDKs and S3 libraries do not). Names from the "Response Syntax" of each operation
#: in the S3 API reference. Outputs with a structure payload are rooted at the payload member.
XML_RESPONSE_ROOTS: dict[str, dict[str, str]] = {
    "s3": {
        "CompleteMultipartUpload": "CompleteMultipartUploadResult",
        "CreateMultipartUpload": "InitiateMultipartUploadResult",
        "CreateSession": "CreateSessionResult",
        "DeleteObjects": "DeleteResult",
        "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
        "GetBucketAcl": "AccessControlPolicy",
        "GetBucketCors": "CORSConfiguration",
        "GetBucketLifecycle": "LifecycleConfiguration",
        "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
        "GetBucketLogging": "BucketLoggingStatus",
        "GetBucketNotification": "NotificationConfiguration",
        "GetBucketNotificationConfiguration": "NotificationConfiguration",
        "GetBucketRequestPayment": "RequestPaymentConfiguration",
        "GetBucketTagging": "Tagging",
        "GetBucketVersioning": "VersioningConfiguration",
        "GetBucketWebsite": "WebsiteConfiguration",
        "GetObjectAcl": "AccessControlPolicy",
        "GetObjectAttributes": "GetObjectAttributesResponse",
        "GetObjectTagging": "Tagging",
        "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
        "ListBucketIntelligentTieringConfigurations": "ListBucketIntelligentTieringConfigurationsOutput",
        "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
        "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
        "ListBuckets": "ListAllMyBucketsResult",
        "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
        "ListMultipartUploads": "ListMultipartUploadsResult",
        "ListObjectVersions": "ListVersionsResult",
        "ListObjects": "ListBucketResult",
        "ListObjectsV2": "ListBucketResult",
        "ListParts": "ListPartsResult",
    },
}

#: Outputs whose whole XML document is one member's element with the value as its text, which
#: the model cannot express: GetBucketLocation answers
#: `<LocationConstraint xmlns="...">eu-west-1</LocationConstraint>` (empty for us-east-1), and
#: botocore reads it with a dedicated handler (parse_get_bucket_location).
XML_TEXT_ROOT_OUTPUTS: dict[tuple[str, str], str] = {
    ("s3", "GetBucketLocation"): "LocationConstraint"
}

#: HTTP statuses of former query services' errors that their current model no longer carries
#: (the JSON-era SQS model dropped its `error` traits; AWS still answers these with 403).
QUERY_ERROR_STATUS: dict[str, dict[str, int]] = {
    "sqs": {
        "OverLimit": 403,
        "PurgeQueueInProgress": 403,
        "RequestThrottled": 403,
        "ResourceNotFoundException": 404,
    },
}

#: Enums the front end does not check, as "service" (all of its enums) or "service:Shape": the
#: service answers unknown values itself. SQS accepts any name in AttributeNames /
#: MessageSystemAttributeNames and answers InvalidAttributeName; Lambda answers an unknown
#: Runtime with InvalidParameterValueException.
NO_ENUM_VALIDATION: frozenset[str] = frozenset({"sqs", "lambda:Runtime"})

#: Messages a former query service words differently on its query protocol.
LEGACY_QUERY_MESSAGES: dict[tuple[str, str], str] = {
    ("sqs", "QueueDoesNotExist"): "The specified queue does not exist for this wsdl version.",
}
