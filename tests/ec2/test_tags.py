"""CreateTags / DeleteTags / DescribeTags on instances and on the default network."""

from __future__ import annotations

from ec2.conftest import error_of, instance, launch


def tags_of(ec2, resource_id: str) -> dict[str, str]:
    described = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}])
    return {t["Key"]: t["Value"] for t in described["Tags"]}


def test_instance_tags(ec2, unique):
    (iid,) = launch(ec2, unique, Tags=[{"Key": "Name", "Value": "web"}])
    ec2.create_tags(
        Resources=[iid], Tags=[{"Key": "env", "Value": "dev"}, {"Key": "Name", "Value": "api"}]
    )
    assert tags_of(ec2, iid) == {"run": unique, "Name": "api", "env": "dev"}
    assert {"Key": "env", "Value": "dev"} in instance(ec2, iid)["Tags"]

    described = ec2.describe_tags(
        Filters=[
            {"Name": "resource-id", "Values": [iid]},
            {"Name": "key", "Values": ["env"]},
        ]
    )["Tags"]
    assert described == [
        {"Key": "env", "ResourceId": iid, "ResourceType": "instance", "Value": "dev"}
    ]

    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "prod"}])  # value differs: kept
    assert "env" in tags_of(ec2, iid)
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env"}])  # no value: removed whatever it is
    assert tags_of(ec2, iid) == {"run": unique, "Name": "api"}
    ec2.delete_tags(Resources=[iid])  # no tags named: all of them
    assert tags_of(ec2, iid) == {}
    assert "Tags" not in instance(ec2, iid)


def test_describe_tags_filters_and_pages(ec2, unique):
    launched = launch(ec2, unique, count=3, Tags=[{"Key": "tier", "Value": "batch"}])
    by_value = ec2.describe_tags(
        Filters=[
            {"Name": "value", "Values": [unique]},
            {"Name": "resource-type", "Values": ["instance"]},
        ]
    )["Tags"]
    assert sorted(t["ResourceId"] for t in by_value) == sorted(launched)

    pages = ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "resource-id", "Values": launched}], PaginationConfig={"PageSize": 5}
    )
    assert sum(len(page["Tags"]) for page in pages) == 6


def test_default_network_resources_take_tags(ec2, unique):
    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": unique}])
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [unique]}])["Vpcs"][0][
        "Tags"
    ] == [{"Key": "Name", "Value": unique}]
    described = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["Tags"]
    assert described == [
        {"Key": "Name", "ResourceId": vpc_id, "ResourceType": "vpc", "Value": unique}
    ]
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Name"}])
    assert "Tags" not in ec2.describe_vpcs()["Vpcs"][0]


def test_tag_errors(ec2, unique):
    (iid,) = launch(ec2, unique)
    missing = "i-0123456789abcdef0"
    error = error_of(ec2.create_tags, Resources=[iid, missing], Tags=[{"Key": "a", "Value": "b"}])
    assert (error["Code"], error["Message"]) == (
        "InvalidInstanceID.NotFound",
        f"The instance ID '{missing}' does not exist",
    )
    assert "a" not in tags_of(ec2, iid)  # all or nothing
    error = error_of(ec2.create_tags, Resources=["vpc-0123456789abcdef0"], Tags=[{"Key": "a"}])
    assert error["Code"] == "InvalidVpcID.NotFound"
    error = error_of(ec2.create_tags, Resources=["thing"], Tags=[{"Key": "a"}])
    assert (error["Code"], error["Message"]) == ("InvalidID", "The ID 'thing' is not valid")
    error = error_of(ec2.create_tags, Resources=[iid], Tags=[{"Key": "aws:owner", "Value": "x"}])
    assert error["Code"] == "InvalidParameterValue"
