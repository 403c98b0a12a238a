"""Numbers with commas: a decimal comma is read, a comma that may be a thousands separator is
refused, the same way in every format and every number column."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.intake.importer import ingest
from corridor.intake.validate import checked_values
from corridor.storage.duckdb import DuckDBEngine
from corridor.storage.migrations import migrate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAPPING = EXAMPLES / "dhis2-mapping.yaml"

#: (kind, column) of every number column of the contract
NUMBER_COLUMNS = [
    ("services", "value"),
    ("flows", "count"),
    ("places", "population"),
    ("cases", "age_years"),
]


def _typed(kind: str, column: str, text: str) -> float | None:
    """The number ``text`` becomes in ``column``, or None when it is refused."""
    typed = checked_values(kind, column, pl.Series([text], dtype=pl.Utf8), (), ())
    return None if typed is None else float(typed[0])


# 1-3 digits not starting with 0, a comma, exactly three digits: 1,000 / 12,500 / 123,456
ambiguous = st.builds(
    lambda sign, head, tail: f"{sign}{head},{tail:03d}",
    st.sampled_from(["", "+"]),
    st.integers(1, 999),
    st.integers(0, 999),
)
# thousands separators that cannot be a decimal comma: 1,000,000 / 12,345.5
grouped = st.builds(
    lambda head, groups, point: f"{head}," + ",".join(f"{g:03d}" for g in groups) + point,
    st.integers(1, 999),
    st.lists(st.integers(0, 999), min_size=1, max_size=4),
    st.sampled_from(["", ".5", ".", ".25"]),
).filter(lambda t: t.count(",") > 1 or "." in t)


@st.composite
def decimal_commas(draw: st.DrawFn) -> str:
    """A decimal comma that cannot be a thousands separator: 12,5 / 0,125 / 1,2345 / 1234,567."""
    head = draw(st.integers(0, 10**6))
    digits = draw(st.integers(1, 6))
    tail = draw(st.integers(0, 10**digits - 1))
    text = f"{head},{tail:0{digits}d}"
    if 1 <= head <= 999 and digits == 3:  # that one is ambiguous: make it a decimal one
        text = f"0{text}" if draw(st.booleans()) else f"{head},{tail:03d}0"
    return text


@settings(max_examples=200, deadline=None)
@given(text=decimal_commas())
def test_a_decimal_comma_that_is_not_ambiguous_round_trips(text: str) -> None:
    want = float(text.replace(",", "."))
    assert _typed("services", "value", text) == want
    assert _typed("cases", "age_years", text) == want
    whole = want if want == int(want) else None  # counts must be whole numbers
    assert _typed("flows", "count", text) == whole
    assert _typed("places", "population", text) == whole


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(ambiguous, grouped))
def test_a_possible_thousands_separator_is_refused_in_every_number_column(text: str) -> None:
    for kind, column in NUMBER_COLUMNS:
        assert _typed(kind, column, text) is None, (kind, column)


@pytest.mark.parametrize(
    ("text", "want"),
    [("12,5", 12.5), ("0,125", 0.125), ("1,2345", 1.2345), ("1234,567", 1234.567),
     ("1,5", 1.5), ("-2,5", None), ("1.000", 1.0), ("1000", 1000.0)],
)  # fmt: skip
def test_documented_decimal_commas(text: str, want: float | None) -> None:
    assert _typed("services", "value", text) == want


# -- what a user sees, in every format ---------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    places = [EXAMPLES / n for n in ("places.csv", "places-hxl.csv", "places.geojson")]
    ingest(eng, places, "places")
    yield eng
    eng.close()


SERVICES = "period,place_code,data_element,sex,age_band,population_group,value\n"
FLOWS = (
    "period_start,period_end,observation_code,direction,origin_code,destination_code,sex,"
    "age_band,population_group,mode,count\n"
)
DTM = "t,fmp,fmp_country,movement,origin,next,final,sex,age,n,group,mode\n"


def _dhis2_json(v: str) -> str:
    value = {
        "dataElement": "fbfJHSPpUQD", "period": "202402", "orgUnit": "KE_BUSIA_OSBP",
        "categoryOptionCombo": "Prlt0C1RF0s", "attributeOptionCombo": "TrKdrAoc001", "value": v,
    }  # fmt: skip
    return json.dumps({"dataValues": [value]})


def _geojson(v: str) -> str:
    props = {"place_code": "ke-new-site", "name": "New site", "place_type": "market",
             "parent_code": "ken", "country_code": "KEN", "population": v}  # fmt: skip
    feature = {"type": "Feature", "properties": props,
               "geometry": {"type": "Point", "coordinates": [34.1, 0.5]}}  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": [feature]})


#: format: (kind, file name, the file with the number, the column named in a problem, what reads
#: the stored number back)
FILES = {
    "csv services": (
        "services", "s.csv",
        lambda v: SERVICES + f'2024Q3,ke-busia-osbp,hiv_tests,f,15-24,truck_driver,"{v}"\n',
        "value", "SELECT value FROM services",
    ),
    "csv flows": (
        "flows", "f.csv",
        lambda v: FLOWS + "2024-05-01,2024-05-31,ke-malaba-osbp,incoming,uga,ke-nairobi,m,"
        f'25-34,truck_driver,truck,"{v}"\n',
        "count", "SELECT count FROM flows",
    ),
    "dtm": (
        "flows", "dtm.csv",
        lambda v: DTM + f'2024-05,BSA,KEN,incoming,UGA,,Nairobi,M,25-34,"{v}",truck_driver,truck\n',
        "count", "SELECT count FROM flows",
    ),
    "dhis2-json": ("services", "v.json", _dhis2_json, "value", "SELECT value FROM services"),
    "dhis2-csv": (
        "services", "v.csv",
        lambda v: "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n"
        f'fbfJHSPpUQD,202402,KE_BUSIA_OSBP,Prlt0C1RF0s,TrKdrAoc001,"{v}"\n',
        "value", "SELECT value FROM services",
    ),
    "dhis2-xml": (
        "services", "v.xml",
        lambda v: '<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" period="202402" '
        'orgUnit="KE_BUSIA_OSBP"><dataValue dataElement="fbfJHSPpUQD" '
        f'categoryOptionCombo="Prlt0C1RF0s" attributeOptionCombo="TrKdrAoc001" value="{v}"/>'
        "</dataValueSet>",
        "value", "SELECT value FROM services",
    ),
    "adx": (
        "services", "v.adx.xml",
        lambda v: '<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="KE_BUSIA_OSBP" '
        'period="2024-04-01/P3M"><dataValue dataElement="HTS_TST" SEX="FEM" AGE="Y15T24" '
        f'value="{v}"/></group></adx>',
        "value", "SELECT value FROM services",
    ),
    "geojson": (
        "places", "p.geojson", _geojson, "population",
        "SELECT population FROM places WHERE place_code = 'ke-new-site'",
    ),
    "xlsx": ("services", "s.xlsx", None, "value", "SELECT value FROM services"),
}  # fmt: skip


def _write(folder: Path, fmt: str, number: str) -> Path:
    _kind, name, make, _column, _query = FILES[fmt]
    path = folder / name
    if make is None:  # a text cell, as a user types "1,000" into a cell formatted as text
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "services"
        sheet.append(SERVICES.strip().split(","))
        sheet.append(["2024Q3", "ke-busia-osbp", "hiv_tests", "f", "15-24", "truck_driver", number])
        book.save(path)
    else:
        path.write_text(make(number), encoding="utf-8")
    return path


def _count(eng: DuckDBEngine, kind: str) -> int:
    return int(eng.scalar(f"SELECT COUNT(*) FROM {kind}"))


@pytest.mark.parametrize("fmt", sorted(FILES))
@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("1,000", "ambiguous comma: a thousands separator (1000) or a decimal comma (1.000)? "
                  "Write 1000 or 1.000"),
        ("2,500", "ambiguous comma: a thousands separator (2500) or a decimal comma (2.500)?"),
        ("1,000,000", "thousands separators are not accepted: write 1000000"),
    ],
)  # fmt: skip
def test_a_thousands_separator_is_refused_in_every_format(
    engine: DuckDBEngine, fmt: str, number: str, why: str
) -> None:
    kind, _name, _make, column, _query = FILES[fmt]
    before = _count(engine, kind)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), fmt, number)
        with pytest.raises(InputError) as info:
            ingest(engine, [path], kind, mapping_path=MAPPING)
    problems = [p for p in info.value.problems if p.column == column]
    assert len(problems) == 1, info.value.problems
    [p] = problems
    assert (p.file, p.row, p.value) == (str(path), 1, number)
    assert p.reason.startswith(why)
    assert _count(engine, kind) == before  # nothing imported


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_a_decimal_comma_is_read_in_every_format(engine: DuckDBEngine, fmt: str) -> None:
    kind, _name, _make, _column, query = FILES[fmt]
    with tempfile.TemporaryDirectory() as tmp:
        number = "0,125" if kind == "services" else "12,0"
        path = _write(Path(tmp), fmt, number)
        if kind != "places":
            engine.execute(f"DELETE FROM {kind}")
        ingest(engine, [path], kind, mapping_path=MAPPING, dry_run=kind == "places")
        if kind == "places":
            return  # the dry run above validated it; the places stay as they are
        [(stored,)] = engine.query_rows(query + " ORDER BY 1 DESC LIMIT 1")
        assert float(stored) == float(number.replace(",", "."))
        engine.execute(f"DELETE FROM {kind}")
