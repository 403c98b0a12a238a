"""Numbers found by recomputing the demonstration world's indicators from its sources: a place
that reports both parts of an indicator keeps every cell of them in every grouping, so the
``total`` margin of a disaggregated output is the undisaggregated output.

On DuckDB and PostgreSQL (the ``engine`` fixture), against literal expectations.
"""

from __future__ import annotations

import pytest
from indhelpers import declare_import, load_places, load_services, one, pick

from corridor.indicators import compute_indicators
from corridor.storage.engine import Engine

TOTALS = {"sex": "total", "age_band": "total", "population_group": "total"}


def _total(engine: Engine, ind: str, by: list[str], **where: str) -> tuple[float, float]:
    t = compute_indicators(engine, [ind], by=by, period="2024", totals=True)
    row = one(t, place_code="all", **TOTALS, **where)
    return row["numerator"], row["denominator"]


def test_a_dropped_zero_denominator_cell_keeps_its_numerator(engine: Engine) -> None:
    """DHIS2 stores no zeros: a place with no positive men but two men started on ART (clients
    diagnosed elsewhere) has no hiv_positive cell for men. The two initiations still count in
    every output, as they do without disaggregation (the demo lost 543 of 23,490 in 2024)."""
    load_places(engine)
    declare_import(engine, 1, "dhis2-json")
    load_services(
        engine,
        [
            ("2024Q1", "ke-malaba", "hiv_positive", "f", "", "", 10),
            ("2024Q1", "ke-malaba", "art_initiated", "f", "", "", 9),
            ("2024Q1", "ke-malaba", "art_initiated", "m", "", "", 2),
        ],
    )
    assert _total(engine, "linkage_proxy", []) == (11, 10)
    assert _total(engine, "linkage_proxy", ["sex"]) == (11, 10)
    t = compute_indicators(engine, ["linkage_proxy"], by=["sex"], period="2024")
    men = one(t, sex="m")
    # the men's positives are a dropped zero: 2 started / 0 diagnosed, no value
    assert (men["numerator"], men["denominator"], men["value"]) == (2, 0, None)
    assert men["places_reporting"] == 1
    women = one(t, sex="f")
    assert (women["numerator"], women["denominator"], women["value"]) == (9, 10, 90.0)
    # the same cells by place (PostgreSQL pairs these in Arrow: cellpairs.py)
    t = compute_indicators(engine, ["linkage_proxy"], by=["place", "sex"], period="2024")
    men = one(t, place_code="ke-malaba", sex="m")
    assert (men["numerator"], men["denominator"], men["places_reporting"]) == (2, 0, 1)


def test_a_stock_reported_in_fewer_cells_keeps_the_other_parts(engine: Engine) -> None:
    """third_95: suppressed truck drivers where no art_current cell of truck drivers was sent
    (a zero, dropped) stay in the margins."""
    load_places(engine)
    declare_import(engine, 1, "dhis2-json")
    load_services(
        engine,
        [
            ("2024Q4", "ke-malaba", "art_current", "", "", "host", 100),
            ("2024Q4", "ke-malaba", "vl_suppressed", "", "", "host", 80),
            ("2024Q4", "ke-malaba", "vl_suppressed", "", "", "truck_driver", 2),
        ],
    )
    assert _total(engine, "third_95", []) == (82, 100)
    assert _total(engine, "third_95", ["population_group"]) == (82, 100)


@pytest.mark.parametrize("fmt", ["dhis2-json", "tidy-csv"])
def test_a_denominator_without_the_grouped_breakdown(engine: Engine, fmt: str) -> None:
    """prep_coverage by age band where the population estimate has no age bands (the demo:
    2022 lost 5,246 of 11,508 PrEP initiations from its total row): the age rows show the
    initiations with no denominator, the population is unallocated, the total is whole."""
    load_places(engine)
    declare_import(engine, 1, fmt)
    load_services(
        engine,
        [
            ("2024Q1", "ke-malaba", "prep_initiated", "", "15-24", "", 30),
            ("2024Q1", "ke-malaba", "prep_initiated", "", "25-34", "", 20),
            ("2024", "ke-malaba", "pop_estimated", "", "", "", 5000),
        ],
    )
    assert _total(engine, "prep_coverage", []) == (50, 5000)
    assert _total(engine, "prep_coverage", ["age_band"]) == (50, 5000)
    assert _total(engine, "prep_coverage", ["place", "age_band"]) == (50, 5000)
    t = compute_indicators(engine, ["prep_coverage"], by=["age_band"], period="2024")
    young = one(t, age_band="15-24")
    assert (young["numerator"], young["denominator"], young["value"]) == (30, None, None)
    assert young["places_reporting"] == 0  # not a pair: the place is not reporting this row
    rest = one(t, age_band="unallocated")
    assert (rest["numerator"], rest["denominator"], rest["places_reporting"]) == (0, 5000, 1)


def test_tests_of_ages_not_offered_testing_stay_in_the_numerator(engine: Engine) -> None:
    """testing_coverage counts tests at all ages; by age band the tests of children are shown
    apart (no denominator of those ages) rather than dropped from the total."""
    load_places(engine)
    declare_import(engine, 1, "tidy-csv")
    load_services(
        engine,
        [
            ("2024", "ke-malaba", "hiv_tests", "", "<15", "", 40),
            ("2024", "ke-malaba", "hiv_tests", "", "15-24", "", 300),
            ("2024", "ke-malaba", "pop_estimated", "", "<15", "", 4000),
            ("2024", "ke-malaba", "pop_estimated", "", "15-24", "", 1000),
        ],
    )
    assert _total(engine, "testing_coverage", []) == (340, 1000)
    assert _total(engine, "testing_coverage", ["age_band"]) == (340, 1000)
    t = compute_indicators(engine, ["testing_coverage"], by=["age_band"], period="2024")
    assert one(t, age_band="15-24")["value"] == 30.0
    children = one(t, age_band="<15")
    assert (children["numerator"], children["denominator"]) == (40, None)


def test_a_place_without_the_denominator_still_counts_nothing(engine: Engine) -> None:
    """The rule of pairs stays: positives of a place that reports no tests count nowhere."""
    load_places(engine)
    declare_import(engine, 1, "dhis2-json")
    load_services(
        engine,
        [
            ("2024Q1", "ke-malaba", "hiv_tests", "f", "", "", 100),
            ("2024Q1", "ke-malaba", "hiv_positive", "f", "", "", 5),
            ("2024Q1", "ke-busia", "hiv_positive", "m", "", "", 7),  # no tests
            ("2024Q2", "ke-malaba", "hiv_positive", "m", "", "", 3),  # no tests in Q2
        ],
    )
    assert _total(engine, "positivity", []) == (5, 100)
    assert _total(engine, "positivity", ["sex"]) == (5, 100)
    t = compute_indicators(engine, ["positivity"], by=["place", "sex"], period="2024")
    assert not [r for r in pick(t, sex="m") if r["numerator"] is not None]
