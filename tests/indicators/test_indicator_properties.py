"""Property: before suppression, disaggregates always add up to the totals (DuckDB in memory)."""

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
                st.sampled_from(("hiv_tests", "pop_estimated")),
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
    total = compute_indicators(eng, ["testing_coverage"], by=["period"] if trend else [])
    expected = {r["period"]: (r["numerator"], r["denominator"]) for r in total.to_pylist()}
    cells = compute_indicators(eng, ["testing_coverage"], by=by)
    got: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    seen: dict[str, list[bool]] = defaultdict(lambda: [False, False])
    for r in cells.to_pylist():
        if "corridor" in by:
            continue  # corridors overlap: not additive
        for k, col in enumerate(("numerator", "denominator")):
            if r[col] is not None:
                got[r["period"]][k] += r[col]
                seen[r["period"]][k] = True
    if "corridor" not in by:
        for period, (num, den) in expected.items():
            assert (got[period][0] if seen[period][0] else None) == num
            assert (got[period][1] if seen[period][1] else None) == den
    # with margins: every margin is the sum of the cells it covers
    cube = compute_indicators(eng, ["testing_coverage"], by=by, totals=True).to_pylist()
    dims = [d for d in ("sex", "age_band", "population_group") if d in by]
    for r in cube:
        for d in dims:
            if r[d] != "total":
                continue
            parts = [
                p
                for p in cube
                if p[d] != "total"
                and all(
                    p[c] == r[c]
                    for c in r
                    if c not in (d, "numerator", "denominator", "value", "gap", "place_name")
                )
            ]
            for col in ("numerator", "denominator"):
                vals = [p[col] for p in parts if p[col] is not None]
                assert (sum(vals) if vals else None) == r[col]
