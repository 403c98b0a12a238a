"""The demonstration world's cascade, viral-load and recency reporting (issue 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from demo_helpers import read_json

from corridor.demo.facts import COUNTRY
from corridor.demo.recency import FALSE_RECENT_RATE, MDRI_DAYS

MOBILE_AND_KEY = ("truck_driver", "sex_worker", "fisherfolk", "miner", "mobile_worker")


@pytest.fixture(scope="module")
def people(world_dir: Path) -> pd.DataFrame:
    pop = pd.read_csv(world_dir / "truth" / "population.csv")
    sites = pd.read_csv(world_dir / "truth" / "sites.csv")[["site", "country"]]
    pop = pop.merge(sites, on="site")
    return pop[pop["age_band"] != "<15"]


def cascade(frame: pd.DataFrame) -> tuple[float, float, float]:
    """First, second and third 95 of the PLHIV in ``frame`` (people-weighted)."""
    plhiv = frame["plhiv"].astype(float)
    know = plhiv * frame["know_status"]
    art = know * frame["on_art"]
    supp = art * frame["suppressed"]
    return know.sum() / plhiv.sum(), art.sum() / know.sum(), supp.sum() / art.sum()


def test_host_cascade_matches_the_national_facts_in_their_year(people: pd.DataFrame) -> None:
    cited = [c for c in COUNTRY.values() if "[assumed]" not in c.cascade_source]
    checked = 0
    for c in cited:
        host = people[
            (people["country"] == c.iso3)
            & (people["year"] == c.cascade_year)
            & (people["population_group"] == "host")
        ]
        if host.empty:
            continue
        got = cascade(host)
        for value, fact in zip(got, (c.know, c.on_art, c.suppressed), strict=True):
            assert abs(value - fact) <= 0.05, (c.iso3, c.cascade_year, got)
        # the same holds for the plain mean over the country's sites (site-weighted)
        per_site = host.groupby("site").apply(cascade, include_groups=False)
        site_mean = np.mean(np.stack(per_site.to_numpy()), axis=0)
        assert np.all(np.abs(site_mean - (c.know, c.on_art, c.suppressed)) <= 0.05), c.iso3
        checked += 1
    assert checked >= 8
    assert {c.cascade_year for c in cited} >= {2020, 2021, 2022, 2023, 2024}


def test_mobile_and_key_populations_stay_lower(people: pd.DataFrame) -> None:
    """At every site and year each mobile or key population's 95s are below the hosts'."""
    cols = ["know_status", "on_art", "suppressed"]
    rates = people.groupby(["site", "year", "population_group"])[cols].first()
    host = rates.xs("host", level="population_group")
    for group in MOBILE_AND_KEY:
        if group not in rates.index.get_level_values("population_group"):
            continue
        other = rates.xs(group, level="population_group")
        both = other.join(host.add_suffix("_host"), how="inner")
        assert len(both) > 0
        for c in cols:
            assert (both[c] < both[f"{c}_host"]).all(), (group, c)


def _values(world_dir: Path) -> pd.DataFrame:
    src = world_dir / "sources"
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    elements: dict[str, str] = mapping["data_elements"]
    units: dict[str, str] = mapping["org_units"]
    sites = pd.read_csv(world_dir / "truth" / "sites.csv", keep_default_na=False)
    units.update({u: c for u, c in zip(sites["dhis2_uid"], sites["site"], strict=True) if u})
    rows: list[dict[str, Any]] = [
        {
            "site": units.get(v["orgUnit"], v["orgUnit"]),
            "period": v["period"],
            "element": elements.get(v["dataElement"], v["dataElement"]),
            "value": float(v["value"]) if v["value"].replace(".", "").isdigit() else np.nan,
        }
        for v in read_json(src / "services.json")["dataValues"]
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def services(world_dir: Path) -> pd.DataFrame:
    frame = _values(world_dir)
    wide = frame.pivot_table(
        index=["site", "period"], columns="element", values="value", aggfunc="sum"
    )
    return wide


def test_viral_load_coverage_is_realistic(services: pd.DataFrame) -> None:
    """vl_tested (a 12-month lookback count) / art_current two quarters earlier: 70-95%."""
    df = services[["vl_tested", "art_current"]].reset_index()
    df["q"] = df["period"].map(lambda p: int(p[:4]) * 4 + int(p[-1]) - 1)
    lag = df[["site", "q", "art_current"]].rename(columns={"art_current": "art_lag2"})
    lag["q"] = lag["q"] + 2
    df = df.merge(lag, on=["site", "q"], how="left")
    recent = df[(df["period"] >= "2023Q1") & (df["period"] <= "2025Q3")]
    total = recent.dropna(subset=["vl_tested", "art_lag2"])
    coverage = total["vl_tested"].sum() / total["art_lag2"].sum()
    assert 0.70 <= coverage <= 0.95, coverage
    per_site = total.groupby("site")[["vl_tested", "art_lag2"]].sum()
    median = float((per_site["vl_tested"] / per_site["art_lag2"]).median())
    assert 0.65 <= median <= 0.95, median


def test_recency_testing_at_a_subset_of_sites(services: pd.DataFrame, world_dir: Path) -> None:
    rec = services[["hiv_recent", "hiv_recency_tested", "hiv_positive"]]
    reporting = rec["hiv_recency_tested"].notna()
    sites = {s for s, _ in rec[reporting].index}
    all_sites = {s for s, _ in services.index}
    assert 0.2 <= len(sites) / len(all_sites) <= 0.6
    part = rec[reporting].fillna(0)
    assert (part["hiv_recent"] <= part["hiv_recency_tested"]).all()
    assert (part["hiv_recency_tested"] <= part["hiv_positive"]).all()
    share = part["hiv_recent"].sum() / part["hiv_recency_tested"].sum()
    assert 0.02 <= share <= 0.25, share  # recent among new diagnoses: a few percent to ~20%
    assert not any(p < "2020Q3" for _, p in rec[reporting].index)
    assert MDRI_DAYS == 130.0 and FALSE_RECENT_RATE == 0.005  # as cited in docs/demo.md


def test_recency_follows_the_true_new_infections(services: pd.DataFrame, world_dir: Path) -> None:
    """Sites with more true new infections per new diagnosis report more recent results."""
    truth = pd.read_csv(world_dir / "truth" / "new_infections.csv")
    ni = truth[truth["year"].between(2023, 2025)].groupby("site")["new_infections"].sum()
    rec = services[["hiv_recent", "hiv_recency_tested", "hiv_positive"]].reset_index()
    rec = rec[rec["period"].between("2023Q1", "2025Q4") & rec["hiv_recency_tested"].notna()]
    per_site = rec.fillna(0).groupby("site")[["hiv_recent", "hiv_recency_tested", "hiv_positive"]]
    sums = per_site.sum()
    sums = sums[sums["hiv_recency_tested"] >= 50]
    observed = sums["hiv_recent"] / sums["hiv_recency_tested"]
    true_ratio = ni.reindex(sums.index) / sums["hiv_positive"]
    rho = observed.rank().corr(true_ratio.rank())
    assert rho > 0.5, rho
    assert len(sums) >= 10
