"""Concurrent writers: two real processes import the same file; nothing is ever doubled.

On PostgreSQL the imports take turns on an advisory lock and the natural keys are unique indexes
(migration 3); on DuckDB the second process waits for the first one's file lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corridor.errors import ConcurrentChangeError
from corridor.storage.engine import Engine, StorageError, connect
from corridor.storage.migrations import migrate
from corridor.workspace import init_workspace

PLACES = (
    "place_code,name,place_type,parent_code,country_code,lat,lon\n"
    "ken,Kenya,country,,ken,0.1,37.9\n"
    + "".join(f"ke-s{i},Site {i},truck_stop,ken,ken,0.{i},34.{i}\n" for i in range(40))
)
ELEMENTS = ("hiv_tests", "hiv_positive", "art_initiated")
GROUPS = ("total", "refugee", "truck_driver", "migrant")


SERVICES_COLS = (
    "period, period_type, period_start, period_end, place_code, data_element, sex, age_band, "
    "population_group, value, import_id"
)
FLOWS_COLS = (
    "period_start, period_end, observation_code, direction, origin_code, destination_code, sex, "
    "age_band, population_group, mode, count, import_id"
)
PLACES_COLS = (
    "place_code, name, place_type, parent_code, country_code, lat, lon, corridor, population, "
    "dhis2_uid, fmp_code, import_id"
)


def services_csv(path: Path) -> int:
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for m in range(1, 13):
        for i in range(40):
            for e in ELEMENTS:
                for g in GROUPS:
                    for s in ("f", "m"):
                        lines.append(f"2024-{m:02d},ke-s{i},{e},{s},total,{g},{(m * i) % 50 + 1}")
    path.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def corridor(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CORRIDOR_DB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "corridor.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _both(args: list[str]) -> list[tuple[int, str, str]]:
    procs = [corridor(*args), corridor(*args)]
    out = []
    for p in procs:
        o, e = p.communicate(timeout=180)
        out.append((p.returncode, o, e))
    return out


@pytest.mark.parametrize("db", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_processes_importing_the_same_file_never_double_it(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_database") if db == "postgres" else None
    ws = tmp_path / "ws"
    base = ["-w", str(ws)] + (["--db", url] if url else [])
    (tmp_path / "p.csv").write_text(PLACES)
    n = services_csv(tmp_path / "s.csv")
    with init_workspace(ws, db=url) as w:  # set up in this process; only the race runs in two
        w.ingest([tmp_path / "p.csv"], "places")
    results = _both([*base, "ingest", str(tmp_path / "s.csv"), "--kind", "services"])
    assert [r[0] for r in results] == [0, 0], [r[2] for r in results]
    outs = sorted(r[1] for r in results)
    assert sum("already imported" in o for o in outs) == 1, outs
    eng = connect(url or str(ws / "warehouse.duckdb"))
    try:
        assert eng.scalar("SELECT COUNT(*) FROM services") == n
        assert eng.scalar("SELECT COUNT(*) FROM imports WHERE kind = 'services'") == 1
        refugee = eng.scalar(
            "SELECT SUM(value) FROM services WHERE population_group = 'refugee' "
            "AND data_element = 'hiv_positive'"
        )
        assert refugee == sum(((m * i) % 50 + 1) * 2 for m in range(1, 13) for i in range(40))
    finally:
        eng.close()


@pytest.mark.postgres
def test_the_database_refuses_a_second_row_with_the_same_key(pg_database: str) -> None:
    eng: Engine = connect(pg_database)
    try:
        migrate(eng)
        row = "('2024Q1', 'quarter', DATE '2024-01-01', DATE '2024-03-31', 'x', 'hiv_tests', 'f', 'total', 'total', 1, 1)"
        eng.execute(f"INSERT INTO services ({SERVICES_COLS}) VALUES {row}")
        with pytest.raises(ConcurrentChangeError, match="nothing was imported"):
            eng.execute(f"INSERT INTO services ({SERVICES_COLS}) VALUES {row}")
        flow = "(DATE '2024-01-01', DATE '2024-01-31', 'x', 'incoming', '', '', 'f', 'total', 'total', '', 5, 1)"
        eng.execute(f"INSERT INTO flows ({FLOWS_COLS}) VALUES {flow}")
        with pytest.raises(ConcurrentChangeError):
            eng.execute(f"INSERT INTO flows ({FLOWS_COLS}) VALUES {flow}")
    finally:
        eng.close()


def test_migration_3_keeps_the_latest_of_doubled_rows(engine_url: str) -> None:
    """A warehouse doubled by the old race is repaired when migration 3 runs."""
    from corridor.storage import migrations

    eng = connect(engine_url)
    try:
        first = migrations.MIGRATIONS[0]
        eng.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        eng.execute_script(first.statements)
        eng.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'x')")
        for imp, value in ((1, 5.0), (2, 5.0), (3, 7.0)):
            eng.execute(
                f"INSERT INTO services ({SERVICES_COLS}) VALUES ('2024Q1', 'quarter', DATE '2024-01-01', "
                f"DATE '2024-03-31', 'x', 'hiv_tests', 'f', 'total', 'total', {value}, {imp})"
            )
        migrate(eng)
        assert eng.query_rows("SELECT value, import_id FROM services") == [(7.0, 3)]
    finally:
        eng.close()


def test_duckdb_import_check_refuses_a_doubled_key(tmp_path: Path) -> None:
    """DuckDB holds no unique index on services: the import's own check is the guarantee."""
    from corridor.contract.schema import schema_for
    from corridor.intake.importer import _check_keys

    eng = connect(str(tmp_path / "w.duckdb"))
    try:
        migrate(eng)
        row = "('2024Q1', 'quarter', DATE '2024-01-01', DATE '2024-03-31', 'x', 'hiv_tests', 'f', 'total', 'total', 1, 1)"
        eng.execute(f"INSERT INTO services ({SERVICES_COLS}) VALUES {row}")
        eng.execute("CREATE TEMPORARY TABLE stage_services AS SELECT * FROM services")
        _check_keys(eng, schema_for("services"), "stage_services")  # one row per key: fine
        eng.execute(f"INSERT INTO services ({SERVICES_COLS}) VALUES {row}")
        with pytest.raises(ConcurrentChangeError, match="held twice"):
            _check_keys(eng, schema_for("services"), "stage_services")
    except StorageError:
        raise
    finally:
        eng.close()
