"""``corridor restore`` of damaged or incompatible backups: a clean user error, nothing changed.

Each backup here is damaged by hand the way a user could (a column of the wrong type, an empty
value, a key twice, a NUL in a text, a table missing, a file cut short), with its manifest's hash
and row count made to agree, so that only the restore's own checks can find it. What a user
sees: exit code 2 (never 1, no traceback), a message naming the file, the table, the column and
the one offending value or type, ending "Nothing was changed: the warehouse ... is as it was",
and the warehouse exactly as it was (on DuckDB the very same file, on PostgreSQL the same rows),
on both engines.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clihelp import run
from corridor.storage.engine import connect

PLACES = (
    "place_code,name,place_type,parent_code,country_code,lat,lon\n"
    "ken,Kenya,country,,ken,0.1,37.9\n"
    "ke-a,Malaba,truck_stop,ken,ken,0.6,34.2\n"
    "ke-b,Busia,truck_stop,ken,ken,0.4,34.1\n"
    "ke-c,Mombasa,seaport,ken,ken,-4.0,39.6\n"
)
SERVICES = (
    "period,place_code,data_element,sex,age_band,population_group,value\n"
    "2024Q1,ke-a,hiv_tests,f,,,120\n"
    "2024Q1,ke-a,hiv_positive,f,,,12\n"
    "2024Q1,ke-b,hiv_tests,m,,,80\n"
    "2024Q1,ke-c,hiv_tests,f,,,95\n"
)


def _fill(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *db: str) -> None:
    (tmp_path / "p.csv").write_text(PLACES)
    (tmp_path / "s.csv").write_text(SERVICES)
    assert run(capsys, "init", ws).code == 0
    for name, kind in (("p.csv", "places"), ("s.csv", "services")):
        r = run(capsys, "-w", ws, *db, "ingest", tmp_path / name, "--kind", kind)
        assert r.code == 0, r.err


def _rewrite(bk: Path, table: str, data: pa.Table) -> None:
    """``table``'s file replaced by ``data``, the manifest's hash and row count made to agree."""
    path = bk / f"{table}.parquet"
    pq.write_table(data, path)
    manifest = json.loads((bk / "manifest.json").read_text())
    manifest["tables"][table] = {
        "rows": data.num_rows,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    (bk / "manifest.json").write_text(json.dumps(manifest))


def _column(bk: Path, table: str, name: str, values: pa.Array) -> None:
    data = pq.read_table(bk / f"{table}.parquet")
    _rewrite(bk, table, data.set_column(data.schema.get_field_index(name), name, values))


def _n(bk: Path, table: str) -> int:
    return int(pq.read_metadata(bk / f"{table}.parquet").num_rows)


def _text_in_numbers(bk: Path) -> None:
    _column(bk, "services", "value", pa.array(["abc"] * _n(bk, "services")))


def _text_in_dates(bk: Path) -> None:
    _column(bk, "services", "period_start", pa.array(["2024-13-45"] * _n(bk, "services")))


def _fraction_in_whole_numbers(bk: Path) -> None:
    _column(bk, "services", "import_id", pa.array([1.5] * _n(bk, "services")))


def _number_too_large(bk: Path) -> None:
    ids = [2] * _n(bk, "services")
    ids[1] = 2**63  # row 2: no BIGINT holds it
    _column(bk, "services", "import_id", pa.array(ids, pa.uint64()))


def _empty_where_needed(bk: Path) -> None:
    names = pq.read_table(bk / "places.parquet").column("name").to_pylist()
    names[2] = None
    _column(bk, "places", "name", pa.array(names, pa.string()))


def _nested_values(bk: Path) -> None:
    _column(bk, "places", "name", pa.array([{"x": 1}] * _n(bk, "places")))


def _key_twice(bk: Path) -> None:
    data = pq.read_table(bk / "places.parquet")
    _rewrite(bk, "places", pa.concat_tables([data, data.slice(0, 1)]))


def _by_place(bk: Path) -> pa.Table:
    """The services of the backup in a known order (the order a backup has is the engine's)."""
    data = pq.read_table(bk / "services.parquet")
    return data.sort_by([("place_code", "ascending"), ("data_element", "ascending")])


def _natural_key_twice(bk: Path) -> None:
    """Row 5 repeats row 2's natural key (place, element, period, sex, age band, group) with
    another value: no constraint of DuckDB's holds it, PostgreSQL's unique index does."""
    data = _by_place(bk)  # ke-a hiv_positive, ke-a hiv_tests, ke-b hiv_tests, ke-c hiv_tests
    again = data.slice(1, 1)
    again = again.set_column(again.schema.get_field_index("value"), "value", pa.array([7.0]))
    _rewrite(bk, "services", pa.concat_tables([data, again]))


def _key_three_times(bk: Path) -> None:
    data = pq.read_table(bk / "imports.parquet").sort_by("import_id")
    _rewrite(bk, "imports", pa.concat_tables([data, data.slice(1, 1), data.slice(1, 1)]))


def _nul_in_text(bk: Path) -> None:
    names = pq.read_table(bk / "places.parquet").column("name").to_pylist()
    names[1] = "Mala\x00ba " + SECRET
    _column(bk, "places", "name", pa.array(names, pa.string()))


def _nul_in_a_key(bk: Path) -> None:
    data = _by_place(bk)
    codes = data.column("data_element").to_pylist()
    codes[3] = "hiv_\x00tests"
    _rewrite(
        bk,
        "services",
        data.set_column(
            data.schema.get_field_index("data_element"), "data_element", pa.array(codes)
        ),
    )


def _missing_table(bk: Path) -> None:
    (bk / "places.parquet").unlink()
    manifest = json.loads((bk / "manifest.json").read_text())
    del manifest["tables"]["places"]
    (bk / "manifest.json").write_text(json.dumps(manifest))


def _extra_table(bk: Path) -> None:
    _rewrite(bk, "bogus", pa.table({"a": [1]}))


def _extra_column(bk: Path) -> None:
    data = pq.read_table(bk / "places.parquet")
    _rewrite(bk, "places", data.append_column("extra", pa.array([1] * data.num_rows)))


def _missing_column(bk: Path) -> None:
    _rewrite(bk, "places", pq.read_table(bk / "places.parquet").drop_columns(["lat"]))


def _bookkeeping_table(bk: Path) -> None:
    _rewrite(
        bk,
        "schema_migrations",
        pa.table(
            {
                "version": pa.array([1], pa.int32()),
                "name": ["x"],
                "applied_at": pa.array([0], pa.timestamp("us")),
            }
        ),
    )


def _cut_short(bk: Path) -> None:
    path = bk / "services.parquet"
    data = path.read_bytes()[:600]
    path.write_bytes(data)
    manifest = json.loads((bk / "manifest.json").read_text())
    manifest["tables"]["services"]["sha256"] = hashlib.sha256(data).hexdigest()
    (bk / "manifest.json").write_text(json.dumps(manifest))


def _not_a_backup(bk: Path) -> None:
    for path in bk.iterdir():
        path.unlink()
    (bk / "services.csv").write_text(SERVICES)


def _manifest(bk: Path, edit: Callable[[dict[str, Any]], object]) -> None:
    manifest = json.loads((bk / "manifest.json").read_text())
    edit(manifest)
    (bk / "manifest.json").write_text(json.dumps(manifest))


def _garbled_manifest(bk: Path) -> None:
    (bk / "manifest.json").write_text('{"format": "corridor-backup-1", "tables": ')


def _unknown_version(bk: Path) -> None:
    _manifest(bk, lambda m: m["schema_versions"].append(99))


def _other_format(bk: Path) -> None:
    _manifest(bk, lambda m: m.update(format="corridor-backup-0"))


def _file_differs(bk: Path) -> None:
    (bk / "places.parquet").write_bytes(b"not parquet")


#: a value of a row that no refusal may show (row-level data is never written out)
SECRET = "Secret Name Of A Person"


#: name: (how the backup is damaged, what the message says, whether the check comes before the
#: database is asked: all of them, a key held twice and a NUL character included)
CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...], bool]] = {
    "text in numbers": (
        _text_in_numbers,
        ("services.parquet", "row 1", "column 'value'", "value 'abc'", "table services", "DOUBLE"),
        True,
    ),
    "text in dates": (
        _text_in_dates,
        ("services.parquet", "column 'period_start'", "'2024-13-45'", "DATE"),
        True,
    ),
    "fraction in whole numbers": (
        _fraction_in_whole_numbers,
        ("services.parquet", "column 'import_id'", "'1.5'", "whole numbers", "BIGINT"),
        True,
    ),
    "number too large": (
        _number_too_large,
        ("services.parquet", "row 2", "column 'import_id'", f"'{2**63}'", "cannot hold it"),
        True,
    ),
    "empty where needed": (
        _empty_where_needed,
        ("places.parquet", "row 3", "column 'name'", "table places needs a value"),
        True,
    ),
    "nested values": (
        _nested_values,
        ("places.parquet", "column 'name'", "struct<x: int64>", "table places keeps text"),
        True,
    ),
    "key twice": (
        _key_twice,
        (
            "places.parquet",
            "rows 1 and 5",
            "column 'place_code'",
            "value 'ken'",
            "table places",
            "duplicate key",
        ),
        True,
    ),
    "natural key twice": (
        _natural_key_twice,
        (
            "services.parquet",
            "rows 2 and 5",
            "columns 'place_code', 'data_element', 'period', 'sex', 'age_band', 'population_group'",
            "values 'ke-a', 'hiv_tests', '2024Q1', 'f', 'total', 'total'",
            "table services",
            "duplicate key",
        ),
        True,
    ),
    "key three times": (
        _key_three_times,
        ("imports.parquet", "rows 2, 3 and 4", "column 'import_id'", "value '2'", "duplicate key"),
        True,
    ),
    "NUL in text": (
        _nul_in_text,
        ("places.parquet", "row 2", "column 'name'", "NUL character", "table places", "PostgreSQL"),
        True,
    ),
    "NUL in a key": (
        _nul_in_a_key,
        ("services.parquet", "row 4", "column 'data_element'", "NUL character"),
        True,
    ),
    "missing table": (_missing_table, ("manifest.json lists no table places",), True),
    "extra table": (_extra_table, ("tables this warehouse lacks: bogus",), True),
    "extra column": (_extra_column, ("places.parquet", "the file has extra"), True),
    "missing column": (_missing_column, ("places.parquet", "the file lacks lat"), True),
    "bookkeeping table": (_bookkeeping_table, ("names a table 'schema_migrations'",), True),
    "cut short": (_cut_short, ("services.parquet is not a readable Parquet file",), True),
    "not a backup": (_not_a_backup, ("is not a Corridor backup (no manifest.json)",), True),
    "garbled manifest": (_garbled_manifest, ("cannot read", "manifest.json"), True),
    "unknown version": (_unknown_version, ("schema version(s) [99]",), True),
    "other format": (_other_format, ("manifest.json is not a corridor-backup-1 manifest",), True),
    "file differs": (_file_differs, ("places.parquet differs from its manifest",), True),
}
#: how every refusal ends (on DuckDB ``--replace`` names the workspace's file, once the restore
#: reaches it)
ENDING = re.compile(r"Nothing was changed: the warehouse (\S+ )?is as it was$")


def _refused(r: object, case: str, says: tuple[str, ...]) -> None:
    """The message of a refused restore: every part of ``says``, no value of a row beyond the
    key named, and the ending every refusal has."""
    flat = " ".join(str(getattr(r, "err", "")).split())
    for part in says:
        assert part in flat, (case, part, flat)
    assert SECRET not in flat and "Kenya" not in flat, (case, flat)
    assert ENDING.search(flat), (case, flat)


def _contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (in a stable order)."""
    eng = connect(url)
    try:
        return {
            t: sorted(eng.query_rows(f"SELECT * FROM {t}"), key=repr)
            for t in sorted(eng.table_names())
        }
    finally:
        eng.close()


def _clean(r: object) -> None:
    text = str(getattr(r, "err", ""))
    assert "Traceback" not in text and "internal error" not in text, text


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_backup_is_refused_and_the_duckdb_warehouse_is_untouched(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, says, _ = CASES[case]
    ws = tmp_path / "ws"
    _fill(ws, tmp_path, capsys)
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    damage(tmp_path / "bk")
    file = ws / "warehouse.duckdb"
    keep = file.read_bytes()
    for args in ([], ["--replace"]):
        r = run(capsys, "-w", ws, "restore", tmp_path / "bk", *args)
        assert r.code == 2, (case, args, r.err)
        _clean(r)
        assert sorted(p.name for p in ws.iterdir()) == ["corridor.toml", "warehouse.duckdb"]
        assert file.read_bytes() == keep, (case, args)
        assert ENDING.search(" ".join(r.err.split())), (case, args, r.err)
    # --replace is where the backup is read: the message names what is wrong in it
    flat = " ".join(r.err.split())
    for part in says:
        assert part in flat, (case, part, r.err)
    _refused(r, case, says)


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_backup_restores_nothing_into_an_empty_warehouse(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, says, _ = CASES[case]
    _fill(tmp_path / "old", tmp_path, capsys)
    assert run(capsys, "-w", tmp_path / "old", "backup", tmp_path / "bk").code == 0
    damage(tmp_path / "bk")
    ws = tmp_path / "ws"
    assert run(capsys, "init", ws).code == 0
    empty = _contents(str(ws / "warehouse.duckdb"))
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk")
    assert r.code == 2, (case, r.err)
    _clean(r)
    flat = " ".join(r.err.split())
    for part in says:
        assert part in flat, (case, part, r.err)
    _refused(r, case, says)
    assert _contents(str(ws / "warehouse.duckdb")) == empty
    assert sorted(p.name for p in ws.iterdir()) == ["corridor.toml", "warehouse.duckdb"]


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_backup_is_refused_and_the_postgres_rows_are_untouched(
    case: str,
    pg_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL ``--replace`` deletes the rows in the restore's transaction: only after
    every check that needs no database refusal, and a refusal rolls the deletion back."""
    import corridor.storage.backup as backups

    damage, says, checked_first = CASES[case]
    ws = tmp_path / "ws"
    db = ("--db", pg_database)
    _fill(ws, tmp_path, capsys, *db)
    assert run(capsys, "-w", ws, *db, "backup", tmp_path / "bk").code == 0
    damage(tmp_path / "bk")
    before = _contents(pg_database)
    cleared: list[object] = []
    real = backups.clear

    def clear(engine: object) -> None:
        cleared.append(engine)
        real(engine)  # type: ignore[arg-type]

    monkeypatch.setattr(backups, "clear", clear)
    for args in ([], ["--replace"]):
        r = run(capsys, "-w", ws, *db, "restore", tmp_path / "bk", *args)
        assert r.code == 2, (case, args, r.err)
        _clean(r)
        assert _contents(pg_database) == before, (case, args)
        # (the manifest's refusals, before the database, end so too)
        assert ENDING.search(" ".join(r.err.split())), (case, args, r.err)
    flat = " ".join(r.err.split())
    for part in says:
        assert part in flat, (case, part, r.err)
    _refused(r, case, says)
    if checked_first:
        assert not cleared, "rows were deleted before the backup was checked"
    assert flat.endswith("Nothing was changed: the warehouse is as it was"), r.err
    assert not [p.name for p in ws.iterdir() if "replaced" in p.name or "restoring" in p.name]


@pytest.mark.postgres
def test_restore_replace_on_postgres_puts_the_backup_back(
    pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    db = ("--db", pg_database)
    _fill(ws, tmp_path, capsys, *db)
    assert run(capsys, "-w", ws, *db, "backup", tmp_path / "bk").code == 0
    backed_up = _contents(pg_database)
    (tmp_path / "more.csv").write_text(SERVICES.replace("2024Q1", "2024Q2"))
    r = run(capsys, "-w", ws, *db, "ingest", tmp_path / "more.csv", "--kind", "services")
    assert r.code == 0, r.err
    r = run(capsys, "-w", ws, *db, "restore", tmp_path / "bk", "--replace")
    assert r.code == 0, r.err
    assert "restored" in r.out and "rows" in r.out
    assert _contents(pg_database) == backed_up
    # the next import gets the next import id after the backup's highest
    r = run(capsys, "-w", ws, *db, "ingest", tmp_path / "more.csv", "--kind", "services")
    assert r.code == 0, r.err
    eng = connect(pg_database)
    try:
        ids = [i for (i,) in eng.query_rows("SELECT import_id FROM imports ORDER BY import_id")]
    finally:
        eng.close()
    assert ids == [1, 2, 3]


def test_restore_replace_of_a_duckdb_file_named_by_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--db FILE`` on DuckDB replaces the rows in one transaction, as on PostgreSQL: a refused
    backup changes nothing, a good one restores."""
    file = str(tmp_path / "elsewhere.duckdb")
    ws = tmp_path / "ws"
    _fill(ws, tmp_path, capsys, "--db", file)
    assert run(capsys, "-w", ws, "--db", file, "backup", tmp_path / "bk").code == 0
    backed_up = _contents(file)
    shutil.copytree(tmp_path / "bk", tmp_path / "bad")
    _empty_where_needed(tmp_path / "bad")
    r = run(capsys, "-w", ws, "--db", file, "restore", tmp_path / "bad", "--replace")
    assert r.code == 2 and "row 3, column 'name'" in r.err, r.err
    assert _contents(file) == backed_up
    r = run(capsys, "-w", ws, "--db", file, "restore", tmp_path / "bk", "--replace")
    assert r.code == 0, r.err
    assert _contents(file) == backed_up


def test_restore_replace_twice_in_one_second_keeps_both_old_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each replaced warehouse gets a name of its own: a second restore within the same second
    does not write over the file the first one moved aside."""
    ws = tmp_path / "ws"
    _fill(ws, tmp_path, capsys)
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    for _ in range(3):
        r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
        assert r.code == 0, r.err
        assert "moved the old warehouse aside" in r.err
    aside = [p for p in ws.iterdir() if ".replaced-" in p.name]
    assert len(aside) == 3


#: damage to services, the last table a restore loads (after imports and places)
LAST_TABLE = ("natural key twice", "NUL in a key", "number too large")


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("case", LAST_TABLE)
def test_a_damaged_last_table_leaves_an_empty_workspace_exactly_as_it_was(
    case: str,
    engine_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """``corridor restore`` without ``--replace`` checks every table of the backup before it
    writes the first, as ``--replace`` does: a backup whose last table (services) is damaged is
    refused with the same message before imports and places are loaded (the database is never
    asked to write a row), and the workspace is exactly as it was, on DuckDB (the same bytes)
    and on PostgreSQL (the same rows and the same next import id)."""
    from corridor.storage.engine import Engine

    damage, says, _ = CASES[case]
    _fill(tmp_path / "old", tmp_path, capsys)
    assert run(capsys, "-w", tmp_path / "old", "backup", tmp_path / "bk").code == 0
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert sorted(manifest["tables"])[-1] == "services"
    assert manifest["tables"]["imports"]["rows"] and manifest["tables"]["places"]["rows"]
    damage(tmp_path / "bk")
    ws = tmp_path / "ws"
    assert run(capsys, "init", ws).code == 0
    db: tuple[str, ...] = ()
    if engine_name == "postgres":
        url = str(request.getfixturevalue("pg_database"))
        db = ("--db", url)
        assert run(capsys, "-w", ws, *db, "status").code == 0  # (migrated)
    else:
        url = str(ws / "warehouse.duckdb")
    before = _contents(url), _next_import_id(url)
    keep = (ws / "warehouse.duckdb").read_bytes()
    written: list[str] = []
    insert = Engine.insert_arrow

    def spy(self: Engine, table: str, data: pa.Table, **kw: Any) -> None:
        written.append(table)
        insert(self, table, data, **kw)

    monkeypatch.setattr(Engine, "insert_arrow", spy)
    r = run(capsys, "-w", ws, *db, "restore", tmp_path / "bk")
    monkeypatch.undo()
    assert r.code == 2, r.err
    _clean(r)
    _refused(r, case, says)
    assert " ".join(r.err.split()).endswith("Nothing was changed: the warehouse is as it was")
    assert written == [], written  # not one row, not even inside the rolled-back transaction
    assert (_contents(url), _next_import_id(url)) == before
    assert (ws / "warehouse.duckdb").read_bytes() == keep
    assert sorted(p.name for p in ws.iterdir()) == ["corridor.toml", "warehouse.duckdb"]


def _next_import_id(url: str) -> object:
    """Where the sequence of import ids stands (without drawing from it)."""
    eng = connect(url)
    try:
        if eng.name == "postgres":
            return eng.query_rows("SELECT last_value, is_called FROM import_id_seq")
        return eng.query_rows(
            "SELECT start_value, last_value FROM duckdb_sequences() "
            "WHERE sequence_name = 'import_id_seq'"
        )
    finally:
        eng.close()
