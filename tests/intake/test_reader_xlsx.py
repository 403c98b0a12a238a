"""XLSX workbooks in the tidy contract (openpyxl, cached formula values)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from corridor.errors import InputError
from corridor.intake.rawtable import RawTable, ReadContext
from corridor.intake.xlsx import read_xlsx

HEADER = ["period", "place_code", "data_element", "sex", "age_band", "population_group", "value"]


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def read(data: bytes, kind: str = "services") -> RawTable:
    return read_xlsx(Path("f.xlsx"), data, kind, ReadContext("f.xlsx"))


def test_cells_become_faithful_text() -> None:
    data = workbook(
        {
            "cases": [
                ["case_id", "disease", "classification", "onset_date", "report_date",
                 "place_code", "age_years"],
                [101, "mpox", "confirmed", datetime(2024, 7, 2), date(2024, 7, 6), "ke", 29.0],
                ["A-2", "mpox", "suspected", None, datetime(2024, 7, 9, 13, 30), "ke", 0.5],
            ]
        }
    )  # fmt: skip
    t = read(data, "cases")
    assert t.format == "xlsx"
    first, second = t.frame.to_dicts()
    assert (first["case_id"], first["onset_date"], first["report_date"]) == (
        "101",
        "2024-07-02",
        "2024-07-06",
    )
    assert first["age_years"] == "29"
    assert second["onset_date"] is None and second["age_years"] == "0.5"
    assert second["report_date"] == "2024-07-09 13:30:00"  # validation rejects a timestamp


def test_sheet_named_like_the_kind_else_the_first() -> None:
    rows = [HEADER, ["2024Q1", "ke", "hiv_tests", "f", "", "", 4]]
    data = workbook({"README": [["notes"]], "Services": rows})
    assert read(data).frame["value"].to_list() == ["4"]
    data = workbook({"data": rows, "other": [["x"]]})
    assert read(data).frame["place_code"].to_list() == ["ke"]


def test_hxl_tag_row() -> None:
    tags = ["#date+period", "#loc+code", "#indicator+code", "", "", "", "#x_value+num"]
    data = workbook({"s": [["Période", "Site", "Élément", "", "", "", "Valeur"], tags,
                            ["2024Q1", "ke", "hiv_tests", None, None, None, 1.25]]})  # fmt: skip
    t = read(data)
    assert t.frame.to_dicts() == [
        {"period": "2024Q1", "place_code": "ke", "data_element": "hiv_tests", "value": "1.25",
         "_row": 1}
    ]  # fmt: skip


def with_cached_value(data: bytes, value: str) -> bytes:
    """Give every formula of the workbook a stored value, as Excel does when it saves."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(
                    rb"(<f>[^<]*</f>)(<v\s*/>|<v></v>)?", rb"\1<v>" + value.encode() + b"</v>", body
                )
            dst.writestr(item, body)
    return out.getvalue()


def test_formulas_use_the_stored_value_or_are_problems() -> None:
    rows = [
        HEADER,
        ["2024Q1", "ke", "hiv_tests", "", "", "", "=2+3"],
        ["2024Q1", "ke", "hiv_positive", "", "", "", 1],
    ]
    data = workbook({"services": rows})
    t = read(data)
    (p,) = t.problems
    assert (p.row, p.column, p.value, p.reason) == (
        1,
        "value",
        "=2+3",
        "formula without a stored value",
    )
    cached = read(with_cached_value(data, "5"))
    assert cached.problems == []
    assert cached.frame["value"].to_list() == ["5", "1"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not,a,zip\n", "not a zip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003"),
        (b"PK\x03\x04" + b"\x00" * 50, "not"),
    ],
)
def test_not_a_workbook(data: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as err:
        read(data)
    assert err.value.problems[0].file == "f.xlsx"


def test_zip_that_is_not_a_workbook() -> None:
    """A zipped export (a DHIS2 JSON in a zip, as it often arrives) is named as a zip archive,
    with what it holds, not as a broken workbook."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("services-dhis2.json", "{}")
    with pytest.raises(InputError) as err:
        read(buf.getvalue())
    assert err.value.problems[0].reason == (
        "a zip archive, not an XLSX workbook (it holds services-dhis2.json): extract the file "
        "from it and import that"
    )


def test_zip_with_a_workbook_part_but_broken() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(InputError, match="not a readable XLSX workbook"):
        read(buf.getvalue())


def with_dimension(data: bytes, ref: str) -> bytes:
    """``data`` with its worksheet's ``<dimension>`` claiming ``ref`` (as programs that write
    workbooks leave it stale)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(
                    rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), body
                )
            dst.writestr(item, body)
    return out.getvalue()


def test_a_stale_dimension_loses_no_row_nor_column() -> None:
    """openpyxl's read-only mode stops where the sheet's <dimension> says: a workbook that
    claims A1:F2 but holds three data rows and seven columns lost its last rows (and its
    value column) without a word."""
    rows = [HEADER] + [["2024Q1", "ke", "hiv_tests", "", "", "", n] for n in (1, 2, 3)]
    data = with_dimension(workbook({"services": rows}), "A1:F2")
    assert b'<dimension ref="A1:F2"/>' in zipfile.ZipFile(io.BytesIO(data)).read(
        "xl/worksheets/sheet1.xml"
    )
    t = read(data)
    assert t.problems == []
    assert t.frame["value"].to_list() == ["1", "2", "3"]


def test_merged_cells_over_several_rows_are_problems() -> None:
    """A merged cell stores its value once, in its first cell: the other rows read it as empty,
    which for sex means total. Every row it spans is a problem, as is a merge across contract
    columns; a merge within one cell of the contract (or over ignored columns) is not."""
    wb = Workbook()
    ws = wb.active
    ws.title = "services"
    for row in [
        [*HEADER, "notes"],
        ["2024Q1", "ke", "hiv_tests", "f", "15-24", "", 10, "a"],
        ["2024Q1", "ke", "hiv_tests", None, "25-34", "", 12, "b"],
        ["2024Q1", "ke", "hiv_positive", "m", "15-24", "", 1, "c"],
        ["2024Q1", "ke", "hiv_positive", "m", "25-34", "", 2, "d"],
    ]:
        ws.append(row)
    ws.merge_cells("D2:D3")  # sex 'f' shown on two rows
    ws.merge_cells("H4:H5")  # notes: not read
    ws.merge_cells("F4:G4")  # population_group and value of one row
    buf = io.BytesIO()
    wb.save(buf)
    t = read(buf.getvalue())
    assert [(p.row, p.column, p.value) for p in t.problems] == [
        (1, "sex", "f"),
        (2, "sex", "f"),
        (3, "population_group", ""),
        (3, "value", ""),
    ]
    assert "merged cells D2:D3" in t.problems[0].reason
    assert "unmerge" in t.problems[0].reason


def test_an_empty_first_sheet_is_named_with_the_others() -> None:
    rows = [HEADER, ["2024Q1", "ke", "hiv_tests", "", "", "", 4]]
    with pytest.raises(InputError) as err:
        read(workbook({"Sheet1": [], "data": rows}))
    (p,) = err.value.problems
    assert p.reason.startswith("the worksheet 'Sheet1' is empty; the workbook's sheets are")
    assert "'data'" in p.reason and "'services'" in p.reason
