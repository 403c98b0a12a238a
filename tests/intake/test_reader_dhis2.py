"""DHIS2 dataValueSets (JSON, CSV, XML): parsing, identifier translation and problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.intake.adx import read_dhis2_xml
from corridor.intake.dhis2 import read_dhis2_csv, read_dhis2_json
from corridor.intake.rawtable import RawTable, ReadContext

MAPPING: dict[str, Any] = {
    "data_elements": {"fbfJHSPpUQD": "hiv_tests", "HTS_TST_POS": "hiv_positive"},
    "category_option_combos": {
        "Prlt0C1RF0s": {"sex": "f", "age_band": "15-24"},
        "V6L425pT3A0": {"sex": "m", "age_band": "15-24"},
    },
    "attribute_option_combos": {
        "TrKdrAoc001": {"population_group": "truck_driver"},
        "MaleAoc0001": {"sex": "m"},
    },
    "org_units": {"KE_BUSIA": "ke-busia-osbp"},
}
PLACES = {"Lm3RtPq8WzA": "ke-malaba-osbp"}


def ctx(mapping: dict[str, Any] | None = MAPPING) -> ReadContext:
    return ReadContext("f.json", mapping, dhis2_places=PLACES)


def value(**kw: Any) -> dict[str, Any]:
    base = {
        "dataElement": "fbfJHSPpUQD",
        "period": "202401",
        "orgUnit": "KE_BUSIA",
        "categoryOptionCombo": "Prlt0C1RF0s",
        "attributeOptionCombo": "TrKdrAoc001",
        "value": "12",
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def read_json(doc: Any, mapping: dict[str, Any] | None = MAPPING) -> RawTable:
    return read_dhis2_json(Path("f.json"), json.dumps(doc).encode(), "services", ctx(mapping))


def rows(t: RawTable) -> list[dict[str, Any]]:
    return t.frame.to_dicts()


def test_json_translates_elements_org_units_and_combos() -> None:
    t = read_json(
        {"dataValues": [value(), value(orgUnit="Lm3RtPq8WzA", dataElement="HTS_TST_POS")]}
    )
    assert t.format == "dhis2-json"
    assert t.problems == []
    first, second = rows(t)
    assert first == {
        "period": "2024-01",
        "place_code": "ke-busia-osbp",
        "data_element": "hiv_tests",
        "sex": "f",
        "age_band": "15-24",
        "population_group": "truck_driver",
        "value": "12",
        "_row": 1,
    }
    assert second["place_code"] == "ke-malaba-osbp"
    assert second["data_element"] == "hiv_positive"
    assert t.mapping == MAPPING


def test_json_default_combo_is_a_total_and_element_names_pass() -> None:
    t = read_json(
        [
            value(
                dataElement="HIV_Tests",
                categoryOptionCombo="HllvX50cXC0",
                attributeOptionCombo="HllvX50cXC0",
            )
        ]
    )
    assert t.problems == []
    (r,) = rows(t)
    assert r["data_element"] == "hiv_tests"
    assert (r["sex"], r["age_band"], r["population_group"]) == (None, None, None)


def test_json_set_level_defaults_and_numbers() -> None:
    doc = {
        "dataSet": "DS",
        "period": "2024Q1",
        "orgUnit": "KE_BUSIA",
        "attributeOptionCombo": "TrKdrAoc001",
        "dataValues": [
            {"dataElement": "fbfJHSPpUQD", "categoryOptionCombo": "Prlt0C1RF0s", "value": 3},
            {
                "dataElement": "fbfJHSPpUQD",
                "categoryOptionCombo": "V6L425pT3A0",
                "value": 2.5,
                "period": "2024W5",
            },
        ],
    }
    t = read_json(doc)
    assert t.problems == []
    assert [(r["period"], r["value"], r["sex"]) for r in rows(t)] == [
        ("2024Q1", "3", "f"),
        ("2024W05", "2.5", "m"),
    ]


def test_json_deleted_values_are_skipped_with_a_warning() -> None:
    t = read_json({"dataValues": [value(), value(deleted=True, value="99"), value(value="7")]})
    assert [r["_row"] for r in rows(t)] == [1, 3]  # row numbers stay those of the file
    assert t.warnings == ["skipped 1 value(s) marked deleted"]


def test_json_unknown_identifiers_are_problems_on_their_rows() -> None:
    t = read_json(
        {
            "dataValues": [
                value(),
                value(dataElement="NoSuchElem1"),
                value(orgUnit="NoSuchOrgU1"),
                value(categoryOptionCombo="NoSuchCoc01"),
                value(attributeOptionCombo=None),
            ]
        }
    )
    got = {(p.row, p.column, p.value) for p in t.problems}
    assert got == {
        (2, "dataElement", "NoSuchElem1"),
        (3, "orgUnit", "NoSuchOrgU1"),
        (4, "categoryOptionCombo", "NoSuchCoc01"),
        (5, "attributeOptionCombo", None),
    }
    assert t.frame.height == 5  # rows are kept: validation marks them invalid
    assert rows(t)[1]["data_element"] == "NoSuchElem1"  # untranslated text kept


def test_json_combo_and_attribute_combo_must_agree() -> None:
    t = read_json({"dataValues": [value(attributeOptionCombo="MaleAoc0001")]})
    (p,) = t.problems
    assert (p.row, p.column, p.value) == (1, "attributeOptionCombo", "MaleAoc0001")
    assert "disagrees" in p.reason


def test_json_without_mapping_reports_every_uid() -> None:
    t = read_json({"dataValues": [value()]}, mapping=None)
    assert {p.column for p in t.problems} == {
        "dataElement",
        "orgUnit",
        "categoryOptionCombo",
        "attributeOptionCombo",
    }


def test_json_non_object_value_is_a_row_problem() -> None:
    t = read_json({"dataValues": [value(), 17, value(value={"nested": 1})]})
    assert any(p.row == 2 and "not a JSON object" in p.reason for p in t.problems)
    assert rows(t)[2]["value"] == '{"nested": 1}'  # validation reports "not a number"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"dataValues": [{"dataElement": "a", "val', "the file looks truncated"),
        (b'{"dataValues": [1, 2,, 3]}', "line 1, column 22"),
        (b'{"something": []}', 'no "dataValues" member'),
        (b'{"dataValues": {}}', "must be a list"),
        (b'"text"', "expected a JSON object or list"),
        (b"\xff\xfe\x00garbage", "not"),
    ],
)
def test_json_file_errors(data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as err:
        read_dhis2_json(Path("f.json"), data, "services", ctx())
    (p,) = err.value.problems
    assert p.file == "f.json" and p.row is None
    assert reason in p.reason


def test_json_only_for_services() -> None:
    with pytest.raises(InputError, match="--kind services"):
        read_dhis2_json(Path("f.json"), b'{"dataValues": []}', "places", ctx())


CSV_HEADER = (
    "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,"
    "lastupdated,comment,followup,deleted\n"
)


def read_csv(text: str) -> RawTable:
    return read_dhis2_csv(Path("f.csv"), text.encode(), "services", ctx())


def test_csv_with_header_any_case() -> None:
    text = CSV_HEADER.upper() + (
        'fbfJHSPpUQD,202402,KE_BUSIA,Prlt0C1RF0s,TrKdrAoc001,5,admin,2024-03-01,"ok, fine",false,false\n'
        "fbfJHSPpUQD,202402,KE_BUSIA,V6L425pT3A0,TrKdrAoc001,6,admin,2024-03-01,,false,true\n"
        "\n"
        "fbfJHSPpUQD,202402,Lm3RtPq8WzA,HllvX50cXC0,HllvX50cXC0,7,admin,2024-03-01,,false,\n"
    )
    t = read_csv(text)
    assert t.format == "dhis2-csv" and t.problems == []
    assert [(r["_row"], r["place_code"], r["sex"], r["value"]) for r in rows(t)] == [
        (1, "ke-busia-osbp", "f", "5"),
        (4, "ke-malaba-osbp", None, "7"),
    ]
    assert t.warnings == ["skipped 1 value(s) marked deleted"]


def test_csv_old_header_names_and_headerless_variant() -> None:
    old = "dataelement,period,orgunit,catoptcombo,attroptcombo,value\n"
    line = "fbfJHSPpUQD,202402,KE_BUSIA,Prlt0C1RF0s,TrKdrAoc001,5\n"
    assert rows(read_csv(old + line))[0]["sex"] == "f"
    headerless = read_csv(line + line.replace(",5", ",8").replace("202402", "202403"))
    assert [(r["_row"], r["period"], r["value"]) for r in rows(headerless)] == [
        (1, "2024-02", "5"),
        (2, "2024-03", "8"),
    ]


def test_csv_problems_and_file_errors() -> None:
    t = read_csv(CSV_HEADER + "nope,202402,KE_BUSIA,Prlt0C1RF0s,TrKdrAoc001,5,,,,,\n")
    assert [(p.row, p.column, p.value) for p in t.problems] == [(1, "dataElement", "nope")]
    with pytest.raises(InputError, match="lacks column"):
        read_csv("dataelement,period,value\nx,2024,1\n")
    with pytest.raises(InputError, match="at least 6 columns"):
        read_csv("a,b\n")


# ---- the analytics export: DHIS2's display names of its columns ---------------------------------


def test_csv_analytics_header_is_read_and_missing_combos_are_totals() -> None:
    """``Data``/``Data element``, ``Period``, ``Organisation unit`` (any order; the first
    column need not be the data element) and ``Data details`` (the ``co`` dimension): the
    values are the identifiers the dataValueSet reader translates; a combo column left out is
    DHIS2's total over it, and a warning says so."""
    t = read_csv(
        "Period;Organisation unit;Data;Data details;Value;Numerator;\n"
        "202402;KE_BUSIA;fbfJHSPpUQD;Prlt0C1RF0s;5;5;\n"
        "2024;Lm3RtPq8WzA;HTS_TST_POS;HllvX50cXC0;7.0;;\n"
    )
    assert t.format == "dhis2-csv" and t.problems == []
    assert [
        (r["_row"], r["period"], r["place_code"], r["data_element"], r["sex"], r["value"])
        for r in rows(t)
    ] == [
        (1, "2024-02", "ke-busia-osbp", "hiv_tests", "f", "5"),
        (2, "2024", "ke-malaba-osbp", "hiv_positive", None, "7.0"),
    ]
    assert [r["population_group"] for r in rows(t)] == [None, None]  # total (the default)
    assert t.warnings == [
        "a DHIS2 analytics export without an attribute option combo column: its values are "
        "DHIS2's totals over the attribute options, imported as totals"
    ]


def test_csv_analytics_export_with_display_names_is_refused() -> None:
    with pytest.raises(InputError) as err:
        read_csv(
            "Data,Period,Organisation unit,Value\n"
            "fbfJHSPpUQD,202402,KE_BUSIA,5\n"
            "ANC 1st visit,202402,KE_BUSIA,5\n"
            "fbfJHSPpUQD,February 2024,Ngelehun CHC,5\n"
        )
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [
        (2, "Data", "ANC 1st visit"),
        (3, "Period", "February 2024"),
        (3, "Organisation unit", "Ngelehun CHC"),
    ]
    assert "a DHIS2 analytics export with display names, not identifiers" in str(err.value)
    # a name that the mapping translates is the mapping's choice; an identifier that it does
    # not translate is a problem for its row, as in the dataValueSet export
    mapping = {**MAPPING, "data_elements": {"HIV tests": "hiv_tests"}}
    t = read_dhis2_csv(
        Path("f.csv"),
        b"Data,Period,Organisation unit,Value\nHIV tests,202402,KE_BUSIA,5\n"
        b"NoSuchDe001,202402,KE_BUSIA,6\n",
        "services",
        ctx(mapping),
    )
    assert rows(t)[0]["data_element"] == "hiv_tests"
    assert [(p.row, p.column, p.value) for p in t.problems] == [(2, "dataElement", "NoSuchDe001")]


def test_csv_analytics_export_with_a_column_it_does_not_read_is_refused() -> None:
    with pytest.raises(InputError) as err:
        read_csv("Data,Period,Organisation unit,Age,,Value\nfbfJHSPpUQD,202402,KE_BUSIA,a,b,5\n")
    assert [(p.row, p.column) for p in err.value.problems] == [
        (None, "Age"),
        (None, "column 5 (no header)"),
    ]
    # the dataValueSet export's own extra columns are not refused (storedby, comment, ...)
    t = read_csv(CSV_HEADER + "fbfJHSPpUQD,202402,KE_BUSIA,Prlt0C1RF0s,TrKdrAoc001,5,,,,,\n")
    assert t.problems == [] and t.warnings == []


def test_csv_header_naming_a_column_twice_is_refused() -> None:
    """Two ``value`` columns (or ``catoptcombo`` beside ``categoryoptioncombo``) ended in a
    traceback (exit 1); which of them holds the values cannot be told, so the header is refused
    as the tidy reader refuses a duplicated column."""
    line = "fbfJHSPpUQD,202402,KE_BUSIA,Prlt0C1RF0s,TrKdrAoc001,5,6\n"
    with pytest.raises(InputError) as err:
        read_csv(
            "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,value\n"
            + line
        )
    assert [(p.row, p.column, p.reason) for p in err.value.problems] == [
        (None, "value", "duplicate column for 'value'")
    ]
    assert "more than once" in str(err.value)
    old = "dataelement,period,orgunit,catoptcombo,categoryoptioncombo,attroptcombo,value\n"
    with pytest.raises(InputError) as err:
        read_csv(old + "fbfJHSPpUQD,202402,KE_BUSIA,Prlt0C1RF0s,V6L425pT3A0,TrKdrAoc001,5\n")
    assert [p.column for p in err.value.problems] == ["categoryoptioncombo"]


def test_xml_values_outside_the_set_are_refused_not_skipped() -> None:
    """``<dataValue>`` elements inside a wrapper element were skipped without a word: the file
    imported as 0 rows. They are a file error now."""
    xml = (
        b'<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" period="202405" orgUnit="KE_BUSIA">'
        b'<dataValue dataElement="fbfJHSPpUQD" categoryOptionCombo="Prlt0C1RF0s" '
        b'attributeOptionCombo="TrKdrAoc001" value="4"/><dataValues>'
        b'<dataValue dataElement="fbfJHSPpUQD" categoryOptionCombo="V6L425pT3A0" '
        b'attributeOptionCombo="TrKdrAoc001" value="9"/>'
        b"</dataValues></dataValueSet>"
    )
    with pytest.raises(InputError) as err:
        read_dhis2_xml(Path("f.xml"), xml, "services", ctx())
    (p,) = err.value.problems
    assert p.row is None and p.reason.startswith(
        "1 of the file's 2 <dataValue> element(s) are not children of <dataValueSet>"
    )


def test_dhis2_xml() -> None:
    xml = (
        b'<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" period="202405" orgUnit="KE_BUSIA">'
        b'<dataValue dataElement="fbfJHSPpUQD" categoryOptionCombo="Prlt0C1RF0s" '
        b'attributeOptionCombo="TrKdrAoc001" value="4"/>'
        b'<dataValue dataElement="fbfJHSPpUQD" categoryOptionCombo="V6L425pT3A0" '
        b'attributeOptionCombo="TrKdrAoc001" orgUnit="Lm3RtPq8WzA"><value>9</value></dataValue>'
        b"</dataValueSet>"
    )
    t = read_dhis2_xml(Path("f.xml"), xml, "services", ctx())
    assert t.format == "dhis2-xml" and t.problems == []
    assert [(r["period"], r["place_code"], r["value"]) for r in rows(t)] == [
        ("2024-05", "ke-busia-osbp", "4"),
        ("2024-05", "ke-malaba-osbp", "9"),
    ]


# ---- properties --------------------------------------------------------------------------------

_value_st = st.fixed_dictionaries(
    {
        "dataElement": st.sampled_from(["fbfJHSPpUQD", "HTS_TST_POS", "hiv_tests", "NoSuchElem1"]),
        "period": st.sampled_from(["2024", "2024Q3", "202402", "2024W9", "2024S1"]),
        "orgUnit": st.sampled_from(["KE_BUSIA", "Lm3RtPq8WzA", "NoSuchOrgU1"]),
        "categoryOptionCombo": st.sampled_from(
            ["Prlt0C1RF0s", "V6L425pT3A0", "HllvX50cXC0", "NoSuchCoc01"]
        ),
        "attributeOptionCombo": st.sampled_from(["TrKdrAoc001", "MaleAoc0001", "HllvX50cXC0"]),
        "value": st.integers(0, 10**6).map(str),
        "deleted": st.sampled_from(["true", "false"]),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_value_st, max_size=12))
def test_json_csv_and_xml_readers_agree(values: list[dict[str, str]]) -> None:
    """The same data values read from JSON, CSV and XML give the same rows and problems."""
    fields = list(values[0]) if values else []
    as_json = read_json({"dataValues": values})
    lines = [",".join(fields)] + [",".join(v[f] for f in fields) for v in values]
    as_csv = read_csv("\n".join(lines) + "\n") if values else as_json
    xml = "".join(
        "<dataValue " + " ".join(f'{k}="{v}"' for k, v in value.items()) + "/>" for value in values
    )
    as_xml = read_dhis2_xml(
        Path("f.xml"), f"<dataValueSet>{xml}</dataValueSet>".encode(), "services", ctx()
    )

    def problems(t: RawTable) -> list[tuple[Any, ...]]:
        return sorted((p.row, p.column, p.value, p.reason) for p in t.problems)

    assert as_json.frame.to_dicts() == as_csv.frame.to_dicts() == as_xml.frame.to_dicts()
    assert problems(as_json) == problems(as_csv) == problems(as_xml)
    kept = [v for v in values if v["deleted"] != "true"]
    assert as_json.frame.height == len(kept)
