"""EC2Protect: triggered by the rule on instance 1 entering 'stopped'; starts it again."""

import json

import boto3

ec2 = boto3.client("ec2")


def lambda_handler(event, context):
    print("Received event: " + json.dumps(event))
    instance_id = event["detail"]["instance-id"]
    ec2.start_instances(InstanceIds=[instance_id])
    print("Protected instance started: " + instance_id)
