"""The recency correction's adults: the bands of the ages offered HIV testing (setting
``testing_min_age``) where a site, or a group at a site, reports its population estimate by age
band; the assumed share (all of an occupational group, 60% of the others) elsewhere."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hotspot_world import insert_services, load_small_world
from test_hotspot_rate_interval import chance, inputs

from corridor.errors import QueryError
from corridor.hotspots import rank_sites
from corridor.hotspots.components import compute_site_data
from corridor.hotspots.incidence import caught_recent
from corridor.hotspots.inputs import adult_shares
from corridor.hotspots.warehouse import Window, read_age_totals
from corridor.storage.engine import Engine

YEAR_2024 = Window(date(2024, 1, 1), date(2024, 12, 31), "2024")


def ages(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["place_code", "population_group", "age_band", "value"])


def test_adult_shares_are_the_bands_of_the_ages_offered_testing() -> None:
    frame = ages(
        [
            ("a", "total", "<15", 400.0),
            ("a", "total", "15-24", 300.0),
            ("a", "total", "25-34", 200.0),
            ("a", "total", "50+", 100.0),
            # a part without a band is taken to have the age mix of the rest
            ("b", "host", "<15", 100.0),
            ("b", "host", "35-49", 300.0),
            ("b", "host", "unallocated", 600.0),
            # no band of known age (or nobody in them): no share, the assumption stays
            ("c", "total", "unallocated", 900.0),
            ("d", "total", "<15", 0.0),
        ]
    )
    shares = adult_shares(frame, 15)
    assert shares[("a", "total")] == pytest.approx(0.6)
    assert shares[("b", "host")] == pytest.approx(0.75)
    assert ("c", "total") not in shares and ("d", "total") not in shares
    # testing offered from 18: a band that starts below it is not offered (as testing_coverage)
    assert adult_shares(frame, 18)[("a", "total")] == pytest.approx(0.3)
    assert adult_shares(ages([]), 15).empty


def test_caught_recent_takes_adults_from_the_age_bands_where_reported() -> None:
    """The site of ``inputs``: 1,000 tests a year among 10,000 people, 100 knowing their status.
    Bands saying 80% adults replace the assumed 60%; a NaN share keeps the assumption."""
    caught, _ = caught_recent(inputs(adult_share=np.array([0.8])))
    assert caught[0] == pytest.approx(chance(1_000 / (8_000 - 100)))
    caught, _ = caught_recent(inputs(adult_share=np.array([np.nan])))
    assert caught[0] == pytest.approx(chance(1_000 / (6_000 - 100)))
    groups = {
        "group_names": ("host", "sex_worker"),
        "group_tests": np.array([[600.0, 400.0]]),
        "group_positive": np.array([[10.0, 30.0]]),
        "group_pop": np.array([[9_000.0, 250.0]]),
        "group_diagnosed": np.array([[50.0, 50.0]]),
    }
    # host by age band (half of them adults); sex workers without bands: all adults (assumed)
    share = np.array([[0.5, np.nan]])
    caught, used = caught_recent(inputs(group_adult_share=share, **groups))
    host, sw = chance(600 / (4_500 - 50)), chance(400 / (250 - 50))
    assert used[0] and caught[0] == pytest.approx((10 * host + 30 * sw) / 40)


def test_age_bands_are_read_through_the_indicator_layer(engine: Engine) -> None:
    """The market reports its estimate by age band (3,000 of 4,000 aged 15+), the truck stop
    its host community's (300 of 600); the other sites and groups keep the assumption."""
    load_small_world(engine)
    bands = {"<15": 1000, "15-24": 1500, "25-34": 1000, "35-49": 300, "50+": 200}
    host = {"<15": 300, "15-24": 200, "25-34": 100}
    rows = [
        dict(period="2024", place_code="s-market", data_element="pop_estimated", age_band=b,
             value=v)
        for b, v in bands.items()
    ] + [
        dict(period="2024", place_code="s-truck", data_element="pop_estimated", age_band=b,
             population_group="host", value=v)
        for b, v in host.items()
    ]  # fmt: skip
    insert_services(engine, rows)
    totals = read_age_totals(engine, YEAR_2024)
    market = totals[(totals["place_code"] == "s-market") & (totals["population_group"] == "total")]
    assert dict(zip(market["age_band"], market["value"], strict=True)) == bands
    data = compute_site_data(engine, YEAR_2024)
    inp = data.inputs
    assert inp is not None
    codes = list(data.sites["place_code"])
    share = dict(zip(codes, inp.adult_share, strict=True))
    assert share["s-market"] == pytest.approx(0.75)
    # the estimate itself is counted once, whatever levels of age band were reported
    assert inp.pop_estimated[codes.index("s-market")] == pytest.approx(4000)
    assert math.isnan(share["s-border"])
    group = dict(zip(inp.group_names, inp.group_adult_share[codes.index("s-truck")], strict=True))
    assert group["host"] == pytest.approx(0.5) and math.isnan(group["truck_driver"])
    later = compute_site_data(engine, YEAR_2024, testing_min_age=25)
    assert later.inputs is not None
    assert later.inputs.adult_share[codes.index("s-market")] == pytest.approx(1500 / 4000)
    assert rank_sites(engine, period="2024", draws=0, testing_min_age=18).table.num_rows == 5
    for bad in (-1, 1.5, True):
        with pytest.raises(QueryError, match="testing_min_age"):
            rank_sites(engine, draws=0, testing_min_age=bad)  # type: ignore[arg-type]
