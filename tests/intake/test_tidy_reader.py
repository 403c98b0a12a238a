from __future__ import annotations

from pathlib import Path

import pytest
from helpers import PLACES_CSV, SERVICES_HEADER, write

from corridor.contract.schema import PLACES, SERVICES
from corridor.errors import InputError
from corridor.intake.rawtable import ROW, ReadContext
from corridor.intake.tidy import match_tag, read_delimited, scan_delimited


def read(path: Path, kind: str):  # type: ignore[no-untyped-def]
    return read_delimited(path, path.read_bytes(), kind, ReadContext(str(path)))


def test_header_names(tmp_path: Path) -> None:
    t = read(write(tmp_path, "p.csv", PLACES_CSV), "places")
    assert t.frame.height == 5
    assert t.frame[ROW].to_list() == [1, 2, 3, 4, 5]
    assert t.frame["place_code"][0] == "KEN"  # lower-casing is validation's job


def test_hxl_tag_row_and_tags_only(tmp_path: Path) -> None:
    text = "Period,Site,What,value\n#date+period,#loc+code,#indicator+code,#x_value+num\n2024Q1,ke-malaba,hiv_tests,4\n"
    t = read(write(tmp_path, "s.csv", text), "services")
    assert t.format == "hxl"
    assert set(t.frame.columns) == {"period", "place_code", "data_element", "value", ROW}
    assert t.frame[ROW].to_list() == [1]
    tags_only = (
        "#date+period,#loc+code,#indicator+code,#x_value+num\n2024Q1,ke-malaba,hiv_tests,4\n"
    )
    t2 = read(write(tmp_path, "t.csv", tags_only), "services")
    assert t2.frame["value"].to_list() == ["4"]


def test_hxl_attribute_order_and_extra_attributes() -> None:
    assert match_tag("#loc +parent +code", PLACES) == "parent_code"
    assert match_tag("#loc+code", PLACES) == "place_code"
    assert match_tag("#loc+code+v_pcode", SERVICES) == "place_code"
    assert match_tag("#sector", SERVICES) is None


@pytest.mark.parametrize("delim", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_delimiters_and_encodings(tmp_path: Path, delim: str, encoding: str) -> None:
    text = (
        SERVICES_HEADER.replace(",", delim)
        + delim.join(["2024Q1", "ke-malaba", "hiv_tests", "f", "15-24", "truck_driver", "12"])
        + "\n"
    )
    text = text.replace("ke-malaba", "ke-malaba")  # ascii
    t = read(write(tmp_path, "s.csv", text, encoding), "services")
    assert t.frame["period"].to_list() == ["2024Q1"]
    assert t.frame["value"].to_list() == ["12"]


def test_french_excel_export(tmp_path: Path) -> None:
    # semicolons, decimal comma, Windows-1252 accents, CRLF line ends
    text = "place_code;name;place_type;parent_code;country_code;lat;lon\r\nCOD;République démocratique du Congo;country;;cod;-2,5;23,6\r\n"
    t = read(write(tmp_path, "p.csv", text, "cp1252"), "places")
    assert t.frame["name"].to_list() == ["République démocratique du Congo"]
    assert t.frame["lat"].to_list() == ["-2,5"]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read(write(tmp_path, "s.csv", "period,place_code,value\n2024,x,1\n"), "services")
    assert "data_element" in str(info.value)
    assert "s.csv" in str(info.value)


def test_unknown_columns_are_reported_not_silently_dropped(tmp_path: Path) -> None:
    t = read(
        write(tmp_path, "s.csv", SERVICES_HEADER.strip() + ",notes\n2024,x,hiv_tests,,,,1,hi\n"),
        "services",
    )
    assert any("notes" in w for w in t.warnings)


def test_values_under_an_empty_header_cell_are_reported(tmp_path: Path) -> None:
    """A column whose header cell is empty was dropped without a word, values and all; empty
    trailing columns (``,,`` as Excel writes them) still pass without a warning."""
    text = SERVICES_HEADER.strip() + ",,\n2024,x,hiv_tests,,,,1,,\n2024,y,hiv_tests,,,,2, 7 ,\n"
    path = write(tmp_path, "s.csv", text)
    want = ["ignored the values of column(s) 8 (counted from 1), which have no header"]
    assert read(path, "services").warnings == want
    scanned = scan_delimited(path, path.read_bytes(), "services", ReadContext(str(path)))
    assert scanned is not None and scanned.warnings == want
    empty = write(tmp_path, "e.csv", SERVICES_HEADER.strip() + ",,\n2024,x,hiv_tests,,,,1,,\n")
    assert read(empty, "services").warnings == []


def test_blank_rows_skipped_but_numbering_kept(tmp_path: Path) -> None:
    text = SERVICES_HEADER + "2024,a,hiv_tests,,,,1\n,,,,,,\n2024,b,hiv_tests,,,,2\n"
    t = read(write(tmp_path, "s.csv", text), "services")
    assert t.frame[ROW].to_list() == [1, 3]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path: Path) -> None:
    text = 'place_code,name,place_type,parent_code,country_code\nken,"Kenya, Republic of\n(multi-line)",country,,ken\n'
    t = read(write(tmp_path, "p.csv", text), "places")
    assert t.frame["name"].to_list() == ["Kenya, Republic of\n(multi-line)"]


def test_binary_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(b"\x00\x01\x02garbage\xff\xfe")
    with pytest.raises(InputError) as info:
        read(path, "services")
    assert "binary" in str(info.value)
