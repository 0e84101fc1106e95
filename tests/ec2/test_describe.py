"""DescribeInstances: filters, pages, reservations and the errors AWS answers."""

from __future__ import annotations

import re

from ec2.conftest import FAST, error_of, instance, launch


def ids_of(response) -> list[str]:
    return [i["InstanceId"] for r in response["Reservations"] for i in r["Instances"]]


def mine(run: str) -> dict:
    return {"Name": "tag:run", "Values": [run]}


def test_run_instances_answers_a_reservation_of_pending_instances(ec2, unique):
    response = ec2.run_instances(
        ImageId="ami-12345678",
        InstanceType="t3.small",
        MinCount=2,
        MaxCount=3,
        KeyName="demo-key",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "run", "Value": unique}]},
            {"ResourceType": "volume", "Tags": [{"Key": "ignored", "Value": "x"}]},
        ],
    )
    assert re.fullmatch(r"r-[0-9a-f]{17}", response["ReservationId"])
    assert response["OwnerId"] == "000000000000"
    launched = response["Instances"]
    assert [i["AmiLaunchIndex"] for i in launched] == [0, 1, 2]
    first = launched[0]
    assert re.fullmatch(r"i-[0-9a-f]{17}", first["InstanceId"])
    assert first["State"] == {"Code": 0, "Name": "pending"}
    assert first["ImageId"] == "ami-12345678" and first["InstanceType"] == "t3.small"
    assert first["KeyName"] == "demo-key"
    assert first["Tags"] == [{"Key": "run", "Value": unique}]
    assert first["Placement"]["Tenancy"] == "default"
    assert first["Monitoring"] == {"State": "disabled"}
    assert first["Architecture"] == "x86_64"
    assert first["PrivateIpAddress"].startswith("172.31.")
    assert re.fullmatch(r"ip-172-31-\d+-\d+\.ec2\.internal", first["PrivateDnsName"])
    assert first["NetworkInterfaces"][0]["PrivateIpAddress"] == first["PrivateIpAddress"]
    assert first["BlockDeviceMappings"][0]["Ebs"]["VolumeId"].startswith("vol-")

    listed = ec2.describe_instances(Filters=[mine(unique)])
    assert [r["ReservationId"] for r in listed["Reservations"]] == [response["ReservationId"]]
    assert ids_of(listed) == [i["InstanceId"] for i in launched]


def test_a_retried_launch_launches_nothing_more(ec2, unique):
    """botocore sends one ClientToken per call and the same one when it retries."""
    first = launch(ec2, unique, count=2, ClientToken=f"token-{unique}")
    again = launch(ec2, unique, count=2, ClientToken=f"token-{unique}")
    assert again == first
    assert set(ids_of(ec2.describe_instances(Filters=[mine(unique)]))) == set(first)


def test_filters(ec2, unique):
    small, big = launch(ec2, unique, count=2)[0], launch(ec2, unique, InstanceType="m5.large")[0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[small, big], WaiterConfig=FAST)
    ec2.create_tags(Resources=[big], Tags=[{"Key": "Role", "Value": "web-server"}])
    ec2.stop_instances(InstanceIds=[big])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[big], WaiterConfig=FAST)
    subnet = instance(ec2, small)["SubnetId"]
    vpc = instance(ec2, small)["VpcId"]

    def found(*filters: dict) -> set[str]:
        return set(ids_of(ec2.describe_instances(Filters=[mine(unique), *filters])))

    everything = found()
    assert len(everything) == 3 and big in everything
    assert found({"Name": "instance-state-name", "Values": ["stopped"]}) == {big}
    assert found({"Name": "instance-state-name", "Values": ["running", "stopped"]}) == everything
    assert found({"Name": "instance-state-code", "Values": ["16"]}) == everything - {big}
    assert found({"Name": "instance-type", "Values": ["m5.*"]}) == {big}
    assert found({"Name": "instance-id", "Values": [small, big]}) == {small, big}
    assert found({"Name": "tag:Role", "Values": ["web-*"]}) == {big}
    assert found({"Name": "tag:Role", "Values": ["web"]}) == set()
    assert found({"Name": "tag-key", "Values": ["Role"]}) == {big}
    assert found({"Name": "tag-value", "Values": ["?eb-server"]}) == {big}
    assert found({"Name": "vpc-id", "Values": [vpc]}) == everything
    assert small in found({"Name": "subnet-id", "Values": [subnet]})
    assert found({"Name": "vpc-id", "Values": ["vpc-00000000000000000"]}) == set()

    error = error_of(ec2.describe_instances, Filters=[{"Name": "colour", "Values": ["red"]}])
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValue",
        "The filter 'colour' is invalid",
    )


def test_pages(ec2, unique):
    launched = launch(ec2, unique, count=7)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        response = ec2.describe_instances(Filters=[mine(unique)], MaxResults=5, **kwargs)
        pages += 1
        seen += ids_of(response)
        token = response.get("NextToken")
        if not token:
            break
    assert pages == 2 and seen == launched

    paginated = ec2.get_paginator("describe_instances").paginate(
        Filters=[mine(unique)], PaginationConfig={"PageSize": 5}
    )
    assert [i for page in paginated for i in ids_of(page)] == launched

    error = error_of(ec2.describe_instances, MaxResults=3)
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "Value ( 3 ) for parameter maxResults is invalid. Expecting a value greater than 5."
    )
    error = error_of(ec2.describe_instances, InstanceIds=launched[:1], MaxResults=5)
    assert error["Code"] == "InvalidParameterCombination"


def test_unknown_and_malformed_ids(ec2, unique):
    (known,) = launch(ec2, unique)
    missing, other = "i-0123456789abcdef0", "i-0fedcba9876543210"
    error = error_of(ec2.describe_instances, InstanceIds=[known, missing])
    assert (error["Code"], error["Status"]) == ("InvalidInstanceID.NotFound", 400)
    assert error["Message"] == f"The instance ID '{missing}' does not exist"
    error = error_of(ec2.terminate_instances, InstanceIds=[missing, other])
    assert error["Message"] == f"The instance IDs '{missing}, {other}' do not exist"
    error = error_of(ec2.describe_instances, InstanceIds=["web-server-1"])
    assert (error["Code"], error["Message"]) == (
        "InvalidInstanceID.Malformed",
        'Invalid id: "web-server-1"',
    )
    error = error_of(ec2.stop_instances, InstanceIds=["i-123"])
    assert error["Code"] == "InvalidInstanceID.Malformed"
    # and the waiter treats an unknown instance as "not yet"
    assert instance(ec2, known)["State"]["Name"] in ("pending", "running")


def test_launch_errors(ec2):
    error = error_of(ec2.run_instances, ImageId="ubuntu", MinCount=1, MaxCount=1)
    assert (error["Code"], error["Message"]) == (
        "InvalidAMIID.Malformed",
        'Invalid id: "ubuntu" (expecting "ami-...")',
    )
    error = error_of(
        ec2.run_instances, ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId="subnet-1234"
    )
    assert (error["Code"], error["Message"]) == (
        "InvalidSubnetID.NotFound",
        "The subnet ID 'subnet-1234' does not exist",
    )
    error = error_of(
        ec2.run_instances,
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=["sg-0123456789abcdef0"],
    )
    assert error["Code"] == "InvalidGroup.NotFound"
    error = error_of(ec2.run_instances, ImageId="ami-12345678", MinCount=3, MaxCount=2)
    assert error["Code"] == "InvalidParameterValue"
    error = error_of(ec2.run_instances, ImageId="ami-12345678", MinCount=21, MaxCount=21)
    assert error["Code"] == "InstanceLimitExceeded"


def test_regions_and_accounts_are_separate(aws_client, unique):
    east = aws_client("ec2")
    (iid,) = launch(east, unique)
    west = aws_client("ec2", region="eu-west-1")
    assert ids_of(west.describe_instances(Filters=[mine(unique)])) == []
    other = aws_client("ec2", access_key="111122223333")
    assert error_of(other.describe_instances, InstanceIds=[iid])["Code"] == (
        "InvalidInstanceID.NotFound"
    )
    west_instance = west.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][
        0
    ]
    assert west_instance["Placement"]["AvailabilityZone"].startswith("eu-west-1")
    assert west_instance["PrivateDnsName"].endswith(".eu-west-1.compute.internal")
