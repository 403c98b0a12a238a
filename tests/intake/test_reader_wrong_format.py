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
