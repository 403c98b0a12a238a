"""A tidy workbook whose date cell is shown as a month or a year: the cell holds the day, and read
as that day a month's or a year's count would become one day's. `corridor ingest` refuses it
(exit 2, file, row, column, value and reason, nothing imported); a date shown with its day is
read as that day, as before."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from clihelp import run

PLACES = (
    "place_code,name,place_type,parent_code,country_code\n"
    "ken,Kenya,country,,ken\nke-malaba,Malaba,border_crossing,ken,ken\n"
)
SERVICES = ["period", "place_code", "data_element", "sex", "age_band", "population_group", "value"]
FLOWS = [
    *("period_start", "period_end", "observation_code", "direction", "origin_code"),
    *("destination_code", "sex", "age_band", "population_group", "mode", "count"),
]

#: a flow's columns after its period
FLOW = ("ke-malaba", "incoming", "ken", "ke-malaba", "f", "15-24", "truck_driver", "truck", 40)


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    (tmp_path / "p.csv").write_text(PLACES)
    assert run(capsys, "-w", folder, "ingest", tmp_path / "p.csv", "--kind", "places").code == 0
    return folder


def _book(path: Path, header: list[str], rows: list[list[Any]], formats: dict[str, str]) -> Path:
    """A workbook of ``rows`` under ``header``; the date cells of the columns in ``formats``
    get that number format."""
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for name, number_format in formats.items():
        col = header.index(name) + 1
        for r in range(2, len(rows) + 2):
            sheet.cell(row=r, column=col).number_format = number_format
    wb.save(path)
    return path


def _count(capsys: pytest.CaptureFixture[str], ws: Path, table: str) -> int:
    r = run(capsys, "-w", ws, "status", "--format", "json")
    assert r.code == 0, r.err
    return int(json.loads(r.out)["counts"][table])


@pytest.mark.parametrize(
    ("number_format", "unit", "text"), [("mmm-yy", "month", "YYYY-MM"), ("yyyy", "year", "YYYY")]
)
def test_a_period_shown_as_a_month_or_a_year_is_refused_not_read_as_a_day(
    ws: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    number_format: str,
    unit: str,
    text: str,
) -> None:
    book = _book(
        tmp_path / "services.xlsx",
        SERVICES,
        [
            [date(2024, 3, 1), "ke-malaba", "hiv_tests", "f", "15-24", "migrant", 5],
            [date(2024, 3, 1), "ke-malaba", "hiv_tests", "m", "15-24", "migrant", 7],
        ],
        {"period": number_format},
    )
    r = run(capsys, "-w", ws, "ingest", book, "--kind", "services")
    assert r.code == 2, r.err
    for row in (1, 2):
        assert (
            f"{book}, row {row}, column 'period', value '2024-03-01': a date shown as a {unit} "
            f"(number format '{number_format}'): the sheet shows the {unit}, the cell holds the "
            f"day; write the {unit} as text ({text}) or show the day" in r.err
        )
    assert "Traceback" not in r.err
    assert _count(capsys, ws, "services") == 0


def test_a_period_end_shown_as_a_year_is_refused(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The end of a year's flows typed as 2024 in a cell Excel made a date: it holds 1 January,
    which read as the end would make the flows of a year those of its first day."""
    book = _book(
        tmp_path / "flows.xlsx",
        FLOWS,
        [[date(2024, 1, 1), date(2024, 1, 1), *FLOW]],
        {"period_end": "yyyy"},
    )
    r = run(capsys, "-w", ws, "ingest", book, "--kind", "flows")
    assert r.code == 2, r.err
    assert f"{book}, row 1, column 'period_end', value '2024-01-01': a date shown as a year" in (
        r.err
    )
    assert "column 'period_start'" not in r.err
    assert _count(capsys, ws, "flows") == 0


def test_a_date_shown_with_its_day_is_read_as_that_day(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = _book(
        tmp_path / "flows.xlsx",
        FLOWS,
        [[date(2024, 3, 1), date(2024, 3, 31), *FLOW]],
        {"period_start": "yyyy-mm-dd", "period_end": "dd/mm/yyyy"},
    )
    r = run(capsys, "-w", ws, "ingest", book, "--kind", "flows")
    assert r.code == 0, r.err
    assert _count(capsys, ws, "flows") == 1
