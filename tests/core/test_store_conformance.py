"""The store conformance suite: every backend must pass it unchanged.

Only SQLite exists today; a PostgreSQL backend joins the `store` fixture's params.
"""

from __future__ import annotations

import asyncio

import pytest

from cloudlet.core.store import GroupCommit, NewRow, open_store

NOW = 1_700_000_000_000


@pytest.fixture(params=["sqlite"])
def store(request, tmp_path):
    backend = open_store(str(tmp_path))
    yield backend
    backend.close()


def row(
    body: str,
    *,
    delay: int = 0,
    group: str | None = None,
    dedup: str | None = None,
    ttl: int = 3_600_000,
) -> NewRow:
    return NewRow(
        message_id=f"id-{body}",
        body=body,
        meta=b"{}",
        sent_at=NOW,
        visible_at=NOW + delay,
        expires_at=NOW + ttl,
        group_id=group,
        dedup_id=dedup,
    )


def test_documents_round_trip_and_scan_by_prefix(store):
    store.put("thing", "a/1", {"n": 1})
    store.put("thing", "a/2", {"n": 2})
    store.put("thing", "b/1", {"n": 3})
    store.put("other", "a/1", {"n": 4})
    assert store.get("thing", "a/1") == {"n": 1}
    assert [k for k, _ in store.scan("thing", "a/")] == ["a/1", "a/2"]
    assert store.delete("thing", "a/1") is True
    assert store.delete("thing", "a/1") is False
    assert store.get("thing", "a/1") is None


def test_documents_survive_reopening(tmp_path):
    first = open_store(str(tmp_path))
    first.put("thing", "k", {"deep": {"list": [1, 2, 3]}})
    first.close()
    second = open_store(str(tmp_path))
    assert second.get("thing", "k") == {"deep": {"list": [1, 2, 3]}}
    second.close()


def test_a_failed_transaction_changes_nothing(store):
    store.put("thing", "kept", {"v": 1})
    with pytest.raises(RuntimeError), store.transaction():
        store.put("thing", "kept", {"v": 2})
        store.put("thing", "new", {"v": 3})
        store.enqueue("q", [row("lost")])
        raise RuntimeError("boom")
    assert store.get("thing", "kept") == {"v": 1}
    assert store.get("thing", "new") is None
    assert store.counts("q", NOW).visible == 0


def test_a_failed_savepoint_rolls_back_alone(store):
    with store.transaction():
        store.put("thing", "outer", {"v": 1})
        with pytest.raises(RuntimeError), store.transaction():
            store.put("thing", "inner", {"v": 2})
            raise RuntimeError("inner fails")
    assert store.get("thing", "outer") == {"v": 1}
    assert store.get("thing", "inner") is None


def test_claim_hides_messages_until_visibility_ends(store):
    store.enqueue("q", [row("a"), row("b")])
    claimed = store.claim("q", now=NOW, limit=10, visible_until=NOW + 1000)
    assert sorted(r.body for r in claimed) == ["a", "b"]
    assert all(r.receive_count == 1 and r.receipt for r in claimed)
    assert store.claim("q", now=NOW + 999, limit=10, visible_until=NOW + 2000) == []
    again = store.claim("q", now=NOW + 1000, limit=10, visible_until=NOW + 2000)
    assert {r.receive_count for r in again} == {2}
    assert {r.receipt for r in again}.isdisjoint({r.receipt for r in claimed})


def test_delays_and_counts(store):
    store.enqueue("q", [row("now"), row("later", delay=5000)])
    counts = store.counts("q", NOW)
    assert (counts.visible, counts.in_flight, counts.delayed) == (1, 0, 1)
    store.claim("q", now=NOW, limit=10, visible_until=NOW + 100)
    counts = store.counts("q", NOW)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 1, 1)
    assert store.next_visible_at("q", NOW) == NOW + 100


def test_delete_needs_the_latest_receipt(store):
    store.enqueue("q", [row("a")])
    first = store.claim("q", now=NOW, limit=1, visible_until=NOW + 10)[0]
    second = store.claim("q", now=NOW + 10, limit=1, visible_until=NOW + 20)[0]
    assert store.delete_message("q", first.seq, first.receipt) is False
    assert store.delete_message("q", second.seq, second.receipt) is True
    assert store.counts("q", NOW + 100).visible == 0


def test_delete_messages_takes_only_current_receipts(store):
    store.enqueue("q", [row("a"), row("b"), row("c")])
    stale = store.claim("q", now=NOW, limit=1, visible_until=NOW + 10)[0]
    current = store.claim("q", now=NOW + 10, limit=3, visible_until=NOW + 1000)
    assert {m.body for m in current} == {"a", "b", "c"}
    receipts = [(stale.seq, stale.receipt)] + [(m.seq, m.receipt) for m in current[:2]]
    assert store.delete_messages("q", receipts) == 2
    assert store.delete_messages("other", [(current[2].seq, current[2].receipt)]) == 0
    assert store.counts("q", NOW + 2000).visible == 1


def test_visibility_changes_only_in_flight(store):
    store.enqueue("q", [row("a")])
    message = store.claim("q", now=NOW, limit=1, visible_until=NOW + 1000)[0]
    assert store.set_visibility("q", message.seq, message.receipt, now=NOW, visible_at=NOW) is True
    assert (
        store.set_visibility("q", message.seq, message.receipt, now=NOW + 1, visible_at=NOW + 5)
        is False
    )


def test_fifo_groups_leave_in_order_and_block_while_in_flight(store):
    store.enqueue(
        "f",
        [row("a1", group="a"), row("b1", group="b"), row("a2", group="a"), row("b2", group="b")],
    )
    first = store.claim("f", now=NOW, limit=1, visible_until=NOW + 1000, fifo=True)
    assert [r.body for r in first] == ["a1"]
    second = store.claim("f", now=NOW, limit=10, visible_until=NOW + 1000, fifo=True)
    assert [r.body for r in second] == ["b1", "b2"]  # group a is blocked by a1 in flight
    store.delete_message("f", first[0].seq, first[0].receipt)
    assert [
        r.body for r in store.claim("f", now=NOW, limit=10, visible_until=NOW + 1000, fifo=True)
    ] == ["a2"]


def test_deduplication_within_the_window(store):
    first = store.enqueue("f", [row("x", dedup="d1")], dedup_window_ms=300_000, now=NOW)
    again = store.enqueue("f", [row("y", dedup="d1")], dedup_window_ms=300_000, now=NOW + 1000)
    assert again[0][2] is True and again[0][0] == first[0][0]
    later = store.enqueue("f", [row("z", dedup="d1")], dedup_window_ms=300_000, now=NOW + 300_001)
    assert later[0][2] is False
    assert store.counts("f", NOW + 300_001).visible == 2


def test_redrive_moves_after_max_receives_and_remembers_the_origin(store):
    store.enqueue("src", [row("poison")])
    for attempt in range(2):
        now = NOW + attempt * 10
        got = store.claim(
            "src", now=now, limit=1, visible_until=now + 5, max_receives=2, dead_letter_queue="dlq"
        )
        assert [r.body for r in got] == ["poison"]
    assert (
        store.claim(
            "src",
            now=NOW + 100,
            limit=1,
            visible_until=NOW + 200,
            max_receives=2,
            dead_letter_queue="dlq",
        )
        == []
    )
    moved = store.claim("dlq", now=NOW + 100, limit=1, visible_until=NOW + 200)
    assert [(r.body, r.origin) for r in moved] == [("poison", "src")]
    store.set_visibility("dlq", moved[0].seq, moved[0].receipt, now=NOW + 100, visible_at=NOW + 100)
    back = store.move("dlq", None, limit=10, now=NOW + 100)
    assert [r.body for r in back] == ["poison"]
    assert [
        r.body for r in store.claim("src", now=NOW + 100, limit=1, visible_until=NOW + 200)
    ] == ["poison"]


def test_expiry_and_purge(store):
    store.enqueue("q", [row("short", ttl=10), row("long")])
    assert store.counts("q", NOW + 10).visible == 1
    assert store.expire("q", NOW + 10) == 1
    assert store.purge("q") == 1
    assert store.counts("q", NOW).visible == 0


def test_group_commit_isolates_failures(store):
    async def scenario():
        commit = GroupCommit(store)

        def good(name):
            store.put("thing", name, {"ok": True})
            return name

        def bad():
            store.put("thing", "bad", {"ok": False})
            raise ValueError("rejected")

        results = await asyncio.gather(
            commit(good, "one"), commit(bad), commit(good, "two"), return_exceptions=True
        )
        return results

    results = asyncio.run(scenario())
    assert results[0] == "one" and results[2] == "two"
    assert isinstance(results[1], ValueError)
    assert store.get("thing", "one") and store.get("thing", "two")
    assert store.get("thing", "bad") is None


# -- log events ----------------------------------------------------------------------------------


def test_log_events_read_back_in_timestamp_then_seq_order(store):
    store.append_log_events("g", "a", [(NOW + 2, "a2"), (NOW + 5, "a5")], ingested=NOW)
    last = store.append_log_events("g", "b", [(NOW + 2, "b2"), (NOW + 1, "b1")], ingested=NOW + 9)
    store.append_log_events("other", "a", [(NOW, "elsewhere")], ingested=NOW)
    events = store.read_log_events("g")
    assert [e.message for e in events] == ["b1", "a2", "b2", "a5"]
    assert last == max(e.seq for e in events)
    assert {(e.stream, e.ingested) for e in events if e.message.startswith("b")} == {("b", NOW + 9)}
    assert [e.message for e in store.read_log_events("g", ["a"])] == ["a2", "a5"]
    assert [e.message for e in store.read_log_events("g", [])] == []
    assert store.append_log_events("g", "a", [], ingested=NOW) == 0


def test_log_events_by_time_range_and_position(store):
    store.append_log_events("g", "s", [(NOW + i, f"m{i}") for i in range(10)], ingested=NOW)
    window = store.read_log_events("g", start=NOW + 2, end=NOW + 5)
    assert [e.message for e in window] == ["m2", "m3", "m4"]  # start inclusive, end exclusive
    third = window[1]
    after = store.read_log_events("g", after=(third.timestamp, third.seq), limit=2)
    assert [e.message for e in after] == ["m4", "m5"]
    before = store.read_log_events("g", before=(third.timestamp, third.seq), limit=2, forward=False)
    assert [e.message for e in before] == ["m2", "m1"]  # backward reads come newest first
    latest = store.read_log_events("g", limit=3, forward=False)
    assert [e.message for e in latest] == ["m9", "m8", "m7"]


def test_log_events_by_stream_prefix_are_literal(store):
    for stream in ("app/1", "app/2", "apple", "ap%", "b"):
        store.append_log_events("g", stream, [(NOW, stream)], ingested=NOW)
    assert sorted(e.stream for e in store.read_log_events("g", stream_prefix="app/")) == [
        "app/1",
        "app/2",
    ]
    assert [e.stream for e in store.read_log_events("g", stream_prefix="ap%")] == ["ap%"]


def test_log_events_delete_by_stream_and_time_counts_bytes(store):
    store.append_log_events("g", "a", [(NOW, "é"), (NOW + 10, "later")], ingested=NOW)
    store.append_log_events("g", "b", [(NOW, "bb")], ingested=NOW)
    assert store.delete_log_events("g", "a", before=NOW + 10) == (1, 2)  # "é" is 2 bytes in UTF-8
    assert [e.message for e in store.read_log_events("g")] == ["bb", "later"]
    assert store.delete_log_events("g", before=NOW + 1) == (1, 2)
    assert store.delete_log_events("g") == (1, 5)
    assert store.delete_log_events("g") == (0, 0)


def test_log_event_seqs_are_never_reused(store):
    first = store.append_log_events("g", "s", [(NOW, "x")], ingested=NOW)
    store.delete_log_events("g")
    second = store.append_log_events("g", "s", [(NOW, "y")], ingested=NOW)
    assert second > first


def test_log_events_roll_back_with_their_transaction_and_go_with_reset(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.append_log_events("g", "s", [(NOW, "lost")], ingested=NOW)
        raise RuntimeError("boom")
    assert store.read_log_events("g") == []
    store.append_log_events("g", "s", [(NOW, "kept")], ingested=NOW)
    store.reset()
    assert store.read_log_events("g") == []


def test_log_events_survive_reopening(tmp_path):
    first = open_store(str(tmp_path))
    first.append_log_events("g", "s", [(NOW, "durable")], ingested=NOW)
    first.close()
    second = open_store(str(tmp_path))
    assert [e.message for e in second.read_log_events("g")] == ["durable"]
    second.close()
