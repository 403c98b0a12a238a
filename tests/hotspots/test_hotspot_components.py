"""The measures behind the components, on a small hand-built warehouse (DuckDB and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hotspot_world import insert_cases, insert_services, load_small_world

from corridor.errors import QueryError
from corridor.hotspots import rank_sites
from corridor.hotspots.components import compute_site_data
from corridor.hotspots.warehouse import Window, resolve_window
from corridor.storage.engine import Engine

YEAR_2024 = Window(date(2024, 1, 1), date(2024, 12, 31), "2024")
LEAP = 365.25 / 366  # annualising factor of 2024


def measures(engine: Engine) -> dict[str, dict[str, float]]:
    data = compute_site_data(engine, YEAR_2024)
    codes = list(data.sites["place_code"])
    return {m.spec.name: dict(zip(codes, m.value(), strict=True)) for m in data.measures}


def test_default_window_is_the_last_12_months(engine: Engine) -> None:
    load_small_world(engine)
    w = resolve_window(engine, None)
    assert (w.start, w.end) == (date(2024, 1, 1), date(2024, 12, 31))
    assert resolve_window(engine, "2023Q1:2024Q4").start == date(2023, 1, 1)
    with pytest.raises(QueryError, match="period"):
        resolve_window(engine, "2024-13")


def test_measures_on_the_small_world(engine: Engine) -> None:
    load_small_world(engine)
    m = measures(engine)
    approx = pytest.approx
    # mobility: observed at the site + bound for it elsewhere, per resident, per year
    assert m["travellers_per_head"]["s-border"] == approx(3200 / 2000 * LEAP)
    assert m["travellers_per_head"]["s-truck"] == approx(500 / 1000 * LEAP)
    assert m["travellers_per_head"]["s-mine"] == approx(200 / 500 * LEAP)  # bound for the mine
    assert math.isnan(m["travellers_per_head"]["s-fish"])  # no flow data
    assert m["mobile_share"] == approx(
        {"s-truck": 0.75, "s-border": 0.5, "s-mine": 0.75, "s-fish": 0.8, "s-market": 0.0}
    )
    # burden
    assert m["positivity"] == approx(
        {"s-truck": 0.1, "s-border": 0.02, "s-mine": 0.15, "s-fish": 0.1, "s-market": 0.01}
    )
    assert m["prevalence"] == approx(
        {"s-truck": 0.1, "s-border": 0.03, "s-mine": 0.15, "s-fish": 0.05, "s-market": 0.02}
    )
    outbreak = m["outbreak_cases_per_10k"]
    assert outbreak["s-mine"] == approx(5 / 500 * 1e4 * LEAP)  # confirmed
    assert outbreak["s-market"] == approx(2 / 4000 * 1e4 * LEAP)  # probable
    assert outbreak["s-truck"] == 0.0  # a suspected case does not count
    # service gap (raw values; the gap to target enters the score)
    assert m["testing_coverage_mobile"]["s-truck"] == approx(300 / 400 * LEAP)
    assert math.isnan(m["testing_coverage_mobile"]["s-market"])  # no mobile group there
    assert m["linkage_proxy"]["s-mine"] == approx(0.5)
    assert m["vl_suppression"]["s-market"] == approx(0.98)
    assert m["art_coverage"]["s-truck"] == approx(0.7)
    assert math.isnan(m["art_coverage"]["s-market"])  # no art_current reported
    # bridging: travellers x prevalence range along the journey (origin, site, destination),
    # per resident; aaa-n 10%, bbb-s 0.5%, border 3%, mine 15%
    bf = m["bridging_flow"]
    assert bf["s-border"] == approx((3000 * (0.1 - 0.005) + 200 * (0.15 - 0.03)) / 2000 * LEAP)
    assert bf["s-truck"] == approx(0.0)  # from aaa-n (10%) to the truck stop (10%)
    assert bf["s-mine"] == approx(200 * (0.15 - 0.03) / 500 * LEAP)
    assert bf["s-market"] == approx(100 * (0.02 - 0.005) / 4000 * LEAP)
    assert math.isnan(bf["s-fish"])
    bt = m["betweenness"]
    assert bt["s-border"] > 0
    assert bt["s-border"] == max(v for v in bt.values() if not math.isnan(v))
    assert math.isnan(bt["s-fish"])


def test_missing_flow_data_is_flagged_and_imputed(engine: Engine) -> None:
    load_small_world(engine)
    result = rank_sites(engine, draws=200, seed=3)
    rows = {r["place_code"]: r for r in result.table.to_pylist()}
    fish = rows["s-fish"]
    assert "no_flow_data" in fish["flags"].split(";")
    assert fish["travellers_per_head"] is None or math.isnan(fish["travellers_per_head"])
    # not silently low-mobility: imputed with the median site (pool: all sites, < 3 fishing sites)
    travellers = result.measures["travellers_per_head"]
    i = result.place_codes.index("s-fish")
    assert travellers.imputed[i]
    assert travellers.normalised[i] == pytest.approx(0.5)
    assert fish["mobility"] > 0
    assert rows["s-border"]["flags"] == ""
    assert "no_group_data" in rows["s-market"]["flags"]


def test_a_period_without_data_is_refused(engine: Engine) -> None:
    """Nothing the ranking reads in the period: a user error, not a ranking of imputed sites."""
    load_small_world(engine)
    with pytest.raises(QueryError, match="nothing to rank for period 2022"):
        rank_sites(engine, period="2022", draws=20)


def test_a_period_with_little_data_leaves_components_out(engine: Engine) -> None:
    load_small_world(engine)
    # the period's only data: one outbreak case, and HIV testing at one site
    insert_cases(engine, [dict(case_id="old", classification="confirmed", place_code="s-mine")],
                 day=date(2022, 5, 1))  # fmt: skip
    insert_services(engine, [
        dict(period="2022", place_code="s-mine", data_element="hiv_tests", value=200),
        dict(period="2022", place_code="s-mine", data_element="hiv_positive", value=20),
    ])  # fmt: skip
    result = rank_sites(engine, period="2022", draws=20)
    assert result.components == ("burden",)  # only positivity and the outbreak measure
    assert any("mobility" in n for n in result.notes)
    # no data of their own: the other sites get s-mine's inputs, the same estimate, and say so
    assert len(set(result.table.column("new_infections_per_1000").to_pylist())) == 1
    flags = dict(zip(result.place_codes, result.table.column("flags").to_pylist(), strict=True))
    assert "fully_imputed" not in flags.pop("s-mine")
    assert all("fully_imputed" in f for f in flags.values())


def test_a_period_whose_only_data_is_a_case_is_refused(engine: Engine) -> None:
    """Without HIV testing at any site the positivity term dropped out as if every site had a
    positivity of 100%: every site tied at a made-up estimate several times too high."""
    load_small_world(engine)
    insert_cases(engine, [dict(case_id="old", classification="confirmed", place_code="s-mine")],
                 day=date(2022, 5, 1))  # fmt: skip
    with pytest.raises(QueryError, match="cannot estimate new infections for period 2022"):
        rank_sites(engine, period="2022", draws=20)


def test_no_sites_is_a_user_error(engine: Engine) -> None:
    with pytest.raises(QueryError, match="no sites"):
        rank_sites(engine, draws=10)
