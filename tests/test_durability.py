"""Durable means durable: what an API call acknowledged survives kill -9 and a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
from typing import Any

from conftest import CloudletProcess, http


def test_messages_survive_kill_9(cloudlet_process: CloudletProcess):
    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sent = {sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"] for i in range(50)}
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(10)]
    )
    sent |= {entry["MessageId"] for entry in batch["Successful"]}
    cloudlet_process.kill()

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
    received = set()
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            received.add(message["MessageId"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert received == sent


def test_deleted_messages_stay_deleted_after_kill_9(cloudlet_process: CloudletProcess):
    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    url = sqs.create_queue(QueueName="acked")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="once")
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    cloudlet_process.kill()

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_receive_answered_before_its_commit_is_still_committed(
    cloudlet_process: CloudletProcess,
):
    """A standard queue's receive is answered before its claim commits (a crash in between
    would only deliver the message again); the claim must still reach the disk right after."""
    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    url = sqs.create_queue(QueueName="leased")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)
    sqs.get_queue_url(QueueName="leased")  # served after the receive's turn, commit included
    cloudlet_process.kill()

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def _started_with_fifo_queue(cloudlet_process: CloudletProcess, name: str) -> tuple[Any, str]:
    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    return sqs, sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_a_data_dir_from_before_the_seq_change_keeps_its_messages_and_order(
    cloudlet_process: CloudletProcess,
):
    """Data directories written with an AUTOINCREMENT messages table are rebuilt at start:
    their messages stay, and new sequence numbers stay above every one handed out before,
    including those of messages since deleted."""
    sqs, url = _started_with_fifo_queue(cloudlet_process, "old.fifo")
    before = sqs.send_message(QueueUrl=url, MessageBody="kept", MessageGroupId="g")
    cloudlet_process.stop()

    # What an older cloudlet left: the same rows in an AUTOINCREMENT table, whose counter has
    # seen seqs up to 5000 (their messages deleted since).
    db = sqlite3.connect(cloudlet_process.data_dir / "cloudlet.db", isolation_level=None)
    (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()
    db.execute("BEGIN")
    db.execute("DELETE FROM docs WHERE kind = 'cloudlet.store'")
    db.execute("ALTER TABLE messages RENAME TO messages_new")
    db.execute(ddl.replace("INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"))
    db.execute("INSERT INTO messages SELECT * FROM messages_new")
    db.execute("DROP TABLE messages_new")
    db.execute("UPDATE sqlite_sequence SET seq = 5000 WHERE name = 'messages'")
    db.execute("COMMIT")
    db.close()

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    after = sqs.send_message(QueueUrl=url, MessageBody="new", MessageGroupId="g")
    assert int(after["SequenceNumber"]) > 5000 > int(before["SequenceNumber"])
    bodies = []
    for _ in range(2):
        message = sqs.receive_message(QueueUrl=url)["Messages"][0]
        bodies.append(message["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert bodies == ["kept", "new"]
    cloudlet_process.stop()  # the server holds the database exclusively
    db = sqlite3.connect(cloudlet_process.data_dir / "cloudlet.db")
    (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages'").fetchone()
    db.close()
    assert "AUTOINCREMENT" not in ddl.upper()


def test_sequence_numbers_never_repeat_across_kill_9(cloudlet_process: CloudletProcess):
    sqs, url = _started_with_fifo_queue(cloudlet_process, "seq.fifo")
    first = [
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}", MessageGroupId="g")["SequenceNumber"]
        for n in range(3)
    ]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:  # the newest seqs belong to deleted messages now
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    cloudlet_process.kill()

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    later = sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g")
    assert int(later["SequenceNumber"]) > max(map(int, first))


def test_queues_and_attributes_survive_a_clean_restart(cloudlet_process: CloudletProcess):
    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    # a FIFO queue's dead-letter queue must be a FIFO queue too, as on AWS
    dlq_url = sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.create_queue(
        QueueName="jobs.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"3"}}',
        },
        tags={"team": "core"},
    )
    os.kill(cloudlet_process.proc.pid, signal.SIGTERM)
    cloudlet_process.proc.wait(timeout=10)

    cloudlet_process.start()
    sqs = cloudlet_process.client("sqs")
    url = sqs.get_queue_url(QueueName="jobs.fifo")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert dlq_arn in attributes["RedrivePolicy"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core"}


def test_ephemeral_leaves_nothing_behind(cloudlet_process: CloudletProcess):
    cloudlet_process.start("--ephemeral")
    status, _, body = http("GET", cloudlet_process.endpoint + "/_cloudlet/info")
    assert status == 200
    assert b'"ephemeral":true' in body
    cloudlet_process.stop()
    assert not cloudlet_process.data_dir.exists()


def test_a_second_server_refuses_a_data_dir_in_use(cloudlet_process: CloudletProcess):
    import subprocess
    import sys

    cloudlet_process.start()
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudlet",
            "start",
            "--port",
            "0",
            "--data-dir",
            str(cloudlet_process.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 1
    assert "in use by another cloudlet server" in second.stderr
    assert http("GET", cloudlet_process.endpoint + "/_cloudlet/health")[0] == 200
