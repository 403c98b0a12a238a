"""A file larger than one DuckDB row group (122,880 rows) imports completely, atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PLACES_CSV, write

from corridor.intake.importer import ingest
from corridor.storage.engine import Engine


def test_large_file_is_imported_whole(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    sites = ("ke-malaba", "ug-malaba", "ke-mombasa")
    n = 0
    for year in range(2000, 2025):
        for month in range(1, 13):
            for site in sites:
                for element in ("hiv_tests", "hiv_positive", "art_initiated", "prep_initiated"):
                    for sex in ("f", "m"):
                        for age in ("<15", "15-24", "25-34", "35-49", "50+"):
                            for group in (
                                "host",
                                "migrant",
                                "truck_driver",
                                "sex_worker",
                                "miner",
                                "fisherfolk",
                                "idp",
                            ):
                                if n < 130_000:
                                    lines.append(
                                        f"{year}-{month:02d},{site},{element},{sex},{age},{group},{n % 97}"
                                    )
                                    n += 1
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    [r] = ingest(engine, [path], "services")
    assert r.rows_new == n == 130_000
    assert engine.scalar("SELECT COUNT(DISTINCT period) FROM services") > 1
    assert engine.scalar("SELECT SUM(value) FROM services") == sum(i % 97 for i in range(n))


def test_duckdb_warehouse_keeps_no_index_on_services_or_flows(tmp_path: Path) -> None:
    """Migration 8: an older DuckDB warehouse loses the two indexes (its rows stay), and a new
    one never has them; DuckDB's planner scans the table for a filter on all their columns."""
    from corridor.storage import migrations
    from corridor.storage.engine import connect

    db = str(tmp_path / "w.duckdb")
    with connect(db) as eng:
        before = [m for m in migrations.MIGRATIONS if m.version < 8]
        eng.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        for m in before:
            eng.execute_script(m.statements, step="old migration")
            eng.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (m.version, m.name)
            )
        ingest(eng, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
        tidy = "period,place_code,data_element,sex,age_band,population_group,value\n"
        ingest(
            eng,
            [write(tmp_path, "s.csv", tidy + "2024Q1,ke-malaba,hiv_tests,f,15-24,host,7\n")],
            "services",
        )
        indexes = "SELECT COUNT(*) FROM duckdb_indexes() WHERE table_name IN ('services', 'flows')"
        assert eng.scalar(indexes) == 2
        assert migrations.migrate(eng) == [8]
        assert eng.scalar(indexes) == 0
        assert eng.scalar("SELECT SUM(value) FROM services") == 7
    fresh = str(tmp_path / "fresh.duckdb")
    with connect(fresh) as eng:
        migrations.migrate(eng)
        assert eng.scalar(indexes) == 0


def test_a_large_import_brings_the_planner_statistics_up_to_date(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import of at least STATISTICS_ROWS rows refreshes the engine's statistics of the table
    as it commits (PostgreSQL: ANALYZE, so that the next query does not plan with an empty
    table's); a smaller one leaves them to the server, and so does one rolled back. DuckDB keeps
    its own as it writes."""
    import corridor.intake.importer as importer

    done: list[str] = []
    own = engine._refresh_statistics
    monkeypatch.setattr(engine, "_refresh_statistics", lambda t: (done.append(t), own(t)))
    monkeypatch.setattr(importer, "STATISTICS_ROWS", 6)
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    assert done == []  # five places: fewer rows than that
    rows = [f"2024-0{m},ke-malaba,hiv_tests,{s},25-34,migrant,{m}" for m in (1, 2, 3) for s in "fm"]
    header = "period,place_code,data_element,sex,age_band,population_group,value"
    path = write(tmp_path, "s.csv", "\n".join([header, *rows]) + "\n")
    with pytest.raises(RuntimeError), engine.transaction():  # written, then rolled back
        ingest(engine, [path], "services")
        assert done == []  # not inside the transaction
        raise RuntimeError
    assert done == [] and engine.scalar("SELECT COUNT(*) FROM services") == 0
    with engine.transaction():
        ingest(engine, [path], "services")
        assert done == []
    assert done == ["services"]  # once the write committed
    if engine.name == "postgres":  # the planner's row count: -1 until the table is analysed
        reltuples = engine.scalar("SELECT reltuples FROM pg_class WHERE relname = 'services'")
        assert reltuples == 6
    ingest(engine, [path], "services")  # the same rows again: nothing written, nothing asked
    assert done == ["services"]


def test_statistics_that_cannot_be_refreshed_leave_the_import_standing(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import corridor.intake.importer as importer
    from corridor.storage.engine import StorageError

    def fails(table: str) -> None:
        raise StorageError(f"statistics of {table}", f"ANALYZE {table}", OSError("busy"))

    monkeypatch.setattr(engine, "_refresh_statistics", fails)
    monkeypatch.setattr(importer, "STATISTICS_ROWS", 1)
    [r] = ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    assert r.rows_new == 5 and engine.scalar("SELECT COUNT(*) FROM places") == 5
    assert "statistics of places not refreshed" in caplog.text


def _stored_places(engine: Engine) -> list[str]:
    """The place of each stored service row, in the order the rows lie in the table."""
    at = "ctid" if engine.name == "postgres" else "rowid"
    return [r[0] for r in engine.query_rows(f"SELECT place_code FROM services ORDER BY {at}")]


def _grouped(places: list[str]) -> bool:
    """Whether each place's rows lie together."""
    runs = [p for i, p in enumerate(places) if i == 0 or p != places[i - 1]]
    return len(runs) == len(set(runs))


def test_services_are_written_a_place_at_a_time_where_the_engine_asks(
    engine: Engine, tmp_path: Path
) -> None:
    """PostgreSQL (``Dialect.services_by_place``) stores an import's rows of services with each
    place's rows together, in the order the file gave them within a place, and a restore too;
    DuckDB keeps the file's order. Either way every row is there."""
    from corridor.storage.backup import backup, clear, restore
    from corridor.storage.migrations import migrate

    assert engine.dialect.services_by_place == (engine.name == "postgres")
    ingest(engine, [write(tmp_path, "places.csv", PLACES_CSV)], "places")
    sites = ("ke-malaba", "ug-malaba", "ke-mombasa")
    rows = [
        f"2024-{m:02d},{site},hiv_tests,{sex},25-34,migrant,{m}"
        for m in range(1, 13)
        for site in sites
        for sex in "fm"
    ]
    header = "period,place_code,data_element,sex,age_band,population_group,value"
    ingest(engine, [write(tmp_path, "s.csv", "\n".join([header, *rows]) + "\n")], "services")
    in_file = [r.split(",")[1] for r in rows]
    stored = _stored_places(engine)
    assert sorted(stored) == sorted(in_file)
    if engine.dialect.services_by_place:
        assert stored == sorted(in_file, key=sites.index)  # grouped, in the order first met
        values = engine.query_rows(
            "SELECT value FROM services WHERE place_code = 'ug-malaba' ORDER BY ctid"
        )
        assert [v for (v,) in values] == [m for m in range(1, 13) for _ in "fm"]  # file order
    else:
        assert stored == in_file and not _grouped(stored)
    backup(engine, tmp_path / "bk")
    clear(engine)
    migrate(engine)
    restore(engine, tmp_path / "bk")
    again = _stored_places(engine)
    assert sorted(again) == sorted(in_file)
    assert _grouped(again) or not engine.dialect.services_by_place
