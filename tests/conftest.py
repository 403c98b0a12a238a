"""Shared fixtures: an ``engine`` parametrised over DuckDB and a real PostgreSQL server.

PostgreSQL: $CORRIDOR_TEST_PG_URL when set, else a throw-away server started here. Where no server
can be had, PostgreSQL tests fail under CI=true and skip only on a developer's machine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate
from pgserver import PgServer, find_bindir

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = os.environ.get("CORRIDOR_TEST_PG_URL")
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        msg = "PostgreSQL is not installed (scripts/ensure-postgres.sh installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    server = PgServer(bindir)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        if IN_CI:
            pytest.fail(f"cannot start PostgreSQL: {exc}")
        pytest.skip(f"cannot start PostgreSQL: {exc}")
    yield server.url
    server.stop()


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server; its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}".encode())
    base = pg_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty warehouse on each engine."""
    if request.param == "duckdb":
        return str(tmp_path / "warehouse.duckdb")
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """A migrated, empty warehouse on DuckDB and on PostgreSQL."""
    eng = connect(engine_url)
    migrate(eng)
    yield eng
    eng.close()
