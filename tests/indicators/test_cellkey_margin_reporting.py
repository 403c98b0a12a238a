"""Margins count only the places whose rows are published (cell-key method).

``publish`` leaves out a row whose every count is published 0 (tests/indicators/
test_cellkey_row_presence.py). A row that sums places (the margin over places, a place group, a
row of an output not by place) then counts in ``places_reporting`` only the places whose own
row at its coordinates is listed, and ``incomplete`` follows that count: what the reader sees
about reporting is what the outputs by place list, in every output, so that a left-out row does
not show that its place reported (tests/indicators/test_attack_margin_reporting.py).

Properties (Hypothesis, DuckDB in memory, random record keys): every published row that sums
places counts exactly the places listed by place; the published numbers are those of the cell-
key method with no row left out; nothing changes where no place's row is left out; and a margin
reads the same whether a place's left-out row is there or the place reported nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indhelpers import Row, load_places, services_table

from corridor.config import load_settings
from corridor.contract.dimensions import DISAGGREGATIONS
from corridor.indicators import compute_indicators, publish
from corridor.indicators.aggregate import element_totals
from corridor.indicators.cellkey import (
    PLACE_CELLS_KEY,
    perturb_table,
    place_cells_of,
    without_keys,
)
from corridor.indicators.disclosure import perturbation_table
from corridor.indicators.places import ALL
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

SETTINGS = load_settings(None, env={})
SUPPRESSION = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
INDICATORS = ["positivity", "prep_coverage"]
PLACES = ("ke-malaba", "ke-busia", "ke-mombasa", "ug-malaba")
PERIODS = ("2023Q4", "2024-01", "2024-02", "2024Q1")
SEXES = ("", "f", "m")
AGES = ("", "15-24", "25-34")
GROUPS = ("", "host", "migrant")
#: (place groupings, disaggregations): the output by place adds "place" to the groupings
BYS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    ((), ()),
    ((), ("sex",)),
    ((), ("sex", "age_band", "population_group")),
    (("country",), ("sex",)),
    (("country",), ("age_band", "population_group")),
    (("admin1",), ("population_group",)),
    (("corridor",), ("sex",)),
    (("place_type",), ("age_band",)),
    (("country", "corridor"), ()),
    (("country",), ("period",)),
)
GROUP_COLUMNS = {"country": "country", "admin1": "admin1", "corridor": "corridor"}
GROUP_COLUMNS["place_type"] = "place_type"
COMPLETENESS = ("places_reporting", "places_expected", "incomplete")
NUMBERS = ("numerator", "denominator", "value", "gap")


#: the numerator and denominator elements of INDICATORS
PAIRS = (("hiv_positive", "hiv_tests"), ("prep_initiated", "pop_estimated"))


@st.composite
def services(draw: st.DrawFn, low: int = 0) -> list[tuple[Row, int]]:
    """Service rows of numerators and denominators, most reported together and many of them
    small counts (from ``low``), each with a random record key."""
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PERIODS),
                st.sampled_from(PLACES),
                st.sampled_from(PAIRS),
                st.sampled_from(SEXES),
                st.sampled_from(AGES),
                st.sampled_from(GROUPS),
            ),
            min_size=1,
            max_size=25,
            unique=True,
        )
    )
    count = st.one_of(st.integers(max(low, 0), max(low, 9)), st.integers(max(low, 10), 60))
    out: list[tuple[Row, int]] = []
    for period, place, pair, sex, age, group in keys:
        # both elements, or now and then one alone
        for element in draw(st.sampled_from((pair, pair, pair, pair[:1], pair[1:]))):
            value = float(draw(count))
            key = draw(st.integers(0, 2**32 - 1))
            out.append(((period, place, element, sex, age, group, value), key))
    return out


def _load(eng: Engine, rows: list[tuple[Row, int]]) -> None:
    eng.execute("DELETE FROM services")
    table = services_table([r for r, _ in rows])
    eng.insert_arrow(
        "services", table.append_column("record_key", pa.array([k for _, k in rows], pa.int64()))
    )


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Engine]:
    eng = connect(":memory:")
    migrate(eng)
    load_places(eng)
    yield eng
    eng.close()


def _key(row: dict[str, Any], groups: Sequence[str], margin: bool = False) -> tuple[Any, ...]:
    places = tuple(ALL if margin and g != "corridor" else row[GROUP_COLUMNS[g]] for g in groups)
    return (row["indicator"], row["period"], *places, *(row[d] for d in DISAGGREGATIONS))


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    cols = ("indicator", "period", "place_code", *GROUP_COLUMNS.values(), *DISAGGREGATIONS)
    return tuple(row.get(c) for c in cols)


def _by_place_counts(rows: list[dict[str, Any]], groups: Sequence[str]) -> Counter[Any]:
    """Per coordinates of a row that sums places: the places that reported there, each
    counted where its own row (of the output by place) is in ``rows``."""
    additive = any(g != "corridor" for g in groups)
    count: Counter[Any] = Counter()
    for r in rows:
        if r["place_code"] != ALL:
            count[_key(r, groups)] += r["places_reporting"]
            if additive:
                count[_key(r, groups, margin=True)] += r["places_reporting"]
    return count


def _outputs(
    eng: Engine, groups: Sequence[str], dims: Sequence[str]
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """(raw, published) by the groupings, and by place with them, both with totals."""
    grouped = compute_indicators(eng, INDICATORS, [*groups, *dims], totals=True)
    places = compute_indicators(eng, INDICATORS, ["place", *groups, *dims], totals=True)
    return grouped, publish(grouped, SETTINGS), places, publish(places, SETTINGS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=services(), by=st.sampled_from(BYS))
def test_rows_that_sum_places_count_the_places_listed_by_place(
    warehouse: Engine, rows: list[tuple[Row, int]], by: tuple[tuple[str, ...], tuple[str, ...]]
) -> None:
    groups, dims = by
    _load(warehouse, rows)
    raw, pub, raw_places, pub_places = _outputs(warehouse, groups, dims)
    listed = _by_place_counts(pub_places.to_pylist(), groups)
    every = _by_place_counts(raw_places.to_pylist(), groups)  # listed or left out
    share = float(raw.schema.metadata[b"corridor.completeness_threshold"])
    truth = {_row_key(r): r for r in raw.to_pylist()}
    whole = {
        _row_key(r): r
        for r in perturb_table(raw, perturbation_table(SETTINGS), drop_zero_rows=False).to_pylist()
    }
    for out, table in (("grouped", pub), ("by place", pub_places)):
        for r in table.to_pylist():
            if out == "by place" and r["place_code"] != ALL:
                continue  # a place's own row: itself
            key = _key(r, groups)
            assert r["places_reporting"] == listed[key], (out, r)
            if out == "grouped":
                # the true count less the places whose rows are left out; the numbers and the
                # places expected as without leaving any row out
                raw_row = truth[_row_key(r)]
                assert raw_row["places_reporting"] == every[key]
                assert r["places_expected"] == raw_row["places_expected"]
                assert {c: r[c] for c in NUMBERS} == {c: whole[_row_key(r)][c] for c in NUMBERS}
            assert r["incomplete"] == (r["places_reporting"] * 100 < r["places_expected"] * share)
    assert PLACE_CELLS_KEY.encode() not in (pub.schema.metadata or {})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=services(low=10), by=st.sampled_from(BYS))
def test_nothing_changes_where_no_row_is_left_out(
    warehouse: Engine, rows: list[tuple[Row, int]], by: tuple[tuple[str, ...], tuple[str, ...]]
) -> None:
    """Every count 10 or more (no count published 0): every row listed, with the completeness
    of the data."""
    groups, dims = by
    _load(warehouse, rows)
    for table in (
        compute_indicators(warehouse, INDICATORS, [*groups, *dims], totals=True),
        compute_indicators(warehouse, INDICATORS, ["place", *groups, *dims], totals=True),
    ):
        pub = publish(table, SETTINGS)
        assert pub.num_rows == table.num_rows
        assert pub.select(COMPLETENESS).to_pylist() == table.select(COMPLETENESS).to_pylist()


def _world(eng: Engine, second: list[Row]) -> None:
    """Two sites of Kenya that reported large counts in 2023Q4; in 2024Q1 Malaba reports
    50 / 500 and Busia ``second``. Every record key 0: a count of 1-9 is published 0."""
    rows: list[Row] = []
    for place in ("ke-malaba", "ke-busia"):
        for sex in ("f", "m"):
            rows += [
                ("2023Q4", place, "hiv_positive", sex, "", "", 40.0),
                ("2023Q4", place, "hiv_tests", sex, "", "", 400.0),
            ]
    for sex in ("f", "m"):
        rows += [
            ("2024Q1", "ke-malaba", "hiv_positive", sex, "", "", 25.0),
            ("2024Q1", "ke-malaba", "hiv_tests", sex, "", "", 250.0),
        ]
    eng.execute("DELETE FROM services")
    eng.insert_arrow("services", services_table(rows + second))


def _completeness(eng: Engine, by: Sequence[str]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    out = publish(compute_indicators(eng, ["positivity"], by, "2024Q1", totals=True), SETTINGS)
    return {
        (r["place_code"], r.get("country"), r["sex"]): tuple(r[c] for c in COMPLETENESS)
        for r in out.to_pylist()
        if r["place_code"] != "ke-busia"
    }


@pytest.mark.parametrize("by", [["sex"], ["place", "sex"], ["country", "sex"]])
def test_a_margin_reads_as_if_the_left_out_place_had_not_reported(
    warehouse: Engine, by: list[str]
) -> None:
    """Busia's positivity 1/3 (women) and 2/4 (men) leaves Busia no row (docs/disclosure.md,
    the example of the review: the ``all`` row said "2 of 2" and "1 of 2", incomplete, with no
    data there). Every row that sums places reads as if Busia had reported nothing."""
    small = [
        ("2024Q1", "ke-busia", "hiv_positive", "f", "", "", 1.0),
        ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 3.0),
        ("2024Q1", "ke-busia", "hiv_positive", "m", "", "", 2.0),
        ("2024Q1", "ke-busia", "hiv_tests", "m", "", "", 4.0),
    ]
    _world(warehouse, small)
    left_out = _completeness(warehouse, by)
    group = ("ken", "ken", "total") if "country" in by else (ALL, None, "total")
    raw = compute_indicators(warehouse, ["positivity"], by, "2024Q1", totals=True).to_pylist()
    truth = [r for r in raw if (r["place_code"], r.get("country"), r["sex"]) == group]
    assert [r["places_reporting"] for r in truth] == [2]  # both sites reported
    _world(warehouse, [])
    nothing = _completeness(warehouse, by)
    assert left_out == nothing
    assert left_out[group] == (1, 2, True)  # 1 of 2 places reported: incomplete


def test_a_place_total_listed_while_its_rows_by_sex_are_left_out(warehouse: Engine) -> None:
    """Busia's women 5/8 and men 6/9 are left out (each published 0), its total 11/17 is listed
    (11 published 10 or more): the margin over sex counts Busia, the margins of each sex do
    not, and Busia's own total says it reported (its counts show it)."""
    _world(
        warehouse,
        [
            ("2024Q1", "ke-busia", "hiv_positive", "f", "", "", 5.0),
            ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 8.0),
            ("2024Q1", "ke-busia", "hiv_positive", "m", "", "", 6.0),
            ("2024Q1", "ke-busia", "hiv_tests", "m", "", "", 9.0),
        ],
    )
    for by in (["place", "sex"], ["sex"], ["country", "sex"]):
        out = publish(
            compute_indicators(warehouse, ["positivity"], by, "2024Q1", totals=True), SETTINGS
        )
        rows = {(r["place_code"], r["sex"]): r for r in out.to_pylist()}
        group = "ken" if "country" in by else ALL
        assert rows[(group, "f")]["places_reporting"] == 1
        assert rows[(group, "m")]["places_reporting"] == 1
        assert rows[(group, "total")]["places_reporting"] == 2
        if "place" in by:
            assert ("ke-busia", "f") not in rows and ("ke-busia", "m") not in rows
            assert rows[("ke-busia", "total")]["places_reporting"] == 1


def test_suppression_counts_every_place(warehouse: Engine) -> None:
    """Suppression leaves no row out (a count of 1-9 shows as <10): the counts are the data's,
    and the places' own cells never leave."""
    _world(
        warehouse,
        [
            ("2024Q1", "ke-busia", "hiv_positive", "f", "", "", 1.0),
            ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 3.0),
        ],
    )
    raw = compute_indicators(warehouse, ["positivity"], ["sex"], "2024Q1", totals=True)
    assert place_cells_of(raw) is not None
    out = publish(raw, SUPPRESSION)
    assert out.select(COMPLETENESS).to_pylist() == raw.select(COMPLETENESS).to_pylist()
    assert PLACE_CELLS_KEY.encode() not in (out.schema.metadata or {})
    assert PLACE_CELLS_KEY.encode() not in (without_keys(raw).schema.metadata or {})
    # an output by place carries none: its margins count its own rows
    by_place = compute_indicators(
        warehouse, ["positivity"], ["place", "sex"], "2024Q1", totals=True
    )
    assert place_cells_of(by_place) is None


def test_element_values_expect_the_places_counted(warehouse: Engine) -> None:
    """The values of data elements expect nothing of a place (``places_expected`` is
    ``places_reporting``): both count the places whose rows are listed."""
    _world(
        warehouse,
        [
            ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 3.0),
            ("2024Q1", "ke-busia", "hiv_tests", "m", "", "", 4.0),
        ],
    )
    raw = element_totals(warehouse, ["hiv_tests"], ["sex"], "2024Q1", totals=True)
    out = publish(raw, SETTINGS).to_pylist()
    assert out
    for r in out:
        assert r["places_expected"] == r["places_reporting"] == 1
        assert not r["incomplete"]


def test_both_engines_count_the_places_listed(engine: Engine) -> None:
    """DuckDB and PostgreSQL (whose rows are ordered on the client) give the places' own cells
    alike: a country and the margin over places count only Malaba."""
    load_places(engine)
    _world(
        engine,
        [
            ("2024Q1", "ke-busia", "hiv_positive", "f", "", "", 1.0),
            ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 3.0),
            ("2024Q1", "ug-malaba", "hiv_positive", "f", "", "", 30.0),
            ("2024Q1", "ug-malaba", "hiv_tests", "f", "", "", 300.0),
        ],
    )
    raw = compute_indicators(engine, ["positivity"], ["country", "sex"], "2024Q1", totals=True)
    cells = place_cells_of(raw)
    assert cells is not None
    # each place's own cell where it reported a pair: Malaba (KE) by sex and in total, Busia's
    # women and total, Malaba (UG)'s women and total
    assert cells.num_rows == 7
    got = _completeness(engine, ["country", "sex"])
    assert got[("ken", "ken", "f")] == (1, 2, True)
    assert got[("ken", "ken", "total")] == (1, 2, True)
    assert got[("uga", "uga", "f")] == (1, 1, False)
    assert got[(ALL, ALL, "f")] == (2, 3, True)
