"""Instance documents and how DescribeInstances shows them.

A document (kind "ec2.instance", key "account/region/instance-id") keeps what was decided at
launch (ids, addresses, zone, groups, tags) and the lifecycle fields of lifecycle.py (`state`,
`since`, `next`). `view()` turns a document, already settled to its effective state, into the
`Instance` structure of the EC2 API, with what AWS shows and hides in each state (no public
address once stopped, no network interface once terminated ...).
"""

from __future__ import annotations

import os
import random
import re
from typing import Any

from cloudlet.services.ec2 import network
from cloudlet.services.ec2.common import Getter, new_id, tag_list

KIND = "ec2.instance"
#: the instance state codes of the API (the low byte of AWS's code)
STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}
_SIZES_WITH_ONE_CORE = {"nano", "micro", "small", "medium", "large"}


def key_of(account: str, region: str, instance_id: str) -> str:
    return f"{account}/{region}/{instance_id}"


def state_of(name: str) -> dict[str, Any]:
    return {"Code": STATE_CODES[name], "Name": name}


def architecture(instance_type: str) -> str:
    """Graviton families carry a `g` after the generation (t4g, m7gd, c6gn); `g5` is a GPU."""
    family = instance_type.split(".")[0]
    match = re.fullmatch(r"([a-z]+)(\d+)([a-z-]*)", family)
    return "arm64" if match and "g" in match.group(3) else "x86_64"


def cpu_options(instance_type: str) -> dict[str, int]:
    family, _, size = instance_type.partition(".")
    threads = 1 if family in ("t1", "t2") or architecture(instance_type) == "arm64" else 2
    if size in _SIZES_WITH_ONE_CORE:
        cores = 1 if size != "large" else 2 // threads
    else:
        match = re.fullmatch(r"(\d*)xlarge", size)
        cores = (int(match.group(1) or 1) * 4 // threads) if match else 1
    return {"CoreCount": max(cores, 1), "ThreadsPerCore": threads}


def private_ip(zone: network.Zone) -> str:
    return f"172.31.{16 * zone.index + random.randrange(16)}.{random.randrange(4, 255)}"


def public_ip() -> str:
    return f"{random.choice((3, 18, 34, 44, 52, 54))}.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def private_dns(region: str, ip: str) -> str:
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{ip.replace('.', '-')}.{suffix}"


def public_dns(region: str, ip: str) -> str:
    suffix = (
        "compute-1.amazonaws.com" if region == "us-east-1" else f"{region}.compute.amazonaws.com"
    )
    return f"ec2-{ip.replace('.', '-')}.{suffix}"


def new_instance(
    *,
    account: str,
    region: str,
    reservation_id: str,
    index: int,
    params: dict[str, Any],
    zone: network.Zone,
    groups: list[dict[str, str]],
    tags: dict[str, str],
    now: int,
) -> dict[str, Any]:
    """The document of a freshly launched instance (its lifecycle fields are set by the caller)."""
    instance_id = new_id("i")
    return {
        "InstanceId": instance_id,
        "account": account,
        "region": region,
        "ReservationId": reservation_id,
        "AmiLaunchIndex": index,
        "ImageId": params["ImageId"],
        "InstanceType": params.get("InstanceType") or "m1.small",
        "KeyName": params.get("KeyName"),
        "ClientToken": params.get("ClientToken") or "",
        "monitoring": "enabled" if (params.get("Monitoring") or {}).get("Enabled") else "disabled",
        "SubnetId": network.subnet_id(account, region, zone),
        "VpcId": network.vpc_id(account, region),
        "zone": zone.name,
        "zone_id": zone.zone_id,
        "PrivateIpAddress": params.get("PrivateIpAddress") or private_ip(zone),
        "groups": groups,
        "tags": tags,
        "created": now,
        "launched": now,
        "eni": new_id("eni"),
        "attachment": new_id("eni-attach"),
        "volume": new_id("vol"),
        "mac": "0a:" + ":".join(f"{b:02x}" for b in os.urandom(5)),
        "public_ip": None,
        "ran": False,
    }


#: members every simulated instance shows alike (AWS's defaults for an EBS-backed instance)
_DEFAULTS: dict[str, Any] = {
    "EbsOptimized": False,
    "EnaSupport": True,
    "Hypervisor": "xen",
    "RootDeviceType": "ebs",
    "SourceDestCheck": True,
    "VirtualizationType": "hvm",
    "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
    "HibernationOptions": {"Configured": False},
    "MetadataOptions": {
        "State": "applied",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "HttpProtocolIpv6": "disabled",
        "InstanceMetadataTags": "disabled",
    },
    "EnclaveOptions": {"Enabled": False},
    "BootMode": "uefi-preferred",
    "CurrentInstanceBootMode": "legacy-bios",
    "PrivateDnsNameOptions": {
        "HostnameType": "ip-name",
        "EnableResourceNameDnsARecord": False,
        "EnableResourceNameDnsAAAARecord": False,
    },
    "MaintenanceOptions": {"AutoRecovery": "default"},
}


def view(doc: dict[str, Any]) -> dict[str, Any]:
    """The `Instance` of the API for a settled document."""
    state = doc["state"]
    region = doc["region"]
    gone = state == "terminated"
    windows = (network.image(region, doc["ImageId"]) or {}).get("Platform") == "windows"
    out: dict[str, Any] = {
        "InstanceId": doc["InstanceId"],
        "ImageId": doc["ImageId"],
        "State": state_of(state),
        "PrivateDnsName": "" if gone else private_dns(region, doc["PrivateIpAddress"]),
        "PublicDnsName": "",
        "StateTransitionReason": doc.get("reason", ""),
        "AmiLaunchIndex": doc["AmiLaunchIndex"],
        "ProductCodes": [],
        "InstanceType": doc["InstanceType"],
        "LaunchTime": doc["launched"] / 1000,
        "Placement": {
            "AvailabilityZone": doc["zone"],
            "AvailabilityZoneId": doc["zone_id"],
            "GroupName": "",
            "Tenancy": "default",
        },
        "Monitoring": {"State": doc["monitoring"]},
        "Architecture": architecture(doc["InstanceType"]),
        "BlockDeviceMappings": [] if gone else [_root_device(doc)],
        "ClientToken": doc["ClientToken"],
        "NetworkInterfaces": [] if gone else [_interface(doc)],
        "RootDeviceName": _root_name(doc),
        "SecurityGroups": [] if gone else doc["groups"],
        "CpuOptions": cpu_options(doc["InstanceType"]),
        "PlatformDetails": "Windows" if windows else "Linux/UNIX",
        "UsageOperation": "RunInstances:0002" if windows else "RunInstances",
        "UsageOperationUpdateTime": doc["created"] / 1000,
        **_DEFAULTS,
    }
    if windows:
        out["Platform"] = "windows"
    if doc.get("KeyName"):
        out["KeyName"] = doc["KeyName"]
    if not gone:
        out.update(
            SubnetId=doc["SubnetId"], VpcId=doc["VpcId"], PrivateIpAddress=doc["PrivateIpAddress"]
        )
    if doc.get("public_ip"):
        out["PublicIpAddress"] = doc["public_ip"]
        out["PublicDnsName"] = public_dns(region, doc["public_ip"])
    if doc.get("state_reason"):
        out["StateReason"] = doc["state_reason"]
    if doc["tags"]:
        out["Tags"] = tag_list(doc["tags"])
    return out


def _root_name(doc: dict[str, Any]) -> str:
    image = network.image(doc["region"], doc["ImageId"])
    return image["RootDeviceName"] if image else "/dev/xvda"


def _root_device(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "DeviceName": _root_name(doc),
        "Ebs": {
            "AttachTime": doc["created"] / 1000,
            "DeleteOnTermination": True,
            "Status": "attached",
            "VolumeId": doc["volume"],
        },
    }


def _interface(doc: dict[str, Any]) -> dict[str, Any]:
    region, ip = doc["region"], doc["PrivateIpAddress"]
    association = None
    if doc.get("public_ip"):
        association = {
            "IpOwnerId": "amazon",
            "PublicDnsName": public_dns(region, doc["public_ip"]),
            "PublicIp": doc["public_ip"],
        }
    address: dict[str, Any] = {
        "Primary": True,
        "PrivateDnsName": private_dns(region, ip),
        "PrivateIpAddress": ip,
    }
    interface: dict[str, Any] = {
        "Attachment": {
            "AttachTime": doc["created"] / 1000,
            "AttachmentId": doc["attachment"],
            "DeleteOnTermination": True,
            "DeviceIndex": 0,
            "Status": "attached",
            "NetworkCardIndex": 0,
        },
        "Description": "",
        "Groups": doc["groups"],
        "Ipv6Addresses": [],
        "MacAddress": doc["mac"],
        "NetworkInterfaceId": doc["eni"],
        "OwnerId": doc["account"],
        "PrivateDnsName": private_dns(region, ip),
        "PrivateIpAddress": ip,
        "PrivateIpAddresses": [address],
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": doc["SubnetId"],
        "VpcId": doc["VpcId"],
        "InterfaceType": "interface",
    }
    if association:
        interface["Association"] = association
        address["Association"] = association
    return interface


def _groups(field: str) -> Getter:
    return lambda v: [g[field] for g in v.get("SecurityGroups", [])]


#: DescribeInstances filters, on the `Instance` view
FILTERS: dict[str, Getter] = {
    "instance-id": lambda v: [v["InstanceId"]],
    "instance-state-name": lambda v: [v["State"]["Name"]],
    "instance-state-code": lambda v: [v["State"]["Code"]],
    "instance-type": lambda v: [v["InstanceType"]],
    "vpc-id": lambda v: [v.get("VpcId")],
    "subnet-id": lambda v: [v.get("SubnetId")],
    "availability-zone": lambda v: [v["Placement"]["AvailabilityZone"]],
    "image-id": lambda v: [v["ImageId"]],
    "architecture": lambda v: [v["Architecture"]],
    "private-ip-address": lambda v: [v.get("PrivateIpAddress")],
    "ip-address": lambda v: [v.get("PublicIpAddress")],
    "private-dns-name": lambda v: [v["PrivateDnsName"]],
    "dns-name": lambda v: [v["PublicDnsName"]],
    "key-name": lambda v: [v.get("KeyName")],
    "launch-index": lambda v: [v["AmiLaunchIndex"]],
    "monitoring-state": lambda v: [v["Monitoring"]["State"]],
    "platform": lambda v: [v.get("Platform")],
    "platform-details": lambda v: [v["PlatformDetails"]],
    "root-device-type": lambda v: [v["RootDeviceType"]],
    "virtualization-type": lambda v: [v["VirtualizationType"]],
    "client-token": lambda v: [v["ClientToken"]],
    "instance.group-id": _groups("GroupId"),
    "instance.group-name": _groups("GroupName"),
    "network-interface.network-interface-id": lambda v: [
        n["NetworkInterfaceId"] for n in v["NetworkInterfaces"]
    ],
}
