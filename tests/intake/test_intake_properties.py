"""Property tests: random valid tidy files round-trip exactly; a corrupted cell is caught on its row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from helpers import PLACES_CSV
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.contract import dimensions as d
from corridor.errors import InputError
from corridor.intake.importer import ingest
from corridor.storage.duckdb import DuckDBEngine
from corridor.storage.migrations import migrate

SITES = ["ke-malaba", "ug-malaba", "ke-mombasa"]
COLUMNS = ["period", "place_code", "data_element", "sex", "age_band", "population_group", "value"]

periods = st.one_of(
    st.integers(2019, 2025).map(str),
    st.tuples(st.integers(2019, 2025), st.integers(1, 4)).map(lambda t: f"{t[0]}Q{t[1]}"),
    st.tuples(st.integers(2019, 2025), st.integers(1, 12)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    st.tuples(st.integers(2019, 2025), st.integers(1, 52)).map(lambda t: f"{t[0]}W{t[1]:02d}"),
)
row = st.fixed_dictionaries(
    {
        "period": periods,
        "place_code": st.sampled_from(SITES),
        "data_element": st.sampled_from(sorted(d.DATA_ELEMENTS)),
        "sex": st.sampled_from(d.SEXES),
        "age_band": st.sampled_from(d.AGE_BANDS),
        "population_group": st.sampled_from(d.POPULATION_GROUPS),
        "value": st.one_of(
            st.integers(0, 10**9).map(float),
            st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 3)),
        ),
    }
)
KEY = ("period", "place_code", "data_element", "sex", "age_band", "population_group")
tables = st.lists(row, min_size=1, max_size=30, unique_by=lambda r: tuple(r[k] for k in KEY))


def _engine(tmp: Path) -> DuckDBEngine:
    eng = DuckDBEngine(":memory:")
    migrate(eng)
    places = tmp / "places.csv"
    places.write_text(PLACES_CSV)
    ingest(eng, [places], "places")
    return eng


def _write(rows: list[dict[str, object]], delim: str, hxl: bool) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(COLUMNS)
    if hxl:
        w.writerow(
            [
                "#date+period",
                "#loc+code",
                "#indicator+code",
                "#gender+code",
                "#age+range",
                "#population_group+code",
                "#x_value+num",
            ]
        )
    for r in rows:
        w.writerow([repr(r[c]) if c == "value" else r[c] for c in COLUMNS])
    return buf.getvalue()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=tables,
    delim=st.sampled_from([",", ";", "\t"]),
    hxl=st.booleans(),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),  # Unix, Windows, old Mac
)
def test_valid_tidy_files_round_trip_exactly(
    rows: list[dict[str, object]], delim: str, hxl: bool, ending: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        eng = _engine(Path(tmp))
        path = Path(tmp) / "s.csv"
        path.write_bytes(_write(rows, delim, hxl).replace("\n", ending).encode("utf-8"))
        [r] = ingest(eng, [path], "services")
        assert r.rows_new == len(rows)
        got = eng.query_rows(f"SELECT {', '.join(COLUMNS)} FROM services")
        from corridor.contract.periods import parse_period

        want = sorted(
            (parse_period(str(x["period"])).text, *(x[c] for c in COLUMNS[1:])) for x in rows
        )
        assert sorted(got) == want
        eng.close()


CORRUPTIONS = {
    "period": ["2024Q5", "24Q1", "2024-13", "yesterday"],
    "place_code": ["atlantis"],
    "data_element": ["hiv_testz"],
    "sex": ["female?", "q"],
    "age_band": ["15-99", "old"],
    "population_group": ["aliens"],
    "value": ["-1", "abc", "1e", "12..5"],
}


@settings(max_examples=40, deadline=None)
@given(rows=tables, data=st.data())
def test_a_corrupted_cell_is_rejected_on_its_row(
    rows: list[dict[str, object]], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(sorted(CORRUPTIONS)))
    bad = data.draw(st.sampled_from(CORRUPTIONS[column]))
    text = _write(rows, ",", False).splitlines()
    cells = next(csv.reader([text[index + 1]]))
    cells[COLUMNS.index(column)] = bad
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    text[index + 1] = buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        eng = _engine(Path(tmp))
        path = Path(tmp) / "s.csv"
        path.write_text("\n".join(text) + "\n")
        with pytest.raises(InputError) as info:
            ingest(eng, [path], "services")
        rows_named = {p.row for p in info.value.problems}
        assert rows_named == {index + 1}
        assert {p.column for p in info.value.problems} == {column}
        assert eng.scalar("SELECT COUNT(*) FROM services") == 0
        eng.close()


@settings(max_examples=40, deadline=None)
@given(
    words=st.lists(
        st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6),
        min_size=2,
        max_size=4,
    ),
    breaks=st.lists(st.sampled_from(["\r\n", "\n", "\r", "\t"]), min_size=3, max_size=3),
)
def test_a_line_break_in_a_name_is_one_space(words: list[str], breaks: list[str]) -> None:
    """Docs: in a name, a line break (CRLF, LF or CR) or a tab becomes one space."""
    text = words[0] + "".join(b + w for b, w in zip(breaks, words[1:], strict=False))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(
        [
            ["place_code", "name", "place_type", "parent_code", "country_code"],
            ["ken", "Kenya", "country", "", "ken"],
            ["ke-x", text, "market", "ken", "ken"],
        ]
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.csv"
        path.write_bytes(buf.getvalue().encode("utf-8"))
        eng = DuckDBEngine(":memory:")
        migrate(eng)
        ingest(eng, [path], "places")
        stored = eng.scalar("SELECT name FROM places WHERE place_code = 'ke-x'")
        eng.close()
    assert stored == " ".join(words).strip()
