"""The CLI as a user sees it: exit codes, messages, files and warehouse state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import run

PLACES = "place_code,name,place_type,parent_code,country_code,lat,lon\nken,Kenya,country,,ken,0.1,37.9\nke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275\n"
SERVICES = "period,place_code,data_element,sex,age_band,population_group,value\n2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,12\n"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    r = run(capsys, "init", str(folder))
    assert r.code == 0, r.err
    assert (folder / "corridor.toml").is_file()
    assert (folder / "warehouse.duckdb").is_file()
    return folder


def status(capsys: pytest.CaptureFixture[str], ws: Path) -> dict:  # type: ignore[type-arg]
    r = run(capsys, "-w", str(ws), "status", "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_ingest_and_status(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.csv").write_text(PLACES)
    (tmp_path / "s.csv").write_text(SERVICES)
    r = run(capsys, "-w", str(ws), "ingest", str(tmp_path / "p.csv"), "--kind", "places")
    assert r.code == 0 and "2 new" in r.out
    r = run(capsys, "-w", str(ws), "ingest", str(tmp_path / "s.csv"), "--kind", "services")
    assert r.code == 0 and "1 new" in r.out
    info = status(capsys, ws)
    assert info["counts"] == {"places": 2, "flows": 0, "services": 1, "cases": 0}
    assert [i["kind"] for i in info["imports"]] == ["services", "places"]
    assert len(info["imports"][0]["sha256"]) == 64
    r = run(capsys, "-w", str(ws), "ingest", str(tmp_path / "s.csv"), "--kind", "services")
    assert r.code == 0 and "already imported" in r.out
    assert status(capsys, ws)["counts"]["services"] == 1


def test_bad_input_exits_2_with_file_row_column_value_reason(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.csv").write_text(PLACES)
    run(capsys, "-w", str(ws), "ingest", str(tmp_path / "p.csv"), "--kind", "places")
    before = status(capsys, ws)
    (tmp_path / "bad.csv").write_text(
        SERVICES + "2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,-4\n"
    )
    r = run(capsys, "-w", str(ws), "ingest", str(tmp_path / "bad.csv"), "--kind", "services")
    assert r.code == 2
    assert "bad.csv, row 2, column 'value', value '-4': negative" in r.err
    assert "Traceback" not in r.err
    assert status(capsys, ws) == before


def test_many_problems_are_summarised(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(f"2024Q1,nowhere{i},hiv_tests,,,,1\n" for i in range(50))
    (tmp_path / "bad.csv").write_text(SERVICES.splitlines()[0] + "\n" + lines)
    r = run(capsys, "-w", str(ws), "ingest", str(tmp_path / "bad.csv"), "--kind", "services")
    assert r.code == 2
    assert "50 problem(s)" in r.err and "and 30 more problem(s)" in r.err


def test_quarantine_and_dry_run(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.csv").write_text(PLACES)
    run(capsys, "-w", str(ws), "ingest", str(tmp_path / "p.csv"), "--kind", "places")
    (tmp_path / "s.csv").write_text(
        SERVICES + "2024Q9,ke-malaba,hiv_tests,f,15-24,truck_driver,4\n"
    )
    r = run(
        capsys, "-w", str(ws), "ingest", str(tmp_path / "s.csv"), "--kind", "services", "--dry-run"
    )
    assert r.code == 2 and "dry run" in r.err
    r = run(
        capsys,
        "-w",
        str(ws),
        "ingest",
        str(tmp_path / "s.csv"),
        "--kind",
        "services",
        "--quarantine",
    )
    assert r.code == 0 and "1 invalid row(s) quarantined" in r.out
    info = status(capsys, ws)
    assert info["counts"]["services"] == 1 and info["quarantine"] == 1


def test_workspace_found_from_env_and_upward(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = ws / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run(capsys, "status").code == 0
    monkeypatch.chdir(ws.parent)
    monkeypatch.setenv("CORRIDOR_WORKSPACE", str(ws))
    assert run(capsys, "status").code == 0


def test_no_workspace_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CORRIDOR_WORKSPACE", raising=False)
    r = run(capsys, "status")
    assert r.code == 2 and "no workspace found" in r.err


def test_bad_flags_and_settings_exit_2(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "-w", str(ws), "ingest", "x.csv", "--kind", "planets").code == 2
    monkeypatch.setenv("CORRIDOR_SUPPRESSION_THRESHOLD", "ten")
    r = run(capsys, "-w", str(ws), "status")
    assert r.code == 2 and "CORRIDOR_SUPPRESSION_THRESHOLD" in r.err


def test_unreachable_database_exits_2(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "-w", str(ws), "--db", "postgresql://nobody@127.0.0.1:1/none", "status")
    assert r.code == 2 and "cannot connect to PostgreSQL" in r.err


@pytest.mark.postgres
def test_postgres_workspace_via_db_flag(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pgws"
    assert run(capsys, "--db", pg_database, "init", str(folder)).code == 0
    (tmp_path / "p.csv").write_text(PLACES)
    r = run(
        capsys,
        "-w",
        str(folder),
        "--db",
        pg_database,
        "ingest",
        str(tmp_path / "p.csv"),
        "--kind",
        "places",
    )
    assert r.code == 0, r.err
    r = run(capsys, "-w", str(folder), "--db", pg_database, "status", "--format", "json")
    assert json.loads(r.out)["database"] == "postgres"
    assert json.loads(r.out)["counts"]["places"] == 2
