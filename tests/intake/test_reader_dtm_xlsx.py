"""A DTM flow-monitoring registry saved as an Excel workbook (``dtm-fmr-xlsx``).

DTM registries are often shared as workbooks. One was detected as a tidy workbook and refused
column by column ("required column missing" for period_start, observation_code, ...), and
``--format dtm-fmr`` refused it as "not CSV": there was no way to import it but to save it as
CSV first. It is now detected from its first sheet's header (the rule of a DTM CSV's first
line) and read by the XLSX reader's functions and the DTM reader's rules.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from corridor.errors import InputError
from corridor.intake.dtm import read_dtm
from corridor.intake.formats import detect_format
from corridor.intake.importer import ingest
from corridor.intake.rawtable import RawTable, ReadContext
from corridor.storage.duckdb import DuckDBEngine
from corridor.storage.migrations import migrate

EXAMPLES = Path(__file__).parents[2] / "examples"
MAPPING: dict[str, Any] = {
    "fmp": {"FMP-KE-001": "ke-busia-osbp", "BSA": "ke-busia-osbp"},
    "locations": {"Nairobi": "ke-nairobi", "Kampala": "uga"},
}
HINT = "(or with --format auto, the default, which detects the format)"


def workbook(sheets: dict[str, list[list[Any]]], t_format: str | None = None) -> bytes:
    """A workbook of ``sheets`` (title -> rows); ``t_format``: the number format of the first
    column's cells below the header."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if t_format:
            for (cell,) in ws.iter_rows(min_row=2, max_col=1):
                cell.number_format = t_format
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def example_rows() -> list[list[Any]]:
    """examples/flows-dtm.csv as a spreadsheet holds it: counts as numbers."""
    rows = list(csv.reader(io.StringIO((EXAMPLES / "flows-dtm.csv").read_text("utf-8"))))
    n = rows[0].index("n")
    return [rows[0]] + [[int(c) if i == n else c for i, c in enumerate(r)] for r in rows[1:]]


def read(data: bytes, mapping: dict[str, Any] | None = MAPPING) -> RawTable:
    from corridor.intake.dtm import read_dtm_xlsx

    return read_dtm_xlsx(Path("f.xlsx"), data, "flows", ReadContext("f.xlsx", mapping))


def _engine() -> DuckDBEngine:
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    ingest(eng, [EXAMPLES / "places.csv"], "places")
    return eng


def test_a_dtm_workbook_is_read_as_its_csv() -> None:
    data = workbook({"Registry": example_rows()})
    got = read(data)
    csv_bytes = (EXAMPLES / "flows-dtm.csv").read_bytes()
    want = read_dtm(Path("f.xlsx"), csv_bytes, "flows", ReadContext("f.xlsx", MAPPING))
    assert got.format == "dtm-fmr-xlsx" and want.format == "dtm-fmr"
    assert got.frame.to_dicts() == want.frame.to_dicts()
    assert (got.problems, got.warnings, got.mapping) == (want.problems, want.warnings, MAPPING)


@pytest.mark.parametrize(
    ("sheets", "fmt"),
    [
        ({"Registry": example_rows()}, "dtm-fmr-xlsx"),
        # the sheet a flows import reads: named flows, else the first
        ({"README": [["notes"]], "Flows": example_rows()}, "dtm-fmr-xlsx"),
        ({"README": [["notes"]], "data": example_rows()}, "xlsx"),
        # aliases, any case, empty rows above the header
        ({"s": [[], [None, None], ["Date", "FMP", "Movement", "Count"],
                ["2024-03", "BSA", "in", 5]]}, "dtm-fmr-xlsx"),
        # a tidy workbook, and tidy tables one a sheet (a services sheet beside the registry)
        ({"flows": [["period_start", "period_end", "observation_code", "direction", "count"]]},
         "xlsx"),
        ({"flows": example_rows(), "services": [["period", "place_code"]]}, "xlsx"),
    ],
)  # fmt: skip
def test_format_detection_reads_the_header_of_the_sheet(
    sheets: dict[str, list[list[Any]]], fmt: str
) -> None:
    assert detect_format(Path("f"), workbook(sheets)) == fmt


def test_format_detection_of_other_workbooks_is_unchanged() -> None:
    assert detect_format(Path("s.xlsx"), (EXAMPLES / "services.xlsx").read_bytes()) == "xlsx"
    data = workbook({"Registry": example_rows() * 3000})
    assert len(data) > 65536
    assert detect_format(Path("f.xlsx"), data) == "dtm-fmr-xlsx"
    # the importer's first look (the first 64 KB, not a readable zip): the reader's to explain
    assert detect_format(Path("f.xlsx"), data[:65536]) == "xlsx"
    assert detect_format(Path("f.xlsx"), b"PK\x03\x04" + b"\x00" * 50) == "xlsx"


def test_a_dtm_workbook_is_imported_by_format_auto_or_not_at_all(tmp_path: Path) -> None:
    rows = [["t", "fmp", "movement", "Gender", "Age Group", "n"]] + [
        ["2024-03", "ke-busia-osbp", move, sex, age, n]
        for move, sex, age, n in [
            ("in", "Male", "15-24", 5),
            ("in", "Male", "25-34", 5),
            ("in", "Female", "15-24", 3),
            ("out", "F", "50+", 2),
        ]
    ]
    eng = _engine()
    try:
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(
            workbook({"Registry": [*rows, ["2024-03", "ke-busia-osbp", "in", "?", "", 1]]})
        )
        with pytest.raises(InputError) as err:
            ingest(eng, [bad], "flows")
        assert [(p.file, p.row, p.column, p.value) for p in err.value.problems] == [
            (str(bad), 5, "gender", "?")
        ]
        assert eng.scalar("SELECT COUNT(*) FROM flows") == 0
        good = tmp_path / "good.xlsx"
        good.write_bytes(workbook({"Registry": rows}))
        [result] = ingest(eng, [good], "flows")
        assert (result.format, result.rows_new, result.problems, result.warnings) == (
            "dtm-fmr-xlsx", 4, [], []
        )  # fmt: skip
        got = eng.query_rows("SELECT direction, sex, age_band, count FROM flows ORDER BY 1, 2, 3")
        assert got == [
            ("incoming", "f", "15-24", 3),
            ("incoming", "m", "15-24", 5),
            ("incoming", "m", "25-34", 5),
            ("outgoing", "f", "50+", 2),
        ]
        assert eng.query_rows("SELECT format FROM imports WHERE kind = 'flows'") == [
            ("dtm-fmr-xlsx",)
        ]
        # and with the format named
        [again] = ingest(eng, [good], "flows", fmt="dtm-fmr-xlsx")
        assert again.status == "unchanged"
    finally:
        eng.close()


def test_rows_are_numbered_as_in_the_csv() -> None:
    """The row after the header is row 1 (Excel's row 2); empty rows above the header keep
    their numbers, as in the CSV and in a tidy workbook."""
    rows: list[list[Any]] = [
        [],
        ["t", "fmp", "movement", "sex", "n"],
        ["2024-03", "BSA", "in", "M", 5],
        [],
        ["2024-03", "BSA", "sideways", "Q", 2],
    ]
    got = read(workbook({"r": rows}))
    text = "\n".join(",".join(str(c) for c in r) for r in rows) + "\n"
    want = read_dtm(Path("f.csv"), text.encode(), "flows", ReadContext("f.xlsx", MAPPING))
    assert [(p.row, p.column, p.value) for p in got.problems] == [
        (4, "movement", "sideways"),
        (4, "sex", "Q"),
    ]
    assert got.problems == want.problems
    assert got.frame["_row"].to_list() == want.frame["_row"].to_list() == [2, 4]


def test_the_xlsx_readers_refusals_hold() -> None:
    """Merged cells and formulas without a stored value are problems in the DTM columns, and a
    stale stored dimension loses no row, as for a tidy workbook."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Registry"
    for row in [
        ["t", "fmp", "movement", "sex", "n", "notes"],
        ["2024-03", "BSA", "in", "F", 10, "a"],
        ["2024-03", "BSA", "out", None, 12, "b"],
        ["2024-03", "BSA", "transit", "M", "=1+1", "c"],
        ["2024-04", "BSA", "in", "M", 3, "d"],
    ]:
        ws.append(row)
    ws.merge_cells("D2:D3")  # sex 'F' shown on two rows: the second would be a total
    ws.merge_cells("F4:F5")  # notes: not read
    buf = io.BytesIO()
    wb.save(buf)
    got = read(buf.getvalue())
    assert [(p.row, p.column, p.value) for p in got.problems] == [
        (1, "sex", "F"),
        (2, "sex", "F"),
        (3, "n", "=1+1"),
    ]
    assert "merged cells D2:D3" in got.problems[0].reason
    assert got.problems[2].reason == "formula without a stored value"
    # a stale <dimension> (programs leave it so): every row is read
    stale = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(stale, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:C2"/>', body)
            dst.writestr(item, body)
    assert read(stale.getvalue()).frame["count"].to_list() == ["10", "12", None, "3"]


def _zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in files.items():
            z.writestr(name, body)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old Excel 97-2003 (.xls) file"),
        (b"PK\x03\x04" + b"\x00" * 50, "not an XLSX file (not a zip archive)"),
        (_zipped({"flows-dtm.csv": b"t,fmp"}), "a zip archive, not an XLSX workbook"),
    ],
)
def test_files_that_are_not_workbooks_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=re.escape(reason)) as err:
        read(data)
    assert err.value.problems[0].file == "f.xlsx"


def test_a_month_that_excel_made_a_date_is_that_month() -> None:
    """Excel makes ``2024-03`` typed in a cell the date 1 March 2024, shown ``Mar-24``: read as
    the day it would be a month's count stored as one day's."""
    rows: list[list[Any]] = [
        ["t", "fmp", "movement", "n"],
        [datetime(2024, 3, 1), "BSA", "in", 5],
        [datetime(2024, 2, 1), "BSA", "in", 4],
        [datetime(2024, 3, 15), "BSA", "out", 2],
    ]
    got = read(workbook({"r": rows}, t_format="mmm-yy"))
    assert got.frame.select("period_start", "period_end").rows() == [
        ("2024-03-01", "2024-03-31"),
        ("2024-02-01", "2024-02-29"),
        ("2024-03-15", "2024-03-15"),
    ]
    [p] = got.problems  # shown as a month, but the cell holds another day: which is meant?
    assert (p.row, p.column, p.value) == (3, "t", "2024-03-15")
    assert p.reason.startswith("a date shown as a month (number format 'mmm-yy')")
    # a date shown with its day is that day
    days = read(workbook({"r": rows}, t_format="yyyy-mm-dd"))
    assert days.problems == []
    assert days.frame["period_end"].to_list() == ["2024-03-01", "2024-02-01", "2024-03-15"]


@pytest.mark.parametrize(
    ("number_format", "shown"),
    [
        ("mmm-yy", "month"),
        ("yyyy-mm", "month"),
        ("[$-409]mmmm yyyy;@", "month"),
        ("mmmm", "month"),  # the month without its year: still not a day
        ("yyyy", "year"),
        ("yy", "year"),
        ('"FY"yyyy', "year"),
        ("yyyy-mm-dd", None),
        ("d-mmm", None),
        ("yyyy-mm-dd hh:mm", None),
        ("mm:ss", None),
        ("General", None),
    ],
)
def test_what_a_number_format_shows_of_a_date(number_format: str, shown: str | None) -> None:
    from corridor.intake.xlsx import date_shown_as

    assert date_shown_as(number_format) == shown


def test_a_date_that_the_sheet_shows_as_a_year_is_that_year() -> None:
    """A date shown as a year (``yyyy``) was read as the day it holds: a year's count stored
    as 1 January's."""
    rows: list[list[Any]] = [
        ["t", "fmp", "movement", "n"],
        [datetime(2024, 1, 1), "BSA", "in", 5],
        [datetime(2024, 6, 30), "BSA", "out", 2],
    ]
    got = read(workbook({"r": rows}, t_format="yyyy"))
    assert got.frame.select("period_start", "period_end").rows()[0] == ("2024-01-01", "2024-12-31")
    [p] = got.problems
    assert (p.row, p.column, p.value) == (2, "t", "2024-06-30")
    assert p.reason.startswith("a date shown as a year (number format 'yyyy')")


def _refusal(path: Path, kind: str, fmt: str) -> str:
    eng = _engine()
    try:
        with pytest.raises(InputError) as err:
            ingest(eng, [path], kind, fmt=fmt)
        assert eng.scalar(f"SELECT COUNT(*) FROM {kind}") == 0
    finally:
        eng.close()
    [p] = err.value.problems
    assert (p.file, p.row, p.column) == (str(path), None, None)
    return p.reason


def test_a_dtm_workbook_given_another_format_names_dtm_fmr_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "dtm.xlsx"
    path.write_bytes(workbook({"Registry": example_rows() * 3000}))  # more than 64 KB
    looks = (
        "it looks like a DTM flow-monitoring registry (Excel workbook): import it with "
        f"--format dtm-fmr-xlsx {HINT}"
    )
    assert _refusal(path, "flows", "xlsx") == (
        "not a tidy workbook: its header (sheet 'Registry', row 1) names t, fmp, movement, n and "
        "lacks the flows contract's column(s) period_start, period_end, observation_code, "
        f"direction, count; {looks}"
    )
    for fmt in ("dtm-fmr", "csv", "hxl"):
        assert _refusal(path, "flows", fmt) == f"not CSV: binary content, not text; {looks}"
    assert _refusal(path, "services", "auto") == (
        "a DTM flow-monitoring registry holds flows: use --kind flows"
    )
    # a workbook whose tidy sheets make detection say xlsx: the hint says what reads it
    both = tmp_path / "both.xlsx"
    both.write_bytes(workbook({"flows": example_rows(), "services": [["period"]]}))
    assert _refusal(both, "flows", "auto").endswith(
        "it looks like a DTM flow-monitoring registry (Excel workbook): import it with "
        "--format dtm-fmr-xlsx"
    )
    # the CSV given the workbook's format
    text = tmp_path / "dtm.csv"
    text.write_bytes((EXAMPLES / "flows-dtm.csv").read_bytes())
    assert _refusal(text, "flows", "dtm-fmr-xlsx") == (
        "not an XLSX workbook (not a zip archive); it looks like a DTM flow-monitoring registry "
        f"(CSV): import it with --format dtm-fmr {HINT}"
    )


def test_the_cli_imports_a_dtm_workbook_and_refuses_it_as_xlsx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clihelp import run

    book = tmp_path / "registry.xlsx"
    book.write_bytes(workbook({"Registry": [["t", "fmp", "movement", "n"],
                                            ["2024-03", "ke-busia-osbp", "in", 5]]}))  # fmt: skip
    ws = str(tmp_path / "ws")
    assert run(capsys, "init", ws)[0] == 0
    assert run(capsys, "-w", ws, "ingest", EXAMPLES / "places.csv", "--kind", "places")[0] == 0
    code, _, err = run(
        capsys, "-w", ws, "ingest", book, "--kind", "flows", "--format", "xlsx"
    )  # fmt: skip
    assert code == 2
    said = " ".join(err.split())  # rich wraps lines
    assert "registry.xlsx: not a tidy workbook: its header (sheet 'Registry', row 1)" in said
    assert "import it with --format dtm-fmr-xlsx" in said
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    assert json.loads(out)["counts"]["flows"] == 0
    code, out, _ = run(
        capsys, "-w", ws, "ingest", book, "--kind", "flows", "--format-out", "json"
    )  # fmt: skip
    assert code == 0
    [result] = json.loads(out)
    assert (result["format"], result["status"], result["rows_new"]) == (
        "dtm-fmr-xlsx", "imported", 1
    )  # fmt: skip
