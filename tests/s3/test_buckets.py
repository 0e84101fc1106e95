"""Buckets: creation rules and errors, listing, location, and the stored configurations."""

from __future__ import annotations

import json
import uuid

from tests.s3.conftest import error_of, make_client


def test_create_head_list_delete(s3):
    name = f"life-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    assert (
        s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"]
        == "us-east-1"
    )
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.delete_bucket(Bucket=name)
    assert error_of(s3.head_bucket, Bucket=name)["Status"] == 404
    assert error_of(s3.delete_bucket, Bucket=name)["Code"] == "NoSuchBucket"


def test_creation_errors(s3, endpoint):
    for bad in ("ab", "UPPER", "a..b", "192.168.1.1", "-dash", "xn--abc"):
        assert error_of(s3.create_bucket, Bucket=bad)["Code"] == "InvalidBucketName"
    name = f"west-{uuid.uuid4().hex[:8]}"
    west = make_client(endpoint, region="eu-west-1")
    west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert west.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    again = error_of(
        west.create_bucket,
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    assert (again["Code"], again["Status"]) == ("BucketAlreadyOwnedByYou", 409)
    other = make_client(endpoint, region="eu-west-1")
    other._request_signer._credentials.access_key = "111111111111"
    taken = error_of(
        other.create_bucket,
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    assert taken["Code"] == "BucketAlreadyExists"
    wrong = error_of(
        west.create_bucket,
        Bucket=f"x-{name}",
        CreateBucketConfiguration={"LocationConstraint": "ap-south-1"},
    )
    assert wrong["Code"] == "IllegalLocationConstraintException"
    assert error_of(west.create_bucket, Bucket=f"y-{name}")["Code"] == (
        "IllegalLocationConstraintException"
    )
    west.delete_bucket(Bucket=name)


def test_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    error = error_of(s3.delete_bucket, Bucket=bucket)
    assert (error["Code"], error["Status"]) == ("BucketNotEmpty", 409)


def test_tagging_policy_and_public_access_block(s3, bucket):
    assert error_of(s3.get_bucket_tagging, Bucket=bucket)["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "a"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    # New buckets block public access, as on AWS since 2023.
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
    assert error_of(s3.put_bucket_policy, Bucket=bucket, Policy=public)["Code"] == "AccessDenied"
    s3.delete_public_access_block(Bucket=bucket)
    assert error_of(s3.get_public_access_block, Bucket=bucket)["Code"] == (
        "NoSuchPublicAccessBlockConfiguration"
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(public)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    assert error_of(s3.put_bucket_policy, Bucket=bucket, Policy="nope")["Code"] == "MalformedPolicy"
    s3.delete_bucket_policy(Bucket=bucket)
    assert error_of(s3.get_bucket_policy, Bucket=bucket)["Code"] == "NoSuchBucketPolicy"


def test_acls_and_ownership(s3, bucket):
    assert (
        error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ACL="public-read")["Code"]
        == "AccessControlListNotSupported"
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [
        g["Grantee"] for g in grants
    ]
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert len(s3.get_bucket_acl(Bucket=bucket)["Grants"]) == 1


def test_versioning_config_and_cors(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert error_of(s3.get_bucket_cors, Bucket=bucket)["Code"] == "NoSuchCORSConfiguration"
    rules = [
        {
            "AllowedOrigins": ["http://app.example"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 300,
        }
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
