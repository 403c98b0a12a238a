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
