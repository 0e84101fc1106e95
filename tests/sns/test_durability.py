"""An acknowledged publish survives `kill -9`: SQS subscribers already hold it, and HTTP deliveries
still pending on the durable delivery queue go out after the restart."""

from __future__ import annotations

import json

from .conftest import Cloud, Endpoint, http, wait_for


def test_deliveries_survive_a_crash(cloudlet_process):
    process = cloudlet_process.start()
    cloud = Cloud(process.endpoint)
    topic = cloud.topic()
    queue_url, _ = cloud.subscribed_queue(topic)
    subscriber = Endpoint()
    port = subscriber.port
    cloud.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
    [confirmation] = subscriber.wait("SubscriptionConfirmation")
    assert http("GET", confirmation.json["SubscribeURL"])[0] == 200
    subscriber.close()  # the endpoint goes away: the delivery fails and waits for its retry

    published = cloud.sns.publish(TopicArn=topic, Message="kept")
    process.kill()
    process.start()

    subscriber = Endpoint(port)  # back on the same address
    try:
        assert (
            json.loads(cloud.receive(queue_url, 1)[0]["Body"])["MessageId"]
            == published["MessageId"]
        )

        def delivered() -> bool:
            if subscriber.of_type("Notification"):
                return True
            cloud.advance("30s")  # due retries (and leases of attempts cut short) run at once
            return False

        wait_for(delivered, timeout=20, interval=0.1)
        note = subscriber.of_type("Notification")[0].json
        assert (note["MessageId"], note["Message"]) == (published["MessageId"], "kept")
    finally:
        subscriber.close()
