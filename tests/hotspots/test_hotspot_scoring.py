"""Normalisation, weights, ranks and the incidence model: properties (no database)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import QueryError
from corridor.hotspots import COMPONENTS, DEFAULT_WEIGHTS, SPECS, validate_weights
from corridor.hotspots.components import Measure, SiteData
from corridor.hotspots.inputs import IncidenceInputs
from corridor.hotspots.ranking import rank_min, score_sites
from corridor.hotspots.scoring import Normaliser, parse_weights
from corridor.hotspots.warehouse import Window

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive_weights = st.lists(
    st.floats(min_value=0.01, max_value=10.0), min_size=len(COMPONENTS), max_size=len(COMPONENTS)
)


@given(st.lists(finite, min_size=1, max_size=40), st.lists(finite, min_size=2, max_size=40))
@pytest.mark.parametrize("method", ["rank", "minmax"])
def test_normaliser_is_monotone_and_bounded(
    method: str, reference: list[float], xs: list[float]
) -> None:
    norm = Normaliser(np.array(reference), method)  # type: ignore[arg-type]
    x = np.sort(np.array(xs))
    y = norm(x)
    assert np.all((y >= 0) & (y <= 1))
    assert np.all(np.diff(y) >= -1e-12)


def test_rank_normaliser_gives_midranks() -> None:
    norm = Normaliser(np.array([1.0, 2.0, 2.0, 5.0, 9.0]))
    assert list(norm(np.array([1.0, 2.0, 5.0, 9.0, 100.0, -3.0]))) == pytest.approx(
        [0.0, 0.375, 0.75, 1.0, 1.0, 0.0]
    )


@given(positive_weights, st.floats(min_value=0.01, max_value=1000.0))
def test_weights_are_scale_invariant(weights: list[float], k: float) -> None:
    named = dict(zip(COMPONENTS, weights, strict=True))
    scaled = {c: k * v for c, v in named.items()}
    assert validate_weights(named) == pytest.approx(validate_weights(scaled))


def test_weight_validation() -> None:
    assert validate_weights(None) == pytest.approx(DEFAULT_WEIGHTS)
    assert sum(validate_weights({"burden": 3}).values()) == pytest.approx(1.0)
    for bad, msg in (
        ({"mobilty": 1}, "unknown component"),
        ({"burden": -1}, ">= 0"),
        ({"burden": "high"}, "number"),
        ({"burden": float("nan")}, "finite"),
        ({"burden": True}, "number"),
        (dict.fromkeys(COMPONENTS, 0), "above 0"),
        ([1, 2], "mapping"),
    ):
        with pytest.raises(QueryError, match=msg):
            validate_weights(bad)  # type: ignore[arg-type]


def test_measure_weights() -> None:
    w = parse_weights({"burden": 1, "measures": {"betweenness": 0.5, "outbreak_cases_per_10k": 0}})
    assert w.measures["betweenness"] == 0.5 and w.measures["positivity"] == 1.0
    assert w.measures["outbreak_cases_per_10k"] == 0.0
    for bad, msg in (
        ({"measures": {"travelers": 1}}, "unknown measure"),
        ({"measures": {"positivity": -1}}, ">= 0"),
        ({"measures": [1]}, "mapping of measure"),
    ):
        with pytest.raises(QueryError, match=msg):
            parse_weights(bad)


def test_measure_weights_shape_the_component() -> None:
    n = 6
    values = np.random.default_rng(3).random((n, len(SPECS)))
    kw = dict(draws=0, seed=1, normalization="rank", level=0.9, top=10)
    only_outbreak = {s.name: 0.0 for s in SPECS if s.component == "burden"}
    only_outbreak["outbreak_cases_per_10k"] = 1.0
    result = score_sites(
        site_data(values),
        parse_weights({"measures": only_outbreak}),
        **kw,  # type: ignore[arg-type]
    )
    burden = dict(zip(result.place_codes, result.table.column("burden").to_pylist(), strict=True))
    k = [s.name for s in SPECS].index("outbreak_cases_per_10k")
    ranks = pd.Series(values[:, k]).rank().to_numpy()
    expected = (ranks - 1) / (n - 1)
    assert [burden[f"s{i:02d}"] for i in range(n)] == pytest.approx(list(expected))
    assert any("weight 0" in note for note in result.notes)


@given(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.5, 7.0]), min_size=1, max_size=30))
def test_equal_values_share_a_rank(values: list[float]) -> None:
    v = np.array(values)
    r = rank_min(v)
    for i in range(v.size):
        assert r[i] == 1 + int((v > v[i]).sum())  # 1 + the number of higher values
    assert all(r[v == x].min() == r[v == x].max() for x in set(values))
    assert r.min() == 1 and r.max() <= v.size
    draws = rank_min(np.array([values, values[::-1]]))
    assert draws.shape == (2, v.size) and (draws[0] == r).all()


# ---- the whole scoring model on in-memory measures -------------------------------------------
def site_data(values: np.ndarray) -> SiteData:
    """Sites x measures (one measure per spec) with ``value = numerator / 1000``."""
    n = values.shape[0]
    sites = pd.DataFrame(
        {
            "place_code": [f"s{i:02d}" for i in range(n)],
            "name": [f"S{i}" for i in range(n)],
            "place_type": ["truck_stop"] * n,
            "country_code": ["aaa"] * n,
            "lat": [0.0] * n,
            "lon": [0.0] * n,
            "corridor": [""] * n,
        }
    )
    ones = np.ones(n)
    measures = [
        Measure(spec, values[:, k] * 1000.0, ones * 1000.0, ones) for k, spec in enumerate(SPECS)
    ]
    window = Window(date(2024, 1, 1), date(2024, 12, 31), "2024")
    k = [sp.name for sp in SPECS].index("positivity")
    nan = np.full(n, np.nan)
    inputs = IncidenceInputs(
        population=ones * 5000.0,
        tests=ones * 1000.0,
        positive=values[:, k] * 1000.0,
        plhiv=ones * 400.0,
        pop_estimated=ones * 5000.0,
        art_current=ones * 300.0,
        vl_tested=ones * 250.0,
        vl_suppressed=ones * 220.0,
        sex_workers=nan,
        recent=nan,
        recency_tested=nan,
        years=1.0,
    )
    return SiteData(window, sites, measures, [], inputs)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=3, max_value=10).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(0.0, 1.0), min_size=len(SPECS), max_size=len(SPECS)),
            min_size=n,
            max_size=n,
        )
    ),
    st.data(),
)
def test_a_worse_measure_never_lowers_a_sites_estimate(
    values: list[list[float]], data: st.DataObject
) -> None:
    """Without recency data the model keeps its priors: incidence rises with positivity (the
    untreated, undiagnosed share) and every other term, so a worse measure never lowers it."""
    v = np.round(np.array(values), 3)
    site = data.draw(st.integers(0, len(values) - 1))
    k = data.draw(st.sampled_from([s.name for s in SPECS if s.name != "betweenness"]))
    k = [s.name for s in SPECS].index(k)
    worse = v.copy()
    # "worse" = more vulnerable: higher value, or lower coverage for gap measures
    worse[site, k] = 0.0 if SPECS[k].target is not None else 1.0
    kw = dict(draws=0, seed=1, normalization="rank", level=0.9, top=10)
    weights = parse_weights(None)
    base = score_sites(site_data(v), weights, **kw)  # type: ignore[arg-type]
    after = score_sites(site_data(worse), weights, **kw)  # type: ignore[arg-type]

    def rate_of(result: object) -> float:
        rows = result.table.to_pylist()  # type: ignore[attr-defined]
        code = f"s{site:02d}"
        return next(r["new_infections_per_1000"] for r in rows if r["place_code"] == code)

    if SPECS[k].name in ("positivity", "mobile_share", "travellers_per_head"):
        assert rate_of(after) >= rate_of(base) * (1 - 1e-9)
    # the explanation's component of that measure never falls either
    comp = SPECS[k].component

    def component_of(result: object) -> float:
        rows = result.table.to_pylist()  # type: ignore[attr-defined]
        return next(r[comp] for r in rows if r["place_code"] == f"s{site:02d}")

    assert component_of(after) >= component_of(base) - 1e-9


def test_a_fully_imputed_site_gets_an_honest_interval() -> None:
    """A site with no data of its own is estimated from similar sites: flagged, with a wide rank
    interval and a share of draws in the top 10 strictly between 0 and 1."""
    n = 30
    values = np.random.default_rng(11).uniform(0.01, 0.3, size=(n, len(SPECS)))
    data = site_data(values)
    blind = 7
    for m in data.measures:
        m.numerator[blind] = np.nan
    assert data.inputs is not None
    for name in ("positive", "tests", "plhiv", "art_current", "vl_tested", "vl_suppressed"):
        getattr(data.inputs, name)[blind] = np.nan
    kw = dict(draws=400, seed=3, normalization="rank", level=0.9, top=10)
    result = score_sites(data, parse_weights(None), **kw)  # type: ignore[arg-type]
    row = next(r for r in result.table.to_pylist() if r["place_code"] == f"s{blind:02d}")
    assert "fully_imputed" in row["flags"]
    assert row["rank_high"] - row["rank_low"] >= 10
    assert 0.0 < row["p_top10"] < 1.0
    info = result.explain(f"s{blind:02d}")
    assert "no data the model uses" in info["summary"]
