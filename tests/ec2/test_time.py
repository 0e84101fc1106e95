"""Transitions run on cloudlet's clock: moving it completes them, and a restart does not lose them."""

from __future__ import annotations

import boto3
import pytest

from cloudlet.app import App, Config
from cloudlet.server import BackgroundServer
from cloudlet.services.ec2.lifecycle import resume_on_start
from ec2.conftest import FAST, error_of, launch, state, states_of, wait_for


def test_moving_the_clock_completes_transitions(clock_server, unique):
    ec2, events = clock_server.ec2, clock_server.events
    (iid,) = launch(ec2, unique)
    clock_server.advance("10s")
    assert state(ec2, iid) == "running"  # at once: no need to wait for the second to pass
    # and the wake-up, re-armed by the move, stores the state and announces it
    wait_for(lambda: states_of(events, iid) == ["pending", "running"], timeout=5)

    ec2.stop_instances(InstanceIds=[iid])
    clock_server.advance("10s")
    assert state(ec2, iid) == "stopped"
    ec2.terminate_instances(InstanceIds=[iid])
    clock_server.advance("10s")
    assert state(ec2, iid) == "terminated"
    wait_for(
        lambda: (
            states_of(events, iid)
            == ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]
        ),
        timeout=5,
    )

    clock_server.advance("2h")  # terminated instances are listed for about an hour only
    assert (
        error_of(ec2.describe_instances, InstanceIds=[iid])["Code"] == "InvalidInstanceID.NotFound"
    )


@pytest.mark.parametrize("action", ["launch", "stop"])
def test_a_transition_survives_kill_9(cloudlet_process, unique, action):
    cloudlet_process.start()
    ec2 = cloudlet_process.client("ec2")
    (iid,) = launch(ec2, unique)
    waiter, expected = "instance_running", "running"
    if action == "stop":
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        ec2.stop_instances(InstanceIds=[iid])
        waiter, expected = "instance_stopped", "stopped"
    cloudlet_process.kill()  # mid-transition: nothing but the stored due time remains

    cloudlet_process.start()
    ec2 = cloudlet_process.client("ec2")
    ec2.get_waiter(waiter).wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert state(ec2, iid) == expected
    listed = ec2.describe_instances(Filters=[{"Name": "tag:run", "Values": [unique]}])
    assert [i["InstanceId"] for r in listed["Reservations"] for i in r["Instances"]] == [iid]


def test_events_resume_after_a_restart_without_any_request(tmp_path, unique):
    """With the start-up hook, the wake-ups are re-armed when the server starts, so the event
    of a transition due during the downtime is emitted without anybody calling EC2."""
    first = BackgroundServer(App(Config(port=0, data_dir=str(tmp_path), log_level="warning")))
    first.start()
    ec2 = boto3.client(
        "ec2",
        endpoint_url=first.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    (iid,) = launch(ec2, unique)
    first.stop()  # well within the second the launch takes
    assert states_of(first.app.events, iid) == ["pending"]

    app = App(Config(port=0, data_dir=str(tmp_path), log_level="warning"))
    app.on_start.append(lambda: resume_on_start(app))
    second = BackgroundServer(app).start()
    try:
        wait_for(lambda: states_of(app.events, iid) == ["running"], timeout=5)
    finally:
        second.stop()
