"""The embedded store: one SQLite database in WAL mode.

`synchronous=NORMAL` with WAL means a committed transaction survives a crash of the process
(`kill -9`); only a power loss can take the last transactions with it. Calls are synchronous on
the event loop: each is a handful of microseconds against a local file, far cheaper than a hop to
a thread. One connection, one writer; documents are cached in memory write-through, because this
process is the database's only user.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from cloudlet.core.store import LogEvent, NewRow, QueueCounts, QueueRow, Timer

T = TypeVar("T")

_MESSAGES = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    meta BLOB NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_at INTEGER,
    group_id TEXT,
    dedup_id TEXT,
    receipt TEXT,
    origin TEXT
)"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
{_MESSAGES};
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS messages_group ON messages (queue, group_id, visible_at)
    WHERE group_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    due INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_due ON timers (due, id);
CREATE TABLE IF NOT EXISTS dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    stream TEXT NOT NULL,
    ts INTEGER NOT NULL,
    ingested INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (grp, stream, ts, seq);
CREATE INDEX IF NOT EXISTS log_events_time ON log_events (grp, ts, seq);
"""

_ROW_COLUMNS = (
    "seq, message_id, body, meta, sent_at, visible_at, expires_at, receive_count, "
    "first_receive_at, group_id, dedup_id, receipt, origin"
)


_CLAIM_SET = (
    "UPDATE messages SET receive_count = receive_count + 1,"
    " first_receive_at = coalesce(first_receive_at, ?), visible_at = ?,"
    " receipt = lower(hex(randomblob(10)))"
)
_EARLIEST_VISIBLE = (
    "SELECT seq FROM messages WHERE queue = ? AND visible_at <= ? AND expires_at > ?"
    " ORDER BY visible_at LIMIT ?"
)
#: a standard queue's claim: the earliest visible messages, hidden in the same statement
_CLAIM = f"{_CLAIM_SET} WHERE seq IN ({_EARLIEST_VISIBLE}) RETURNING {_ROW_COLUMNS}"
#: the same for one message: `seq = (...)` updates one row, which SQLite does with less work
#: than `seq IN (...)` (~2 of ~9 microseconds)
_CLAIM_ONE = f"{_CLAIM_SET} WHERE seq = ({_EARLIEST_VISIBLE}) RETURNING {_ROW_COLUMNS}"


#: The WAL size (pages) at which SQLite checkpoints inside a commit, which happens only under
#: sustained writes. Not larger: every version of a page stays in the WAL until a checkpoint,
#: and finding a page's latest version walks them all, so a queue's hot pages get slower to
#: read as the WAL grows (callgrind: ReceiveMessage +7% instructions at 4,000 pages).
_CHECKPOINT_PAGES = 1_000


#: where the store keeps the highest message seq it may have handed out (see `_take_seq`)
_SEQ_DOC = ("cloudlet.store", "message-seq")
#: seqs reserved per write of that high-water mark
_SEQ_BLOCK = 1024


def _drop_autoincrement(db: sqlite3.Connection) -> None:
    """Rebuild a messages table made with AUTOINCREMENT (cloudlet before 2026-11), keeping its
    high-water mark: AUTOINCREMENT rewrites sqlite_sequence in every insert, a page more per
    commit, and the store now keeps that mark itself."""
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'"
    ).fetchone()
    if row is None or "AUTOINCREMENT" not in row[0].upper():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        (high,) = db.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'messages'"
        ).fetchone()
        db.execute("DROP INDEX IF EXISTS messages_visible")
        db.execute("DROP INDEX IF EXISTS messages_group")
        db.execute("ALTER TABLE messages RENAME TO messages_autoincrement")
        db.execute(_MESSAGES)
        db.execute("INSERT INTO messages SELECT * FROM messages_autoincrement")
        db.execute("DROP TABLE messages_autoincrement")
        db.execute(
            "INSERT OR REPLACE INTO docs (kind, key, doc) VALUES (?, ?, ?)",
            (*_SEQ_DOC, orjson.dumps({"through": high})),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _row(values: tuple[Any, ...]) -> QueueRow:
    return QueueRow(*values)


def _by_seq(row: QueueRow) -> int:
    return row.seq


class _Transaction:
    """`SqliteStore.transaction()`. A class rather than a generator context manager: every write
    of every request enters one, and a generator and its wrapper cost more than the statements."""

    __slots__ = ("depth", "mark", "store")

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.depth = 0
        self.mark = 0

    def __enter__(self) -> None:
        store = self.store
        store._lock.acquire()
        try:
            depth = self.depth = store._depth
            if depth:
                store._control.execute(f"SAVEPOINT s{depth}")
            else:
                store._control.execute("BEGIN IMMEDIATE")
                store._undo = []
        except BaseException:
            store._lock.release()
            raise
        self.mark = len(store._undo)
        store._depth = depth + 1

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        store, depth = self.store, self.depth
        control = store._control
        try:
            if kind is None:
                control.execute(f"RELEASE s{depth}" if depth else "COMMIT")
            else:
                control.execute(f"ROLLBACK TO s{depth}" if depth else "ROLLBACK")
                if depth:
                    control.execute(f"RELEASE s{depth}")
                store._undo_docs(self.mark)
        finally:
            store._depth = depth
            if not depth:
                store._undo = []
            store._lock.release()


class _Atomic:
    """`SqliteStore._atomic()`: a class rather than a generator context manager, because every
    store method of every write enters one (the common case, inside the group commit's
    transaction, only takes the lock)."""

    __slots__ = ("outer", "store")

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.outer: Any = None

    def __enter__(self) -> None:
        store = self.store
        if store._depth:
            store._lock.acquire()
        else:
            self.outer = store.transaction()
            self.outer.__enter__()

    def __exit__(self, *exc: Any) -> bool | None:
        if self.outer is None:
            self.store._lock.release()
            return None
        return self.outer.__exit__(*exc)


class StoreInUse(RuntimeError):
    """Another process holds the database."""


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.5)
        # One process owns a data directory: holding the lock saves the locking system calls of
        # every transaction and stops a second server from sharing (and corrupting) the state.
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._db.close()
            raise StoreInUse(f"{path} is in use by another cloudlet server ({error})") from None
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (WAL -> database, with two fsyncs) cost milliseconds, and SQLite runs one
        # inside whichever commit fills the WAL, stalling that request. cloudlet runs them when
        # writes pause (see `idle`), so SQLite's own happen only under sustained writes.
        self._db.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA cache_size=-16000")
        _drop_autoincrement(self._db)
        self._db.executescript(_SCHEMA)
        self._depth = 0
        # Cursors kept for the statements of every write (a cursor per execute() is an
        # allocation and a teardown each): transaction control, and one-message claims, which
        # are read whole before the next.
        self._control = self._db.cursor()
        self._claims = self._db.cursor()
        # the server uses one thread; tests may reach in from another
        self._lock = threading.RLock()
        self._docs: dict[tuple[str, str], dict[str, Any]] = {}
        #: set by close(); writers still queued when the server stops are refused, not crashed
        self.closed = False
        self._undo: list[tuple[tuple[str, str], dict[str, Any] | None]] = []
        self._load_docs()
        (last,) = self._db.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()
        self._next_seq = max(last, self._seqs_reserved()) + 1

    def _load_docs(self) -> None:
        for kind, key, doc in self._db.execute("SELECT kind, key, doc FROM docs"):
            self._docs[(kind, key)] = orjson.loads(doc)

    # -- transactions ------------------------------------------------------------------------
    def transaction(self) -> _Transaction:
        """Make the calls inside atomic.

        The outermost use is a transaction; a nested use is a savepoint, so a failing inner part
        (one request of a group commit) rolls back alone while the rest commits.
        """
        return _Transaction(self)

    def atomically(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a transaction (a savepoint when one is open): the group commit's path."""
        with _Transaction(self):
            return fn(*args)

    def idle(self) -> None:
        """Writes have paused: copy the WAL into the database now, while nobody waits for it."""
        with self._lock:
            if not self.closed and not self._depth:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _atomic(self) -> _Atomic:
        """Atomicity for one store method: a transaction of its own, or simply part of the
        caller's (no savepoint: a store method fails whole or not at all)."""
        return _Atomic(self)

    def _seqs_reserved(self) -> int:
        return (self._docs.get(_SEQ_DOC) or {}).get("through", 0)

    def _take_seq(self) -> int:
        """The next message seq. Seqs never repeat, not even those of deleted messages across a
        restart (a FIFO message's SequenceNumber is its seq): the store records, in the
        transaction that uses them, a high-water mark a block ahead, and starts above it."""
        seq = self._next_seq
        self._next_seq = seq + 1
        if seq > self._seqs_reserved():  # rolled back with the transaction, like any document
            self.put(*_SEQ_DOC, {"through": seq + _SEQ_BLOCK - 1})
        return seq

    def _undo_docs(self, mark: int) -> None:
        undo = self._undo
        while len(undo) > mark:
            key, old = undo.pop()
            if old is None:
                self._docs.pop(key, None)
            else:
                self._docs[key] = old

    # -- documents ---------------------------------------------------------------------------
    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        return self._docs.get((kind, key))

    def put(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO docs (kind, key, doc) VALUES (?, ?, ?)",
                (kind, key, orjson.dumps(doc)),
            )
            if self._depth:
                self._undo.append(((kind, key), self._docs.get((kind, key))))
            self._docs[(kind, key)] = doc

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))
            if self._depth:
                self._undo.append(((kind, key), self._docs.get((kind, key))))
            return self._docs.pop((kind, key), None) is not None

    def scan(self, kind: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        found = [(k, d) for (kd, k), d in self._docs.items() if kd == kind and k.startswith(prefix)]
        found.sort(key=lambda item: item[0])
        return found

    # -- queue rows --------------------------------------------------------------------------
    def enqueue(
        self, queue: str, rows: list[NewRow], *, dedup_window_ms: int = 0, now: int = 0
    ) -> list[tuple[int, str, bool]]:
        out: list[tuple[int, str, bool]] = []
        with self._atomic():
            db = self._db
            for row in rows:
                if row.dedup_id is not None and dedup_window_ms:
                    hit = db.execute(
                        "SELECT seq, message_id FROM dedup WHERE queue = ? AND dedup_id = ? AND expires_at > ?",
                        (queue, row.dedup_id, now),
                    ).fetchone()
                    if hit is not None:
                        out.append((hit[0], hit[1], True))
                        continue
                seq = self._take_seq()
                db.execute(
                    "INSERT INTO messages (seq, queue, message_id, body, meta, sent_at, visible_at,"
                    " expires_at, group_id, dedup_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        queue,
                        row.message_id,
                        row.body,
                        row.meta,
                        row.sent_at,
                        row.visible_at,
                        row.expires_at,
                        row.group_id,
                        row.dedup_id,
                    ),
                )
                if row.dedup_id is not None and dedup_window_ms:
                    db.execute(
                        "INSERT OR REPLACE INTO dedup (queue, dedup_id, expires_at, seq, message_id)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (queue, row.dedup_id, now + dedup_window_ms, seq, row.message_id),
                    )
                out.append((seq, row.message_id, False))
        return out

    def claim(
        self,
        queue: str,
        *,
        now: int,
        limit: int,
        visible_until: int,
        fifo: bool = False,
        max_receives: int | None = None,
        dead_letter_queue: str | None = None,
    ) -> list[QueueRow]:
        with self._atomic():
            if max_receives is not None and dead_letter_queue is not None:
                self._redrive(queue, now, max_receives, dead_letter_queue)
            if not fifo:  # one statement: pick the earliest visible and hide them
                if limit == 1:
                    found = self._claims.execute(
                        _CLAIM_ONE, (now, visible_until, queue, now, now, 1)
                    )
                    return list(map(_row, found))
                found = self._db.execute(_CLAIM, (now, visible_until, queue, now, now, limit))
                return sorted(map(_row, found), key=_by_seq)
            seqs = self._fifo_candidates(queue, now, limit)
            if not seqs:
                return []
            marks = ",".join("?" * len(seqs))
            rows = self._db.execute(
                f"{_CLAIM_SET} WHERE seq IN ({marks}) RETURNING {_ROW_COLUMNS}",
                (now, visible_until, *seqs),
            ).fetchall()
        order = {seq: i for i, seq in enumerate(seqs)}
        return sorted((_row(r) for r in rows), key=lambda r: order[r.seq])

    def _fifo_candidates(self, queue: str, now: int, limit: int) -> list[int]:
        """Messages in order, first group first; a message waits while an earlier one of its
        group is in flight (a released head is delivered again while later ones are out)."""
        rows = self._db.execute(
            "SELECT seq, group_id FROM messages m WHERE queue = ? AND visible_at <= ? AND expires_at > ?"
            " AND NOT EXISTS (SELECT 1 FROM messages f WHERE f.queue = m.queue AND f.group_id = m.group_id"
            "   AND f.seq < m.seq AND f.receipt IS NOT NULL AND f.visible_at > ?)"
            " ORDER BY seq LIMIT ?",
            (queue, now, now, now, max(limit * 10, 100)),
        ).fetchall()
        groups: dict[str, list[int]] = {}
        for seq, group in rows:
            groups.setdefault(group, []).append(seq)
        picked: list[int] = []
        for seqs in groups.values():  # dicts keep first-seen order: the oldest group first
            picked.extend(seqs[: limit - len(picked)])
            if len(picked) >= limit:
                break
        return picked

    def _redrive(self, queue: str, now: int, max_receives: int, target: str) -> None:
        self._db.execute(
            "UPDATE messages SET origin = coalesce(origin, queue), queue = ?, visible_at = ?, receipt = NULL"
            " WHERE queue = ? AND visible_at <= ? AND receive_count >= ?",
            (target, now, queue, now, max_receives),
        )

    def delete_message(self, queue: str, seq: int, receipt: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM messages WHERE seq = ? AND queue = ? AND receipt = ?",
                (seq, queue, receipt),
            )
            return cur.rowcount > 0

    def delete_messages(self, queue: str, receipts: list[tuple[int, str]]) -> int:
        with self._lock:
            cur = self._db.executemany(
                "DELETE FROM messages WHERE seq = ? AND queue = ? AND receipt = ?",
                [(seq, queue, receipt) for seq, receipt in receipts],
            )
            return cur.rowcount

    def set_visibility(
        self, queue: str, seq: int, receipt: str, *, now: int, visible_at: int
    ) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE messages SET visible_at = ? WHERE seq = ? AND queue = ? AND receipt = ?"
                " AND visible_at > ?",
                (visible_at, seq, queue, receipt, now),
            )
            return cur.rowcount > 0

    def counts(self, queue: str, now: int) -> QueueCounts:
        visible, in_flight, delayed = self._db.execute(
            "SELECT"
            " coalesce(sum(visible_at <= ?), 0),"
            " coalesce(sum(visible_at > ? AND receipt IS NOT NULL), 0),"
            " coalesce(sum(visible_at > ? AND receipt IS NULL), 0)"
            " FROM messages WHERE queue = ? AND expires_at > ?",
            (now, now, now, queue, now),
        ).fetchone()
        return QueueCounts(visible, in_flight, delayed)

    def next_visible_at(self, queue: str, now: int) -> int | None:
        row = self._db.execute(
            "SELECT min(visible_at) FROM messages WHERE queue = ? AND visible_at > ?", (queue, now)
        ).fetchone()
        return row[0]

    def purge(self, queue: str, *, before_seq: int | None = None) -> int:
        with self._atomic():
            if before_seq is None:
                cur = self._db.execute("DELETE FROM messages WHERE queue = ?", (queue,))
            else:
                cur = self._db.execute(
                    "DELETE FROM messages WHERE queue = ? AND seq <= ?", (queue, before_seq)
                )
            return cur.rowcount

    def drop_queue(self, queue: str) -> None:
        with self._atomic():
            self._db.execute("DELETE FROM messages WHERE queue = ?", (queue,))
            self._db.execute("DELETE FROM dedup WHERE queue = ?", (queue,))

    def expire(self, queue: str, now: int) -> int:
        with self._atomic():
            cur = self._db.execute(
                "DELETE FROM messages WHERE queue = ? AND expires_at <= ?", (queue, now)
            )
            self._db.execute("DELETE FROM dedup WHERE queue = ? AND expires_at <= ?", (queue, now))
            return cur.rowcount

    def move(self, source: str, target: str | None, *, limit: int, now: int) -> list[QueueRow]:
        """Move visible messages to `target`, or back to the queue each came from when None."""
        with self._atomic():
            rows = self._db.execute(
                f"UPDATE messages SET queue = coalesce(?, origin, queue), origin = NULL, visible_at = ?,"
                f" receipt = NULL, receive_count = 0, first_receive_at = NULL WHERE seq IN ("
                f"  SELECT seq FROM messages WHERE queue = ? AND visible_at <= ? AND expires_at > ?"
                f"  ORDER BY seq LIMIT ?) RETURNING {_ROW_COLUMNS}",
                (target, now, source, now, now, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def last_seq(self) -> int:
        row = self._db.execute("SELECT max(seq) FROM messages").fetchone()
        return row[0] or 0

    # -- log events --------------------------------------------------------------------------
    def append_log_events(
        self, group: str, stream: str, events: list[tuple[int, str]], *, ingested: int
    ) -> int:
        if not events:
            return 0
        with self._atomic():
            self._db.executemany(
                "INSERT INTO log_events (grp, stream, ts, ingested, message) VALUES (?, ?, ?, ?, ?)",
                [(group, stream, ts, ingested, message) for ts, message in events],
            )
            return self._db.execute("SELECT last_insert_rowid()").fetchone()[0]

    def read_log_events(
        self,
        group: str,
        streams: list[str] | None = None,
        *,
        stream_prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        after: tuple[int, int] | None = None,
        before: tuple[int, int] | None = None,
        limit: int = 10_000,
        forward: bool = True,
    ) -> list[LogEvent]:
        where = ["grp = ?"]
        args: list[Any] = [group]
        if streams is not None:
            if not streams:
                return []
            where.append(f"stream IN ({','.join('?' * len(streams))})")
            args.extend(streams)
        if stream_prefix:
            # A range, not LIKE: stream names may hold % and _, and a range uses the index.
            where.append("stream >= ? AND stream < ?")
            args.extend((stream_prefix, stream_prefix + "\U0010ffff"))
        if start is not None:
            where.append("ts >= ?")
            args.append(start)
        if end is not None:
            where.append("ts < ?")
            args.append(end)
        if after is not None:
            where.append("(ts, seq) > (?, ?)")
            args.extend(after)
        if before is not None:
            where.append("(ts, seq) < (?, ?)")
            args.extend(before)
        order = "ASC" if forward else "DESC"
        rows = self._db.execute(
            f"SELECT seq, stream, ts, ingested, message FROM log_events WHERE {' AND '.join(where)}"
            f" ORDER BY ts {order}, seq {order} LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [LogEvent(*r) for r in rows]

    def delete_log_events(
        self, group: str, stream: str | None = None, before: int | None = None
    ) -> tuple[int, int]:
        where = "grp = ?"
        args: list[Any] = [group]
        if stream is not None:
            where += " AND stream = ?"
            args.append(stream)
        if before is not None:
            where += " AND ts < ?"
            args.append(before)
        with self._atomic():
            count, size = self._db.execute(
                f"SELECT count(*), coalesce(sum(length(CAST(message AS BLOB))), 0)"
                f" FROM log_events WHERE {where}",
                args,
            ).fetchone()
            if count:
                self._db.execute(f"DELETE FROM log_events WHERE {where}", args)
        return count, size

    # -- lifecycle ---------------------------------------------------------------------------
    # -- timers ------------------------------------------------------------------------------
    def set_timer(self, timer_id: str, due: int, kind: str, payload: bytes) -> None:
        with self._atomic():
            self._db.execute(
                "INSERT OR REPLACE INTO timers (id, due, kind, payload) VALUES (?, ?, ?, ?)",
                (timer_id, due, kind, payload),
            )

    def cancel_timer(self, timer_id: str) -> bool:
        with self._atomic():
            return self._db.execute("DELETE FROM timers WHERE id = ?", (timer_id,)).rowcount > 0

    def due_timers(self, now: int, limit: int) -> list[Timer]:
        rows = self._db.execute(
            "SELECT id, due, kind, payload FROM timers WHERE due <= ? ORDER BY due, id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [Timer(*row) for row in rows]

    def next_timer_due(self) -> int | None:
        return self._db.execute("SELECT min(due) FROM timers").fetchone()[0]

    def reset(self) -> None:
        with self._atomic():
            for table in ("docs", "messages", "dedup", "log_events", "timers"):
                self._db.execute(f"DELETE FROM {table}")
            self._docs.clear()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._db.close()
