"""Aggregation rules of compute_indicators, on DuckDB and PostgreSQL (the ``engine`` fixture).

Every test runs on both engines against the same literal expectations, so the two engines give
identical results.
"""

from __future__ import annotations

import pytest
from indhelpers import declare_import, load_places, load_services, one, pick

from corridor.errors import QueryError
from corridor.indicators import compute_indicators
from corridor.storage.engine import Engine


@pytest.fixture
def eng(engine: Engine) -> Engine:
    """Places, and rows from a DHIS2 source: it drops zeros, so a numerator that is not
    reported beside its denominator is zero and the rules below are seen on the denominator
    alone (pairing is tested in test_indicator_pairs.py)."""
    load_places(engine)
    declare_import(engine, 1, "dhis2-json")
    return engine


def test_sums_add_over_time_stocks_take_the_last_value(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024-01", "ke-malaba", "hiv_tests", "", "", "", 10),
            ("2024-02", "ke-malaba", "hiv_tests", "", "", "", 20),
            ("2024-03", "ke-malaba", "hiv_tests", "", "", "", 30),
            ("2024-01", "ke-malaba", "hiv_positive", "", "", "", 3),
            ("2024-01", "ke-malaba", "art_current", "", "", "", 50),
            ("2024-03", "ke-malaba", "art_current", "", "", "", 53),
            ("2024-02", "ke-malaba", "art_current", "", "", "", 55),
            ("2024Q1", "ke-malaba", "plhiv_diagnosed", "", "", "", 100),
            ("2024", "ke-malaba", "plhiv_estimated", "", "", "", 200),
        ],
    )
    t = compute_indicators(eng, ["positivity", "second_95", "first_95"], period="2024Q1")
    assert t.column("period").to_pylist() == ["2024Q1"] * 3
    pos = one(t, indicator="positivity")
    assert (pos["numerator"], pos["denominator"], pos["value"]) == (3, 60, 5.0)
    assert pos["place_code"] == "all" and pos["sex"] == "total" and pos["target"] is None
    second = one(t, indicator="second_95")
    assert (second["numerator"], second["denominator"]) == (53, 100)  # March, not 158
    first = one(t, indicator="first_95")  # the annual estimate stands for the quarter
    assert (first["numerator"], first["denominator"], first["value"]) == (100, 200, 50.0)
    assert (first["target"], first["gap"]) == (95.0, 45.0)
    assert (first["numerator_element"], first["denominator_element"]) == (
        "plhiv_diagnosed",
        "plhiv_estimated",
    )


def test_total_and_partial_breakdown_are_not_counted_twice(eng: Engine) -> None:
    load_services(
        eng,
        [
            # a total row and a partial breakdown by sex: 30 not disaggregated
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100),
            ("2024Q1", "ke-malaba", "hiv_tests", "f", "", "", 40),
            ("2024Q1", "ke-malaba", "hiv_tests", "m", "", "", 30),
            # no total row
            ("2024Q1", "ke-busia", "hiv_tests", "f", "", "", 10),
            ("2024Q1", "ke-busia", "hiv_tests", "m", "", "", 5),
            # a total row smaller than its breakdown: the breakdown wins
            ("2024Q1", "ug-malaba", "hiv_tests", "", "", "", 20),
            ("2024Q1", "ug-malaba", "hiv_tests", "f", "", "", 15),
            ("2024Q1", "ug-malaba", "hiv_tests", "m", "", "", 10),
        ],
    )
    total = compute_indicators(eng, ["positivity"], by=["place"])
    assert {r["place_code"]: r["denominator"] for r in total.to_pylist()} == {
        "ke-busia": 15,
        "ke-malaba": 100,
        "ug-malaba": 25,
    }
    # no positives reported by a source that drops zeros: zero positives
    assert all(r["numerator"] == 0 and r["value"] == 0 for r in total.to_pylist())
    by_sex = compute_indicators(eng, ["positivity"], by=["place", "sex"])
    got = {(r["place_code"], r["sex"]): r["denominator"] for r in by_sex.to_pylist()}
    assert got == {
        ("ke-busia", "f"): 10,
        ("ke-busia", "m"): 5,
        ("ke-malaba", "f"): 40,
        ("ke-malaba", "m"): 30,
        ("ke-malaba", "unallocated"): 30,
        ("ug-malaba", "f"): 15,
        ("ug-malaba", "m"): 10,
    }
    assert by_sex.column("place_name").to_pylist()[:2] == ["Busia (KE)", "Busia (KE)"]


def test_each_grouping_uses_its_most_complete_breakdown(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100),
            ("2024Q1", "ke-malaba", "hiv_tests", "f", "", "", 60),
            ("2024Q1", "ke-malaba", "hiv_tests", "m", "", "", 40),
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "migrant", 30),
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "host", 50),
            ("2024Q1", "ke-malaba", "hiv_tests", "f", "15-24", "migrant", 7),
        ],
    )

    def cells(by: list[str]) -> dict[tuple[str, ...], float]:
        t = compute_indicators(eng, ["positivity"], by=by)
        return {
            (r["sex"], r["age_band"], r["population_group"]): r["denominator"]
            for r in t.to_pylist()
        }

    assert cells([]) == {("total", "total", "total"): 100}
    assert cells(["sex"]) == {("f", "total", "total"): 60, ("m", "total", "total"): 40}
    assert cells(["population_group"]) == {
        ("total", "total", "host"): 50,
        ("total", "total", "migrant"): 30,
        ("total", "total", "unallocated"): 20,
    }
    assert cells(["sex", "population_group"]) == {
        ("f", "total", "migrant"): 7,
        ("unallocated", "total", "unallocated"): 93,
    }
    assert cells(["age_band"]) == {
        ("total", "15-24", "total"): 7,
        ("total", "unallocated", "total"): 93,
    }


def test_months_and_the_quarter_of_one_count_are_counted_once(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024-01", "ke-malaba", "hiv_tests", "", "", "", 10),
            ("2024-02", "ke-malaba", "hiv_tests", "", "", "", 20),
            ("2024-03", "ke-malaba", "hiv_tests", "", "", "", 30),
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 60),
            ("2024-01", "ke-busia", "hiv_tests", "", "", "", 10),
            ("2024Q1", "ke-busia", "hiv_tests", "", "", "", 70),  # the quarter is more complete
            ("2024Q1", "ke-busia", "art_current", "", "", "", 9),  # stocks: latest, not summed
            ("2024-03", "ke-busia", "art_current", "", "", "", 8),
            ("2024Q1", "ke-busia", "plhiv_diagnosed", "", "", "", 10),
        ],
    )
    t = compute_indicators(eng, ["positivity", "second_95"], by=["place"], period="2024Q1")
    assert {
        (r["indicator"], r["place_code"]): (r["numerator"], r["denominator"]) for r in t.to_pylist()
    } == {  # no positives reported: zero, as the DHIS2 source drops zeros
        ("positivity", "ke-busia"): (0, 70),
        ("positivity", "ke-malaba"): (0, 60),
        ("second_95", "ke-busia"): (8, 10),  # of the same end date, the shorter period
    }


def test_weeks_belong_to_the_period_of_their_thursday(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024W01", "ke-malaba", "mpox_tested", "", "", "", 10),  # 2024-01-01 .. 01-07
            ("2025W01", "ke-malaba", "mpox_tested", "", "", "", 20),  # 2024-12-30 .. 2025-01-05
            ("2024W13", "ke-malaba", "mpox_tested", "", "", "", 40),  # 03-25 .. 03-31: Q1
            ("2024W14", "ke-malaba", "mpox_tested", "", "", "", 80),  # 04-01 .. 04-07: Q2
        ],
    )
    t = compute_indicators(eng, ["mpox_positivity"], by=["period"], period="2024")
    assert {r["period"]: r["denominator"] for r in t.to_pylist()} == {"2024": 130}
    t = compute_indicators(eng, ["mpox_positivity"], by=["period"])
    assert {r["period"]: r["denominator"] for r in t.to_pylist()} == {
        "2024Q1": 50,
        "2024Q2": 80,
        "2025Q1": 20,
    }


def test_trends_ranges_and_granularity(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2023-12", "ke-malaba", "hiv_tests", "", "", "", 1),
            ("2024-01", "ke-malaba", "hiv_tests", "", "", "", 2),
            ("2024-02", "ke-malaba", "hiv_tests", "", "", "", 4),
            ("2024-05", "ke-malaba", "hiv_tests", "", "", "", 8),
            ("2024-05", "ke-malaba", "hiv_positive", "", "", "", 1),
        ],
    )

    def series(by: list[str], period: str | None) -> list[tuple[str, float]]:
        t = compute_indicators(eng, ["positivity"], by=by, period=period)
        return [(r["period"], r["denominator"]) for r in t.to_pylist()]

    assert series([], None) == [("all", 15)]
    assert series([], "2024") == [("2024", 14)]
    assert series([], "2024Q1:2024Q2") == [("2024Q1:2024Q2", 14)]
    assert series(["period"], None) == [("2023Q4", 1), ("2024Q1", 6), ("2024Q2", 8)]
    assert series(["period"], "2024Q1:2024Q2") == [("2024Q1", 6), ("2024Q2", 8)]
    assert series(["period"], "2024-01:2024-06") == [("2024-01", 2), ("2024-02", 4), ("2024-05", 8)]
    assert series(["period"], "2023:2024") == [("2023", 1), ("2024", 14)]
    t = compute_indicators(eng, ["positivity"], by=["period"], period="2024")
    assert one(t, period="2024")["value"] == pytest.approx(100 / 14)


def test_place_groupings(eng: Engine) -> None:
    load_services(
        eng,
        [
            ("2024Q1", "ke-malaba", "hiv_tests", "", "", "", 100),
            ("2024Q1", "ke-busia", "hiv_tests", "", "", "", 20),
            ("2024Q1", "ke-mombasa", "hiv_tests", "", "", "", 300),
            ("2024Q1", "ug-malaba", "hiv_tests", "", "", "", 4000),
            ("2024Q1", "ke-west", "pop_estimated", "", "", "", 5000),  # an area reports itself
        ],
    )

    def tests(by: list[str], key: str) -> dict[str, float]:
        t = compute_indicators(eng, ["positivity"], by=by)
        return {r[key]: r["denominator"] for r in t.to_pylist()}

    assert tests(["country"], "place_code") == {"ken": 420, "uga": 4000}
    t = compute_indicators(eng, ["positivity"], by=["country"])
    assert one(t, place_code="ken")["country"] == "ken"
    assert one(t, place_code="ken")["place_name"] == "Kenya"
    assert tests(["admin1"], "place_code") == {"ke-west": 120, "none": 4300}
    assert tests(["place_type"], "place_type") == {
        "border_crossing": 4100,
        "seaport": 300,
        "truck_stop": 20,
    }
    corridors = tests(["corridor"], "corridor")
    assert corridors == {"lake": 20, "northern": 4420}  # busia counts in both
    assert set(
        compute_indicators(eng, ["positivity"], by=["corridor"])["place_code"].to_pylist()
    ) == {"all"}
    # the area reports a population, its sites report tests: no place reports both
    t = compute_indicators(eng, ["prep_coverage"], by=["admin1"])
    row = one(t, place_code="ke-west")
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 5000, 0)
    t = compute_indicators(eng, ["testing_coverage"], by=["admin1"])
    row = one(t, place_code="ke-west")
    assert (row["numerator"], row["denominator"], row["value"]) == (None, None, None)
    assert (row["places_reporting"], row["places_expected"], row["incomplete"]) == (0, 3, True)
    t = compute_indicators(eng, ["positivity"], by=["place", "corridor"])
    assert {(r["place_code"], r["corridor"]) for r in t.to_pylist()} == {
        ("ke-busia", "lake"),
        ("ke-busia", "northern"),
        ("ke-malaba", "northern"),
        ("ke-mombasa", "northern"),
        ("ug-malaba", "northern"),
    }


def test_margins_are_sums_of_the_cells(eng: Engine) -> None:
    rows = []
    for i, place in enumerate(("ke-malaba", "ke-busia", "ug-malaba")):
        for j, (sex, group) in enumerate(
            [("f", "migrant"), ("m", "migrant"), ("f", "host"), ("m", "host")]
        ):
            rows.append(("2024Q1", place, "hiv_tests", sex, "", group, 10 + 7 * i + 3 * j))
            rows.append(("2024Q1", place, "hiv_positive", sex, "", group, 1 + i + j))
    rows.append(("2024Q1", "ke-mombasa", "hiv_tests", "", "", "", 500))
    load_services(eng, rows)
    t = compute_indicators(
        eng, ["positivity"], by=["place", "sex", "population_group"], totals=True
    )
    data = t.to_pylist()
    grand = one(t, place_code="all", sex="total", population_group="total")
    assert grand["denominator"] == sum(r[6] for r in rows if r[2] == "hiv_tests")
    for col in ("numerator", "denominator"):
        for r in data:
            if r["sex"] == "total" and r[col] is not None:
                parts = pick(t, place_code=r["place_code"], population_group=r["population_group"])
                assert r[col] == sum(p[col] or 0 for p in parts if p["sex"] != "total")
            if r["place_code"] == "all" and r[col] is not None:
                parts = pick(t, sex=r["sex"], population_group=r["population_group"])
                assert r[col] == sum(p[col] or 0 for p in parts if p["place_code"] != "all")
    mombasa = one(t, place_code="ke-mombasa", sex="unallocated", population_group="unallocated")
    assert mombasa["denominator"] == 500
    # reading order: places, then all; codes in code-list order, then unallocated, then total
    keys = [(r["place_code"], r["sex"], r["population_group"]) for r in data]
    assert keys[:6] == [
        ("ke-busia", "f", "host"),
        ("ke-busia", "f", "migrant"),
        ("ke-busia", "f", "total"),
        ("ke-busia", "m", "host"),
        ("ke-busia", "m", "migrant"),
        ("ke-busia", "m", "total"),
    ]
    assert keys[-1] == ("all", "total", "total")


def test_targets_can_be_overridden_and_empty_warehouse(eng: Engine) -> None:
    t = compute_indicators(eng, ["first_95"], by=["place", "sex"])
    assert t.num_rows == 0
    assert "numerator" in t.column_names and "place_name" in t.column_names
    load_services(
        eng,
        [
            ("2024", "ke-malaba", "plhiv_diagnosed", "", "", "", 80),
            ("2024", "ke-malaba", "plhiv_estimated", "", "", "", 100),
        ],
    )
    t = compute_indicators(eng, ["first_95"], targets={"first_95": 90})
    assert (one(t)["target"], one(t)["gap"]) == (90.0, 10.0)


@pytest.mark.parametrize(
    ("ids", "by", "period", "message"),
    [
        (["nope"], [], None, "unknown indicator 'nope'"),
        (["positivity"], ["district"], None, "unknown dimension 'district'"),
        (["positivity"], [], "2024Q5", "bad period '2024Q5'"),
        (["positivity"], [], "2024Q3:2024Q1", "ends (2024Q1) before it starts"),
        ([], [], None, "no indicator named"),
    ],
)
def test_user_errors(
    eng: Engine, ids: list[str], by: list[str], period: str | None, message: str
) -> None:
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute_indicators(eng, ids, by=by, period=period)
