"""What a user sees when intake refuses thousands separators, mixed encodings and the like:
exit code 2, the file, row, column, value and reason, and nothing imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import run

PLACES = (
    "place_code,name,place_type,parent_code,country_code\n"
    "ken,Kenya,country,,ken\nke-malaba,Malaba,border_crossing,ken,ken\n"
)
SERVICES = "period,place_code,data_element,sex,age_band,population_group,value\n"
FLOWS = (
    "period_start,period_end,observation_code,direction,origin_code,destination_code,sex,"
    "age_band,population_group,mode,count\n"
)


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert run(capsys, "init", folder).code == 0
    (tmp_path / "p.csv").write_text(PLACES)
    assert run(capsys, "-w", folder, "ingest", tmp_path / "p.csv", "--kind", "places").code == 0
    return folder


def counts(capsys: pytest.CaptureFixture[str], ws: Path) -> dict[str, int]:
    r = run(capsys, "-w", ws, "status", "--format", "json")
    assert r.code == 0, r.err
    return dict(json.loads(r.out)["counts"])


def test_thousands_separators_are_refused_not_read_as_decimals(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = counts(capsys, ws)
    services = tmp_path / "services.csv"
    services.write_text(
        SERVICES
        + '2024Q3,ke-malaba,hiv_tests,f,15-24,truck_driver,"1,000"\n'
        + '2024Q3,ke-malaba,hiv_tests,m,15-24,truck_driver,"12,5"\n'
        + '2024Q3,ke-malaba,hiv_tests,x,15-24,truck_driver,"1,000,000"\n'
    )
    r = run(capsys, "-w", ws, "ingest", services, "--kind", "services")
    assert r.code == 2
    assert (
        f"{services}, row 1, column 'value', value '1,000': ambiguous comma: a thousands "
        "separator (1000) or a decimal comma (1.000)? Write 1000 or 1.000" in r.err
    )
    assert (
        f"{services}, row 3, column 'value', value '1,000,000': thousands separators are not "
        "accepted: write 1000000" in r.err
    )
    assert "row 2" not in r.err  # 12,5 is a decimal comma
    assert "nothing was imported" in r.err and "Traceback" not in r.err
    flows = tmp_path / "flows.csv"
    flows.write_text(
        FLOWS + '2024-05-01,2024-05-31,ke-malaba,incoming,,,m,25-34,truck_driver,truck,"2,500"\n'
    )
    r = run(capsys, "-w", ws, "ingest", flows, "--kind", "flows")
    assert r.code == 2
    assert f"{flows}, row 1, column 'count', value '2,500': ambiguous comma" in r.err
    assert "not a whole number" not in r.err
    assert counts(capsys, ws) == before


def test_a_decimal_comma_is_still_read(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = tmp_path / "services.csv"
    services.write_text(SERVICES + '2024Q3,ke-malaba,hiv_tests,f,15-24,truck_driver,"0,125"\n')
    r = run(capsys, "-w", ws, "ingest", services, "--kind", "services")
    assert r.code == 0, r.err
    assert counts(capsys, ws)["services"] == 1


def test_a_utf8_file_with_a_stray_windows_1252_byte_is_refused(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = counts(capsys, ws)
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        b"place_code,name,place_type,parent_code,country_code\n"
        + "ke-w1,Mũrang’a,market,ken,ken\n".encode()
        + b"ke-w2,Caf\xe9 Stop,market,ken,ken\n"
    )
    r = run(capsys, "-w", ws, "ingest", mixed, "--kind", "places")
    assert r.code == 2
    assert f"{mixed}: not valid UTF-8: byte 0xE9 on line 3 (byte 95 of the file" in r.err
    assert "Save the file as UTF-8" in r.err and "Traceback" not in r.err
    assert counts(capsys, ws) == before
    # the same names in Windows-1252 throughout (old Excel) are still read
    old = tmp_path / "old.csv"
    old.write_bytes(
        b"place_code,name,place_type,parent_code,country_code\n"
        + "ke-w2,Café Stop,market,ken,ken\n".encode("cp1252")
    )
    r = run(capsys, "-w", ws, "ingest", old, "--kind", "places")
    assert r.code == 0, r.err
    assert counts(capsys, ws)["places"] == before["places"] + 1


def test_json_outcome_lists_the_problems_of_a_refusal_and_of_a_quarantine(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--format-out json`` is for scripts: a refused import prints its problems on stdout as
    JSON (file, row, column, value, reason) and still exits 2; a quarantine lists its rows."""
    services = tmp_path / "services.csv"
    services.write_text(
        SERVICES
        + "2024Q3,ke-malaba,hiv_tests,f,15-24,truck_driver,-5\n"
        + "2024Q3,ke-malaba,hiv_tests,m,15-24,truck_driver,7\n"
    )
    for extra in ([], ["--dry-run"]):
        r = run(
            capsys,
            "-w",
            ws,
            "ingest",
            services,
            "--kind",
            "services",
            "--format-out",
            "json",
            *extra,
        )
        assert r.code == 2 and "input rejected" in r.err
        out = json.loads(r.out)
        assert out["status"] == "rejected" and out["problems"] == 1
        assert out["problem_details"] == [
            {
                "file": str(services),
                "row": 1,
                "column": "value",
                "value": "-5",
                "reason": "negative; must be >= 0",
            }
        ]
    assert counts(capsys, ws)["services"] == 0
    q = run(
        capsys,
        "-w",
        ws,
        "ingest",
        services,
        "--kind",
        "services",
        "--quarantine",
        "--format-out",
        "json",
    )
    assert q.code == 0, q.err
    (result,) = json.loads(q.out)
    assert result["rows_quarantined"] == 1 and result["problems"] == 1
    assert result["problem_details"][0]["value"] == "-5"
    assert result["problem_details"][0]["row"] == 1


def test_a_dhis2_csv_naming_a_column_twice_exits_2_not_with_a_traceback(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "dhis2.csv"
    export.write_text(
        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,value\n"
        "hiv_tests,202402,ke-malaba,HllvX50cXC0,HllvX50cXC0,5,6\n"
    )
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services")
    assert r.code == 2, r.err
    assert f"{export}, column 'value': duplicate column for 'value'" in r.err
    assert "Traceback" not in r.err
    assert counts(capsys, ws)["services"] == 0


def test_a_workbook_with_a_stale_dimension_imports_every_row(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workbook whose <dimension> claims fewer rows than it holds imported only those (exit 0,
    rows silently dropped)."""
    import io
    import re
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.title = "services"
    sheet.append(SERVICES.strip().split(","))
    for n, sex in enumerate(("f", "m", "x"), start=1):
        sheet.append(["2024Q3", "ke-malaba", "hiv_tests", sex, "15-24", "truck_driver", n])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:G2"/>', body)
            dst.writestr(item, body)
    book = tmp_path / "services.xlsx"
    book.write_bytes(out.getvalue())
    r = run(capsys, "-w", ws, "ingest", book, "--kind", "services")
    assert r.code == 0, r.err
    assert "3 rows read, 3 new" in r.out
    assert counts(capsys, ws)["services"] == 3


def test_a_column_under_another_name_is_refused_not_turned_into_totals(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `gender` column was ignored with a warning: every row became sex = total, and the two
    rows below collided (or, as totals, would have been imported without their breakdown)."""
    services = tmp_path / "services.csv"
    services.write_text(
        "period,place_code,data_element,gender,age_group,population_group,value\n"
        "2024Q3,ke-malaba,hiv_tests,f,15-24,truck_driver,5\n"
        "2024Q3,ke-malaba,hiv_tests,m,15-24,truck_driver,7\n"
    )
    for flags in ((), ("--quarantine",), ("--dry-run",)):
        r = run(capsys, "-w", ws, "ingest", services, "--kind", "services", *flags)
        assert r.code == 2, r.err
        assert (
            f"{services}, column 'gender': not a column of the contract, but probably its "
            "column 'sex' (header 'sex' or tag #gender+code), which the file lacks: read as it "
            "is, it would be ignored and every row would have sex 'total'. To import it, rename "
            "the header 'gender' to 'sex'" in r.err
        )
        assert (
            f"{services}, column 'age_group': not a column of the contract, but probably its "
            "column 'age_band'" in r.err
        )
        assert "conflicts with" not in r.err and "Traceback" not in r.err
    assert counts(capsys, ws)["services"] == 0
    # beside the contract column, another name is ignored with a warning, as before
    services.write_text(
        "period,place_code,data_element,sex,gender,value\n"
        "2024Q3,ke-malaba,hiv_tests,f,female,5\n2024Q3,ke-malaba,hiv_tests,m,male,7\n"
    )
    r = run(capsys, "-w", ws, "ingest", services, "--kind", "services")
    assert r.code == 0, r.err
    assert "ignored column(s) not in the services contract: gender" in r.out + r.err
    assert counts(capsys, ws)["services"] == 2


def test_a_csv_given_the_dhis2_json_format_is_named_not_json_not_truncated(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "dhis2.csv"
    export.write_text(
        "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
        "hiv_tests,202402,ke-malaba,HllvX50cXC0,HllvX50cXC0,5\n"
    )
    r = run(capsys, "-w", ws, "ingest", export, "--kind", "services", "--format", "dhis2-json")
    assert r.code == 2, r.err
    assert (
        f"{export}: not JSON: its first character that is not blank is 'd' (line 1, column 1), "
        "where JSON starts with '{' or '['; it looks like a DHIS2 dataValueSet CSV export: "
        "import it with --format dhis2-csv (or with --format auto, the default, which detects "
        "the format)" in r.err
    )
    assert "truncated" not in r.err and "Traceback" not in r.err
    assert counts(capsys, ws)["services"] == 0


@pytest.mark.parametrize(
    ("fmt", "content", "name", "said"),
    [
        (
            "adx",
            SERVICES + "2024Q3,ke-malaba,hiv_tests,f,15-24,truck_driver,3\n",
            "services.csv",
            "not XML: its first character that is not blank is 'p' (line 1, column 1), where "
            "XML starts with '<'; it looks like a tidy CSV file (delimited text): import it "
            "with --format csv",
        ),
        (
            "dhis2-csv",
            '{"dataValues": [\n {"dataElement": "hiv_tests", "period": "202402",\n'
            '  "orgUnit": "ke-malaba", "value": "3"}]}\n',
            "values.json",
            "not CSV: its first character that is not blank is '{' (line 1, column 1), where a "
            "CSV file starts with its header (or its first row), not with '{', '[' or '<'; it "
            "looks like a DHIS2 dataValueSet in JSON: import it with --format dhis2-json",
        ),
    ],
)
def test_a_wrong_format_names_what_the_file_is_and_its_format(
    ws: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
    content: str,
    name: str,
    said: str,
) -> None:
    """A CSV given --format adx was "not well-formed XML: syntax error at line 1, column 1"; a
    JSON file given --format dhis2-csv "row 4: 4 cells but the header has 1"."""
    before = counts(capsys, ws)
    path = tmp_path / name
    path.write_text(content)
    r = run(capsys, "-w", ws, "ingest", path, "--kind", "services", "--format", fmt)
    assert r.code == 2
    hint = "(or with --format auto, the default, which detects the format)"
    assert f"{path}: {said} {hint}" in r.err
    assert "well-formed" not in r.err and "cells but the header" not in r.err
    assert counts(capsys, ws) == before
