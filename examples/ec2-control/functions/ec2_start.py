"""EC2Start: start every instance listed in EC2_INSTANCES (comma-separated ids)."""

import os

import boto3

ec2 = boto3.client("ec2")


def lambda_handler(event, context):
    instances = [i for i in os.environ["EC2_INSTANCES"].split(",") if i]
    ec2.start_instances(InstanceIds=instances)
    print("Started your instances: " + str(instances))
