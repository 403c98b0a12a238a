"""Properties, before disclosure control (DuckDB in memory): margins add up their cells, place
groupings add up to all places, and a row is a pair (numerator and denominator) or nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indhelpers import Row, load_places, load_services

from corridor.indicators import compute_indicators
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

PLACES = ("ke-malaba", "ke-busia", "ug-malaba")
PERIODS = ("2024-01", "2024-02", "2024Q1", "2024")
SEXES = ("", "f", "m")
AGES = ("", "15-24", "25-34")
GROUPS = ("", "host", "migrant")
BYS = (
    ["sex"],
    ["population_group"],
    ["sex", "age_band"],
    ["sex", "age_band", "population_group"],
    ["place", "population_group"],
    ["country", "sex"],
    ["admin1", "age_band", "period"],
    ["corridor", "population_group"],
)


@st.composite
def services(draw: st.DrawFn) -> list[Row]:
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PERIODS),
                st.sampled_from(PLACES),
                st.sampled_from(("hiv_tests", "hiv_positive", "pop_estimated", "prep_initiated")),
                st.sampled_from(SEXES),
                st.sampled_from(AGES),
                st.sampled_from(GROUPS),
            ),
            min_size=1,
            max_size=30,
            unique=True,
        )
    )
    return [(*k, float(draw(st.integers(0, 50)))) for k in keys]


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Engine]:
    eng = connect(":memory:")
    migrate(eng)
    load_places(eng)
    yield eng
    eng.close()


INDICATORS = ["positivity", "prep_coverage"]
#: output columns that are not keys of a cell
VALUES = {
    "numerator",
    "denominator",
    "value",
    "gap",
    "place_name",
    "places_reporting",
    "places_expected",
    "incomplete",
    "numerator_key",  # the cell keys of the disclosure control: sums of record keys, not
    "denominator_key",  # dimensions of the cell
}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(rows=services(), by=st.sampled_from(BYS))
def test_disaggregates_add_up_to_totals(warehouse: Engine, rows: list[Row], by: list[str]) -> None:
    eng = warehouse
    eng.execute("DELETE FROM services")
    load_services(eng, rows)
    trend = "period" in by
    dims = [d for d in ("sex", "age_band", "population_group") if d in by]
    # place groupings partition the places: their pairs add up to the all-places pairs
    if not dims and "corridor" not in by:
        total = compute_indicators(eng, INDICATORS, by=["period"] if trend else [])
        expected = {
            (r["indicator"], r["period"]): (r["numerator"], r["denominator"], r["places_reporting"])
            for r in total.to_pylist()
        }
        got: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        seen: dict[tuple[str, str], bool] = defaultdict(bool)
        for r in compute_indicators(eng, INDICATORS, by=by).to_pylist():
            key = (r["indicator"], r["period"])
            got[key][2] += r["places_reporting"]
            if r["numerator"] is not None:
                got[key][0] += r["numerator"]
                got[key][1] += r["denominator"]
                seen[key] = True
        for key, (num, den, places) in expected.items():
            assert (got[key][0] if seen[key] else None) == num
            assert (got[key][1] if seen[key] else None) == den
            assert got[key][2] == places
    # with margins: every margin is the sum of the cells it covers
    cube = compute_indicators(eng, INDICATORS, by=by, totals=True).to_pylist()
    for r in cube:
        # a row where some place reports is a pair (a part alone is a place's value that is
        # not broken down like the other part, kept so that the margins add up)
        if r["places_reporting"]:
            assert r["numerator"] is not None and r["denominator"] is not None
        assert 0 <= r["places_reporting"] <= r["places_expected"]
        assert r["incomplete"] == (r["places_reporting"] < 0.8 * r["places_expected"])
        for d in dims:
            if r[d] != "total":
                continue
            parts = [
                p
                for p in cube
                if p[d] != "total" and all(p[c] == r[c] for c in r if c != d and c not in VALUES)
            ]
            for col in ("numerator", "denominator"):
                vals = [p[col] for p in parts if p[col] is not None]
                assert (sum(vals) if vals else None) == r[col]
            if parts:  # a place reporting in a part reports in the margin
                assert r["places_reporting"] >= max(p["places_reporting"] for p in parts)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(
        st.tuples(*(st.integers(1, 500) for _ in range(4))), min_size=1, max_size=len(PLACES)
    )
)
def test_the_three_95s_multiply_to_overall_suppression(
    warehouse: Engine, counts: list[tuple[int, int, int, int]]
) -> None:
    """Where every place reports all four elements, first x second x third 95 = suppressed /
    PLHIV, place by place and over all places."""
    eng = warehouse
    eng.execute("DELETE FROM services")
    rows: list[Row] = []
    for place, (est, diag, art, supp) in zip(PLACES, counts, strict=False):
        for element, v in (
            ("plhiv_estimated", est),
            ("plhiv_diagnosed", diag),
            ("art_current", art),
            ("vl_suppressed", supp),
        ):
            rows.append(("2024Q1", place, element, "", "", "", float(v)))
    load_services(eng, rows)
    ids = ["first_95", "second_95", "third_95", "overall_suppression"]
    t = compute_indicators(eng, ids, by=["place"], totals=True).to_pylist()
    by: dict[str, dict[str, float]] = defaultdict(dict)
    for r in t:
        by[r["place_code"]][r["indicator"]] = r["value"]
    for values in by.values():
        product = values["first_95"] * values["second_95"] * values["third_95"] / 10_000
        assert product == pytest.approx(values["overall_suppression"], rel=1e-9)
