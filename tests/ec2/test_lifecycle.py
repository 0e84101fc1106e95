"""Instances move through AWS's states over about a second, and boto3's waiters follow them."""

from __future__ import annotations

import re

from ec2.conftest import FAST, error_of, instance, launch, state, states_of, wait_for

_REASON = re.compile(r"User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)")


def test_waiters_follow_an_instance_through_its_life(ec2, unique):
    (iid,) = launch(ec2, unique)
    launched = instance(ec2, iid)
    assert launched["State"] == {"Code": 0, "Name": "pending"}

    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    running = instance(ec2, iid)
    assert running["State"] == {"Code": 16, "Name": "running"}
    assert running["StateTransitionReason"] == ""
    assert "StateReason" not in running
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", running["PublicIpAddress"])
    assert running["PublicDnsName"].endswith(".compute-1.amazonaws.com")

    stopping = ec2.stop_instances(InstanceIds=[iid], Force=True, Hibernate=False)
    assert stopping["StoppingInstances"] == [
        {
            "InstanceId": iid,
            "CurrentState": {"Code": 64, "Name": "stopping"},
            "PreviousState": {"Code": 16, "Name": "running"},
        }
    ]
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    stopped = instance(ec2, iid)
    assert stopped["State"] == {"Code": 80, "Name": "stopped"}
    assert _REASON.fullmatch(stopped["StateTransitionReason"])
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert "PublicIpAddress" not in stopped and stopped["PublicDnsName"] == ""
    assert stopped["PrivateIpAddress"] == running["PrivateIpAddress"]  # kept while stopped

    starting = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (starting["PreviousState"]["Name"], starting["CurrentState"]["Name"]) == (
        "stopped",
        "pending",
    )
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert instance(ec2, iid)["LaunchTime"] > launched["LaunchTime"]  # a start is a new launch

    ec2.reboot_instances(InstanceIds=[iid])
    assert state(ec2, iid) == "running"

    terminating = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert terminating["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    assert terminating["PreviousState"] == {"Code": 16, "Name": "running"}
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    terminated = instance(ec2, iid)  # still listed, as AWS lists them for about an hour
    assert terminated["State"] == {"Code": 48, "Name": "terminated"}
    assert terminated["NetworkInterfaces"] == [] and "PrivateIpAddress" not in terminated


def test_every_transition_emits_a_state_change_event_in_order(ec2, events, unique):
    (iid,) = launch(ec2, unique)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.terminate_instances(InstanceIds=[iid])
    expected = ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]
    wait_for(lambda: states_of(events, iid) == expected, timeout=10)

    event = next(
        e
        for e in events.recent(source="aws.ec2")
        if e["detail"] == {"instance-id": iid, "state": "stopped"}
    )
    assert event["detail-type"] == "EC2 Instance State-change Notification"
    assert event["version"] == "0"
    assert (event["account"], event["region"]) == ("000000000000", "us-east-1")
    assert event["resources"] == [f"arn:aws:ec2:us-east-1:000000000000:instance/{iid}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", event["id"]
    )


def test_events_arrive_without_anybody_reading(ec2, events, unique):
    """The wake-up, not a DescribeInstances, completes the transition and announces it."""
    (iid,) = launch(ec2, unique)
    wait_for(lambda: states_of(events, iid) == ["pending", "running"], timeout=10)


def test_what_each_state_allows(ec2, unique):
    first, second = launch(ec2, unique, count=2)
    error = error_of(ec2.stop_instances, InstanceIds=[first])  # never reached running yet
    assert error["Code"] == "IncorrectInstanceState"
    assert error["Message"] == (
        f"Instance '{first}' cannot be stopped as it has never reached the 'running' state."
    )
    ec2.get_waiter("instance_running").wait(InstanceIds=[first, second], WaiterConfig=FAST)

    again = ec2.start_instances(InstanceIds=[first])["StartingInstances"][0]
    assert again["CurrentState"] == again["PreviousState"] == {"Code": 16, "Name": "running"}

    ec2.terminate_instances(InstanceIds=[first])
    twice = ec2.terminate_instances(InstanceIds=[first])["TerminatingInstances"][0]
    assert twice["CurrentState"]["Name"] == "shutting-down"
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[first], WaiterConfig=FAST)

    error = error_of(ec2.start_instances, InstanceIds=[first])
    assert error["Code"] == "IncorrectInstanceState"
    assert (
        error["Message"]
        == f"The instance '{first}' is not in a state from which it can be started."
    )
    # one instance in the wrong state fails the whole call, and changes none of the others
    error = error_of(ec2.stop_instances, InstanceIds=[second, first])
    assert (
        error["Message"]
        == f"This instance '{first}' is not in a state from which it can be stopped."
    )
    assert state(ec2, second) == "running"


def test_instance_status(ec2, unique):
    running, stopped = launch(ec2, unique, count=2)
    ec2.get_waiter("instance_running").wait(InstanceIds=[running, stopped], WaiterConfig=FAST)
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[running], WaiterConfig=FAST)

    statuses = ec2.describe_instance_status(InstanceIds=[running, stopped])["InstanceStatuses"]
    assert [s["InstanceId"] for s in statuses] == [running]  # running ones only, by default
    (status,) = statuses
    assert status["InstanceState"] == {"Code": 16, "Name": "running"}
    assert status["InstanceStatus"] == {
        "Status": "ok",
        "Details": [{"Name": "reachability", "Status": "passed"}],
    }
    assert status["SystemStatus"]["Status"] == "ok"
    assert status["AvailabilityZone"].startswith("us-east-1")

    everything = ec2.describe_instance_status(
        InstanceIds=[running, stopped], IncludeAllInstances=True
    )["InstanceStatuses"]
    by_id = {s["InstanceId"]: s for s in everything}
    assert by_id[stopped]["InstanceStatus"]["Status"] == "not-applicable"
    assert by_id[stopped]["InstanceState"]["Name"] in ("stopping", "stopped")


def test_dry_run(ec2, unique):
    (iid,) = launch(ec2, unique)
    error = error_of(ec2.terminate_instances, InstanceIds=[iid], DryRun=True)
    assert (error["Code"], error["Status"]) == ("DryRunOperation", 412)
    assert error["Message"] == "Request would have succeeded, but DryRun flag is set."
    assert state(ec2, iid) in ("pending", "running")
