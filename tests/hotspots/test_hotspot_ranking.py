"""rank_sites end to end: result shape, intervals, determinism, explanation, sensitivity,
disclosure control, speed, and a synthetic world with a known truth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hotspot_world import (
    PLACES,
    insert_flows,
    insert_services,
    load_small_world,
    load_synthetic_world,
)

from corridor.config import load_settings
from corridor.errors import QueryError
from corridor.hotspots import COMPONENTS, SPECS, HotspotResult, rank_sites, sensitivity
from corridor.hotspots.disclosure import measure_rows
from corridor.hotspots.ranking import INTERVAL_COLUMNS
from corridor.indicators import publish
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

REQUIRED = (
    "rank",
    "place_code",
    "name",
    "place_type",
    "country_code",
    "lat",
    "lon",
    "new_infections_per_1000",
    "new_infections_per_1000_low",
    "new_infections_per_1000_high",
    "new_infections",
    "score",
    "score_low",
    "score_high",
    "rank_low",
    "rank_high",
    "p_top10",
    *COMPONENTS,
    *(s.name for s in SPECS),
    "main_driver",
    "flags",
)


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Engine]:
    eng = connect(str(tmp_path / "w.duckdb"))
    migrate(eng)
    yield eng
    eng.close()


@pytest.fixture
def small(duck: Engine) -> Engine:
    load_small_world(duck)
    return duck


def df_population(df: pd.DataFrame) -> np.ndarray:
    population = {p["place_code"]: p.get("population") for p in PLACES}
    return np.array([population[c] for c in df["place_code"]], dtype=float)


def test_result_table(engine: Engine) -> None:
    load_small_world(engine)
    result = rank_sites(engine, draws=300, seed=1)
    t = result.table
    assert set(REQUIRED) <= set(t.column_names)
    df = t.to_pandas()
    assert list(df["rank"]) == list(range(1, 6))
    assert (df["new_infections_per_1000"].diff().dropna() <= 0).all()
    rate, lo, hi = (df[f"new_infections_per_1000{x}"] for x in ("", "_low", "_high"))
    assert (lo <= rate).all() and (rate <= hi).all() and (lo < hi).all()
    assert df["new_infections"].to_numpy() == pytest.approx(rate * df_population(df) / 1000)
    assert (df["score"].diff().dropna() <= 0).all()
    assert (df["score_low"] <= df["score"]).all() and (df["score"] <= df["score_high"]).all()
    assert (df["rank_low"] <= df["rank"]).all() and (df["rank"] <= df["rank_high"]).all()
    assert df["p_top10"].between(0, 1).all()
    assert (df["p_top10"] == 1).all()  # five sites: all in the top 10
    assert set(df["main_driver"]) <= {*COMPONENTS, "none"}
    assert df.iloc[0]["place_code"] == "s-mine"  # highest burden, worst services
    assert sum(result.weights.values()) == pytest.approx(1.0)


def test_same_seed_same_result(small: Engine) -> None:
    a = rank_sites(small, draws=200, seed=5)
    b = rank_sites(small, draws=200, seed=5)
    c = rank_sites(small, draws=200, seed=6)
    assert a.table.equals(b.table)
    assert not a.table.column("new_infections_per_1000_low").equals(
        c.table.column("new_infections_per_1000_low")
    )
    # point estimates: no chance
    assert a.table.column("new_infections_per_1000").equals(
        c.table.column("new_infections_per_1000")
    )


def test_no_draws_gives_no_intervals(small: Engine) -> None:
    """0 draws: no interval and no p_top10 (null), never a certain 1-1 rank or p_top10 = 1."""
    r = rank_sites(small, draws=0)
    assert not r.has_intervals
    t = r.table
    for name in INTERVAL_COLUMNS:
        assert t.column(name).null_count == t.num_rows, name
    for name in INTERVAL_COLUMNS:  # what leaves: the disclosed table, the same nulls
        assert r.disclosed(10).column(name).null_count == t.num_rows, name
    assert t.column("new_infections_per_1000").null_count == 0
    assert t.column("rank").to_pylist() == [1, 2, 3, 4, 5]
    info = r.explain("s-mine")
    assert info["rank_low"] is None and info["rank_high"] is None
    assert info["p_top10"] is None and info["new_infections_per_1000_low"] is None
    assert "interval 1-1" not in info["summary"] and "% of the draws" not in info["summary"]
    assert "no intervals: 0 draws" in info["summary"]
    assert rank_sites(small, draws=50).has_intervals


def test_a_period_without_data_is_refused(small: Engine) -> None:
    """A period in which the ranking reads nothing would impute every input of every site:
    every site tied at rank 1 with a made-up estimate. It is a user error instead."""
    with pytest.raises(QueryError, match="nothing to rank for period 2030") as caught:
        rank_sites(small, period="2030", draws=10)
    assert "2030-01-01 to 2030-12-31" in str(caught.value)
    assert "its HIV services cover 2024-01-01 to 2024-12-31" in str(caught.value)
    with pytest.raises(QueryError, match="nothing to rank for period 2023Q1:2023Q4"):
        rank_sites(small, period="2023Q1:2023Q4", draws=0)
    with pytest.raises(QueryError, match="nothing to rank"):
        sensitivity(small, period="2030")


def test_a_period_with_some_data_is_ranked_and_imputed(small: Engine) -> None:
    """Some data in the period (flows, and HIV testing at one site): ranked, sites without data
    imputed."""
    flows = [dict(observation_code="s-truck", origin_code="aaa-n", destination_code="bbb-s",
                  count=5000)]  # fmt: skip
    insert_flows(small, flows, start=date(2025, 1, 1), end=date(2025, 12, 31))
    insert_services(small, [
        dict(period="2025", place_code="s-truck", data_element="hiv_tests", value=400),
        dict(period="2025", place_code="s-truck", data_element="hiv_positive", value=40),
    ])  # fmt: skip
    r = rank_sites(small, period="2025", draws=20)
    assert r.table.num_rows == 5
    flags = dict(zip(r.place_codes, r.table.column("flags").to_pylist(), strict=True))
    # a site without data in a period with data: imputed, as before
    assert "fully_imputed" in flags["s-fish"] and "no_flow_data" in flags["s-fish"]
    assert "no_flow_data" not in flags["s-truck"]
    assert "no_flow_data" in rank_sites(small, period="2024", draws=0).explain("s-fish")["flags"]


def test_a_period_without_hiv_testing_is_refused(small: Engine) -> None:
    """Flows only in the period (or a month, which holds no yearly report): without
    positivity at any site its term dropped out as if every site had a positivity of 100%.
    Every site was ranked at about 58 per 1,000 (the small world's highest is 10 in 2024),
    intervals up to 330. A user error now, naming the dates the HIV tests cover."""
    flows = [dict(observation_code="s-truck", origin_code="aaa-n", destination_code="bbb-s",
                  count=5000)]  # fmt: skip
    insert_flows(small, flows, start=date(2025, 1, 1), end=date(2025, 12, 31))
    for period in ("2025", "2024-06", "2024W10"):
        with pytest.raises(QueryError, match=f"cannot estimate new infections for period {period}"):
            rank_sites(small, period=period, draws=20)
    with pytest.raises(QueryError, match="its HIV tests cover 2024-01-01 to 2024-12-31"):
        sensitivity(small, period="2024-06")
    assert rank_sites(small, period="2024", draws=0).table.num_rows == 5


def test_an_uncalibrated_model_says_so(small: Engine) -> None:
    """No site reports recency testing: the intervals come from the priors alone and were
    never checked against new infections; the notes say so."""
    notes = rank_sites(small, draws=10).notes
    assert any(n.startswith("model not calibrated: 0 site(s) report recency") for n in notes)


def test_a_component_whose_measures_are_weighted_out_is_not_said_to_lack_data(
    small: Engine,
) -> None:
    """Every burden measure weighted 0: the note said "no data at any site"."""
    zero = dict.fromkeys(("positivity", "prevalence", "outbreak_cases_per_10k"), 0)
    r = rank_sites(small, draws=0, weights={"measures": zero})
    assert "burden" not in r.components
    assert any(
        n.startswith("component burden: every measure with data weighted 0") for n in r.notes
    )
    assert not any(n.startswith("component burden: no data") for n in r.notes)


def test_a_negative_seed_is_a_user_error(small: Engine) -> None:
    with pytest.raises(QueryError, match="seed must be a whole number >= 0"):
        rank_sites(small, seed=-1)


def test_bad_arguments(small: Engine) -> None:
    for kw in ({"draws": -1}, {"level": 1.5}, {"top": 0}, {"normalization": "zscore"}):
        with pytest.raises(QueryError):
            rank_sites(small, **kw)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="unknown component"):
        rank_sites(small, weights={"burden": 1, "traffic": 2})


def test_weights_shape_the_explanation_not_the_estimate(small: Engine) -> None:
    base = rank_sites(small, draws=0)
    bridging_only = rank_sites(
        small, draws=0, weights=dict.fromkeys(COMPONENTS, 0) | {"bridging": 1}
    )
    assert bridging_only.weights["bridging"] == 1.0
    assert bridging_only.components == ("bridging",)
    assert bridging_only.table.column("rank").equals(base.table.column("rank"))
    assert np.isnan(bridging_only.table.column("burden").to_numpy(zero_copy_only=False)).all()


def test_explain(small: Engine) -> None:
    result = rank_sites(small, draws=100)
    info = result.explain("S-MINE")
    assert info["place_code"] == "s-mine" and info["rank"] == 1
    assert info["components"][0]["component"] == info["main_driver"]
    lifts = [c["lift"] for c in info["components"]]
    assert lifts == sorted(lifts, reverse=True) and lifts[0] > 0
    assert info["components"][0]["factor_vs_median"] == pytest.approx(np.exp(lifts[0]), abs=0.01)
    assert "ranks 1 of 5" in info["summary"] and "per 1,000 residents" in info["summary"]
    measures = {m["measure"]: m for c in info["components"] for m in c["measures"]}
    # rates are percentages: 30 positives of 200 tests = 15%
    assert measures["positivity"]["value"] == pytest.approx(15.0)
    assert measures["positivity"]["unit"] == "%"
    assert measures["travellers_per_head"]["unit"] == ""
    with pytest.raises(QueryError, match="not a ranked site"):
        result.explain("aaa-n")


def test_main_driver_tells_sites_apart(small: Engine) -> None:
    result = rank_sites(small, draws=0)
    rows = {r["place_code"]: r for r in result.table.to_pylist()}
    lift = dict(zip(result.place_codes, result.lift, strict=True))
    for code, row in rows.items():
        if row["main_driver"] == "none":
            assert lift[code].max() <= 0
        else:
            assert COMPONENTS[int(np.argmax(lift[code]))] == row["main_driver"]
    assert len({r["main_driver"] for r in rows.values()}) >= 2


def test_raw_measures_are_published_by_the_cell_key_method(small: Engine) -> None:
    settings = load_settings(None, env={})
    t = settings.suppression_threshold
    result = rank_sites(small, draws=0)
    raw = {r["place_code"]: r for r in result.table.to_pylist()}
    shown = {r["place_code"]: r for r in result.disclosed(settings).to_pylist()}
    rows = measure_rows(result)
    assert {"numerator_key", "denominator_key"} <= set(rows.column_names)
    assert rows.column("numerator_key").null_count == 0  # every count carries its cell key
    pub = publish(rows, settings)
    assert "numerator_key" not in pub.column_names  # keys never leave
    for role in ("numerator", "denominator"):
        values = [v for v in pub.column(role).to_pylist() if v is not None]
        assert values and not [v for v in values if 0 < v < t]  # no count of 1-9 leaves
    # every shown raw measure is the rate of the published counts
    for rec, before in zip(pub.to_pylist(), rows.to_pylist(), strict=True):
        measure = rec["indicator"].removeprefix("hotspots.")
        value = shown[rec["place_code"]][measure]
        if before["denominator"] is not None:
            assert value == pytest.approx(rec["value"], nan_ok=True)
        elif rec["numerator"] == 0:
            assert value == 0.0
        else:  # the registry's population: a reference figure, not perturbed
            scale = before["value"] / before["numerator"]
            assert value == pytest.approx(scale * rec["numerator"])
    # the market: 8 positives of 800 tests -> 0 or at least 10 positives are published
    assert raw["s-market"]["positivity"] == pytest.approx(0.01)
    market = shown["s-market"]["positivity"]
    assert market == 0.0 or market * 804 >= t
    # zero counts stay zero; scores and components are computed on the true values
    assert shown["s-truck"]["outbreak_cases_per_10k"] == 0.0
    for c in ("score", "score_low", "p_top10", *COMPONENTS):
        assert shown["s-market"][c] == raw["s-market"][c]
    for code, rec in shown.items():  # flagged where a published denominator of 0 leaves no rate
        gone = [m for m in result.measures if rec[m] is None and raw[code][m] is not None]
        assert ("suppressed" in (rec["flags"] or "")) == bool(gone), code
    # the explanation shows the same published values (as percentages)
    info = result.explain("s-market", threshold=settings)
    measures = {m["measure"]: m for c in info["components"] for m in c["measures"]}
    assert measures["positivity"]["value"] == pytest.approx(100 * market)
    assert not measures["positivity"]["suppressed"]


def test_raw_measures_under_suppression(small: Engine) -> None:
    settings = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
    result = rank_sites(small, draws=0)
    raw = {r["place_code"]: r for r in result.table.to_pylist()}
    shown = {r["place_code"]: r for r in result.disclosed(settings).to_pylist()}
    # the market: 8 positives of 800 tests -> positivity withheld; 2 cases -> rate withheld
    assert raw["s-market"]["positivity"] == pytest.approx(0.01)
    assert shown["s-market"]["positivity"] is None
    assert shown["s-market"]["outbreak_cases_per_10k"] is None
    assert "suppressed" in shown["s-market"]["flags"]
    # the mine: 5 cases -> withheld; 30 positives of 200 -> shown
    assert shown["s-mine"]["outbreak_cases_per_10k"] is None
    assert shown["s-mine"]["positivity"] == pytest.approx(0.15)
    # zero counts are not disclosive; per-site totals (bridging) are not denominators
    assert shown["s-truck"]["outbreak_cases_per_10k"] == 0.0
    assert shown["s-border"]["bridging_flow"] is not None
    # scores and components are the same
    for c in ("score", "score_low", "p_top10", *COMPONENTS):
        assert shown["s-market"][c] == raw["s-market"][c]
    info = result.explain("s-market", threshold=settings)
    measures = {m["measure"]: m for c in info["components"] for m in c["measures"]}
    assert measures["positivity"]["suppressed"] and measures["positivity"]["value"] is None


def test_sensitivity(small: Engine) -> None:
    result = rank_sites(small, draws=0)
    sens = sensitivity(result, top=2).to_pandas()
    assert 2 <= len(sens) <= 2 * len(COMPONENTS) and len(sens) % 2 == 0
    assert sens["jaccard"].between(0, 1).all()
    assert (sens["entered"] == sens["left"]).all()
    up = sens[sens["direction"] == "+50%"]
    assert (up["factor"] == 1.5).all()
    from_engine = sensitivity(small, top=2).to_pandas()
    pd.testing.assert_frame_equal(sens, from_engine)
    with pytest.raises(QueryError):
        sensitivity(result, change=1.5)


def test_fifty_sites_five_hundred_draws_is_fast(duck: Engine) -> None:
    load_synthetic_world(duck, n_sites=50)
    rank_sites(duck, draws=10)  # warm-up (imports, first queries)
    # CPU time, not wall time: on a shared machine other processes stretch the wall clock
    t0 = time.process_time()
    result = rank_sites(duck, draws=500, seed=1)
    assert time.process_time() - t0 < 3.0
    assert result.table.num_rows == 50


def test_synthetic_truth_is_recovered(duck: Engine) -> None:
    """The ranking follows a truth it can see, far better than chance (10/40 = 0.25)."""
    truth = load_synthetic_world(duck, n_sites=40, seed=7)
    result: HotspotResult = rank_sites(duck, draws=100, seed=1)
    df = result.table.to_pandas()
    true = df["place_code"].map(truth)
    rho = df["new_infections_per_1000"].rank().corr(true.rank())
    top_true = set(pd.Series(truth).sort_values(ascending=False).index[:10])
    precision = len(set(df["place_code"][:10]) & top_true) / 10
    assert rho > 0.6
    assert precision >= 0.5
    no_flow = df[df["flags"].str.contains("no_flow_data")]
    assert len(no_flow) == sum(1 for i in range(40) if i % 7 == 3)
    assert (no_flow["rank_high"] - no_flow["rank_low"]).mean() > 0
    assert np.isfinite(df["new_infections_per_1000"]).all()
