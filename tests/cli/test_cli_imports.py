"""``corridor imports`` and ``corridor quarantine`` as a user sees them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clihelp import run

PLACES = "place_code,name,place_type,parent_code,country_code,lat,lon\nken,Kenya,country,,ken,0.1,37.9\nke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275\n"
SERVICES = "period,place_code,data_element,sex,age_band,population_group,value\n2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,12\n2024Q1,ke-malaba,hiv_tests,m,15-24,truck_driver,-3\n2024Q1,ke-nowhere,hiv_tests,m,15-24,truck_driver,5\n"
FIXED = "period,place_code,data_element,sex,age_band,population_group,value\n2024Q1,ke-malaba,hiv_tests,f,15-24,truck_driver,14\n"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text(SERVICES)
    (tmp_path / "fixed.csv").write_text(FIXED)
    assert (
        run(capsys, "-w", folder, "ingest", tmp_path / "places.csv", "--kind", "places").code == 0
    )
    r = run(
        capsys,
        "-w",
        folder,
        "ingest",
        tmp_path / "services.csv",
        "--kind",
        "services",
        "--quarantine",
    )
    assert r.code == 0, r.err
    r = run(capsys, "-w", folder, "ingest", tmp_path / "fixed.csv", "--kind", "services")
    assert r.code == 0, r.err
    return folder


def test_imports_lists_provenance(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "-w", ws, "imports", "--format", "json")
    assert r.code == 0, r.err
    imports = json.loads(r.out)
    assert [(i["import_id"], i["file_name"], i["kind"]) for i in imports] == [
        (1, "places.csv", "places"),
        (2, "services.csv", "services"),
        (3, "fixed.csv", "services"),
    ]
    second, third = imports[1], imports[2]
    assert len(second["sha256"]) == 64 and second["format"] == "csv"
    assert (second["rows_read"], second["rows_new"], second["rows_quarantined"]) == (3, 1, 2)
    assert third["replaced_imports"] == [2] and third["rows_replaced"] == 1
    assert second["user_name"] and second["imported_at"].startswith("20")
    r = run(capsys, "-w", ws, "imports")  # the table, for people
    assert r.code == 0 and "fixed.csv" in r.out and second["sha256"][:12] in r.out
    r = run(capsys, "-w", ws, "imports", "--kind", "places", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["file_name"] for row in rows] == ["places.csv"]


def test_quarantine_lists_file_row_column_value_reason(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", ws, "quarantine", "--format", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [(q["file_name"], q["row"], q["column"], q["value"]) for q in rows] == [
        ("services.csv", "2", "value", "-3"),  # data-row numbers: the header is not a row
        ("services.csv", "3", "place_code", "ke-nowhere"),
    ]
    assert all(q["reason"] for q in rows)
    r = run(capsys, "-w", ws, "quarantine")
    assert r.code == 0 and "ke-nowhere" in r.out and "services.csv" in r.out
    r = run(capsys, "-w", ws, "quarantine", "--import", "3", "--format", "json")
    assert r.code == 0 and json.loads(r.out) == []


def test_quarantine_of_an_unknown_import_is_a_user_error(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", ws, "quarantine", "--import", "99")
    assert r.code == 2
    assert "no import 99" in r.err and "Traceback" not in r.err


def test_empty_workspace_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", tmp_path / "empty").code == 0
    r = run(capsys, "-w", tmp_path / "empty", "imports")
    assert r.code == 0 and "no imports yet" in r.err
    r = run(capsys, "-w", tmp_path / "empty", "quarantine")
    assert r.code == 0 and "no quarantined rows" in r.err
