"""What every AWS account has in every region before it creates anything: the default VPC
(172.31.0.0/16), one default subnet per Availability Zone, the default security group, the
zones and regions themselves, and public AMIs to launch from.

None of it is stored: it is derived from (account, region), with ids hashed from them, so it is
the same after a restart or a reset and costs nothing until asked for. Only tags set on these
resources are stored (by the provider).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from cloudlet.core.arns import make_arn
from cloudlet.services.ec2.common import stable_id

VPC_CIDR = "172.31.0.0/16"

#: regions enabled in every account; the others need an opt-in (AllRegions=True lists them)
REGIONS = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
]
OPT_IN_REGIONS = [
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
]
#: zone letters where a region has other than three zones
_ZONE_LETTERS = {"us-east-1": "abcdef", "us-west-1": "ab", "ap-northeast-1": "acd"}
_DIRECTIONS = {
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
}


@dataclass(frozen=True, slots=True)
class Zone:
    name: str  # us-east-1a
    zone_id: str  # use1-az1
    index: int  # which /20 of the default VPC its default subnet has


def zone_id_prefix(region: str) -> str:
    """`us-east-1` -> `use1`, `ap-southeast-2` -> `apse2`, as AWS abbreviates zone ids."""
    parts = region.split("-")
    if len(parts) < 3:
        return re.sub(r"[^a-z0-9]", "", region)
    middle = "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1])
    return f"{parts[0]}{middle}{parts[-1]}"


def zones(region: str) -> list[Zone]:
    prefix = zone_id_prefix(region)
    letters = _ZONE_LETTERS.get(region, "abc")
    return [Zone(f"{region}{c}", f"{prefix}-az{i + 1}", i) for i, c in enumerate(letters)]


def vpc_id(account: str, region: str) -> str:
    return stable_id("vpc", account, region, "default-vpc")


def subnet_id(account: str, region: str, zone: Zone) -> str:
    return stable_id("subnet", account, region, zone.name)


def security_group_id(account: str, region: str) -> str:
    return stable_id("sg", account, region, "default-sg")


def subnet_cidr(zone: Zone) -> str:
    return f"172.31.{16 * zone.index}.0/20"


def default_vpc(account: str, region: str) -> dict[str, Any]:
    return {
        "VpcId": vpc_id(account, region),
        "OwnerId": account,
        "State": "available",
        "CidrBlock": VPC_CIDR,
        "DhcpOptionsId": stable_id("dopt", account, region),
        "InstanceTenancy": "default",
        "IsDefault": True,
        "CidrBlockAssociationSet": [
            {
                "AssociationId": stable_id("vpc-cidr-assoc", account, region),
                "CidrBlock": VPC_CIDR,
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
    }


def default_subnets(account: str, region: str) -> list[dict[str, Any]]:
    out = []
    for zone in zones(region):
        sid = subnet_id(account, region, zone)
        out.append(
            {
                "SubnetId": sid,
                "SubnetArn": make_arn("ec2", region, account, f"subnet/{sid}"),
                "OwnerId": account,
                "VpcId": vpc_id(account, region),
                "State": "available",
                "AvailabilityZone": zone.name,
                "AvailabilityZoneId": zone.zone_id,
                "CidrBlock": subnet_cidr(zone),
                "AvailableIpAddressCount": 4091,  # a /20 less the 5 addresses AWS reserves
                "DefaultForAz": True,
                "MapPublicIpOnLaunch": True,
                "MapCustomerOwnedIpOnLaunch": False,
                "AssignIpv6AddressOnCreation": False,
                "Ipv6CidrBlockAssociationSet": [],
                "EnableDns64": False,
                "Ipv6Native": False,
                "PrivateDnsNameOptionsOnLaunch": {
                    "HostnameType": "ip-name",
                    "EnableResourceNameDnsARecord": False,
                    "EnableResourceNameDnsAAAARecord": False,
                },
                "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
            }
        )
    return out


def subnet_zone(account: str, region: str, wanted: str) -> Zone | None:
    """The zone of a default subnet id, or None if no default subnet has that id."""
    return next((z for z in zones(region) if subnet_id(account, region, z) == wanted), None)


def default_security_group(account: str, region: str) -> dict[str, Any]:
    """The default group: all traffic from members of the group, all traffic out."""
    gid = security_group_id(account, region)
    return {
        "GroupId": gid,
        "GroupName": "default",
        "Description": "default VPC security group",
        "OwnerId": account,
        "VpcId": vpc_id(account, region),
        "SecurityGroupArn": make_arn("ec2", region, account, f"security-group/{gid}"),
        "IpPermissions": [
            {
                "IpProtocol": "-1",
                "UserIdGroupPairs": [{"GroupId": gid, "UserId": account}],
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
            }
        ],
        "IpPermissionsEgress": [
            {
                "IpProtocol": "-1",
                "UserIdGroupPairs": [],
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
            }
        ],
    }


def availability_zones(region: str) -> list[dict[str, Any]]:
    return [
        {
            "ZoneName": zone.name,
            "ZoneId": zone.zone_id,
            "ZoneType": "availability-zone",
            "State": "available",
            "OptInStatus": "opt-in-not-required",
            "RegionName": region,
            "GroupName": region,
            "NetworkBorderGroup": region,
            "Messages": [],
        }
        for zone in zones(region)
    ]


def regions(current: str, everything: bool) -> list[dict[str, Any]]:
    """The enabled regions (and with `everything` the opt-in ones, not opted in)."""
    names = [*REGIONS, *([] if current in REGIONS else [current])]
    out = [
        {
            "RegionName": name,
            "Endpoint": f"ec2.{name}.amazonaws.com",
            "OptInStatus": "opt-in-not-required" if name in REGIONS else "opted-in",
        }
        for name in sorted(names)
    ]
    if everything:
        out += [
            {
                "RegionName": name,
                "Endpoint": f"ec2.{name}.amazonaws.com",
                "OptInStatus": "not-opted-in",
            }
            for name in OPT_IN_REGIONS
            if name != current
        ]
    return out


def account_attributes(account: str, region: str) -> list[dict[str, Any]]:
    values = {
        "supported-platforms": ["VPC"],
        "vpc-max-security-groups-per-interface": ["5"],
        "max-elastic-ips": ["5"],
        "max-instances": ["20"],
        "vpc-max-elastic-ips": ["5"],
        "default-vpc": [vpc_id(account, region)],
    }
    return [
        {"AttributeName": name, "AttributeValues": [{"AttributeValue": v} for v in vals]}
        for name, vals in values.items()
    ]


# -- public images ------------------------------------------------------------------------------

_AMAZON = "137112412989"
_WINDOWS = "801119661308"
_CANONICAL = "099720109477"
_DEBIAN = "136693071363"
#: (name, description, owner, owner alias, architecture, platform); a few images people launch
_IMAGES = (
    (
        "al2023-ami-2023.6.20250115.0-kernel-6.1-x86_64",
        "Amazon Linux 2023 AMI 2023.6.20250115.0 x86_64 HVM kernel-6.1",
        _AMAZON,
        "amazon",
        "x86_64",
        "",
    ),
    (
        "al2023-ami-2023.6.20250115.0-kernel-6.1-arm64",
        "Amazon Linux 2023 AMI 2023.6.20250115.0 arm64 HVM kernel-6.1",
        _AMAZON,
        "amazon",
        "arm64",
        "",
    ),
    (
        "amzn2-ami-kernel-5.10-hvm-2.0.20250116.0-x86_64-gp2",
        "Amazon Linux 2 Kernel 5.10 AMI 2.0.20250116.0 x86_64 HVM gp2",
        _AMAZON,
        "amazon",
        "x86_64",
        "",
    ),
    (
        "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115",
        "Canonical, Ubuntu, 24.04, amd64 noble image",
        _CANONICAL,
        "",
        "x86_64",
        "",
    ),
    (
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250112",
        "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image build on 2025-01-12",
        _CANONICAL,
        "",
        "x86_64",
        "",
    ),
    (
        "debian-12-amd64-20250112-1991",
        "Debian 12 (20250112-1991)",
        _DEBIAN,
        "",
        "x86_64",
        "",
    ),
    (
        "Windows_Server-2022-English-Full-Base-2025.01.15",
        "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon",
        _WINDOWS,
        "amazon",
        "x86_64",
        "windows",
    ),
)


@functools.cache
def images(region: str) -> tuple[dict[str, Any], ...]:
    """The public AMIs of a region (ids differ per region, as on AWS). Built once per region
    and shared: callers never mutate them."""
    out = []
    for name, description, owner, alias, arch, platform in _IMAGES:
        windows = platform == "windows"
        root = "/dev/sda1" if windows or owner == _CANONICAL else "/dev/xvda"
        image: dict[str, Any] = {
            "ImageId": stable_id("ami", region, name),
            "ImageLocation": f"{alias or owner}/{name}",
            "ImageType": "machine",
            "Name": name,
            "Description": description,
            "OwnerId": owner,
            "Public": True,
            "State": "available",
            "Architecture": arch,
            "CreationDate": "2025-01-15T00:00:00.000Z",
            "DeprecationTime": "2027-01-15T00:00:00.000Z",
            "PlatformDetails": "Windows" if windows else "Linux/UNIX",
            "UsageOperation": "RunInstances:0002" if windows else "RunInstances",
            "RootDeviceName": root,
            "RootDeviceType": "ebs",
            "VirtualizationType": "hvm",
            "Hypervisor": "xen",
            "EnaSupport": True,
            "SriovNetSupport": "simple",
            "BootMode": "uefi-preferred" if arch == "x86_64" else "uefi",
            "ImdsSupport": "v2.0",
            "BlockDeviceMappings": [
                {
                    "DeviceName": root,
                    "Ebs": {
                        "DeleteOnTermination": True,
                        "SnapshotId": stable_id("snap", region, name),
                        "VolumeSize": 30 if windows else 8,
                        "VolumeType": "gp3",
                        "Encrypted": False,
                    },
                }
            ],
        }
        if alias:
            image["ImageOwnerAlias"] = alias
        if windows:
            image["Platform"] = "windows"
        out.append(image)
    return tuple(out)


def image(region: str, image_id: str) -> dict[str, Any] | None:
    return next((i for i in images(region) if i["ImageId"] == image_id), None)
