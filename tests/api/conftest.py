"""A served hub on each engine: a workspace with data and one account per role."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from fastapi.testclient import TestClient

from corridor.api.app import create_app
from hubdata import make_hub


class Hub(NamedTuple):
    client: TestClient
    tokens: dict[str, str]
    path: Path
    db: str | None
    engine_name: str


def _pg_db(pg_url: str) -> str:
    import psycopg

    name = "h_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}".encode())
    return f"{pg_url.rsplit('/', 1)[0]}/{name}"


def _serve(tmp: Path, db: str | None, name: str) -> Iterator[Hub]:
    ws, tokens = make_hub(tmp / "ws", db=db)
    ws.close()
    app = create_app(tmp / "ws", db=db, pool_size=4)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Hub(client, tokens, tmp / "ws", db, name)


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """Module-wide (read-only tests): the hub on DuckDB and on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("hub")
    db = _pg_db(request.getfixturevalue("pg_url")) if request.param == "postgres" else None
    yield from _serve(tmp, db, request.param)


@pytest.fixture(scope="module")
def duck_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """Module-wide, DuckDB only."""
    yield from _serve(tmp_path_factory.mktemp("duckhub"), None, "duckdb")


@pytest.fixture(scope="session")
def hub_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One DuckDB hub workspace, built once (Argon2 hashing is slow on purpose) and copied."""
    folder = tmp_path_factory.mktemp("template") / "ws"
    ws, tokens = make_hub(folder)
    ws.close()
    return folder, tokens


@pytest.fixture
def fresh_hub(tmp_path: Path, hub_template: tuple[Path, dict[str, str]]) -> Iterator[Hub]:
    """A hub of its own for tests that write (imports, logins), on DuckDB: a copy."""
    template, tokens = hub_template
    shutil.copytree(template, tmp_path / "ws")
    app = create_app(tmp_path / "ws", pool_size=4)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Hub(client, tokens, tmp_path / "ws", None, "duckdb")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_hub_both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """A hub of its own for tests that write, on DuckDB and on PostgreSQL."""
    db = _pg_db(request.getfixturevalue("pg_url")) if request.param == "postgres" else None
    yield from _serve(tmp_path, db, request.param)
