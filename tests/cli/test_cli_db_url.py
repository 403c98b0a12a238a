"""``--db`` values as a user types them: the password is never printed, never written into a
file name, and what is not a database URL is refused (exit 2) instead of becoming a new DuckDB
file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clihelp import run
from corridor.workspace import init_workspace

SECRET = "Sekr1tPW"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    init_workspace(folder)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # where a --db taken as a DuckDB path would land
    return folder


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "url",
    [
        # port 1: nothing listens there, so the connection fails and the message names the URL
        f"postgresql://127.0.0.1:1/db?user=nobody&password={SECRET}",
        f"postgresql://127.0.0.1:1/db?sslmode=disable&PASSWORD={SECRET}&user=x",
        f"postgresql://postgres:{SECRET}@[::1/db",
        f"postgresql://postgres:{SECRET}@127.0.0.1:1/db",
        f"Postgresql://postgres:{SECRET}@127.0.0.1:1/db",
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/db",
        f"POSTGRES://postgres:{SECRET}@127.0.0.1:1/db",
    ],
)
def test_a_failed_connection_never_prints_the_password(
    ws: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(Path.cwd())
    res = run(capsys, "-w", ws, "--db", url, "status")
    assert res.code == 2, res
    assert "cannot connect to PostgreSQL" in res.err
    assert SECRET not in res.out + res.err
    assert "***" in res.err
    assert _files(Path.cwd()) == before  # no DuckDB file named after the URL


@pytest.mark.parametrize(
    "dsn",
    [
        f"host=127.0.0.1 port=5432 user=postgres password={SECRET}",
        f"password={SECRET}",
        f"dbname=x password = {SECRET}",
        f"HOST=db.example.org sslmode=require Password={SECRET}",
    ],
)
def test_a_key_value_connection_string_is_refused(
    ws: Path, dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    res = run(capsys, "-w", ws, "--db", dsn, "status")
    assert res.code == 2, res
    assert "key=value" in res.err and "postgresql://" in res.err
    assert SECRET not in res.out + res.err
    assert os.listdir(Path.cwd()) == []  # no new, empty DuckDB warehouse


def test_an_unknown_scheme_is_refused(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = run(capsys, "-w", ws, "--db", f"mysql://root:{SECRET}@localhost/db", "status")
    assert res.code == 2, res
    assert "'mysql'" in res.err
    assert SECRET not in res.out + res.err
    assert os.listdir(Path.cwd()) == []


def test_a_duckdb_path_with_a_space_still_opens(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my data" / "a=b" / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    res = run(capsys, "-w", ws, "--db", path, "status")
    assert res.code == 0, res
    assert path.exists()


def test_a_duckdb_path_with_a_spaced_word_and_equals_sign_opens(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "round=2" is no libpq parameter: a folder name, not a key=value connection string
    path = tmp_path / "survey round=2" / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    res = run(capsys, "-w", ws, "--db", path, "status")
    assert res.code == 0, res
    assert path.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["Postgresql", "POSTGRES", "postgresql+psycopg"])
def test_postgres_schemes_in_any_case_reach_the_server(
    ws: Path, pg_database: str, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the test server trusts local connections: the password is taken and not checked
    rest = pg_database.split("://", 1)[1].replace("postgres@", f"postgres:{SECRET}@", 1)
    res = run(capsys, "-w", ws, "--db", f"{scheme}://{rest}", "status")
    assert res.code == 0, res
    assert SECRET not in res.out + res.err
    assert os.listdir(Path.cwd()) == []  # PostgreSQL, not a DuckDB file


@pytest.mark.postgres
def test_a_wrong_user_in_the_query_string_does_not_print_the_password(
    ws: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{pg_database}?user=nobody&password={SECRET}"
    res = run(capsys, "-w", ws, "--db", url, "status")
    assert res.code == 2, res
    assert "nobody" in res.err
    assert SECRET not in res.out + res.err
