"""Migrations applied by processes that open a new database at the same time."""

from __future__ import annotations

import threading

import pytest

from corridor.storage.engine import connect
from corridor.storage.migrations import MIGRATIONS, current_version, migrate


@pytest.mark.postgres
def test_concurrent_first_opens_take_turns(pg_database: str) -> None:
    """Four commands started together on a fresh database: one applies the migrations, the
    others wait and find them applied (before: "relation import_id_seq already exists")."""
    n = 6
    barrier = threading.Barrier(n)
    applied: list[list[int]] = []
    errors: list[BaseException] = []

    def first_open() -> None:
        eng = connect(pg_database)
        try:
            barrier.wait()
            applied.append(migrate(eng))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)
        finally:
            eng.close()

    threads = [threading.Thread(target=first_open) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = sorted(v for a in applied for v in a)
    assert versions == sorted(m.version for m in MIGRATIONS)  # each applied once
    eng = connect(pg_database)
    try:
        assert current_version(eng) == max(m.version for m in MIGRATIONS)
        assert migrate(eng) == []
    finally:
        eng.close()
