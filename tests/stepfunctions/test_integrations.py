"""Service integrations: SQS, SNS, EventBridge, nested executions and AWS SDK calls."""

from __future__ import annotations

import json
import uuid

from .conftest import finished, wait_for


def test_sqs_send_message(sfn, run, aws_client):
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "$"},
        "End": True,
    }
    done = run({"StartAt": "Send", "States": {"Send": task}}, {"hello": "queue"})
    output = json.loads(done["output"])
    assert output["MessageId"] and output["MD5OfMessageBody"]
    message = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    )[0]
    assert json.loads(message["Body"]) == {"hello": "queue"}


def test_sns_publish(run, aws_client):
    sns, sqs = aws_client("sns"), aws_client("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": topic, "Message.$": "$.note"},
        "End": True,
    }
    done = run({"StartAt": "Publish", "States": {"Publish": task}}, {"note": {"text": "hi"}})
    assert json.loads(done["output"])["MessageId"]
    message = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")
    )[0]
    assert json.loads(message["Body"]) == {"text": "hi"}


def test_eventbridge_put_events(server, run):
    source = f"test.sfn.{uuid.uuid4().hex[:8]}"
    entries = [{"Source": source, "DetailType": "Order Placed", "Detail.$": "$"}]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": entries},
        "End": True,
    }
    done = run({"StartAt": "Put", "States": {"Put": task}}, {"order": 1})
    assert json.loads(done["output"])["FailedEntryCount"] == 0


def test_nested_executions_fire_and_forget_sync_and_sync2(sfn, machine):
    child = machine(
        {
            "StartAt": "Double",
            "States": {
                "Double": {
                    "Type": "Pass",
                    "Parameters": {"n.$": "States.MathAdd($.n, $.n)"},
                    "End": True,
                }
            },
        }
    )

    def parent(resource: str) -> str:
        task = {
            "Type": "Task",
            "Resource": resource,
            "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
            "End": True,
        }
        return machine({"StartAt": "Child", "States": {"Child": task}})

    fire = finished(
        sfn,
        sfn.start_execution(
            stateMachineArn=parent("arn:aws:states:::states:startExecution"), input='{"n": 2}'
        )["executionArn"],
    )
    started = json.loads(fire["output"])
    assert started["ExecutionArn"].startswith(child.replace(":stateMachine:", ":execution:"))
    sync = finished(
        sfn,
        sfn.start_execution(
            stateMachineArn=parent("arn:aws:states:::states:startExecution.sync"), input='{"n": 3}'
        )["executionArn"],
    )
    described = json.loads(sync["output"])
    assert described["Status"] == "SUCCEEDED" and json.loads(described["Output"]) == {"n": 6}
    sync2 = finished(
        sfn,
        sfn.start_execution(
            stateMachineArn=parent("arn:aws:states:::states:startExecution.sync:2"),
            input='{"n": 4}',
        )["executionArn"],
    )
    assert json.loads(sync2["output"])["Output"] == {"n": 8}
    child_input = json.loads(described["Input"])
    assert child_input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == sync["executionArn"]
    kinds = [
        e["type"] for e in sfn.get_execution_history(executionArn=sync["executionArn"])["events"]
    ]
    assert kinds[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


def test_aws_sdk_integrations_call_providers(sfn, run, aws_client):
    sqs = aws_client("sqs")
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueAttributes",
        "Parameters": {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
        "ResultSelector": {"arn.$": "$.Attributes.QueueArn"},
        "Next": "Describe",
    }
    describe = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
        "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id"},
        "ResultSelector": {"name.$": "$.Name", "type.$": "$.Type"},
        "ResultPath": "$.machine",
        "Next": "Missing",
    }
    missing = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
        "Parameters": {"ExecutionArn": "arn:aws:states:us-east-1:000000000000:execution:nope:nope"},
        "Catch": [
            {
                "ErrorEquals": ["Sfn.ExecutionDoesNotExistException"],
                "ResultPath": "$.caught",
                "Next": "Done",
            }
        ],
        "End": True,
    }
    definition = {
        "StartAt": "Attributes",
        "States": {
            "Attributes": task,
            "Describe": describe,
            "Missing": missing,
            "Done": {"Type": "Succeed"},
        },
    }
    done = run(definition)
    output = json.loads(done["output"])
    assert output["arn"].endswith(f":{name}")
    assert output["machine"]["type"] == "STANDARD"
    assert output["caught"]["Error"] == "Sfn.ExecutionDoesNotExistException"


def test_aws_sdk_s3_get_object_hands_over_the_body_as_text(run, aws_client):
    s3 = aws_client("s3")
    bucket = f"sdk-get-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket, Key="note.json", Body=b'{"greeting": "hej"}', ContentType="application/json"
    )
    definition = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": bucket, "Key": "note.json"},
                "ResultSelector": {
                    "body.$": "$.Body",
                    "parsed.$": "States.StringToJson($.Body)",
                    "type.$": "$.ContentType",
                    "length.$": "$.ContentLength",
                },
                "End": True,
            }
        },
    }
    done = run(definition)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output == {
        "body": '{"greeting": "hej"}',
        "parsed": {"greeting": "hej"},
        "type": "application/json",
        "length": 19,
    }
