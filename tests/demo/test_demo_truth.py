"""Invariants of the hidden truth and its relation to the observed layer."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from demo_helpers import read_csv

from corridor.demo.facts import COUNTRY, MPOX_FIRST_CASES
from corridor.demo.geography import GATES

KEY_POPULATIONS = ("sex_worker", "fisherfolk", "miner")


@pytest.fixture(scope="module")
def population(world_dir: Path) -> list[dict[str, str]]:
    return read_csv(world_dir / "truth" / "population.csv")


@pytest.fixture(scope="module")
def sites(world_dir: Path) -> dict[str, dict[str, str]]:
    return {r["site"]: r for r in read_csv(world_dir / "truth" / "sites.csv")}


def test_populations_positive(population: list[dict[str, str]], sites: dict) -> None:
    assert all(int(r["population"]) > 0 for r in population)
    per_site = Counter(r["site"] for r in population if r["population_group"] == "host")
    assert set(per_site) == set(sites)
    for r in population:
        for col in ("hiv_prevalence", "know_status", "on_art", "suppressed", "prep_coverage"):
            assert 0.0 <= float(r[col]) <= 1.0, (col, r)


def test_host_prevalence_near_national_figure(
    population: list[dict[str, str]], sites: dict
) -> None:
    n: dict[str, float] = defaultdict(float)
    plhiv: dict[str, float] = defaultdict(float)
    for r in population:
        if r["year"] == "2023" and r["population_group"] == "host" and r["age_band"] in (
            "15-24", "25-34", "35-49",
        ):  # fmt: skip
            country = sites[r["site"]]["country"]
            n[country] += int(r["population"])
            plhiv[country] += int(r["population"]) * float(r["hiv_prevalence"])
    assert set(n) == set(COUNTRY)
    for country, total in n.items():
        ratio = plhiv[country] / total / COUNTRY[country].prevalence
        assert 0.5 <= ratio <= 2.5, (country, ratio)


def test_key_populations_carry_more_hiv(population: list[dict[str, str]]) -> None:
    prev: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in population:
        if r["year"] == "2023" and r["age_band"] != "<15":
            prev[(r["site"], r["population_group"])].append(float(r["hiv_prevalence"]))
    for (site, group), values in prev.items():
        if group in KEY_POPULATIONS:
            assert np.mean(values) > np.mean(prev[(site, "host")]), (site, group)
    # truck drivers carry their corridors' prevalence: higher than hosts at most sites, but not
    # where the corridor passes through a place of even higher prevalence (e.g. Eswatini)
    higher = [np.mean(v) > np.mean(prev[(s, "host")]) for (s, g), v in prev.items()
              if g == "truck_driver"]  # fmt: skip
    assert np.mean(higher) > 0.8
    sw = [np.mean(v) for (s, g), v in prev.items() if g == "sex_worker" and s.startswith("zw-")]
    assert 0.4 <= float(np.mean(sw)) <= 0.8  # Zimbabwe transit towns: 50-70%


def test_cascade_improves_over_time(population: list[dict[str, str]]) -> None:
    know = defaultdict(dict)
    for r in population:
        know[(r["site"], r["population_group"])][r["year"]] = float(r["know_status"])
    assert all(v["2025"] > v["2019"] for v in know.values())


def test_new_infections_match_population_table(world_dir: Path, population: list) -> None:
    rows = read_csv(world_dir / "truth" / "new_infections.csv")
    assert set(rows[0]) == {"site", "year", "population_group", "new_infections"}
    total = Counter()
    for r in rows:
        assert int(r["new_infections"]) >= 0
        total[(r["site"], r["year"], r["population_group"])] += int(r["new_infections"])
    cells = Counter()
    for r in population:
        cells[(r["site"], r["year"], r["population_group"])] += int(r["new_infections"])
    assert total == cells
    assert {r["year"] for r in rows} == {str(y) for y in range(2019, 2026)}


def test_new_infections_follow_the_mechanism(world_dir: Path) -> None:
    rows = read_csv(world_dir / "truth" / "site_drivers.csv")
    rows = [r for r in rows if r["year"] == "2023"]
    expected = np.array([float(r["expected_new_infections"]) for r in rows])
    realised = np.array([int(r["new_infections"]) for r in rows])
    assert (
        np.corrcoef(np.argsort(np.argsort(expected)), np.argsort(np.argsort(realised)))[0, 1] > 0.95
    )
    for r in rows:
        assert float(r["contact_intensity"]) >= 1.0
        assert float(r["prevalence_differential"]) >= 0.0


def test_flows_conserve_travellers(world_dir: Path) -> None:
    flows = read_csv(world_dir / "truth" / "flows.csv")
    totals = {(r["poe"], r["year"]): int(r["travellers"])
              for r in read_csv(world_dir / "truth" / "poe_traffic.csv")}  # fmt: skip
    by_origin: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in flows:
        by_origin[(r["poe"], r["year"])][r["origin"]] += int(r["travellers"])
    assert by_origin.keys() == totals.keys()
    for key, counter in by_origin.items():
        assert sum(counter.values()) == totals[key]
    for gate in GATES:  # both sides of a crossing see the same travellers
        if gate.side_b:
            for y in range(2019, 2026):
                assert totals[(gate.side_a, str(y))] == totals[(gate.side_b, str(y))]


def test_observed_flows_track_the_truth(world_dir: Path) -> None:
    places = read_csv(world_dir / "sources" / "places.csv", skip=1)
    fmp_site = {p["fmp_code"]: p["place_code"] for p in places if p["fmp_code"]}
    observed = Counter()
    for r in read_csv(world_dir / "sources" / "flows.csv"):
        if r["t"].startswith("2024") and r["n"].isdigit():
            observed[fmp_site[r["fmp"]]] += int(r["n"])
    truth = {r["poe"]: int(r["travellers"]) for r in read_csv(world_dir / "truth" / "poe_traffic.csv")
             if r["year"] == "2024"}  # fmt: skip
    assert observed
    for code, n in observed.items():
        assert 0.7 * truth[code] <= n <= 1.02 * truth[code], code


def test_katuna_closure_is_visible(world_dir: Path) -> None:
    totals = {(r["poe"], r["year"]): int(r["travellers"])
              for r in read_csv(world_dir / "truth" / "poe_traffic.csv")}  # fmt: skip
    assert totals[("ug-katuna", "2020")] < 0.05 * totals[("ug-katuna", "2023")]


def test_mpox_first_cases_in_the_order_of_the_facts(world_dir: Path, sites: dict) -> None:
    cases = read_csv(world_dir / "sources" / "cases.csv")
    first: dict[str, tuple[date, dict[str, str]]] = {}
    for r in cases:
        try:
            d = date.fromisoformat(r["report_date"])
        except ValueError:
            continue  # a planted invalid row
        country = sites[r["place_code"]]["country"]
        if country not in first or d < first[country][0]:
            first[country] = (d, r)
    order = [c for c, _ in sorted(first.items(), key=lambda kv: kv[1][0])]
    assert order == [f.iso3 for f in MPOX_FIRST_CASES]
    for f in MPOX_FIRST_CASES:
        d, row = first[f.iso3]
        assert d == f.report_date and row["place_code"] == f.site
    assert first["KEN"][1]["population_group"] == "truck_driver"


def test_mpox_over_represents_truck_drivers_and_sex_workers(
    world_dir: Path, population: list[dict[str, str]]
) -> None:
    cases = read_csv(world_dir / "sources" / "cases.csv")
    affected = {r["place_code"] for r in cases}
    pop = Counter()
    for r in population:
        if r["year"] == "2024" and r["site"] in affected:
            pop[r["population_group"]] += int(r["population"])
    share_cases = Counter(r["population_group"] for r in cases)
    for group in ("truck_driver", "sex_worker"):
        case_share = share_cases[group] / len(cases)
        pop_share = pop[group] / sum(pop.values())
        assert case_share > 3 * pop_share, group
    truth = read_csv(world_dir / "truth" / "outbreak_cases.csv")
    true_total = sum(int(r["cases"]) for r in truth)
    reported = sum(int(r["reported_cases"]) for r in truth)
    assert reported == len(cases) and true_total > reported
