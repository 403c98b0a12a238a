"""Definitions that decide what a number means: pairs of numerator and denominator, reporting
completeness, zero-dropping sources, lookback and lagged elements, ages offered testing.

On DuckDB and PostgreSQL (the ``engine`` fixture), against literal expectations.
"""

from __future__ import annotations

import json

import pytest
from indhelpers import declare_import, load_places, load_services, one, pick

from corridor.indicators import compute_indicators
from corridor.storage.engine import Engine


@pytest.fixture
def eng(engine: Engine) -> Engine:
    load_places(engine)
    declare_import(engine, 1, "tidy-csv")  # a source that does not drop zeros
    return engine


def test_margins_add_only_places_that_report_both(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100),
            ("2024Q1", "ke-malaba", "hiv_positive", "", "", "", 10),
            ("2024Q1", "ke-busia", "hiv_positive", "", "", "", 40),  # positives without tests
            ("2024Q1", "ke-mombasa", "hiv_tests", "", "", "", 300),  # tests, positives missing
            ("2024Q1", "ug-malaba", "hiv_tests", "", "", "", 50),
            ("2024Q1", "ug-malaba", "hiv_positive", "", "", "", 5),
        ],
    )
    t = compute_indicators(eng, ["positivity"], by=["country"], totals=True)
    ken = one(t, place_code="ken")
    assert (ken["numerator"], ken["denominator"], ken["value"]) == (10, 100, 10.0)
    assert (ken["places_reporting"], ken["places_expected"], ken["incomplete"]) == (1, 3, True)
    uga = one(t, place_code="uga")
    assert (uga["numerator"], uga["denominator"]) == (5, 50)
    assert (uga["places_reporting"], uga["places_expected"], uga["incomplete"]) == (1, 1, False)
    everywhere = one(t, place_code="all")
    assert (everywhere["numerator"], everywhere["denominator"]) == (15, 150)
    assert (everywhere["places_reporting"], everywhere["places_expected"]) == (2, 4)
    # by place: the places that do not report both show up, with nothing counted
    t = compute_indicators(eng, ["positivity"], by=["place"])
    busia = one(t, place_code="ke-busia")
    assert (busia["numerator"], busia["denominator"], busia["value"]) == (None, None, None)
    assert (busia["places_reporting"], busia["places_expected"], busia["incomplete"]) == (
        0,
        1,
        True,
    )
    # corridors: busia is on two; neither counts its positives
    t = compute_indicators(eng, ["positivity"], by=["corridor"])
    assert one(t, corridor="northern")["numerator"] == 15
    assert one(t, corridor="lake")["places_reporting"] == 0
    # the threshold is a parameter (the setting completeness_threshold)
    t = compute_indicators(eng, ["positivity"], by=["country"], completeness=30)
    assert one(t, place_code="ken")["incomplete"] is False


def test_a_year_adds_only_the_quarters_that_report_both(eng: Engine) -> None:
    rows = [("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100)]
    rows += [(f"2024Q{q}", "ke-malaba", "hiv_tests", "", "", "", 100) for q in (2, 3, 4)]
    rows += [(f"2024Q{q}", "ke-malaba", "hiv_positive", "", "", "", 10) for q in (1, 2)]
    rows += [("2024-07", "ke-busia", "hiv_tests", "", "", "", 30)]
    rows += [("2024-08", "ke-busia", "hiv_positive", "", "", "", 3)]  # same quarter: a pair
    load_services(eng, rows)
    t = compute_indicators(eng, ["positivity"], by=["place"], period="2024")
    malaba = one(t, place_code="ke-malaba")
    assert (malaba["numerator"], malaba["denominator"], malaba["value"]) == (20, 200, 10.0)
    busia = one(t, place_code="ke-busia")
    assert (busia["numerator"], busia["denominator"]) == (3, 30)


@pytest.mark.parametrize(
    ("fmt", "mapping", "zero"),
    [
        ("tidy-csv", None, False),
        ("dhis2-json", None, True),
        ("adx", None, True),
        ("dhis2-json", {"drop_zeros": False}, False),
        ("tidy-csv", {"drop_zeros": True}, True),
    ],
)
def test_a_missing_numerator_is_zero_only_where_the_source_drops_zeros(
    engine: Engine, fmt: str, mapping: dict[str, bool] | None, zero: bool
) -> None:
    load_places(engine)
    declare_import(engine, 1, fmt, json.dumps(mapping) if mapping else None)
    load_services(
        engine,
        [
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100),
            ("2024Q1", "ke-malaba", "hiv_positive", "", "", "", 10),
            ("2024Q1", "ke-busia", "hiv_tests", "", "", "", 60),
        ],
    )
    row = one(compute_indicators(engine, ["positivity"]), place_code="all")
    if zero:
        assert (row["numerator"], row["denominator"], row["places_reporting"]) == (10, 160, 2)
    else:
        assert (row["numerator"], row["denominator"], row["places_reporting"]) == (10, 100, 1)
    assert row["places_expected"] == 2


def test_lookback_counts_take_the_latest_quarter_and_are_never_summed(eng: Engine) -> None:
    rows = []
    for q, tested, supp, art in ((1, 80, 70, 100), (2, 84, 76, 104), (3, 90, 81, 110)):
        rows += [
            (f"2024Q{q}", "ke-malaba", "vl_tested", "", "", "", tested),
            (f"2024Q{q}", "ke-malaba", "vl_suppressed", "", "", "", supp),
            (f"2024Q{q}", "ke-malaba", "art_current", "", "", "", art),
        ]
    rows += [("2024", "ke-malaba", "plhiv_estimated", "", "", "", 150)]
    load_services(eng, rows)
    t = compute_indicators(
        eng, ["vl_suppression", "third_95", "overall_suppression"], period="2024"
    )
    vls = one(t, indicator="vl_suppression")
    assert (vls["numerator"], vls["denominator"]) == (81, 90)  # Q3, not 70 + 76 + 81
    third = one(t, indicator="third_95")
    assert (third["numerator"], third["denominator"]) == (81, 110)
    assert third["target"] == 95.0
    overall = one(t, indicator="overall_suppression")
    assert (overall["numerator"], overall["denominator"]) == (81, 150)
    assert overall["target"] == 85.7
    # an annual lookback value does not stand for a quarter (a stock estimate would)
    load_services(eng, [("2023", "ke-busia", "vl_tested", "", "", "", 10)])
    load_services(eng, [("2023", "ke-busia", "vl_suppressed", "", "", "", 9)])
    assert not pick(compute_indicators(eng, ["vl_suppression"], by=["place"], period="2023Q4"))
    t = compute_indicators(eng, ["vl_suppression"], by=["place"], period="2023")
    assert one(t, place_code="ke-busia")["value"] == 90.0


def test_vl_coverage_divides_by_art_two_quarters_earlier(eng: Engine) -> None:
    art = {"2023Q3": 60, "2023Q4": 70, "2024Q1": 80, "2024Q2": 90, "2024Q3": 100, "2024Q4": 110}
    rows = [(p, "ke-malaba", "art_current", "", "", "", v) for p, v in art.items()]
    rows += [(f"2024Q{q}", "ke-malaba", "vl_tested", "", "", "", 50 + q) for q in (1, 2, 3, 4)]
    load_services(eng, rows)
    t = compute_indicators(eng, ["vl_coverage"], by=["period"], period="2024Q1:2024Q4")
    got = {r["period"]: (r["numerator"], r["denominator"]) for r in t.to_pylist()}
    assert got == {
        "2024Q1": (51, 60),
        "2024Q2": (52, 70),
        "2024Q3": (53, 80),
        "2024Q4": (54, 90),
    }
    year = one(compute_indicators(eng, ["vl_coverage"], period="2024"), period="2024")
    assert (year["numerator"], year["denominator"]) == (54, 90)  # Q4's lookback / Q2's TX_CURR
    assert year["denominator_element"] == "art_current__lag2q"
    # no TX_CURR two quarters before: not reported
    assert not pick(compute_indicators(eng, ["vl_coverage"], period="2023Q4"), period="2023Q4")


def test_testing_coverage_divides_by_the_ages_offered_testing(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024", "ke-malaba", "hiv_tests", "", "", "", 300),
            ("2024", "ke-malaba", "pop_estimated", "", "<15", "", 4000),
            ("2024", "ke-malaba", "pop_estimated", "", "15-24", "", 1000),
            ("2024", "ke-malaba", "pop_estimated", "", "25-34", "", 1000),
            ("2024", "ke-malaba", "pop_estimated", "", "", "", 6000),
            ("2024", "ke-busia", "hiv_tests", "", "", "", 80),
            ("2024", "ke-busia", "pop_estimated", "", "", "", 900),  # no ages: not reporting
        ],
    )
    t = compute_indicators(eng, ["testing_coverage"], by=["place"], period="2024")
    malaba = one(t, place_code="ke-malaba")
    assert (malaba["numerator"], malaba["denominator"], malaba["value"]) == (300, 2000, 15.0)
    assert malaba["denominator_element"] == "pop_estimated__offered_ages"
    busia = one(t, place_code="ke-busia")
    assert (busia["numerator"], busia["places_reporting"]) == (None, 0)
    t = compute_indicators(
        eng, ["testing_coverage"], by=["place"], period="2024", testing_min_age=25
    )
    assert one(t, place_code="ke-malaba")["denominator"] == 1000
    # prep coverage still divides by everyone
    load_services(eng, [("2024", "ke-malaba", "prep_initiated", "", "", "", 60)])
    t = compute_indicators(eng, ["prep_coverage"], by=["place"], period="2024")
    assert one(t, place_code="ke-malaba")["denominator"] == 6000


def test_recent_infections(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024Q1", "ke-malaba", "hiv_recency_tested", "", "", "", 40),
            ("2024Q1", "ke-malaba", "hiv_recent", "", "", "", 6),
            ("2024Q2", "ke-malaba", "hiv_recency_tested", "", "", "", 20),
        ],
    )
    row = one(compute_indicators(eng, ["recent_infections"], period="2024"), place_code="all")
    assert (row["numerator"], row["denominator"], row["value"]) == (6, 40, 15.0)
