"""Fully empty lines (rows) before the header are skipped like any empty line, and keep their
numbers: row numbers still point at the file's own rows."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.intake.dhis2 import read_dhis2_csv
from corridor.intake.dtm import read_dtm
from corridor.intake.rawtable import ROW, ReadContext
from corridor.intake.tidy import read_delimited, scan_delimited
from corridor.intake.xlsx import read_xlsx

SERVICES = "period;place_code;data_element;sex;age_band;population_group;value\n"
ROW1 = "2024Q3;ke-busia-osbp;hiv_tests;f;15-24;truck_driver;5\n"
ROW2 = "2024Q3;ke-busia-osbp;hiv_tests;m;15-24;truck_driver;7\n"
TAGS = "#date+period;#loc+code;#indicator+code;#gender+code;#age+range;#population_group+code;#x_value+num\n"


def _both(path: Path) -> list[tuple[list[int], list[str]]]:
    """What the batch reader and the byte reader make of ``path`` (rows, values)."""
    ctx = ReadContext(path.name)
    data = path.read_bytes()
    out = []
    scanned = scan_delimited(path, data[:65536], "services", ctx)
    for table in (scanned, read_delimited(path, data, "services", ctx)):
        if table is not None:
            out.append((table.frame[ROW].to_list(), table.frame["value"].to_list()))
    return out


blank_lines = st.lists(st.sampled_from(["", " ", "\t", ";;;", "  ;  "]), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    lead=blank_lines,
    ending=st.sampled_from(["\n", "\r\n"]),
    tags=st.booleans(),
    bom=st.booleans(),
    cp1252=st.booleans(),
)
def test_empty_lines_before_the_header_are_skipped_and_keep_their_numbers(
    tmp_path_factory: pytest.TempPathFactory,
    lead: list[str],
    ending: str,
    tags: bool,
    bom: bool,
    cp1252: bool,
) -> None:
    # a name with an accent, so that the Windows-1252 variant takes the byte reader
    text = "".join(f"{line}\n" for line in lead) + SERVICES + (TAGS if tags else "")
    text += ROW1 + "\n" + ROW2.replace("truck_driver", "caf\u00e9")
    data = text.replace("\n", ending).encode("cp1252" if cp1252 else "utf-8")
    if bom and not cp1252:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path_factory.mktemp("lead") / "s.csv"
    path.write_bytes(data)
    first = len(lead) + 1  # the rows before the header keep their numbers
    read = _both(path)
    assert len(read) == (1 if cp1252 else 2)  # UTF-8 is read in batches as well
    for rows, values in read:
        assert rows == [first, first + 2]  # the empty line between keeps its number too
        assert values == ["5", "7"]


def test_a_problem_names_the_row_counted_from_the_top_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\n\n" + SERVICES.replace(";", ",") + "2024Q3,x,hiv_tests,f,15-24,,5,extra\n")
    with pytest.raises(InputError) as info:
        read_delimited(path, path.read_bytes(), "services", ReadContext("s.csv"))
    [p] = info.value.problems
    assert (p.row, p.reason) == (3, "8 cells but the header has 7")


def test_a_file_of_empty_lines_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\n;;\n \n")
    with pytest.raises(InputError, match="empty file"):
        read_delimited(path, path.read_bytes(), "services", ReadContext("s.csv"))


def test_dtm_and_dhis2_csv_skip_empty_lines_before_the_header() -> None:
    dtm = b"\n\nt,fmp,movement,origin,final,sex,age,n\n2024-03,BSA,in,UGA,KEN,m,15-24,5\n"
    table = read_dtm(Path("d.csv"), dtm, "flows", ReadContext("d.csv", {}))
    assert table.frame[ROW].to_list() == [3]
    assert table.frame["count"].to_list() == ["5"]
    dhis2 = (
        b"\ndataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
        b"hiv_tests,202401,Lm3RtPq8WzA,HllvX50cXC0,HllvX50cXC0,4\n"
    )
    ctx = ReadContext("v.csv", {}, dhis2_places={"Lm3RtPq8WzA": "ke-malaba-osbp"})
    table = read_dhis2_csv(Path("v.csv"), dhis2, "services", ctx)
    assert table.frame[ROW].to_list() == [2]
    assert table.frame["value"].to_list() == ["4"]
    headerless = b"\n\nhiv_tests,202401,Lm3RtPq8WzA,HllvX50cXC0,HllvX50cXC0,4\n"
    table = read_dhis2_csv(Path("v.csv"), headerless, "services", ctx)
    assert table.frame[ROW].to_list() == [3]  # a headerless file counts from its first line


def test_xlsx_header_below_empty_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "services"
    sheet.append([None] * 7)
    sheet.append([None] * 7)
    sheet.append(SERVICES.strip().split(";"))
    sheet.append(ROW1.strip().split(";"))
    sheet.append(["2024Q3", "ke-busia-osbp", "hiv_tests", "m", "15-24", "truck_driver", "=1+1"])
    path = tmp_path / "s.xlsx"
    book.save(path)
    table = read_xlsx(path, path.read_bytes(), "services", ReadContext("s.xlsx"))
    # Excel row 4 is row 3, as Excel row 2 is row 1 below a header on row 1
    assert table.frame[ROW].to_list() == [3, 4]
    assert table.frame["value"].to_list()[0] == "5"
    [formula] = table.problems
    assert (formula.row, formula.column, formula.value) == (4, "value", "=1+1")
