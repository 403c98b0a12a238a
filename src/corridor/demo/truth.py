"""The hidden HIV truth: population, prevalence, cascade and new infections per site and stratum.

Arrays are indexed ``[site, group, sex, age, year]`` (orders of ``SITES`` and ``strata``).
New infections are not assigned to sites by label; they follow from mechanisms:

    lambda = beta * activity * contact_intensity * (pool_viraemic + bridging) * (1 - prevention)

where *contact intensity* rises with mobility (travellers per resident) and sex-work presence,
the *pool viraemic fraction* is the share of untreated, unsuppressed PLHIV among the partners
available at the site (residents weighted by activity, plus the people passing through, carrying
the prevalence of the countries on their corridors), *bridging* is the excess of that fraction
among mobile people over hosts, and untreated fractions follow service coverage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from corridor.demo import strata as st
from corridor.demo.facts import COUNTRY
from corridor.demo.geography import SITES, corridor_countries, site_corridors
from corridor.demo.mobility import CREW_PER_TRUCK, TRAFFIC_INDEX, truck_dwell_days
from corridor.demo.strata import GROUPS, YEARS, FloatArray, IntArray

#: groups living at a site as a share of its catchment population, by place type [assumed]
RESIDENT_SHARES: Final[dict[str, dict[str, float]]] = {
    "border_crossing": {"migrant": 0.05, "cross_border_trader": 0.04},
    "seaport": {"migrant": 0.06, "mobile_worker": 0.04},
    "truck_stop": {"migrant": 0.04},
    "mine": {"miner": 0.30, "migrant": 0.08},
    "fishing_site": {"fisherfolk": 0.45, "migrant": 0.05},
    "farm_compound": {"seasonal_worker": 0.35, "migrant": 0.10},
    "construction_site": {"mobile_worker": 0.40, "migrant": 0.05},
    "market": {"cross_border_trader": 0.08, "migrant": 0.06},
    "urban_hotspot": {"migrant": 0.08, "cross_border_trader": 0.01},
}
#: local epidemics stronger than the national average [assumed from regional surveys]:
#: Kisumu County, Rakai/Kyotera and the Lake Edward shores are well-known high-burden areas
HOST_PREVALENCE_FACTOR: Final[dict[str, float]] = {
    "ke-dunga": 3.0,
    "ug-kasensero": 1.6,
    "ug-rwenshama": 1.3,
}
#: construction workforce over the years (projects ramping up and down) [assumed]
CONSTRUCTION: Final = (1.0, 0.8, 1.1, 1.2, 1.0, 0.7, 0.45)
TESTING_TREND: Final = (0.85, 0.68, 0.85, 0.95, 1.0, 1.05, 1.1)  # 2020: COVID-19 disruption
PREP_RAMP: Final = (0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 1.0)
#: yearly shrinking of prevalence (ART scale-up, deaths, turnover): hosts, other groups
PREVALENCE_DECLINE: Final = (0.02, 0.03)
#: the unmet part of each 95 shrinks by this factor per year up to 2023 and after [assumed]
CASCADE_GAP_GROWTH: Final = 1.12
#: how strongly the gap of each 95 (know, on ART, suppressed) follows a site's service coverage
#: relative to its country's other sites, and how strongly a group's 95 falls below the hosts'
#: with its access relative to hosts (``host x relative access ** exponent``) [assumed]
CASCADE_EXPONENTS: Final = ((1.5, 0.6), (1.0, 0.3), (0.7, 0.2))
#: mobile and key populations reach services at most this well relative to hosts [assumed]
GROUP_ACCESS_CAP: Final = 0.95
BETA: Final = 0.04  # transmission scale, calibrated to national incidence of 0.1-0.6%/year
BRIDGING: Final = 1.0  # weight of the mobile-minus-host viraemic differential
TRANSIENT_DWELL: Final = 0.15  # days a passing traveller spends at the site (partner pool)
MOBILE_GROUPS: Final = (
    "migrant", "mobile_worker", "truck_driver", "fisherfolk", "miner", "cross_border_trader",
    "seasonal_worker",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HivTruth:
    population: IntArray  # [S, G, X, A, Y] people
    prevalence: FloatArray  # [S, G, X, A, Y]
    know: FloatArray  # [S, G, Y] share of PLHIV who know their status
    on_art: FloatArray  # [S, G, Y] share of those who know who are on ART
    suppressed: FloatArray  # [S, G, Y] share of those on ART suppressed
    test_rate: FloatArray  # [S, G, Y] share of adults not known positive tested per year
    prep: FloatArray  # [S, G, Y] PrEP coverage of HIV-negative adults
    access: FloatArray  # [S, G] access to services (0..1)
    coverage: FloatArray  # [S] site service coverage (0..1)
    new_infections: IntArray  # [S, G, X, A, Y]
    drivers: dict[str, FloatArray]  # mechanism terms per [S, Y]

    @property
    def plhiv(self) -> FloatArray:
        return np.asarray(self.population * self.prevalence, dtype=np.float64)


def _gap(value: float, years: FloatArray, year0: int = st.BASE_YEAR) -> FloatArray:
    """The unmet part of a 95 (``1 - value`` in ``year0``), growing back in time."""
    return np.asarray((1.0 - value) * CASCADE_GAP_GROWTH ** (year0 - years), dtype=np.float64)


def _cascade(value: float, years: FloatArray, year0: int = st.BASE_YEAR) -> FloatArray:
    return np.asarray(np.clip(1.0 - _gap(value, years, year0), 0.3, 0.99), dtype=np.float64)


def site_gap_factors(access: FloatArray, weights: FloatArray, exponent: float) -> FloatArray:
    """Per site, the factor on the national gap of a 95 for the host community [S].

    Better access, smaller gap: ``(access / mean access) ** -exponent``, rescaled so that the
    weighted mean over each country's sites is 1. The host cascade is ``1 - gap x factor``, so
    its weighted mean over a country's sites equals the national figure (where nothing clips).
    """
    out = np.ones(len(SITES))
    countries = np.array([s.country for s in SITES])
    for c in sorted(set(countries)):
        idx = np.flatnonzero(countries == c)
        w = np.maximum(weights[idx], 1e-9)
        rel = access[idx] / np.average(access[idx], weights=w)
        f = rel**-exponent
        out[idx] = f / np.average(f, weights=w)
    return out


def route_prevalence() -> FloatArray:
    """Mean national prevalence over the countries on each site's corridors [S]."""
    out = np.zeros(len(SITES))
    corridors = site_corridors()
    for i, s in enumerate(SITES):
        countries = {c for k in corridors[s.code] for c in corridor_countries(k)} or {s.country}
        out[i] = np.mean([COUNTRY[c].prevalence for c in sorted(countries)])
    return out


def build_population(
    trucks: FloatArray, travellers: FloatArray, rng: np.random.Generator
) -> IntArray:
    """True population [S, G, X, A, Y] from catchments, site types and traffic."""
    S, Gn, Y = len(SITES), len(GROUPS), len(YEARS)
    years = np.array(YEARS, dtype=np.float64)
    growth = 1.027 ** (years - st.BASE_YEAR)
    index = np.array([TRAFFIC_INDEX[y] for y in YEARS])
    size = np.zeros((S, Gn, Y))
    comp = np.stack([st.composition(g) for g in GROUPS])  # [G, X, A]
    for i, s in enumerate(SITES):
        shares = RESIDENT_SHARES[s.place_type]
        jitter = {g: float(rng.lognormal(0.0, 0.2)) for g in GROUPS}
        resident = 0.0
        for g, share in shares.items():
            base = s.population * share * jitter[g]
            resident += base
            if g == "mobile_worker" and s.place_type == "construction_site":
                trend = np.array(CONSTRUCTION)
            elif g in ("migrant", "cross_border_trader", "mobile_worker"):
                trend = index * growth
            else:
                trend = growth * np.where(years == 2020, 0.9, 1.0)
            size[i, st.G[g]] = base * trend
        size[i, st.G["host"]] = (s.population - resident) * growth
        size[i, st.G["truck_driver"]] = trucks[i] * CREW_PER_TRUCK * truck_dwell_days(s.code)
        # sex work concentrates where mobile men are: demand from mobile adult men
        mobile_men = (
            sum(size[i, st.G[g]] * comp[st.G[g], 1, 1:].sum() for g in MOBILE_GROUPS)
            + travellers[i] * TRANSIENT_DWELL * 0.55
        )
        host_women = size[i, st.G["host"]] * comp[st.G["host"], 0, 1:].sum()
        host_men = size[i, st.G["host"]] * comp[st.G["host"], 1, 1:].sum()
        ratio = mobile_men / host_men
        fsw = 0.01 * host_women * (1.0 + 2.5 * np.minimum(ratio, 3.0)) * jitter["sex_worker"]
        fsw = np.minimum(fsw, 0.06 * host_women)
        size[i, st.G["sex_worker"]] = fsw / st.FEMALE_SHARE["sex_worker"]
    pop = size[:, :, None, None, :] * comp[None, :, :, :, None]
    return np.rint(pop).astype(np.int64)


def _sex_age_prevalence(group: str) -> FloatArray:
    """Relative prevalence by sex x age (2 x 5) with a 15-49 weighted mean of 1."""
    if group == "host":
        rel = np.array([[0.04, 0.75, 1.55, 1.55, 0.9], [0.04, 0.25, 0.85, 1.45, 1.05]])
    else:
        rel = np.array([[0.04, 0.65, 1.0, 1.25, 1.05], [0.04, 0.65, 1.0, 1.25, 1.05]])
    comp = st.composition(group)
    w = comp[:, 1:4]
    mean = float((rel[:, 1:4] * w).sum() / w.sum()) if w.sum() > 0 else 1.0
    return np.asarray(rel / mean, dtype=np.float64)


def build_prevalence(mobility: FloatArray, rng: np.random.Generator) -> FloatArray:
    """True prevalence [S, G, X, A, Y]; ``mobility`` is a 0..1.5 index per site."""
    S, Gn = len(SITES), len(GROUPS)
    years = np.array(YEARS, dtype=np.float64)
    p_route = route_prevalence()
    base = np.zeros((S, Gn))
    for i, s in enumerate(SITES):
        factor = HOST_PREVALENCE_FACTOR.get(s.code, 1.0)
        h = float(rng.lognormal(0.0, 0.15)) * (1.0 + 0.25 * mobility[i]) * factor
        local = min(0.5, COUNTRY[s.country].prevalence * h)
        mix = 0.5 * local + 0.5 * p_route[i]
        per_group = {
            "host": local,
            "migrant": 1.2 * mix,
            "mobile_worker": 1.5 * local,
            "truck_driver": 1.0 - np.exp(-2.2 * mix),
            "sex_worker": 1.0 - np.exp(-7.0 * local),
            "fisherfolk": 1.0 - np.exp(-3.5 * local),
            "miner": 1.0 - np.exp(-2.0 * local),
            "cross_border_trader": 1.6 * local,
            "seasonal_worker": 1.5 * local,
        }
        for g, p in per_group.items():
            noise = 1.0 if g == "host" else float(rng.lognormal(0.0, 0.1))
            base[i, st.G[g]] = min(0.75, p * noise)
    rel = np.stack([_sex_age_prevalence(g) for g in GROUPS])  # [G, X, A]
    decline = np.array([PREVALENCE_DECLINE[0] if g == "host" else PREVALENCE_DECLINE[1]
                        for g in GROUPS])  # fmt: skip
    trend = (1.0 - decline[:, None]) ** (years[None, :] - st.BASE_YEAR)  # [G, Y]
    prev = base[:, :, None, None, None] * rel[None, :, :, :, None] * trend[None, :, None, None, :]
    return np.asarray(np.clip(prev, 0.0, 0.8), dtype=np.float64)


def build_access(rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Site service coverage [S] and access by group [S, G]."""
    cov = np.array([1.0 - 0.5 * s.remoteness for s in SITES]) + rng.normal(0.0, 0.06, len(SITES))
    cov = np.clip(cov, 0.3, 1.0)
    access = np.zeros((len(SITES), len(GROUPS)))
    for i, s in enumerate(SITES):
        for g in GROUPS:
            boost = 1.25 if s.reporting == "full" and g in st.PROGRAMME_GROUPS else 1.0
            access[i, st.G[g]] = cov[i] * st.ACCESS[g] * boost
    return cov, np.asarray(np.clip(access, 0.15, 1.0), dtype=np.float64)


def build_hiv_truth(trucks: FloatArray, travellers: FloatArray, seed: int) -> HivTruth:
    rng = np.random.default_rng([11, seed])
    S, Gn, Y = len(SITES), len(GROUPS), len(YEARS)
    years = np.array(YEARS, dtype=np.float64)
    pop = build_population(trucks, travellers, rng)
    residents = pop.sum(axis=(1, 2, 3)).astype(np.float64)  # [S, Y]
    passers = travellers + trucks * CREW_PER_TRUCK  # [S, Y] per day
    per_1000 = passers / np.maximum(residents, 1.0) * 1000.0
    mob_index = np.clip(np.log1p(per_1000[:, st.YEARS.index(st.BASE_YEAR)] / 10.0) / 3.0, 0, 1.5)
    prev = build_prevalence(mob_index, rng)
    cov, access = build_access(rng)

    # the host community's cascade matches the national one (in the survey's own year) over
    # each country's sites, weighted by host PLHIV; other groups have larger gaps (less access)
    host = st.G["host"]
    y0 = st.YEARS.index(st.BASE_YEAR)
    host_plhiv = (pop[:, host, :, 1:4, y0] * prev[:, host, :, 1:4, y0]).sum(axis=(1, 2))
    rel_group = np.minimum(access / access[:, host : host + 1], 1.0)  # [S, G]
    rel_group[:, host + 1 :] = np.minimum(rel_group[:, host + 1 :], GROUP_ACCESS_CAP)
    know = np.zeros((S, Gn, Y))
    on_art = np.zeros((S, Gn, Y))
    supp = np.zeros((S, Gn, Y))
    for arr, attr, (k_site, k_group) in zip(
        (know, on_art, supp), ("know", "on_art", "suppressed"), CASCADE_EXPONENTS, strict=True
    ):
        f_site = site_gap_factors(cov, host_plhiv, k_site)
        for i, s in enumerate(SITES):
            c = COUNTRY[s.country]
            gap = _gap(getattr(c, attr), years, c.cascade_year)  # [Y]
            host_value = np.clip(1.0 - gap * f_site[i], 0.3, 0.995)
            arr[i] = host_value[None, :] * rel_group[i][:, None] ** k_group
    rates = np.array([st.TEST_RATE[g] for g in GROUPS])
    test_rate = rates[None, :, None] * access[:, :, None] * np.array(TESTING_TREND)[None, None, :]
    prep_max = np.array([st.PREP_2025[g] for g in GROUPS])
    programme = np.array([1.0 if s.reporting == "full" else 0.4 for s in SITES])
    prep = (prep_max[None, :, None] * access[:, :, None] * programme[:, None, None]
            * np.array(PREP_RAMP)[None, None, :])  # fmt: skip
    condom = np.array([st.CONDOM_USE[g] for g in GROUPS])[None, :] * access**0.3  # [S, G]

    new, drivers = _incidence(pop, prev, know * on_art * supp, prep, condom, trucks, travellers,
                              per_1000, rng)  # fmt: skip
    drivers["service_coverage"] = np.repeat(cov[:, None], Y, axis=1)
    return HivTruth(pop, prev, know, on_art, supp, test_rate, prep, access, cov, new, drivers)


def _incidence(
    pop: IntArray,
    prev: FloatArray,
    kav: FloatArray,
    prep: FloatArray,
    condom: FloatArray,
    trucks: FloatArray,
    travellers: FloatArray,
    per_1000: FloatArray,
    rng: np.random.Generator,
) -> tuple[IntArray, dict[str, FloatArray]]:
    S, Y = len(SITES), len(YEARS)
    years = np.array(YEARS, dtype=np.float64)
    n = pop.astype(np.float64)
    viraemic = prev * (1.0 - kav[:, :, None, None, :])  # [S, G, X, A, Y]
    act = (
        np.array([st.ACTIVITY[g] for g in GROUPS])[None, :, None, None, None]
        * np.array(st.AGE_ACTIVITY)[None, None, None, :, None]
    )
    w = n * act
    host = st.G["host"]
    mobile = [st.G[g] for g in MOBILE_GROUPS]
    # people passing through carry the viraemic fraction of the countries on their corridors
    p_route = route_prevalence()
    kav_route = np.zeros((S, Y))
    corridors = site_corridors()
    for i, s in enumerate(SITES):
        countries = sorted({c for k in corridors[s.code] for c in corridor_countries(k)}
                           or {s.country})  # fmt: skip
        kav_route[i] = np.mean(
            [_cascade(COUNTRY[c].know, years, COUNTRY[c].cascade_year)
             * _cascade(COUNTRY[c].on_art, years, COUNTRY[c].cascade_year)
             * _cascade(COUNTRY[c].suppressed, years, COUNTRY[c].cascade_year)
             for c in countries], axis=0,
        )  # fmt: skip
    u_transient = p_route[:, None] * (1.0 - kav_route)  # [S, Y]
    w_transient = travellers * TRANSIENT_DWELL * 1.5  # [S, Y]
    num = (w * viraemic).sum(axis=(1, 2, 3)) + w_transient * u_transient
    den = w.sum(axis=(1, 2, 3)) + w_transient
    pool = num / np.maximum(den, 1e-9)
    u_host = (w[:, host] * viraemic[:, host]).sum(axis=(1, 2)) / np.maximum(
        w[:, host].sum(axis=(1, 2)), 1e-9
    )
    mob_num = (w[:, mobile] * viraemic[:, mobile]).sum(axis=(1, 2, 3)) + w_transient * u_transient
    mob_den = w[:, mobile].sum(axis=(1, 2, 3)) + w_transient
    u_mobile = mob_num / np.maximum(mob_den, 1e-9)
    differential = np.maximum(0.0, u_mobile - u_host)
    women = n[:, :, 0, 1:].sum(axis=(1, 2))  # adult women [S, Y]
    sw_share = n[:, st.G["sex_worker"], 0, 1:].sum(axis=1) / np.maximum(women, 1.0)
    contact = 1.0 + 0.35 * np.log1p(per_1000 / 10.0) + 20.0 * sw_share
    sex_risk = np.array([[1.0, 1.8, 1.1, 1.1, 1.1], [1.0, 1.0, 1.0, 1.0, 1.0]])  # [X, A]
    prevention = (1.0 - 0.85 * prep) * (1.0 - 0.5 * condom[:, :, None])  # [S, G, Y]
    force = BETA * contact * (pool + BRIDGING * differential)  # [S, Y]
    lam = (
        act
        * sex_risk[None, None, :, :, None]
        * force[:, None, None, None, :]
        * prevention[:, :, None, None, :]
    )
    lam = np.minimum(lam, 0.25)
    expected = lam * n * (1.0 - prev)
    noise = rng.gamma(20.0, 1.0 / 20.0, size=expected.shape)
    new = rng.poisson(expected * noise).astype(np.int64)
    drivers = {
        "passers_per_day": travellers + trucks * CREW_PER_TRUCK,
        "passers_per_1000_residents": per_1000,
        "sex_work_share": sw_share,
        "contact_intensity": contact,
        "pool_viraemic_fraction": pool,
        "host_viraemic_fraction": u_host,
        "mobile_viraemic_fraction": u_mobile,
        "prevalence_differential": differential,
        "expected_new_infections": expected.sum(axis=(1, 2, 3)),
    }
    return new, drivers
