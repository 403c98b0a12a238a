from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from corridor.storage.engine import Engine, StorageError
from corridor.storage.migrations import MIGRATIONS, current_version, migrate


def test_migrations_applied_once(engine: Engine) -> None:
    assert current_version(engine) == MIGRATIONS[-1].version
    assert migrate(engine) == []
    assert {"places", "flows", "services", "cases", "imports", "quarantine"} <= engine.table_names()


def test_insert_and_query_roundtrip(engine: Engine) -> None:
    data = pa.table(
        {
            "place_code": ["ken", "ke-x"],
            "name": ["Kenya", 'Quote "x", comma'],
            "place_type": ["country", "truck_stop"],
            "parent_code": ["", "ken"],
            "country_code": ["ken", "ken"],
            "lat": [None, -1.5],
            "lon": [None, 36.25],
            "corridor": ["", "northern"],
            "population": pa.array([None, 1200], pa.int64()),
            "dhis2_uid": ["", ""],
            "fmp_code": ["", ""],
            "import_id": pa.array([1, 1], pa.int64()),
        }
    )
    engine.insert_arrow("places", data)
    got = engine.query("SELECT * FROM places ORDER BY place_code").to_pylist()
    assert got[0]["place_code"] == "ke-x"
    assert got[0]["name"] == 'Quote "x", comma'
    assert got[0]["lat"] == -1.5
    assert got[1]["parent_code"] == ""  # empty strings stay empty strings, not NULL
    assert got[1]["lat"] is None


def test_transaction_rolls_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.transaction():
        engine.execute(
            "INSERT INTO audit_log (logged_at, user_name, action, detail) VALUES (?, ?, ?, ?)",
            (dt.datetime(2024, 1, 1), "u", "a", "{}"),
        )
        raise RuntimeError("boom")
    assert engine.scalar("SELECT COUNT(*) FROM audit_log") == 0


def test_errors_name_step_and_sql(engine: Engine) -> None:
    with pytest.raises(StorageError) as info:
        engine.query("SELECT nope FROM places", step="my step")
    assert "my step" in str(info.value)
    assert "SELECT nope FROM places" in str(info.value)


def test_a_snapshot_reads_and_joins_an_open_transaction(engine: Engine) -> None:
    with engine.snapshot() as eng:
        assert eng.scalar("SELECT COUNT(*) FROM imports") == 0
    with engine.transaction():
        engine.execute("CREATE TABLE snap_t (i INTEGER)")
        with engine.snapshot():  # joins the writing transaction
            engine.execute("INSERT INTO snap_t VALUES (1)")
    assert engine.scalar("SELECT COUNT(*) FROM snap_t") == 1
