"""``corridor indicators``: no format lists a row whose every published count is 0.

Rows exist only where data were reported, and the cell-key method publishes a count of 1-9 as
0 most often: such a row, listed, would say that a count of 1-9 is behind it. ``publish``
leaves it out, so every format (table, CSV, JSON, HXL) does; ``--unsuppressed`` keeps it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clihelp import run
from corridor import open_workspace
from corridor.storage.recordkeys import derive_record_keys

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor
ken,Kenya,country,,ken,0.1,37.9,
ke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275,northern
ke-busia,Busia,truck_stop,ken,ken,0.46,34.1,northern
"""
GROUPS = ("migrant", "host", "sex_worker", "truck_driver")
QUERY = ("--indicator", "positivity", "--by", "place,sex,population_group", "--period", "2024Q1")


def _services() -> str:
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for i, place in enumerate(("ke-malaba", "ke-busia")):
        for j, group in enumerate(GROUPS):
            for k, sex in enumerate(("f", "m")):
                tests = 1 + (i + 2 * j + 3 * k) % 5  # few people in each cell
                lines.append(f"2024Q1,{place},hiv_tests,{sex},,{group},{tests}")
                lines.append(f"2024Q1,{place},hiv_positive,{sex},,{group},1")
    lines.append("2024Q1,ke-busia,hiv_tests,,,,400")  # and a large count
    lines.append("2024Q1,ke-busia,hiv_positive,,,,40")
    return "\n".join(lines) + "\n"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text(_services())
    for name, kind in (("places.csv", "places"), ("services.csv", "services")):
        r = run(capsys, "-w", folder, "ingest", tmp_path / name, "--kind", kind)
        assert r.code == 0, r.err
    w = open_workspace(folder)
    try:
        derive_record_keys(w.engine, 7)  # reproducible keys
    finally:
        w.close()
    return folder


def _cells(rows: list[dict[str, str]]) -> set[tuple[str, ...]]:
    return {(r["place_code"], r["sex"], r["population_group"]) for r in rows}


def _all_zero(row: dict[str, object]) -> bool:
    counts = [row[c] for c in ("numerator", "denominator") if row[c] not in (None, "")]
    return bool(counts) and all(float(str(c)) == 0 for c in counts)


def test_no_format_lists_a_row_published_as_zeros(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run(capsys, "-w", ws, "indicators", *QUERY, "--totals", "--format", "csv")
    assert r.code == 0, r.err
    shown = list(csv.DictReader(io.StringIO(r.out)))
    assert shown and not [x for x in shown if _all_zero(x)]
    r = run(capsys, "-w", ws, "indicators", *QUERY, "--totals", "--format", "csv", "--unsuppressed")
    assert r.code == 0, r.err
    every = list(csv.DictReader(io.StringIO(r.out)))
    assert _cells(shown) < _cells(every)  # rows are left out, none added
    for x in every:
        if (x["place_code"], x["sex"], x["population_group"]) not in _cells(shown):
            assert float(x["numerator"]) < 10 and float(x["denominator"]) < 10, x
    r = run(capsys, "-w", ws, "indicators", *QUERY, "--totals", "--format", "json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)["rows"]
    assert _cells(rows) == _cells(shown)
    assert not [x for x in rows if _all_zero(x)]
    r = run(capsys, "-w", ws, "indicators", *QUERY, "--totals", "--format", "hxl")
    assert r.code == 0, r.err
    assert len(list(csv.reader(io.StringIO(r.out)))) == len(shown) + 2  # header and HXL tags
