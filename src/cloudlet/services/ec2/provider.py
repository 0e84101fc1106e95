"""Amazon EC2: instances on the default network, for scripts and workflows that drive EC2.

Every operation not written here answers 501 (the edge does that for operations without a
method); the ones here behave as AWS does for what they cover, errors included.
"""

from __future__ import annotations

import random
from itertools import groupby
from typing import Any

from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.ec2 import instances, network
from cloudlet.services.ec2.common import (
    FilterSet,
    check_dry_run,
    checked_tags,
    fields,
    invalid_value,
    new_id,
    page,
    select,
    tag_list,
    view_tags,
)
from cloudlet.services.ec2.lifecycle import Entered, Lifecycle, enter, settle, visible
from cloudlet.services.ec2.tags import Tags

_MAX_INSTANCES = 20  # the "max-instances" account attribute


def _with_token(result: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        result["NextToken"] = token
    return result


def _reservation(
    ctx: RequestContext, reservation_id: str, docs: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "ReservationId": reservation_id,
        "OwnerId": ctx.account,
        "Groups": [],
        "Instances": [instances.view(doc) for doc in docs],
    }


def _status(doc: dict[str, Any]) -> dict[str, Any]:
    """DescribeInstanceStatus of one instance: simulated hardware always passes its checks."""
    running = doc["state"] == "running"
    check: dict[str, Any] = (
        {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
        if running
        else {"Status": "not-applicable"}
    )
    return {
        "InstanceId": doc["InstanceId"],
        "AvailabilityZone": doc["zone"],
        "AvailabilityZoneId": doc["zone_id"],
        "InstanceState": instances.state_of(doc["state"]),
        "InstanceStatus": check,
        "SystemStatus": check,
        "AttachedEbsStatus": check,
        "Events": [],
    }


_STATUS_FILTERS = {
    "instance-id": lambda s: [s["InstanceId"]],
    "availability-zone": lambda s: [s["AvailabilityZone"]],
    "instance-state-name": lambda s: [s["InstanceState"]["Name"]],
    "instance-state-code": lambda s: [s["InstanceState"]["Code"]],
    "instance-status.status": lambda s: [s["InstanceStatus"]["Status"]],
    "system-status.status": lambda s: [s["SystemStatus"]["Status"]],
    "instance-status.reachability": lambda s: [
        d["Status"] for d in s["InstanceStatus"].get("Details", [])
    ],
    "system-status.reachability": lambda s: [
        d["Status"] for d in s["SystemStatus"].get("Details", [])
    ],
}


class Ec2Provider(Provider):
    service = "ec2"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.lifecycle = Lifecycle(app)
        self.tags = Tags(app.store, self.lifecycle, app.clock)

    def reset(self) -> None:
        self.lifecycle.close()

    def close(self) -> None:
        self.lifecycle.close()

    # -- launching ------------------------------------------------------------------------------
    async def run_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        reservation, written, entered = await self.app.commit(self._launch, ctx, params)
        self.lifecycle.after(written, entered)
        return reservation

    def _launch(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]], list[Entered]]:
        count = self._count(params)
        zone = self._zone(ctx, params)
        groups = self._groups(ctx, params)
        tags: dict[str, str] = {}
        for spec in params.get("TagSpecifications") or []:
            if spec.get("ResourceType") == "instance":
                tags.update(checked_tags(spec.get("Tags")))
        now = self.clock.now_ms()
        earlier = self._tidy_and_find_token(ctx, params.get("ClientToken"), now)
        if earlier:  # a retried request: AWS answers the launch it already made
            return _reservation(ctx, earlier[0]["ReservationId"], earlier), [], []
        reservation_id = new_id("r")
        written, entered, launched = [], [], []
        for index in range(count):
            doc = instances.new_instance(
                account=ctx.account,
                region=ctx.region,
                reservation_id=reservation_id,
                index=index,
                params=params,
                zone=zone,
                groups=groups,
                tags=tags,
                now=now,
            )
            doc = enter(doc, "pending", now)
            key = instances.key_of(ctx.account, ctx.region, doc["InstanceId"])
            self.store.put(instances.KIND, key, doc)
            written.append((key, doc))
            entered.append(Entered(ctx.account, ctx.region, doc["InstanceId"], "pending", now))
            launched.append(doc)
        return _reservation(ctx, reservation_id, launched), written, entered

    def _count(self, params: dict[str, Any]) -> int:
        image_id = params.get("ImageId")
        if not image_id:
            raise AwsError("MissingParameter", "The request must contain the parameter ImageId")
        if not image_id.startswith("ami-"):
            raise AwsError(
                "InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")'
            )
        minimum, maximum = params["MinCount"], params["MaxCount"]
        if minimum < 1:
            raise invalid_value(f"Invalid value '{minimum}' for MinCount. Must be greater than 0.")
        if maximum < minimum:
            raise invalid_value(
                f"Invalid value '{maximum}' for MaxCount. Must be greater than or equal to MinCount."
            )
        if minimum > _MAX_INSTANCES:
            raise AwsError(
                "InstanceLimitExceeded",
                f"You have requested more instances ({minimum}) than your current instance limit "
                f"of {_MAX_INSTANCES} allows for the specified instance type. Please visit "
                "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
            )
        return min(maximum, _MAX_INSTANCES)

    def _zone(self, ctx: RequestContext, params: dict[str, Any]) -> network.Zone:
        """The zone of the subnet asked for (also through NetworkInterfaces), of the placement,
        or one chosen for the caller, as AWS chooses a default subnet."""
        interfaces = params.get("NetworkInterfaces") or [{}]
        subnet = params.get("SubnetId") or interfaces[0].get("SubnetId")
        if subnet:
            zone = network.subnet_zone(ctx.account, ctx.region, subnet)
            if zone is None:
                raise AwsError(
                    "InvalidSubnetID.NotFound", f"The subnet ID '{subnet}' does not exist"
                )
            return zone
        zones = network.zones(ctx.region)
        wanted = (params.get("Placement") or {}).get("AvailabilityZone")
        if wanted:
            zone = next((z for z in zones if z.name == wanted), None)
            if zone is None:
                raise invalid_value(f"Invalid availability zone: [{wanted}]")
            return zone
        return random.choice(zones)

    def _groups(self, ctx: RequestContext, params: dict[str, Any]) -> list[dict[str, str]]:
        """Only the default group exists; naming another one is AWS's not-found error."""
        default_id = network.security_group_id(ctx.account, ctx.region)
        interfaces = params.get("NetworkInterfaces") or [{}]
        for group_id in (params.get("SecurityGroupIds") or []) + (
            interfaces[0].get("Groups") or []
        ):
            if group_id != default_id:
                raise AwsError(
                    "InvalidGroup.NotFound", f"The security group '{group_id}' does not exist"
                )
        for name in params.get("SecurityGroups") or []:
            if name != "default":
                raise AwsError(
                    "InvalidGroup.NotFound",
                    f"The security group '{name}' does not exist in default VPC "
                    f"'{network.vpc_id(ctx.account, ctx.region)}'",
                )
        return [{"GroupId": default_id, "GroupName": "default"}]

    def _tidy_and_find_token(
        self, ctx: RequestContext, token: str | None, now: int
    ) -> list[dict[str, Any]]:
        """The instances an earlier launch with this client token made (botocore sends a fresh
        token per call and the same one on retries). On the way, drop instances terminated long
        enough ago that nobody sees them any more: launches clean up after earlier ones, so no
        sweeper is needed."""
        earlier = []
        for key, doc in self.store.scan(instances.KIND, f"{ctx.account}/{ctx.region}/"):
            settled = settle(doc, now)[0]
            if not visible(settled, now):
                self.store.delete(instances.KIND, key)
            elif token and doc["ClientToken"] == token:
                earlier.append(settled)
        return sorted(earlier, key=lambda d: d["AmiLaunchIndex"])

    # -- state changes --------------------------------------------------------------------------
    async def start_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)
        ids = params["InstanceIds"]
        changes = await self.lifecycle.change(ctx.account, ctx.region, ids, "start")
        return {"StartingInstances": changes}

    async def stop_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_dry_run(params)  # Force and Hibernate change nothing for simulated instances
        ids = params["InstanceIds"]
        changes = await self.lifecycle.change(ctx.account, ctx.region, ids, "stop")
        return {"StoppingInstances": changes}

    async def terminate_instances(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        check_dry_run(params)
        ids = params["InstanceIds"]
        changes = await self.lifecycle.change(ctx.account, ctx.region, ids, "terminate")
        return {"TerminatingInstances": changes}

    def reboot_instances(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        """A reboot keeps the instance running: nothing changes but the ids are checked."""
        check_dry_run(params)
        self.lifecycle.find(ctx.account, ctx.region, params["InstanceIds"], self.clock.now_ms())

    # -- describing instances -------------------------------------------------------------------
    def _instances(self, ctx: RequestContext, params: dict[str, Any]) -> list[dict[str, Any]]:
        now = self.clock.now_ms()
        ids = params.get("InstanceIds")
        if ids:
            return [doc for _, doc, _ in self.lifecycle.find(ctx.account, ctx.region, ids, now)]
        return self.lifecycle.all(ctx.account, ctx.region, now)

    def describe_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("InstanceIds") and params.get("MaxResults") is not None:
            raise AwsError(
                "InvalidParameterCombination",
                "The parameter instancesSet cannot be used with the parameter maxResults",
            )
        docs = {doc["InstanceId"]: doc for doc in self._instances(ctx, params)}
        getters = {
            **instances.FILTERS,
            "reservation-id": lambda v: [docs[v["InstanceId"]]["ReservationId"]],
            "owner-id": lambda v: [docs[v["InstanceId"]]["account"]],
        }
        matches = FilterSet(params.get("Filters"), getters, view_tags)
        views = [v for v in (instances.view(d) for d in docs.values()) if matches(v)]
        selected, token = page(views, params)
        reservations = [
            {"ReservationId": rid, "OwnerId": ctx.account, "Groups": [], "Instances": list(group)}
            for rid, group in groupby(
                selected, key=lambda v: docs[v["InstanceId"]]["ReservationId"]
            )
        ]
        return _with_token({"Reservations": reservations}, token)

    def describe_instance_status(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        everything = params.get("IncludeAllInstances")
        statuses = [
            _status(doc)
            for doc in self._instances(ctx, params)
            if everything or doc["state"] == "running"
        ]
        matches = FilterSet(params.get("Filters"), _STATUS_FILTERS)
        selected, token = page([s for s in statuses if matches(s)], params)
        return _with_token({"InstanceStatuses": selected}, token)

    # -- tags -----------------------------------------------------------------------------------
    @committed
    def create_tags(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        check_dry_run(params)
        self.tags.update(ctx.account, ctx.region, params, delete=False)

    @committed
    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        check_dry_run(params)
        self.tags.update(ctx.account, ctx.region, params, delete=True)

    def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.tags.describe(ctx.account, ctx.region, params)

    # -- the default network --------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, item: dict[str, Any], id_field: str) -> dict[str, Any]:
        tags = self.tags.of(ctx.account, ctx.region, item[id_field])
        return {**item, "Tags": tag_list(tags)} if tags else item

    def describe_vpcs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        vpcs = [self._tagged(ctx, network.default_vpc(ctx.account, ctx.region), "VpcId")]
        getters = {
            **fields(
                ("vpc-id", "VpcId"),
                ("cidr", "CidrBlock"),
                ("cidr-block-association.cidr-block", "CidrBlock"),
                ("is-default", "IsDefault"),
                ("state", "State"),
                ("owner-id", "OwnerId"),
                ("dhcp-options-id", "DhcpOptionsId"),
            )
        }
        found = select(
            vpcs,
            params,
            ids=("VpcIds", "VpcId"),
            missing=lambda i: AwsError("InvalidVpcID.NotFound", f"The vpc ID '{i}' does not exist"),
            getters=getters,
        )
        selected, token = page(found, params)
        return _with_token({"Vpcs": selected}, token)

    def describe_subnets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        subnets = [
            self._tagged(ctx, s, "SubnetId")
            for s in network.default_subnets(ctx.account, ctx.region)
        ]
        getters = fields(
            ("subnet-id", "SubnetId"),
            ("vpc-id", "VpcId"),
            ("availability-zone", "AvailabilityZone"),
            ("availability-zone-id", "AvailabilityZoneId"),
            ("default-for-az", "DefaultForAz"),
            ("cidr-block", "CidrBlock"),
            ("cidr", "CidrBlock"),
            ("state", "State"),
            ("owner-id", "OwnerId"),
            ("map-public-ip-on-launch", "MapPublicIpOnLaunch"),
            ("subnet-arn", "SubnetArn"),
        )
        found = select(
            subnets,
            params,
            ids=("SubnetIds", "SubnetId"),
            missing=lambda i: AwsError(
                "InvalidSubnetID.NotFound", f"The subnet ID '{i}' does not exist"
            ),
            getters=getters,
        )
        selected, token = page(found, params)
        return _with_token({"Subnets": selected}, token)

    def describe_security_groups(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        group = self._tagged(
            ctx, network.default_security_group(ctx.account, ctx.region), "GroupId"
        )
        getters = fields(
            ("group-id", "GroupId"),
            ("group-name", "GroupName"),
            ("vpc-id", "VpcId"),
            ("owner-id", "OwnerId"),
            ("description", "Description"),
        )

        def missing(group_id: str) -> AwsError:
            return AwsError(
                "InvalidGroup.NotFound", f"The security group '{group_id}' does not exist"
            )

        found = select(
            [group], params, ids=("GroupIds", "GroupId"), missing=missing, getters=getters
        )
        for name in params.get("GroupNames") or []:
            if name != "default":
                raise AwsError(
                    "InvalidGroup.NotFound",
                    f"The security group '{name}' does not exist in default VPC '{group['VpcId']}'",
                )
        selected, token = page(found, params)
        return _with_token({"SecurityGroups": selected}, token)

    def describe_availability_zones(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        zones = network.availability_zones(ctx.region)
        for name in params.get("ZoneNames") or []:
            if name not in {z["ZoneName"] for z in zones}:
                raise invalid_value(
                    f"The zone '{name}' does not exist in the region '{ctx.region}'"
                )
        getters = fields(
            ("zone-name", "ZoneName"),
            ("zone-id", "ZoneId"),
            ("zone-type", "ZoneType"),
            ("region-name", "RegionName"),
            ("state", "State"),
            ("group-name", "GroupName"),
            ("opt-in-status", "OptInStatus"),
        )
        wanted_names = set(params.get("ZoneNames") or [])
        wanted_ids = set(params.get("ZoneIds") or [])
        zones = [
            z
            for z in zones
            if (not wanted_names or z["ZoneName"] in wanted_names)
            and (not wanted_ids or z["ZoneId"] in wanted_ids)
        ]
        matches = FilterSet(params.get("Filters"), getters)
        return {"AvailabilityZones": [z for z in zones if matches(z)]}

    def describe_regions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        regions = network.regions(ctx.region, bool(params.get("AllRegions")))
        names = params.get("RegionNames") or []
        known = {r["RegionName"] for r in regions}
        for name in names:
            if name not in known:
                raise invalid_value(f"Invalid region: {name}")
        getters = fields(
            ("region-name", "RegionName"),
            ("endpoint", "Endpoint"),
            ("opt-in-status", "OptInStatus"),
        )
        matches = FilterSet(params.get("Filters"), getters)
        return {
            "Regions": [
                r for r in regions if (not names or r["RegionName"] in names) and matches(r)
            ]
        }

    def describe_images(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        owners = params.get("Owners") or []
        images = [
            image
            for image in network.images(ctx.region)
            if not owners or image["OwnerId"] in owners or image.get("ImageOwnerAlias") in owners
        ]
        getters = fields(
            ("image-id", "ImageId"),
            ("name", "Name"),
            ("description", "Description"),
            ("owner-id", "OwnerId"),
            ("owner-alias", "ImageOwnerAlias"),
            ("architecture", "Architecture"),
            ("platform", "Platform"),
            ("platform-details", "PlatformDetails"),
            ("state", "State"),
            ("is-public", "Public"),
            ("image-type", "ImageType"),
            ("root-device-type", "RootDeviceType"),
            ("virtualization-type", "VirtualizationType"),
        )
        found = select(
            images,
            params,
            ids=("ImageIds", "ImageId"),
            missing=lambda i: AwsError(
                "InvalidAMIID.NotFound", f"The image id '[{i}]' does not exist"
            ),
            getters=getters,
        )
        selected, token = page(found, params)
        return _with_token({"Images": selected}, token)

    def describe_account_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        names = params.get("AttributeNames") or []
        attributes = network.account_attributes(ctx.account, ctx.region)
        return {
            "AccountAttributes": [a for a in attributes if not names or a["AttributeName"] in names]
        }
