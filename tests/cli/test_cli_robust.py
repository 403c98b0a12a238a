"""Damaged files, unwritable places, formula injection, backups: a clean error every time.

The hostile inputs are made by the tests. Each case is what a user sees: the exit code (2, never
1), the message, and the files left behind.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from clihelp import run
from corridor.storage.backup import backup, restore
from corridor.storage.engine import connect
from corridor.storage.migrations import migrate
from corridor.workspace import init_workspace

HOSTILE = ("=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


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


def _places(names: tuple[str, ...]) -> str:
    rows = [
        "place_code,name,place_type,parent_code,country_code,lat,lon",
        "ken,Kenya,country,,ken,0.1,37.9",
    ]
    for i, name in enumerate(names):
        quoted = '"' + name.replace('"', '""') + '"'
        rows.append(f"ke-s{i},{quoted},truck_stop,ken,ken,0.{i},34.{i}")
    return "\n".join(rows) + "\n"


def _services(n: int) -> str:
    rows = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for i in range(n):
        rows.append(f"2024Q1,ke-s{i},hiv_tests,f,,,{100 + i}")
        rows.append(f"2024Q1,ke-s{i},hiv_positive,f,,,{20 + i}")
        rows.append(f"2024Q1,ke-s{i},art_initiated,f,,,{15 + i}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    (tmp_path / "p.csv").write_text(_places(HOSTILE))
    (tmp_path / "s.csv").write_text(_services(len(HOSTILE)))
    assert run(capsys, "init", folder).code == 0
    for f, kind in (("p.csv", "places"), ("s.csv", "services")):
        r = run(capsys, "-w", folder, "ingest", tmp_path / f, "--kind", kind)
        assert r.code == 0, r.err
    return folder


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _no_formula(cells: list[str]) -> None:
    for c in cells:
        if c and c[0] in FORMULA:
            float(c)  # only plain numbers (a negative gap) may start so


@pytest.mark.parametrize("fmt", ["csv", "hxl"])
def test_indicator_exports_neutralise_formulas(
    ws: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(
        capsys,
        "-w",
        ws,
        "indicators",
        "-i",
        "positivity",
        "--by",
        "place",
        "--format",
        fmt,
        "--unsuppressed",
    )
    assert r.code == 0, r.err
    cells = _cells(r.out)
    _no_formula(cells)
    assert "'=cmd|' /C calc'!A0" in cells and "'-2+3" in cells and "'@SUM(1+1)" in cells
    assert "'+SUM(1+1)" in cells and "'=1+1" in cells  # intake strips the tab: "=1+1" remains


@pytest.mark.parametrize("fmt", ["csv", "hxl"])
def test_hotspot_exports_neutralise_formulas(
    ws: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", ws, "hotspots", "--format", fmt, "--draws", "0")
    assert r.code == 0, r.err
    cells = _cells(r.out)
    _no_formula(cells)
    assert "'-2+3" in cells and "'=cmd|' /C calc'!A0" in cells


def test_targets_must_be_finite(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("inf", "-inf", "nan", "1e999"):
        r = run(
            capsys,
            "-w",
            ws,
            "indicators",
            "-i",
            "positivity",
            "--target",
            f"positivity={bad}",
            "--format",
            "json",
        )
        assert r.code == 2 and "finite" in r.err and "Traceback" not in r.err, (bad, r.err)


def _damage(ws: Path, how: str) -> None:
    file = ws / "warehouse.duckdb"
    if how == "truncated":
        with open(file, "r+b") as fh:
            fh.truncate(os.path.getsize(file) // 4)
    elif how == "overwritten":
        file.write_text("indicator,period\npositivity,2024\n")
    else:  # every block's bytes scrambled after the header
        data = bytearray(file.read_bytes())
        for i in range(12288 + 64, len(data), 4096):
            data[i : i + 64] = b"\x13" * 64
        file.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "overwritten", "scrambled"])
def test_a_damaged_warehouse_is_named_and_every_command_exits_2(
    ws: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _damage(ws, how)
    for args in (
        ["status"],
        ["indicators", "-i", "positivity", "--format", "csv"],
        ["hotspots", "--draws", "0"],
        ["report", "--draws", "0"],
        ["ingest", ws / "corridor.toml", "--kind", "places"],
    ):
        r = run(capsys, "-w", ws, *args)
        assert r.code == 2, (how, args, r.err)
        assert "damaged" in r.err and "docs/backup.md" in r.err, (how, args, r.err)
        assert "internal error" not in r.err


def test_backup_then_restore_over_a_damaged_warehouse(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", ws, "indicators", "-i", "positivity", "--by", "place", "--format", "csv")
    before = r.out
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    _damage(ws, "truncated")
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk")
    assert r.code == 2 and "damaged" in r.err
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
    assert r.code == 0, r.err
    assert any(p.name.startswith("warehouse.duckdb.replaced-") for p in ws.iterdir())
    r = run(capsys, "-w", ws, "indicators", "-i", "positivity", "--by", "place", "--format", "csv")
    assert r.code == 0 and r.out == before
    # a damaged backup is refused before anything is moved
    (tmp_path / "bk" / "places.parquet").write_bytes(b"not parquet")
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
    assert r.code == 2 and "differs from its manifest" in r.err


def test_backup_round_trip_on_both_engines(
    engine_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import corridor.storage.backup as backups

    monkeypatch.setattr(backups, "STATISTICS_ROWS", 1)  # every table restored here is "large"
    eng = connect(engine_url)
    migrate(eng)
    eng.execute(
        f"INSERT INTO places ({PLACES_COLS}) VALUES ('ke-x', 'Névé, \"x\"', 'truck_stop', 'ken', 'ken', 0.5, "
        "NULL, '', NULL, '', '', 41)"
    )
    eng.execute(
        f"INSERT INTO services ({SERVICES_COLS}) VALUES ('2024Q1', 'quarter', DATE '2024-01-01', DATE '2024-03-31', "
        "'ke-x', 'hiv_tests', 'f', 'total', 'total', 12.5, 41)"
    )
    eng.execute(
        "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, rows_quarantined, status, mapping) VALUES (41, 'f.csv', 'h', 'services', 'csv', 's', 'u', "
        "TIMESTAMP '2024-01-01 10:00:00', 1, 1, 1, 0, 0, 0, 'imported', NULL)"
    )
    manifest = backup(eng, tmp_path / "bk")
    assert manifest["tables"]["services"]["rows"] == 1
    tables = {
        t: eng.query(f"SELECT * FROM {t}").to_pylist() for t in ("places", "services", "imports")
    }
    eng.close()
    fresh = (
        connect(str(tmp_path / "new.duckdb")) if "://" not in engine_url else connect(engine_url)
    )
    try:
        if "://" in engine_url:
            from corridor.storage.backup import clear

            clear(fresh)
        migrate(fresh)
        restore(fresh, tmp_path / "bk")
        for t, rows in tables.items():
            assert fresh.query(f"SELECT * FROM {t}").to_pylist() == rows
        assert fresh.scalar("SELECT nextval('import_id_seq')") == 42
        if fresh.name == "postgres":  # the planner's statistics: -1 rows until analysed
            assert fresh.scalar("SELECT reltuples FROM pg_class WHERE relname = 'services'") == 1
    finally:
        fresh.close()


def test_outputs_never_overwrite_the_workspace_and_fail_cleanly(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = {p: p.read_bytes() for p in (ws / "warehouse.duckdb", ws / "corridor.toml")}
    (tmp_path / "afile").write_text("x")
    link = tmp_path / "link.csv"
    link.symlink_to(ws / "warehouse.duckdb")
    for command in (
        ["indicators", "-i", "positivity", "--format", "csv"],
        ["hotspots", "--format", "csv", "--draws", "0"],
        ["indicators", "--list", "--format", "csv"],
    ):
        for out, words in (
            (ws / "warehouse.duckdb", "workspace's own file"),
            (ws / "corridor.toml", "workspace's own file"),
            (link, "workspace's own file"),
            (tmp_path / "afile" / "x.csv", "cannot write"),
            (Path("/proc/corridor-test/x.csv"), "cannot"),
            (ws, "is a"),  # click itself refuses a folder for --out
        ):
            r = run(capsys, "-w", ws, *command, "--out", out)
            assert r.code == 2, (command, out, r.err)
            assert words in r.err and "Traceback" not in r.err, (command, out, r.err)
    assert {p: p.read_bytes() for p in keep} == keep
    assert not [p for p in ws.iterdir() if p.name.endswith(".part")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_folders(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = run(
            capsys,
            "-w",
            ws,
            "indicators",
            "-i",
            "positivity",
            "--format",
            "csv",
            "--out",
            ro / "x.csv",
        )
        assert r.code == 2 and "cannot write" in r.err
        r = run(capsys, "init", ro / "ws")
        assert r.code == 2 and "cannot create a workspace" in r.err
    finally:
        ro.chmod(0o755)


def test_init_where_a_file_is_in_the_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    r = run(capsys, "init", tmp_path / "afile" / "ws")
    assert r.code == 2 and "Traceback" not in r.err, r.err
    shutil.rmtree(tmp_path / "afile", ignore_errors=True)
    with init_workspace(tmp_path / "ok") as w:
        assert w.path == tmp_path / "ok"


def _counts(ws: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    import json

    r = run(capsys, "-w", ws, "status", "--format", "json")
    assert r.code == 0, r.err
    counts: dict[str, int] = json.loads(r.out)["counts"]
    return counts


def _edit_manifest(folder: Path, edit: str) -> None:
    import hashlib
    import json

    path = folder / "manifest.json"
    m = json.loads(path.read_text())
    if edit == "unknown version":
        m["schema_versions"].append(99)
    elif edit == "no tables":
        del m["tables"]
    elif edit == "no versions":
        del m["schema_versions"]
    elif edit == "no sha256":
        del m["tables"]["places"]["sha256"]
    elif edit == "cut parquet":  # cut short, with the manifest's hash of the cut file
        data = (folder / "services.parquet").read_bytes()[:1000]
        (folder / "services.parquet").write_bytes(data)
        m["tables"]["services"]["sha256"] = hashlib.sha256(data).hexdigest()
    path.write_text(json.dumps(m))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ("unknown version", "schema version(s) [99]"),
        ("no tables", "manifest.json has no valid 'tables'"),
        ("no versions", "manifest.json has no valid 'schema_versions'"),
        ("no sha256", "no SHA-256 for places"),
        ("cut parquet", "services.parquet is not a readable Parquet file"),
    ],
)
def test_a_refused_restore_replace_changes_nothing(
    ws: Path, tmp_path: Path, edit: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counts(ws, capsys)
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    _edit_manifest(tmp_path / "bk", edit)
    for args in ([], ["--replace"]):
        r = run(capsys, "-w", ws, "restore", tmp_path / "bk", *args)
        assert r.code == 2 and says in r.err, (edit, r.err)
        assert "Traceback" not in r.err and "internal error" not in r.err
    assert not any("replaced" in p.name for p in ws.iterdir())
    assert _counts(ws, capsys) == before


def test_restore_replace_into_a_folder_that_is_not_a_workspace(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    other = tmp_path / "notws"
    other.mkdir()
    shutil.copy(ws / "warehouse.duckdb", other / "warehouse.duckdb")
    r = run(capsys, "-w", other, "restore", tmp_path / "bk", "--replace")
    assert r.code == 2 and "not a Corridor workspace" in r.err
    assert sorted(p.name for p in other.iterdir()) == ["warehouse.duckdb"]


def test_a_restore_that_fails_leaves_the_warehouse_in_place(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backup is restored into a new file first: a restore that fails never moved the
    warehouse, and the new file is gone."""
    import corridor.storage.backup as backups

    before = _counts(ws, capsys)
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    keep = (ws / "warehouse.duckdb").read_bytes()

    def fails(engine: object, folder: Path) -> dict[str, int]:
        raise backups.BackupError("the disk is full")

    monkeypatch.setattr(backups, "restore", fails)
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
    assert r.code == 2 and "the disk is full" in r.err and "Nothing was changed" in r.err, r.err
    monkeypatch.undo()
    assert sorted(p.name for p in ws.iterdir()) == ["corridor.toml", "warehouse.duckdb"]
    assert (ws / "warehouse.duckdb").read_bytes() == keep
    assert _counts(ws, capsys) == before


def test_a_restore_that_fails_after_the_move_puts_the_warehouse_back(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import corridor.storage.replace as replacing

    before = _counts(ws, capsys)
    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0

    def fails(new: Path, file: Path) -> None:
        assert not file.exists()  # the original was moved aside
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(replacing, "_install", fails)
    r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
    assert r.code == 2 and "Input/output error" in r.err and "undone" in r.err, r.err
    monkeypatch.undo()
    assert sorted(p.name for p in ws.iterdir()) == ["corridor.toml", "warehouse.duckdb"]
    assert _counts(ws, capsys) == before


def test_restore_replace_refuses_while_another_process_holds_the_file(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    assert run(capsys, "-w", ws, "backup", tmp_path / "bk").code == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)\n",
            str(ws / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = run(capsys, "-w", ws, "restore", tmp_path / "bk", "--replace")
        assert r.code == 2 and "held by another process" in r.err, r.err
        assert "Nothing was changed" in r.err
    finally:
        holder.kill()
        holder.wait()
    assert not any("replaced" in p.name for p in ws.iterdir())


def test_a_failed_backup_leaves_nothing_behind(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import pyarrow.parquet as pq

    real = pq.write_table
    calls: list[object] = []

    def full_disk(table: object, where: object, *a: object, **k: object) -> None:
        calls.append(where)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, where, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(pq, "write_table", full_disk)
    r = run(capsys, "-w", ws, "backup", tmp_path / "bk")
    assert r.code == 2 and "No space left" in r.err and "removed" in r.err, r.err
    assert not (tmp_path / "bk").exists()
    monkeypatch.undo()
    r = run(capsys, "-w", ws, "backup", tmp_path / "bk")
    assert r.code == 0, r.err
