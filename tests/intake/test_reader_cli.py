"""``corridor ingest`` with the new formats, through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAPPING = str(EXAMPLES / "dhis2-mapping.yaml")


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "ws")
    assert run(capsys, "init", path)[0] == 0
    places = [str(EXAMPLES / p) for p in ("places.csv", "places-hxl.csv", "places.geojson")]
    code, out, _ = run(capsys, "-w", path, "ingest", *places, "--kind", "places")
    assert code == 0 and "places.geojson: imported as places (geojson)" in out
    return path


def test_ingest_dhis2_json_with_explicit_format(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "-w", ws, "ingest", EXAMPLES / "services-dhis2.json", "--kind", "services",
        "--format", "dhis2-json", "--mapping", MAPPING,
    )  # fmt: skip
    assert code == 0, err
    assert "imported as services (dhis2-json)" in out and "5 new" in out
    assert "skipped 1 value(s) marked deleted" in " ".join(err.split())  # rich wraps lines


def test_ingest_json_output_and_dry_run(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-w", ws, "ingest", EXAMPLES / "flows-dtm.csv", "--kind", "flows", "--mapping", MAPPING]
    code, out, _ = run(capsys, *args, "--dry-run")
    assert code == 0 and "dry run, nothing imported" in out
    code, out, _ = run(capsys, *args, "--format-out", "json")
    (result,) = json.loads(out)
    assert (result["format"], result["status"], result["rows_new"]) == ("dtm-fmr", "imported", 6)
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    assert json.loads(out)["counts"]["flows"] == 6


def test_ingest_adx_and_xlsx_auto(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "-w", ws, "ingest", EXAMPLES / "services.adx.xml", EXAMPLES / "services.xlsx",
        "--kind", "services", "--mapping", MAPPING,
    )  # fmt: skip
    assert code == 0, err
    assert "(adx)" in out and "(xlsx)" in out


def test_quarantine_keeps_untranslated_rows(
    ws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "dhis2.csv"
    bad.write_text(
        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
        "fbfJHSPpUQD,202401,Kb7TGDaJzQs,HllvX50cXC0,HllvX50cXC0,3\n"
        "fbfJHSPpUQD,202401,NoSuchOrgUn,HllvX50cXC0,HllvX50cXC0,4\n",
        encoding="utf-8",
    )
    args = ["-w", ws, "ingest", bad, "--kind", "services", "--mapping", MAPPING]
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "row 2, column 'orgUnit', value 'NoSuchOrgUn': unknown org unit" in err
    code, out, _ = run(capsys, *args, "--quarantine")
    assert code == 0 and "1 invalid row(s) quarantined" in out
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    info = json.loads(out)
    # one problem: the untranslated org unit is not reported again as an unknown place code
    assert (info["counts"]["services"], info["quarantine"]) == (1, 1)


def test_wrong_kind_for_the_format(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-w", ws, "ingest", EXAMPLES / "places.geojson", "--kind", "flows")
    assert code == 2
    assert "places.geojson" in err and "--kind places" in err
