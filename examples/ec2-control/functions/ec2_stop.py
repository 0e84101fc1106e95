"""EC2Stop: stop every instance listed in EC2_INSTANCES (comma-separated ids)."""

import os

import boto3

ec2 = boto3.client("ec2")


def lambda_handler(event, context):
    instances = [i for i in os.environ["EC2_INSTANCES"].split(",") if i]
    ec2.stop_instances(InstanceIds=instances)
    print("Stopped your instances: " + str(instances))
