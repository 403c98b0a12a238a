"""A file given a JSON ``--format`` (dhis2-json, geojson) that is not JSON is refused as not
JSON, with the format detection finds: a CSV given ``--format dhis2-json`` was said to look
truncated ("not valid JSON (Expecting value) at line 1, column 1 ...; the file looks
truncated"), which sent users looking for a damaged export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corridor.errors import InputError
from corridor.intake.dhis2 import read_dhis2_json
from corridor.intake.geojson import read_geojson
from corridor.intake.importer import ingest
from corridor.intake.rawtable import ReadContext
from corridor.storage.duckdb import DuckDBEngine
from corridor.storage.migrations import migrate

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("example", "first", "fmt", "looks"),
    [
        ("services.csv", "p", "csv", "a tidy CSV file (delimited text)"),
        ("services-dhis2.csv", "d", "dhis2-csv", "a DHIS2 dataValueSet CSV export"),
        ("flows-dtm.csv", "t", "dtm-fmr", "a DTM flow-monitoring registry (CSV)"),
        ("places-hxl.csv", "C", "hxl", "a tidy CSV file with HXL tags"),
        ("services.adx.xml", "<", "adx", "an ADX (XML) file"),
        ("services-dhis2.xml", "<", "dhis2-xml", "a DHIS2 dataValueSet in XML"),
        ("services.xlsx", "P", "xlsx", "an Excel workbook"),
    ],
)
def test_a_file_that_is_not_json_says_so_and_names_its_format(
    tmp_path: Path, example: str, first: str, fmt: str, looks: str
) -> None:
    path = tmp_path / example
    path.write_bytes((EXAMPLES / example).read_bytes())
    eng = DuckDBEngine(":memory:")  # the import's own path: DuckDB's staging first
    migrate(eng)
    try:
        with pytest.raises(InputError) as err:
            ingest(eng, [path], "services", fmt="dhis2-json")
        assert eng.scalar("SELECT COUNT(*) FROM services") == 0
    finally:
        eng.close()
    [p] = err.value.problems
    assert (p.file, p.row, p.column) == (str(path), None, None)
    assert p.reason == (
        f"not JSON: its first character that is not blank is {first!r} (line 1, column 1), "
        f"where JSON starts with '{{' or '['; it looks like {looks}: import it with --format "
        f"{fmt} (or with --format auto, the default, which detects the format)"
    )
    assert "truncated" not in p.reason
    # the GeoJSON reader says the same
    with pytest.raises(InputError) as geo:
        read_geojson(path, path.read_bytes(), "places", ReadContext(str(path)))
    assert geo.value.problems == err.value.problems


def test_where_the_first_character_is_and_what_detection_refuses() -> None:
    data = b"\xef\xbb\xbf\n\n   <html><body>Please log in</body></html>\n"
    with pytest.raises(InputError) as err:
        read_dhis2_json(Path("f.json"), data, "services", ReadContext("f.json"))
    [p] = err.value.problems
    assert p.reason == (
        "not JSON: its first character that is not blank is '<' (line 3, column 4), where "
        "JSON starts with '{' or '['; the file is an HTML page, not a data file (a login or "
        "error page saved?)"
    )
    # a JSON value alone is JSON, just not a dataValueSet; broken JSON is still named so
    with pytest.raises(InputError, match="expected a JSON object or list"):
        read_dhis2_json(Path("f.json"), b' "text" \n', "services", ReadContext("f.json"))
    with pytest.raises(InputError, match="the file looks truncated"):
        read_dhis2_json(Path("f.json"), b'\n{"dataValues": [', "services", ReadContext("f.json"))


def test_utf16_json_is_refused_as_utf16_with_the_format_named() -> None:
    """Python's json reads UTF-16 too: given --format dhis2-json, a UTF-16 dataValueSet was
    read, where every other way in (and the data contract) refuses UTF-16 as such."""
    doc = {"dataValues": [{"dataElement": "hiv_tests", "period": "202402", "value": "3"}]}
    data = "\ufeff".encode("utf-16-le") + json.dumps(doc).encode("utf-16-le")
    assert json.loads(data) == doc
    for reader, kind in ((read_dhis2_json, "services"), (read_geojson, "places")):
        with pytest.raises(InputError) as err:
            reader(Path("f.json"), data, kind, ReadContext("f.json"))
        [p] = err.value.problems
        assert p.reason.startswith("UTF-16 text (Excel's 'Unicode Text'")


# ---- the XML and delimited-text formats ---------------------------------------------------------
# A CSV given --format adx (or dhis2-xml) was refused as "not well-formed XML: syntax error at
# line 1, column 1", and a JSON file given --format csv (or dhis2-csv) as "row 4: 4 cells but the
# header has 1": the parsers' words about bytes they were never meant to read.

HINT = "(or with --format auto, the default, which detects the format)"
NOT_XML = "where XML starts with '<'"
NOT_CSV = "where a CSV file starts with its header (or its first row), not with '{', '[' or '<'"


def _refusal(tmp_path: Path, example: str, kind: str, fmt: str) -> tuple[Path, str]:
    path = tmp_path / example
    path.write_bytes((EXAMPLES / example).read_bytes())
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        with pytest.raises(InputError) as err:
            ingest(eng, [path], kind, fmt=fmt)
        assert eng.scalar(f"SELECT COUNT(*) FROM {kind}") == 0
    finally:
        eng.close()
    [p] = err.value.problems
    assert (p.file, p.row, p.column) == (str(path), None, None)
    return path, p.reason


@pytest.mark.parametrize("fmt", ["adx", "dhis2-xml"])
@pytest.mark.parametrize(
    ("example", "first", "looks", "detected"),
    [
        ("services.csv", "p", "a tidy CSV file (delimited text)", "csv"),
        ("services-dhis2.csv", "d", "a DHIS2 dataValueSet CSV export", "dhis2-csv"),
        ("flows-dtm.csv", "t", "a DTM flow-monitoring registry (CSV)", "dtm-fmr"),
        ("places-hxl.csv", "C", "a tidy CSV file with HXL tags", "hxl"),
        ("services-dhis2.json", "{", "a DHIS2 dataValueSet in JSON", "dhis2-json"),
        ("places.geojson", "{", "GeoJSON", "geojson"),
        ("services.xlsx", "P", "an Excel workbook", "xlsx"),
    ],
)
def test_a_file_that_is_not_xml_says_so_and_names_its_format(
    tmp_path: Path, fmt: str, example: str, first: str, looks: str, detected: str
) -> None:
    _, reason = _refusal(tmp_path, example, "services", fmt)
    assert reason == (
        f"not XML: its first character that is not blank is {first!r} (line 1, column 1), "
        f"{NOT_XML}; it looks like {looks}: import it with --format {detected} {HINT}"
    )
    assert "well-formed" not in reason


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("csv", "services"), ("hxl", "places"), ("dhis2-csv", "services"), ("dtm-fmr", "flows")],
)
@pytest.mark.parametrize(
    ("example", "first", "looks", "detected"),
    [
        ("services-dhis2.json", "{", "a DHIS2 dataValueSet in JSON", "dhis2-json"),
        ("places.geojson", "{", "GeoJSON", "geojson"),
        ("services.adx.xml", "<", "an ADX (XML) file", "adx"),
        ("services-dhis2.xml", "<", "a DHIS2 dataValueSet in XML", "dhis2-xml"),
    ],
)
def test_a_file_that_is_not_csv_says_so_and_names_its_format(
    tmp_path: Path, fmt: str, kind: str, example: str, first: str, looks: str, detected: str
) -> None:
    _, reason = _refusal(tmp_path, example, kind, fmt)
    assert reason == (
        f"not CSV: its first character that is not blank is {first!r} (line 1, column 1), "
        f"{NOT_CSV}; it looks like {looks}: import it with --format {detected} {HINT}"
    )
    assert "cells but the header" not in reason


@pytest.mark.parametrize(
    ("fmt", "kind"), [("csv", "services"), ("dhis2-csv", "services"), ("dtm-fmr", "flows")]
)
def test_a_workbook_given_a_csv_format_is_named_as_one(tmp_path: Path, fmt: str, kind: str) -> None:
    _, reason = _refusal(tmp_path, "services.xlsx", kind, fmt)
    assert reason == (
        "not CSV: binary content, not text; it looks like an Excel workbook: import it with "
        f"--format xlsx {HINT}"
    )


def test_where_the_first_character_is_and_what_detection_refuses_for_xml_and_csv() -> None:
    from corridor.intake.adx import read_adx, read_dhis2_xml
    from corridor.intake.dhis2 import read_dhis2_csv
    from corridor.intake.dtm import read_dtm
    from corridor.intake.tidy import read_delimited, scan_delimited

    html = b"\xef\xbb\xbf\n\n   <html><body>Please log in</body></html>\n"
    page = (
        "where a CSV file starts with its header (or its first row), not with '{', '[' or '<'; "
        "the file is an HTML page, not a data file (a login or error page saved?)"
    )
    for read, kind in (
        (read_delimited, "services"),
        (read_dhis2_csv, "services"),
        (read_dtm, "flows"),
    ):
        with pytest.raises(InputError) as err:
            read(Path("f.csv"), html, kind, ReadContext("f.csv"))
        [p] = err.value.problems
        assert p.reason == (
            f"not CSV: its first character that is not blank is '<' (line 3, column 4), {page}"
        )
    with pytest.raises(InputError) as scanned:
        scan_delimited(Path("f.csv"), html, "services", ReadContext("f.csv"))
    assert scanned.value.problems == err.value.problems
    text = b"\n  \n\t# a note\nx,y\n"
    for read in (read_adx, read_dhis2_xml):
        with pytest.raises(InputError) as err:
            read(Path("f.xml"), text, "services", ReadContext("f.xml"))
        [p] = err.value.problems
        assert p.reason.startswith(
            "not XML: its first character that is not blank is '#' (line 3, column 2), "
            "where XML starts with '<'; it looks like"
        )
    # XML after blanks and a BOM is still read as XML (and broken XML named as such)
    with pytest.raises(InputError, match="not well-formed XML"):
        read_adx(Path("f.xml"), b"\xef\xbb\xbf\n  <adx><group>", "services", ReadContext("f.xml"))


def test_a_header_in_any_language_over_an_hxl_tag_row_is_still_read(tmp_path: Path) -> None:
    """A first line that starts with '<' or '[' is a header when HXL tags follow it: the tags
    decide, and the header text may be anything."""
    path = tmp_path / "places.csv"
    path.write_text(
        "<Code>,[Name],{Type},Country\n#loc+code,#loc+name,#loc+type,#country+code\n"
        "ken,Kenya,country,ken\n",
        encoding="utf-8",
    )
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        for fmt in ("csv", "hxl"):
            [result] = ingest(eng, [path], "places", fmt=fmt, dry_run=True)
            assert result.rows_valid == 1
    finally:
        eng.close()


@pytest.mark.parametrize("first", ["[id]", "<notes>", "{ref}"])
@pytest.mark.parametrize("fmt", ["auto", "csv"])
def test_a_header_whose_first_cell_starts_like_json_or_xml_is_still_read(
    tmp_path: Path, first: str, fmt: str
) -> None:
    """A tidy header's first cell may start with '[', '{' or '<' (an extra column the contract
    ignores): the file is refused as JSON or XML only when it is one, not from its first
    character alone (it was, with an explicit --format csv, and detection's hint pointed back
    to --format)."""
    path = tmp_path / "places.csv"
    rows = "".join(f"{i},ke-{i},Site {i},ken,border_crossing,ken\n" for i in range(1, 4000))
    path.write_text(
        f"{first},place_code,name,country_code,place_type,parent_code\n"
        f"0,ken,Kenya,ken,country,\n{rows}",
        encoding="utf-8",
    )
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        [result] = ingest(eng, [path], "places", fmt=fmt, dry_run=True)
        assert result.rows_valid == 4000
    finally:
        eng.close()


def test_the_data_contract_quotes_these_refusals_as_they_are() -> None:
    """docs/data-contract.md's refusals table quotes each message up to its hint's ``…``."""
    from corridor.intake.adx import read_adx
    from corridor.intake.dhis2 import read_dhis2_csv

    doc = " ".join((EXAMPLES.parent / "docs" / "data-contract.md").read_text("utf-8").split())
    cases = [
        (read_adx, "services.csv", "`not XML: its first"),
        (read_dhis2_csv, "services-dhis2.json", "`not CSV: its first"),
        (read_dhis2_csv, "services.xlsx", "`not CSV: binary"),
        (read_dhis2_json, "services.csv", "`not JSON: its first"),
    ]
    for read, example, start in cases:
        path = EXAMPLES / example
        with pytest.raises(InputError) as err:
            read(path, path.read_bytes(), "services", ReadContext(str(path)))
        quoted = [q.split("`", 1)[0].split(" …", 1)[0] for q in doc.split(start)[1:]]
        assert quoted, start
        for q in quoted:
            assert err.value.problems[0].reason.startswith(start.strip("`") + q), q


# ---- a DTM registry or a DHIS2 CSV export given --format csv ------------------------------------
# --format csv overrides detection on purpose, but a DTM registry or a DHIS2 CSV export read as
# a tidy file was refused column by column ("column 'dataelement': ... probably its column
# 'data_element' ... rename the header", "required column missing" for period_start, ...), which
# never said what the file is nor which --format reads it.

DTM_LOOKS = "a DTM flow-monitoring registry (CSV): import it with --format dtm-fmr"
DHIS2_LOOKS = "a DHIS2 dataValueSet CSV export: import it with --format dhis2-csv"
HEADERLESS = (
    "fbfJHSPpUQD,202403,Kb7TGDaJzQs,Prlt0C1RF0s,TrKdrAoc001,28,admin,2024-04-02T10:11:12.000,,"
    "false,false\n"
)


@pytest.mark.parametrize("fmt", ["csv", "hxl"])
@pytest.mark.parametrize(
    ("example", "kind", "reason"),
    [
        (
            "flows-dtm.csv",
            "flows",
            "not a tidy CSV file: its header (line 1) names t, fmp, movement, n and lacks the "
            "flows contract's column(s) period_start, period_end, observation_code, direction, "
            f"count; it looks like {DTM_LOOKS} {HINT}",
        ),
        (
            "flows-dtm.csv",
            "services",
            "not a tidy CSV file: its header (line 1) names t, fmp, movement, n and lacks the "
            "services contract's column(s) period, place_code, data_element, value; it looks "
            f"like {DTM_LOOKS} {HINT}",
        ),
        (
            "services-dhis2.csv",
            "services",
            "not a tidy CSV file: its header (line 1) names dataelement, period, orgunit and "
            "lacks the services contract's column(s) place_code, data_element; it looks like "
            f"{DHIS2_LOOKS} {HINT}",
        ),
    ],
)
def test_a_dtm_or_dhis2_csv_given_a_tidy_format_says_what_it_is(
    tmp_path: Path, fmt: str, example: str, kind: str, reason: str
) -> None:
    _, got = _refusal(tmp_path, example, kind, fmt)
    assert got == reason
    assert "rename the header" not in got and "required column missing" not in got


def test_a_headerless_dhis2_export_and_odd_layouts_given_csv_say_what_they_are() -> None:
    from corridor.intake.tidy import read_delimited, scan_delimited

    cases = [
        (
            HEADERLESS.encode(),
            "services",
            "not a tidy CSV file: its first line (line 1) is a DHIS2 data value (data element "
            "'fbfJHSPpUQD', period '202403', org unit 'Kb7TGDaJzQs'), not a header with the "
            f"services contract's columns; it looks like {DHIS2_LOOKS} {HINT}",
        ),
        # a BOM, empty lines, semicolons, quotes, aliases (date, count) and any case
        (
            b'\xef\xbb\xbf\n\n"Date";FMP;Movement;Count;Gender\n2024-03;BSA;in;5;F\n',
            "flows",
            "not a tidy CSV file: its header (line 3) names Date, FMP, Movement, Count and "
            "lacks the flows contract's column(s) period_start, period_end, observation_code, "
            f"direction; it looks like {DTM_LOOKS} {HINT}",
        ),
    ]
    for data, kind, reason in cases:
        for read in (read_delimited, scan_delimited):  # the bytes' reader and the file's
            with pytest.raises(InputError) as err:
                read(Path("f.csv"), data, kind, ReadContext("f.csv"))
            [p] = err.value.problems
            assert (p.file, p.row, p.column, p.reason) == ("f.csv", None, None, reason)


def test_tidy_files_with_dtm_or_dhis2_like_columns_are_still_the_tidy_readers(
    tmp_path: Path,
) -> None:
    """Only a file that the tidy reader would refuse anyway, and that names no contract column
    of its own, is refused as DTM or DHIS2: a tidy file is never."""
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        ingest(eng, [EXAMPLES / "places.csv"], "places")
        # every flows column, and DTM's t, fmp, movement, n beside them: read, extras ignored
        flows = tmp_path / "flows.csv"
        flows.write_text(
            "period_start,period_end,observation_code,direction,count,t,fmp,movement,n\n"
            "2024-03-01,2024-03-31,ke-malaba-osbp,incoming,5,2024-03,BSA,in,5\n"
        )
        [result] = ingest(eng, [flows], "flows", fmt="csv", dry_run=True)
        assert result.rows_valid == 1 and result.problems == []
        assert any("t, fmp, movement, n" in w for w in result.warnings)
        # a tidy services file whose place column is DHIS2's name: the tidy reader's message
        services = tmp_path / "services.csv"
        services.write_text(
            "data_element,period,orgunit,value\nhiv_tests,2024Q1,ke-malaba-osbp,3\n"
        )
        with pytest.raises(InputError) as err:
            ingest(eng, [services], "services", fmt="csv")
        [p] = err.value.problems
        assert p.column == "orgunit" and "probably its column 'place_code'" in p.reason
        # a DTM header over an HXL tag row: the tags decide
        tagged = tmp_path / "tagged.csv"
        tagged.write_text(
            "t,fmp,movement,n,a,b\n#date+start,#date+end,#loc+code,#x_direction,"
            "#x_travellers+num,#meta\n2024-03-01,2024-03-31,ke-malaba-osbp,transit,7,x\n"
        )
        [result] = ingest(eng, [tagged], "flows", fmt="hxl", dry_run=True)
        assert result.rows_valid == 1
        assert eng.scalar("SELECT COUNT(*) FROM flows") == 0
    finally:
        eng.close()


def test_a_dtm_file_given_format_csv_exits_2_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clihelp import run

    ws = str(tmp_path / "ws")
    assert run(capsys, "init", ws)[0] == 0
    assert run(capsys, "-w", ws, "ingest", EXAMPLES / "places.csv", "--kind", "places")[0] == 0
    code, _, err = run(
        capsys, "-w", ws, "ingest", EXAMPLES / "flows-dtm.csv", "--kind", "flows", "--format", "csv"
    )
    assert code == 2
    said = " ".join(err.split())  # rich wraps lines
    assert "flows-dtm.csv: not a tidy CSV file: its header (line 1) names t, fmp" in said
    assert "import it with --format dtm-fmr" in said
    code, out, _ = run(capsys, "-w", ws, "status", "--format", "json")
    assert json.loads(out)["counts"]["flows"] == 0


def test_the_data_contract_quotes_the_tidy_refusal_as_it_is() -> None:
    from corridor.intake.tidy import read_delimited

    doc = " ".join((EXAMPLES.parent / "docs" / "data-contract.md").read_text("utf-8").split())
    path = EXAMPLES / "flows-dtm.csv"
    with pytest.raises(InputError) as err:
        read_delimited(path, path.read_bytes(), "flows", ReadContext(str(path)))
    start = "`not a tidy CSV file: "
    quoted = [q.split("`", 1)[0].split(" …", 1)[0] for q in doc.split(start)[1:]]
    assert quoted
    for q in quoted:
        assert err.value.problems[0].reason.startswith(start.strip("`") + q), q


# ---- UTF-16 XML ---------------------------------------------------------------------------------
# UTF-16 is refused in every format (docs/data-contract.md, "Encodings"), and was for CSV and
# JSON; but an ADX or DHIS2 XML file in UTF-16 given --format adx or dhis2-xml was read (the XML
# parser reads UTF-16), and one in UTF-16 without a byte-order mark too (big-endian: refused as
# "not XML ... '\x00'"). The same was true of JSON without a byte-order mark.

UTF16 = (
    "UTF-16 text (Excel's 'Unicode Text', some Windows tools), not UTF-8: save the file as UTF-8"
)


def _utf16(text: str, encoding: str) -> bytes:
    """``text`` in UTF-16 (``utf-16``: little-endian with its mark; ``utf-16-be-bom``:
    big-endian with its mark; ``utf-16-le``, ``utf-16-be``: without one)."""
    text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    ("example", "fmt"),
    [
        ("services.adx.xml", "adx"),
        ("services-dhis2.xml", "dhis2-xml"),
        ("services-dhis2.xml", "adx"),  # the ADX reader reads a dataValueSet too
        ("services-dhis2.json", "dhis2-json"),
    ],
)
def test_utf16_xml_and_json_given_their_format_are_refused_as_utf16(
    tmp_path: Path, encoding: str, example: str, fmt: str
) -> None:
    path = tmp_path / example
    path.write_bytes(_utf16((EXAMPLES / example).read_text("utf-8"), encoding))
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        for chosen in (fmt, "auto"):
            with pytest.raises(InputError) as err:
                ingest(
                    eng,
                    [path],
                    "services",
                    fmt=chosen,
                    mapping_path=EXAMPLES / "dhis2-mapping.yaml",
                    quarantine=True,
                )
            [p] = err.value.problems
            assert (p.file, p.row, p.column) == (str(path), None, None)
            assert p.reason.startswith(UTF16), p.reason
        assert eng.scalar("SELECT COUNT(*) FROM services") == 0
    finally:
        eng.close()


def test_utf16_without_a_byte_order_mark_is_named_as_utf16_not_binary(tmp_path: Path) -> None:
    """In every format, as with the mark (it was "binary content ..." for CSV)."""
    text = "place_code,name,place_type,parent_code,country_code\nken,Kenya,country,,ken\n"
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    try:
        for encoding in ("utf-16-le", "utf-16-be"):
            path = tmp_path / f"{encoding}.csv"
            path.write_bytes(text.encode(encoding))
            for fmt in ("auto", "csv"):
                with pytest.raises(InputError) as err:
                    ingest(eng, [path], "places", fmt=fmt)
                [p] = err.value.problems
                assert p.reason.startswith(UTF16), (encoding, fmt, p.reason)
        assert eng.scalar("SELECT COUNT(*) FROM places") == 0
    finally:
        eng.close()
