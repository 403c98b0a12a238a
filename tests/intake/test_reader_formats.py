"""Detection of a file's format from its content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corridor.errors import InputError
from corridor.intake.formats import FORMATS, READERS, detect_format

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_every_format_has_a_reader() -> None:
    assert set(FORMATS) - {"auto"} == set(READERS)


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (b"PK\x03\x04rest", "xlsx"),
        (b'\xef\xbb\xbf  {"dataSet": "x", "dataValues": []}', "dhis2-json"),
        (b'[{"dataElement": "a", "value": "1"}]', "dhis2-json"),
        (b'{"type": "FeatureCollection", "features": []}', "geojson"),
        (b'{ "type" : "Feature", "geometry": null, "properties": {}}', "geojson"),
        (b'<?xml version="1.0"?>\n<!-- c --><adx xmlns="urn:ihe:qrph:adx:2015"/>', "adx"),
        (b"<x:adx xmlns:x='urn:ihe:qrph:adx:2015'/>", "adx"),
        (b'<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0"/>', "dhis2-xml"),
        (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "a">]><lolz/>', "adx"),
        (b"DataElement,Period,OrgUnit,CatOptCombo,AttrOptCombo,Value\n", "dhis2-csv"),
        (b"fbfJHSPpUQD,202401,Kb7TGDaJzQs,HllvX50cXC0,HllvX50cXC0,5,admin,,,false,\n", "dhis2-csv"),
        (b"T;FMP;fmp_country;Movement;origin;next;final;sex;age;N\n", "dtm-fmr"),
        # DTM's documented aliases (Date or Month for t, Count for n), and empty lines first
        (
            b"Date;FMP;Movement;Origin;Sex;Age;Count\n2024-08;FMP-KE-001;in;UGA;M;25-34;7\n",
            "dtm-fmr",
        ),
        (b"month,fmp,movement,count,population_group\n", "dtm-fmr"),
        (b"\n\r\nDataElement,Period,OrgUnit,CatOptCombo,AttrOptCombo,Value\n", "dhis2-csv"),
        (b"period,place_code,data_element,value\n2024,x,hiv_tests,1\n", "csv"),
        (b"a,b\n#loc+code,#loc+name\n", "hxl"),
        (b"#loc+code,#loc+name\nx,y\n", "hxl"),
        ("place_code;name\nke;Kényа\n".encode("cp1252", errors="replace"), "csv"),
    ],
)
def test_detects(content: bytes, fmt: str) -> None:
    assert detect_format(Path("f"), content) == fmt


def test_extension_names_a_workbook_that_is_not_one() -> None:
    assert detect_format(Path("f.xlsx"), b"a,b\n1,2\n") == "xlsx"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\n", "empty file"),
        (os.urandom(2048) + b"\x00", "binary content"),
        (bytes(range(1, 32)) * 20, "binary content"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"%PDF-1.7", "PDF"),
        (b'{"hello": "world"}', "neither a DHIS2 dataValueSet"),
        (b"<html><head></head></html>", "HTML page"),
        (b"<root/>", "root element <root>"),
    ],
)
def test_refuses(content: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as err:
        detect_format(Path("f.dat"), content)
    assert err.value.problems[0].file == "f.dat"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("places.csv", "csv"),
        ("places-hxl.csv", "hxl"),
        ("places.geojson", "geojson"),
        ("flows-dtm.csv", "dtm-fmr"),
        ("flows.csv", "csv"),
        ("services.csv", "csv"),
        ("services.xlsx", "xlsx"),
        ("services-dhis2.json", "dhis2-json"),
        ("services-dhis2.csv", "dhis2-csv"),
        ("services.adx.xml", "adx"),
        ("services-dhis2.xml", "dhis2-xml"),
        ("cases.csv", "csv"),
    ],
)
def test_examples_are_detected(name: str, fmt: str) -> None:
    path = EXAMPLES / name
    assert detect_format(path, path.read_bytes()) == fmt


# ---- a tidy services header with DHIS2's org unit name -------------------------------------------
# Detection compared header cells without `_`, so a tidy services file headed
# `data_element,period,orgunit,...` (the contract's data_element, and orgunit for place_code) was
# taken for a DHIS2 export, whose reader then asked for columns the file never meant to have
# ("DHIS2 CSV header lacks column(s) categoryoptioncombo, attributeoptioncombo"). DHIS2 never
# writes `data_element`: a header that names a services column as the contract writes it is
# tidy, unless it has DHIS2's option combo columns too.


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("data_element,period,orgunit,value", "csv"),
        ("Data_Element;Period;OrgUnit;Sex;Age_Band;Value", "csv"),
        ("period,orgunit,dataelement,value,place_code", "csv"),
        # DHIS2's own headers, in the ways they are written
        ("dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value", "dhis2-csv"),
        ("dataElement,period,orgUnit,categoryOptionCombo,attributeOptionCombo,value", "dhis2-csv"),
        ("Data element,Period,Org unit,Category option combo,Attribute option combo,Value",
         "dhis2-csv"),
        ("dataelement,period,orgunit,catoptcombo,attroptcombo,value,storedby", "dhis2-csv"),
        ("dataElement,period,orgUnit,value", "dhis2-csv"),
        # snake case with DHIS2's combos: DHIS2's
        ("data_element,period,org_unit,category_option_combo,attribute_option_combo,value",
         "dhis2-csv"),
        # DHIS2's analytics export (a pivot table downloaded as CSV) names its columns so
        ("Data element,Period,Organisation unit,Category option combo,Attribute option combo,Value",
         "dhis2-csv"),
        ("Data,Period,Organisation unit,Value", "dhis2-csv"),
        ("Data element,Period,Organisation unit,Value", "dhis2-csv"),
        ("Period;Organization unit;Data;Data details;Value", "dhis2-csv"),
        # a tidy services file with an analytics name is still tidy
        ("period,Organisation unit,data_element,sex,value", "csv"),
    ],
)  # fmt: skip
def test_dhis2_or_tidy_by_how_the_header_writes_its_names(header: str, fmt: str) -> None:
    assert detect_format(Path("f.csv"), f"{header}\n".encode()) == fmt


def test_a_tidy_file_with_orgunit_gets_the_tidy_readers_message(tmp_path: Path) -> None:
    from corridor.intake.importer import ingest
    from corridor.storage.duckdb import DuckDBEngine
    from corridor.storage.migrations import migrate

    path = tmp_path / "services.csv"
    path.write_text("data_element,period,orgunit,value\nhiv_tests,2024Q1,ke-busia-osbp,3\n")
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        ingest(eng, [EXAMPLES / "places.csv"], "places")
        with pytest.raises(InputError) as err:
            ingest(eng, [path], "services")  # --format auto
        [p] = err.value.problems
        assert (p.file, p.row, p.column) == (str(path), None, "orgunit")
        assert "probably its column 'place_code'" in p.reason and "rename the header" in p.reason
        assert "DHIS2" not in str(err.value)
        # renamed, it imports
        path.write_text("data_element,period,place_code,value\nhiv_tests,2024Q1,ke-busia-osbp,3\n")
        [result] = ingest(eng, [path], "services")
        assert (result.format, result.rows_new) == ("csv", 1)
        # DHIS2's export under its camelCase header is still read as DHIS2
        camel = tmp_path / "dhis2.csv"
        lines = (EXAMPLES / "services-dhis2.csv").read_text("utf-8").splitlines(keepends=True)
        camel.write_text(
            "dataElement,period,orgUnit,categoryOptionCombo,attributeOptionCombo,value,storedBy,"
            "lastUpdated,comment,followup,deleted\n" + "".join(lines[1:])
        )
        [result] = ingest(
            eng, [camel], "services", mapping_path=EXAMPLES / "dhis2-mapping.yaml", dry_run=True
        )
        assert (result.format, result.rows_valid, result.problems) == ("dhis2-csv", 4, [])
    finally:
        eng.close()
