"""The data version of a warehouse: the part of every answer-cache key that an import changes.

``data_version(engine)`` changes whenever an import changes the warehouse (new, replaced or
quarantined rows). On PostgreSQL (many server workers, the CLI alongside) it is read from the
``imports`` table on every call, so an import by any process invalidates every cache at once.
On DuckDB one process holds the file and writes to it, so the version is this process's count
of imports made through ``corridor.access.writes.import_files`` (bumped as each commits: the
next read in this process uses a new key) together with the ``imports`` table's version read
at most once a second (for writes that bypass the access layer in the same process).

While an import through the access layer is under way on DuckDB (:func:`pinned`, from before
its transaction until :func:`bump` after its answers are warmed), readers keep the version they
had: they are answered from the previous complete version's cached answers, and are switched to
the new version, whose answers the import computed beforehand, all at once by ``bump``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from corridor.storage.engine import Engine

#: seconds a DuckDB warehouse's imports-table version is reused
RECHECK_S = 1.0

_lock = threading.Lock()
_local: dict[tuple[str, str], int] = {}
_seen: dict[tuple[str, str], tuple[tuple[Any, ...], float]] = {}
# the version readers keep while an import is under way (DuckDB; see the module docstring)
_pins: dict[tuple[str, str], tuple[Any, ...]] = {}


def _key(engine: Engine) -> tuple[str, str]:
    return (engine.name, engine.url)


def stored_version(engine: Engine) -> tuple[Any, ...]:
    """The ``imports`` table's version: how many imports changed data, and the latest."""
    row = engine.query_rows(
        "SELECT COUNT(*), MAX(import_id) FROM imports WHERE rows_new + rows_replaced > 0 "
        "OR rows_quarantined > 0",
        step="data version",
    )
    return tuple(row[0]) if row else ()


@contextmanager
def pinned(engine: Engine) -> Iterator[tuple[Any, ...] | None]:
    """DuckDB: readers keep the current data version (yielded) within the block (an import's
    transaction and warming); :func:`bump`, or the end of the block, releases it. Imports are
    serialised by the server's writer lock, so one pin at a time. PostgreSQL: yields None."""
    if engine.name == "postgres":  # the version changes at the commit, read by every reader
        yield None
        return
    current = data_version(engine)
    k = _key(engine)
    with _lock:
        _pins[k] = current
    try:
        yield current
    finally:
        with _lock:
            if _pins.get(k) == current:
                _pins.pop(k, None)


def bump(engine: Engine) -> None:
    """An import through the access layer committed: answers cached before are stale. The
    imports table's new version is read here (the importer's connection sees its commit), so
    that readers know the new version at once, without a read of their own."""
    stored = None
    if engine.name != "postgres":
        try:
            stored = stored_version(engine)
        except Exception:  # readers then read it themselves
            stored = None
    with _lock:
        k = _key(engine)
        _local[k] = _local.get(k, 0) + 1
        if stored is not None:
            _seen[k] = (stored, time.monotonic())
        else:
            _seen.pop(k, None)
        _pins.pop(k, None)


def upcoming_versions(engine: Engine) -> list[tuple[Any, ...]]:
    """DuckDB, after an import committed and before ``bump``: the versions readers will see
    (the bumped one, and the current local count with the new stored version, which a reader
    outside a pin whose once-a-second re-read falls in between would see)."""
    stored = stored_version(engine)
    with _lock:
        local = _local.get(_key(engine), 0)
    return [(local + 1, *stored), (local, *stored)]


def data_version(engine: Engine) -> tuple[Any, ...]:
    if engine.name == "postgres":
        return stored_version(engine)
    known = known_version(*_key(engine))
    return known if known is not None else _read_version(engine)


def refresh(engine: Engine) -> None:
    """DuckDB: read the imports table's version now (for a server that keeps the version known
    without readers waiting for the read: ``corridor.api.fastlane``)."""
    if engine.name != "postgres":
        _read_version(engine)


def _read_version(engine: Engine) -> tuple[Any, ...]:
    """DuckDB: the imports table's version read now and remembered for ``RECHECK_S`` seconds
    (unless an import was bumped meanwhile: its read is newer), with the local count."""
    k = _key(engine)
    with _lock:
        local = _local.get(k, 0)
    stored = stored_version(engine)
    with _lock:
        if _local.get(k, 0) == local:
            _seen[k] = (stored, time.monotonic())
    return (local, *stored)


def version_age(name: str, url: str) -> float | None:
    """Seconds since the imports table's version of ``(name, url)`` was read; None if never
    (or PostgreSQL)."""
    with _lock:
        seen = _seen.get((name, url))
    return None if seen is None else time.monotonic() - seen[1]


def known_version(name: str, url: str) -> tuple[Any, ...] | None:
    """The version :func:`data_version` would give a connection to ``(name, url)`` when that
    needs no read of the warehouse (DuckDB: pinned, or the imports table read less than
    ``RECHECK_S`` ago), else None. Never blocks on the database: for callers on an event loop."""
    if name == "postgres":
        return None
    k = (name, url)
    with _lock:
        pin = _pins.get(k)
        if pin is not None:
            return pin
        local = _local.get(k, 0)
        seen = _seen.get(k)
    if seen is not None and time.monotonic() - seen[1] < RECHECK_S:
        return (local, *seen[0])
    return None
