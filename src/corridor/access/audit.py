"""The audit trail: append-only and hash-chained.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, and the
head (last sequence number and hash) is kept beside the chain. ``verify`` recomputes the chain:
an edited entry breaks its own hash, a deleted entry breaks the sequence and the next entry's
link, and a deleted tail no longer reaches the head.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from corridor.access.accounts import now
from corridor.storage.engine import Engine

log = logging.getLogger("corridor.access")
GENESIS = "0" * 64
_COLUMNS = (
    "seq",
    "logged_at",
    "user_name",
    "action",
    "detail",
    "cells",
    "suppressed",
    "prev_hash",
    "entry_hash",
)
_TYPES = (
    pa.int64(),
    pa.timestamp("us"),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.int64(),
    pa.bool_(),
    pa.string(),
    pa.string(),
)
# appends are serialised: in-process by this lock (DuckDB: one process holds the file), across
# processes (PostgreSQL, several workers) by a transaction-scoped advisory lock
_APPEND = threading.Lock()
_PG_LOCK_KEY = 842113


def entry_hash(
    prev: str,
    seq: int,
    logged_at: datetime,
    user: str,
    action: str,
    detail: str,
    cells: int,
    suppressed: bool,
) -> str:
    body = json.dumps(
        [
            prev,
            seq,
            logged_at.isoformat(timespec="microseconds"),
            user,
            action,
            detail,
            cells,
            bool(suppressed),
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(slots=True)
class _Entry:
    logged: datetime
    user: str
    action: str
    text: str
    cells: int
    suppressed: bool
    seq: int | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Queue:
    """Entries waiting to be written to one database, and the lock whose holder writes them."""

    pending: list[_Entry] = field(default_factory=list)
    writer: threading.Lock = field(default_factory=threading.Lock)


_QUEUES: dict[tuple[str, str], _Queue] = {}
_QUEUES_LOCK = threading.Lock()


def append(
    engine: Engine,
    user: str,
    action: str,
    detail: dict[str, Any],
    *,
    cells: int = 0,
    suppressed: bool = True,
) -> int:
    """Append one entry; returns its sequence number once the entry is committed. ``detail``
    holds parameters, never rows.

    Group commit: concurrent appends to one database (the server's request threads) are written
    together, in one transaction, by whichever caller takes the writer lock first; the others
    wait for that commit and return. One commit then serves many requests instead of each
    request waiting for its own in turn. A caller inside a transaction writes its entry alone,
    in that transaction."""
    entry = new_entry(user, action, detail, cells=cells, suppressed=suppressed)
    if getattr(engine, "_depth", 0):  # inside the caller's transaction (Engine.transaction)
        with _APPEND:
            _write(engine, [entry])
        return _seq(entry)
    with _QUEUES_LOCK:
        q = _QUEUES.setdefault((engine.name, engine.url), _Queue())
        q.pending.append(entry)
    with q.writer:
        if entry.seq is None and entry.error is None:  # not written by an earlier holder
            with _QUEUES_LOCK:
                batch, q.pending = q.pending, []
            try:
                with _APPEND:
                    _write(engine, batch)
            except BaseException as exc:
                for e in batch:
                    e.error = exc
    if entry.error is not None:
        raise entry.error
    return _seq(entry)


def new_entry(
    user: str, action: str, detail: dict[str, Any], *, cells: int = 0, suppressed: bool = True
) -> _Entry:
    """An entry as :func:`append` makes it (timestamped now), for :class:`AuditWriter`."""
    return _Entry(
        now(), user, action, json.dumps(detail, sort_keys=True, default=str), cells, suppressed
    )


Notify = Callable[[list[tuple[Any, int | None, BaseException | None]]], None]


class AuditWriter:
    """Group commit for callers that must not block a thread while they wait (the server's
    event loop): :meth:`submit` queues an entry and returns at once; a thread of its own writes
    what is queued, in one transaction per batch (chained with the appends of :func:`append`:
    both take the same lock), and after each commit calls ``notify`` once with the batch's
    ``(waiter, seq, error)`` triples, so that the callers learn together that their entries are
    durable. ``connect`` opens the writer's own connection (on first use)."""

    def __init__(self, connect: Callable[[], Engine], notify: Notify) -> None:
        self._connect = connect
        self._notify = notify
        self._engine: Engine | None = None
        self._pending: list[tuple[_Entry, Any]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, entry: _Entry, waiter: Any) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            self._pending.append((entry, waiter))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="corridor-audit", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            entries = [e for e, _ in batch]
            error: BaseException | None = None
            try:
                if self._engine is None:
                    self._engine = self._connect()
                with _APPEND:
                    _write(self._engine, entries)
            except BaseException as exc:  # reported to each waiter, which decides
                error = exc
                self._reconnect()
            self._notify([(w, e.seq if error is None else None, error) for e, w in batch])

    def _reconnect(self) -> None:
        """After a failed batch: the next one opens a new connection."""
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.close()
            except Exception:  # already broken: nothing more to do with it
                log.debug("closing the audit writer's connection failed", exc_info=True)

    def close(self) -> None:
        """Write what is queued, then stop the thread and close its connection."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def _seq(entry: _Entry) -> int:
    assert entry.seq is not None
    return entry.seq


def _write(engine: Engine, batch: list[_Entry]) -> None:
    """Chain and insert ``batch`` in one transaction; sets each entry's seq after the commit."""
    seqs: list[int] = []
    with engine.transaction():
        if engine.name == "postgres":
            engine.execute(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})", step="audit lock")
        head = engine.query_rows("SELECT seq, entry_hash FROM audit_head WHERE id = 1")
        seq, prev = (int(head[0][0]), head[0][1]) if head else (0, GENESIS)
        rows = []
        for e in batch:
            seq += 1
            digest = entry_hash(
                prev, seq, e.logged, e.user, e.action, e.text, e.cells, e.suppressed
            )
            rows.append(
                (seq, e.logged, e.user, e.action, e.text, e.cells, e.suppressed, prev, digest)
            )
            seqs.append(seq)
            prev = digest
        # one Arrow batch: far cheaper than binding 9 parameters per entry
        columns = list(zip(*rows, strict=True))
        engine.insert_arrow(
            "audit_chain",
            pa.table(
                [pa.array(col, type=t) for col, t in zip(columns, _TYPES, strict=True)],
                names=_COLUMNS,
            ),
            step="audit append",
        )
        if head:
            engine.execute(
                "UPDATE audit_head SET seq = ?, entry_hash = ? WHERE id = 1",
                (seq, prev),
                step="audit head",
            )
        else:
            engine.execute(
                "INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, ?, ?)",
                (seq, prev),
                step="audit head",
            )
    for e, n in zip(batch, seqs, strict=True):
        e.seq = n


def entries(
    engine: Engine,
    *,
    user: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    conds, params = [], []
    for col, val in (("user_name = ?", user), ("action = ?", action), ("logged_at >= ?", since)):
        if val is not None:
            conds.append(col)
            params.append(val)
    sql = (
        "SELECT seq, logged_at, user_name, action, detail, cells, suppressed, entry_hash "
        "FROM audit_chain"
        + (" WHERE " + " AND ".join(conds) if conds else "")
        + " ORDER BY seq DESC LIMIT ?"
    )
    rows = engine.query_rows(sql, [*params, limit], step="audit entries")
    return [
        {
            "seq": int(r[0]),
            "time": r[1].isoformat(timespec="seconds") + "Z",
            "user": r[2],
            "action": r[3],
            "parameters": json.loads(r[4]),
            "cells": int(r[5]),
            "suppressed": bool(r[6]),
            "hash": r[7],
        }
        for r in rows
    ]


@dataclass(slots=True)
class Verification:
    entries: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(engine: Engine) -> Verification:
    """Recompute the chain and compare it with the head."""
    rows = engine.query_rows(
        "SELECT seq, logged_at, user_name, action, detail, cells, suppressed, prev_hash, "
        "entry_hash FROM audit_chain ORDER BY seq",
        step="audit chain",
    )
    result = Verification(len(rows))
    prev, expected_seq = GENESIS, 1
    for seq, logged, user, action, detail, cells, suppressed, prev_hash, digest in rows:
        seq = int(seq)
        if seq != expected_seq:
            result.problems.append(
                f"entry {expected_seq}"
                + (f" to {seq - 1}" if seq - 1 > expected_seq else "")
                + " deleted (the sequence jumps to {seq})".replace("{seq}", str(seq))
            )
        if prev_hash != prev:
            result.problems.append(f"entry {seq}: does not link to the entry before it")
        again = entry_hash(prev_hash, seq, logged, user, action, detail, int(cells), suppressed)
        if again != digest:
            result.problems.append(f"entry {seq}: edited (its hash does not match its content)")
        prev, expected_seq = digest, seq + 1
    head = engine.query_rows("SELECT seq, entry_hash FROM audit_head WHERE id = 1")
    if head:
        h_seq, h_hash = int(head[0][0]), head[0][1]
        if h_seq != expected_seq - 1 or h_hash != prev:
            result.problems.append(
                f"the chain ends at entry {expected_seq - 1} but the head records entry {h_seq}: "
                "entries at the end were deleted or the head was changed"
            )
    elif rows:
        result.problems.append("the chain has entries but no head: the head was deleted")
    return result
