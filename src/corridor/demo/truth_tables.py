"""The hidden truth as tables (written to ``truth/``): the yardstick for validating analyses."""

from __future__ import annotations

from collections import Counter
from typing import Final

import numpy as np

from corridor.demo import strata as st
from corridor.demo.facts import COUNTRY
from corridor.demo.formats import Cell
from corridor.demo.geography import SITES, gate_of_site, site_corridors
from corridor.demo.ids import fmp_codes, org_unit_uids
from corridor.demo.mobility import FlowTruth
from corridor.demo.outbreak import Outbreak
from corridor.demo.strata import GROUPS, YEARS
from corridor.demo.truth import HivTruth

Table = tuple[tuple[str, ...], list[list[Cell]]]
Y23: Final = YEARS.index(st.BASE_YEAR)


def sites_table(hiv: HivTruth, outbreak: Outbreak) -> Table:
    header = (
        "site", "name", "place_type", "country", "lat", "lon", "corridors",
        "catchment_population", "population_2023", "passers_per_day_2023", "service_coverage",
        "kp_programme", "reporting", "remoteness", "dhis2_uid", "fmp_code", "fmp_active_from",
        "host_prevalence_15_49_2023", "national_prevalence_15_49", "mpox_first_case",
    )  # fmt: skip
    uids, fmps, corridors = org_unit_uids(), fmp_codes(), site_corridors()
    rows: list[list[Cell]] = []
    host = st.G["host"]
    for i, s in enumerate(SITES):
        n = hiv.population[i, host, :, 1:4, Y23].astype(np.float64)
        p = hiv.prevalence[i, host, :, 1:4, Y23]
        arrival = outbreak.arrival.get(s.code)
        rows.append([
            s.code, s.name, s.place_type, s.country, s.lat, s.lon, ";".join(corridors[s.code]),
            s.population, int(hiv.population[i, ..., Y23].sum()),
            round(float(hiv.drivers["passers_per_day"][i, Y23])),
            round(float(hiv.coverage[i]), 4), s.reporting == "full", s.reporting, s.remoteness,
            uids.get(s.code, ""), fmps.get(s.code, ""), s.fmp_from,
            round(float((n * p).sum() / max(n.sum(), 1.0)), 5), COUNTRY[s.country].prevalence,
            arrival.isoformat() if arrival else "",
        ])  # fmt: skip
    return header, rows


def population_table(hiv: HivTruth) -> Table:
    header = (
        "site", "year", "population_group", "sex", "age_band", "population", "hiv_prevalence",
        "plhiv", "know_status", "on_art", "suppressed", "test_rate", "prep_coverage",
        "new_infections",
    )  # fmt: skip
    rows: list[list[Cell]] = []
    pop, prev, new = hiv.population, hiv.prevalence, hiv.new_infections
    for i, s in enumerate(SITES):
        for yi, year in enumerate(YEARS):
            for g, group in enumerate(GROUPS):
                if pop[i, g, :, :, yi].sum() == 0:
                    continue
                arrays = (hiv.know, hiv.on_art, hiv.suppressed, hiv.test_rate, hiv.prep)
                rates = [round(float(x[i, g, yi]), 4) for x in arrays]
                for x, sex in enumerate(st.SEXES):
                    for a, age in enumerate(st.AGES):
                        n = int(pop[i, g, x, a, yi])
                        if n == 0:
                            continue
                        p = float(prev[i, g, x, a, yi])
                        rows.append([s.code, year, group, sex, age, n, round(p, 5),
                                     round(n * p), *rates, int(new[i, g, x, a, yi])])  # fmt: skip
    return header, rows


def new_infections_table(hiv: HivTruth) -> Table:
    rows: list[list[Cell]] = []
    by_group = hiv.new_infections.sum(axis=(2, 3))
    present = hiv.population.sum(axis=(2, 3)) > 0
    for i, s in enumerate(SITES):
        for yi, year in enumerate(YEARS):
            for g, group in enumerate(GROUPS):
                if present[i, g, yi]:
                    rows.append([s.code, year, group, int(by_group[i, g, yi])])
    return ("site", "year", "population_group", "new_infections"), rows


def drivers_table(hiv: HivTruth) -> Table:
    names = sorted(hiv.drivers)
    rows: list[list[Cell]] = []
    total = hiv.new_infections.sum(axis=(1, 2, 3))
    for i, s in enumerate(SITES):
        for yi, year in enumerate(YEARS):
            vals = [round(float(hiv.drivers[k][i, yi]), 5) for k in names]
            rows.append([s.code, year, *vals, int(total[i, yi])])
    return ("site", "year", *names, "new_infections"), rows


def outbreak_table(outbreak: Outbreak) -> Table:
    true: Counter[tuple[str, int, str]] = Counter()
    reported: Counter[tuple[str, int, str]] = Counter()
    for c in outbreak.cases:
        key = (c.site, c.onset.year, c.population_group)
        true[key] += 1
        if c.report_date is not None:
            reported[key] += 1
    order = {s.code: i for i, s in enumerate(SITES)}
    keys = sorted(true, key=lambda k: (order[k[0]], k[1], GROUPS.index(k[2])))
    rows: list[list[Cell]] = [[*k, true[k], reported[k]] for k in keys]
    return ("site", "year", "population_group", "cases", "reported_cases"), rows


def spread_table(outbreak: Outbreak) -> Table:
    items = sorted(outbreak.arrival.items(), key=lambda kv: (kv[1], kv[0]))
    rows: list[list[Cell]] = [[c, d.isoformat(), outbreak.source[c]] for c, d in items]
    return ("site", "first_case_date", "reached_from"), rows


def flows_table(flows: FlowTruth) -> Table:
    header = (
        "poe", "year", "direction", "origin", "next", "final", "population_group", "mode",
        "travellers",
    )  # fmt: skip
    rows: list[list[Cell]] = []
    gates = gate_of_site()
    for s in SITES:
        if not s.is_poe:
            continue
        gate = gates[s.code]
        table = flows.annual[gate.key]
        for yi, year in enumerate(YEARS):
            for k, st_ in enumerate(flows.streams[gate.key]):
                rows.append([s.code, year, st_.direction_at(s.code, gate), st_.origin, st_.next,
                             st_.final, st_.group, st_.mode, int(table[k, yi])])  # fmt: skip
    return header, rows


def poe_traffic_table(flows: FlowTruth) -> Table:
    rows: list[list[Cell]] = []
    for s in SITES:
        if s.is_poe:
            for yi, year in enumerate(YEARS):
                rows.append([s.code, year, int(flows.poe_total[s.code][yi])])
    return ("poe", "year", "travellers"), rows
