"""The period of a DTM flow-monitoring registry (column ``t``) as a user imports it.

A year (``2024``) is a period the flows contract holds (``period_start`` to ``period_end``, any
span): it is read as the whole year, 1 January to 31 December, as a month is read as its first
to last day. In a workbook, a date that the sheet shows as a year (number format ``yyyy``) was
read as the day it holds, 1 January: a year's count stored as one day's. It is now read as the
sheet shows it, the year, when it is 1 January, and refused otherwise (the sheet shows a year,
the cell holds another day); so is a date shown as a month without its year (``mmmm``), which
was read as a day too.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from clihelp import run
from corridor.storage.engine import connect

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = ["t", "fmp", "movement", "origin", "sex", "n"]
#: the origins of a workbook's rows, one a row: rows of one period are other flows
ORIGINS = ("uga", "tza", "ken", "ke-nairobi", "ke-mombasa", "ke-busia")


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    places = EXAMPLES / "places.csv"
    assert run(capsys, "-w", folder, "ingest", places, "--kind", "places").code == 0
    return folder


def periods(ws: Path) -> list[tuple[str, str, int]]:
    eng = connect(str(ws / "warehouse.duckdb"))
    try:
        rows = eng.query(
            "SELECT CAST(period_start AS VARCHAR) AS s, CAST(period_end AS VARCHAR) AS e, "
            "CAST(count AS INTEGER) AS n FROM flows ORDER BY n",
            step="test: flows",
        ).to_pylist()
    finally:
        eng.close()
    return [(r["s"], r["e"], r["n"]) for r in rows]


def count(capsys: pytest.CaptureFixture[str], ws: Path) -> int:
    r = run(capsys, "-w", ws, "status", "--format", "json")
    assert r.code == 0, r.err
    return int(json.loads(r.out)["counts"]["flows"])


def workbook(path: Path, rows: list[tuple[Any, str | None]]) -> Path:
    """A DTM registry workbook whose ``t`` cells are ``rows``' values, each with its number
    format (None: Excel's General)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "flows"
    ws.append(HEADER)
    for i, (t, number_format) in enumerate(rows, start=1):
        ws.append([t, "FMP-KE-001", "in", ORIGINS[i - 1], "f", i])
        if number_format is not None:
            ws.cell(ws.max_row, 1).number_format = number_format
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())
    return path


def test_a_year_in_a_dtm_csv_is_the_whole_year(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "fmr.csv"
    registry.write_text(
        ",".join(HEADER) + "\n2024,FMP-KE-001,in,UGA,f,1\n2024-03,FMP-KE-001,in,UGA,f,2\n"
        "2024-03-15,FMP-KE-001,in,UGA,f,3\n202402,FMP-KE-001,in,UGA,f,4\n"
    )
    r = run(capsys, "-w", ws, "ingest", registry, "--kind", "flows")
    assert r.code == 0, r.err
    assert "(dtm-fmr)" in r.out and "4 new" in r.out
    assert periods(ws) == [
        ("2024-01-01", "2024-12-31", 1),
        ("2024-03-01", "2024-03-31", 2),
        ("2024-03-15", "2024-03-15", 3),
        ("2024-02-01", "2024-02-29", 4),
    ]


def test_a_year_outside_the_accepted_years_names_the_row_and_the_reason(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "fmr.csv"
    registry.write_text(
        ",".join(HEADER) + "\n2024,FMP-KE-001,in,UGA,f,1\n1899,FMP-KE-001,in,UGA,f,2\n"
        "2024Q1,FMP-KE-001,in,UGA,f,3\n"
    )
    r = run(capsys, "-w", ws, "ingest", registry, "--kind", "flows")
    assert r.code == 2
    assert (
        f"{registry}, row 2, column 't', value '1899': year 1899 is outside the accepted years "
        "1900-2100" in r.err
    )
    assert (
        f"{registry}, row 3, column 't', value '2024Q1': not a year (YYYY), a month (YYYY-MM) "
        "or a date (YYYY-MM-DD)" in r.err
    )
    assert "Traceback" not in r.err and count(capsys, ws) == 0


def test_workbook_dates_are_read_as_the_sheet_shows_them(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = workbook(
        tmp_path / "fmr.xlsx",
        [
            (datetime(2024, 1, 1), "yyyy"),  # shows 2024
            (2024, None),  # the number 2024, as typed
            ("2024", "@"),  # text
            (datetime(2024, 3, 1), "mmmm"),  # shows March: the month, not its first day
            (datetime(2024, 3, 1), "mmm-yy"),
            (datetime(2024, 3, 1), "yyyy-mm-dd"),  # shows the day
        ],
    )
    r = run(capsys, "-w", ws, "ingest", registry, "--kind", "flows")
    assert r.code == 0, r.err
    assert "(dtm-fmr-xlsx)" in r.out and "6 new" in r.out
    assert periods(ws) == [
        ("2024-01-01", "2024-12-31", 1),
        ("2024-01-01", "2024-12-31", 2),
        ("2024-01-01", "2024-12-31", 3),
        ("2024-03-01", "2024-03-31", 4),
        ("2024-03-01", "2024-03-31", 5),
        ("2024-03-01", "2024-03-01", 6),
    ]


def test_a_workbook_date_shown_as_a_year_that_is_not_its_first_day_is_refused(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = workbook(
        tmp_path / "fmr.xlsx",
        [
            (datetime(2024, 1, 1), "yyyy"),
            (datetime(2024, 7, 1), "yyyy"),  # shows 2024, holds 1 July
            (datetime(2024, 1, 1), '"Q1 "yyyy'),  # shows Q1 2024: a year? a quarter?
            (datetime(2024, 3, 15), "mmmm"),  # shows March, holds the 15th
        ],
    )
    for extra in ([], ["--dry-run"]):
        r = run(capsys, "-w", ws, "ingest", registry, "--kind", "flows", *extra)
        assert r.code == 2, r.err
        err = " ".join(r.err.split())
        assert (
            f"{registry}, row 2, column 't', value '2024-07-01': a date shown as a year (number "
            "format 'yyyy'): the sheet shows the year, the cell holds the day; write the year "
            "as text (YYYY) or show the day" in err
        )
        assert (
            f"{registry}, row 3, column 't', value '2024-01-01': a date shown as a year with "
            "text of its own (number format '\"Q1 \"yyyy'): the sheet shows 'Q1' beside the "
            "year" in err
        )
        assert (
            f"{registry}, row 4, column 't', value '2024-03-15': a date shown as a month "
            "(number format 'mmmm')" in err
        )
        assert "row 1," not in err and "Traceback" not in r.err
    assert count(capsys, ws) == 0
