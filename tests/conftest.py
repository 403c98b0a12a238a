"""Shared fixtures: an ``engine`` parametrised over DuckDB and a real PostgreSQL server.

PostgreSQL: $CORRIDOR_TEST_PG_URL when set, else a throw-away server started here. Where no server
can be had, PostgreSQL tests fail under CI=true and skip only on a developer's machine.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor.demo import WorldManifest, generate_world
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


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldManifest:
    """The demonstration world (seed 2024), generated once per test session (per xdist worker)."""
    out = tmp_path_factory.mktemp("world")
    return generate_world(out, seed=2024)


@pytest.fixture(scope="session")
def world_dir(world: WorldManifest) -> Path:
    assert world.out_dir is not None
    return world.out_dir


@pytest.fixture(scope="session")
def demo_workspace(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demonstration world ingested as ``corridor demo`` does (record keys from the seed)."""
    from corridor.storage.recordkeys import derive_record_keys
    from corridor.workspace import init_workspace

    ws = init_workspace(tmp_path_factory.mktemp("demo_ws") / "ws")
    manifest = json.loads((world_dir / "sources" / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        path = world_dir / "sources" / entry["path"]
        mapping = world_dir / "sources" / entry["mapping"] if entry.get("mapping") else None
        ws.ingest([path], entry["kind"], format=entry["format"], mapping=mapping, quarantine=True)
    derive_record_keys(ws.engine, 2024)
    yield ws
    ws.close()
