"""The default VPC, subnets and security group, zones, regions, images, account attributes."""

from __future__ import annotations

import re

from ec2.conftest import error_of

_ID = r"{}-[0-9a-f]{{17}}"


def test_default_vpc_subnets_and_security_group(ec2):
    (vpc,) = ec2.describe_vpcs()["Vpcs"]
    assert re.fullmatch(_ID.format("vpc"), vpc["VpcId"])
    assert (vpc["CidrBlock"], vpc["IsDefault"], vpc["State"]) == (
        "172.31.0.0/16",
        True,
        "available",
    )
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"] == [vpc]

    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert zones == [f"us-east-1{c}" for c in "abcdef"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "Subnets"
    ]
    assert sorted(s["AvailabilityZone"] for s in subnets) == zones  # one default subnet per zone
    for subnet in subnets:
        assert re.fullmatch(_ID.format("subnet"), subnet["SubnetId"])
        assert subnet["DefaultForAz"] and subnet["MapPublicIpOnLaunch"]
        assert re.fullmatch(r"172\.31\.\d+\.0/20", subnet["CidrBlock"])
        assert (
            subnet["SubnetArn"] == f"arn:aws:ec2:us-east-1:000000000000:subnet/{subnet['SubnetId']}"
        )
    assert len({s["CidrBlock"] for s in subnets}) == len(subnets)
    one = ec2.describe_subnets(
        Filters=[
            {"Name": "availability-zone", "Values": ["us-east-1b"]},
            {"Name": "default-for-az", "Values": ["true"]},
        ]
    )["Subnets"]
    assert [s["AvailabilityZone"] for s in one] == ["us-east-1b"]

    (group,) = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    assert re.fullmatch(_ID.format("sg"), group["GroupId"])
    assert (group["GroupName"], group["VpcId"]) == ("default", vpc["VpcId"])
    assert group["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"] == [group]

    # the same ids on every call (they are the account's, not the call's)
    assert ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == vpc["VpcId"]


def test_instances_launch_into_the_default_network(ec2, unique):
    subnet = ec2.describe_subnets(
        Filters=[{"Name": "availability-zone", "Values": ["us-east-1c"]}]
    )["Subnets"][0]
    group = ec2.describe_security_groups()["SecurityGroups"][0]
    placed = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet["SubnetId"],
        SecurityGroupIds=[group["GroupId"]],
    )["Instances"][0]
    assert placed["SubnetId"] == subnet["SubnetId"]
    assert placed["Placement"]["AvailabilityZone"] == "us-east-1c"
    assert placed["SecurityGroups"] == [{"GroupId": group["GroupId"], "GroupName": "default"}]
    default = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    assert default["VpcId"] == group["VpcId"]
    assert default["SecurityGroups"][0]["GroupId"] == group["GroupId"]
    ec2.terminate_instances(InstanceIds=[placed["InstanceId"], default["InstanceId"]])


def test_network_errors(ec2):
    error = error_of(ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"])
    assert (error["Code"], error["Message"]) == (
        "InvalidVpcID.NotFound",
        "The vpc ID 'vpc-0123456789abcdef0' does not exist",
    )
    error = error_of(ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"])
    assert error["Code"] == "InvalidSubnetID.NotFound"
    error = error_of(ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"])
    assert (error["Code"], error["Message"]) == (
        "InvalidGroup.NotFound",
        "The security group 'sg-0123456789abcdef0' does not exist",
    )


def test_zones_regions_images_and_account_attributes(ec2, aws_client):
    zone = ec2.describe_availability_zones(ZoneNames=["us-east-1a"])["AvailabilityZones"][0]
    assert (zone["ZoneId"], zone["State"], zone["RegionName"]) == (
        "use1-az1",
        "available",
        "us-east-1",
    )
    sydney = aws_client("ec2", region="ap-southeast-2").describe_availability_zones()
    assert [z["ZoneId"] for z in sydney["AvailabilityZones"]] == [
        "apse2-az1",
        "apse2-az2",
        "apse2-az3",
    ]

    regions = {r["RegionName"]: r for r in ec2.describe_regions()["Regions"]}
    assert regions["eu-west-1"]["Endpoint"] == "ec2.eu-west-1.amazonaws.com"
    assert "af-south-1" not in regions  # opt-in regions only with AllRegions
    everything = {r["RegionName"]: r for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    assert everything["af-south-1"]["OptInStatus"] == "not-opted-in"

    images = ec2.describe_images(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-2023*-x86_64"]}]
    )["Images"]
    assert len(images) == 1 and re.fullmatch(_ID.format("ami"), images[0]["ImageId"])
    assert images[0]["State"] == "available" and images[0]["Architecture"] == "x86_64"
    assert ec2.describe_images(ImageIds=[images[0]["ImageId"]])["Images"] == images
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert error_of(ec2.describe_images, ImageIds=["ami-0123456789abcdef0"])["Code"] == (
        "InvalidAMIID.NotFound"
    )

    attributes = {
        a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
        for a in ec2.describe_account_attributes()["AccountAttributes"]
    }
    assert attributes["default-vpc"] == [ec2.describe_vpcs()["Vpcs"][0]["VpcId"]]
    assert attributes["supported-platforms"] == ["VPC"]
    only = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [a["AttributeName"] for a in only] == ["default-vpc"]


def test_operations_cloudlet_lacks_answer_501(ec2):
    error = error_of(ec2.describe_key_pairs)
    assert (error["Code"], error["Status"]) == ("NotImplemented", 501)
