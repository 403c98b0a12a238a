"""The measures behind the four components, computed per site from the warehouse.

Every measure is a ratio ``factor x numerator / denominator`` of counts read from the warehouse
(its ``resample`` says how its numerator varies by chance). A measure that
cannot be computed for a site is NaN there and the site gets the measure's flag (``no_flow_data``,
``no_population``, ...); ``scoring.py`` decides how such a site is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd

from corridor.contract.dimensions import MOBILE_GROUPS, TOTAL
from corridor.hotspots import network
from corridor.hotspots.inputs import IncidenceInputs, collect_inputs, read_recency
from corridor.hotspots.sitetotals import SiteTotals
from corridor.hotspots.warehouse import (
    Window,
    nothing_to_rank,
    read_age_totals,
    read_flows,
    read_places,
    read_recent_cases,
    read_service_totals,
)
from corridor.indicators import get_indicator
from corridor.indicators.registry import DEFAULT_TESTING_MIN_AGE
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS

COMPONENTS: Final = ("mobility", "burden", "service_gap", "bridging")

Resample = Literal["poisson", "binomial", "fixed"]


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """What a measure is. Higher normalised values always mean more vulnerable."""

    name: str
    component: str
    label: str
    resample: Resample
    missing_flag: str
    #: for coverage-type measures: the target; the measure enters the score as its gap
    #: ``max(0, 1 - value / target)``
    target: float | None = None
    #: whether the numerator is a count of people or events (disclosure control applies)
    counts: bool = True
    #: whether the denominator is such a count too (not for per-site totals)
    denominator_counts: bool = True


def _target(indicator: str) -> float:
    """The indicator registry's default target, as a fraction."""
    target = get_indicator(indicator).target
    return 1.0 if target is None else target / 100.0


#: one HIV test per member of the mobile groups per year (WHO: retest key and mobile populations
#: at least every year); the registry has no target for testing coverage
TESTING_TARGET: Final = 1.0
LINKAGE_TARGET: Final = _target("linkage_proxy")
ART_TARGET: Final = _target("art_coverage")
SUPPRESSION_TARGET: Final = _target("third_95")

SPECS: Final[tuple[MeasureSpec, ...]] = (
    MeasureSpec(
        "travellers_per_head",
        "mobility",
        "travellers observed at the site or bound for it, per year, per resident",
        "poisson",
        "no_flow_data",
    ),
    MeasureSpec(
        "mobile_share",
        "mobility",
        "share of HIV tests done among mobile population groups",
        "binomial",
        "no_group_data",
    ),
    MeasureSpec(
        "positivity", "burden", "HIV positivity (positive / tests)", "binomial", "no_testing_data"
    ),
    MeasureSpec(
        "prevalence",
        "burden",
        "estimated HIV prevalence (plhiv_estimated / pop_estimated)",
        "binomial",
        "no_prevalence_estimate",
    ),
    MeasureSpec(
        "outbreak_cases_per_10k",
        "burden",
        "confirmed and probable outbreak cases in the last 12 months, per 10,000 residents",
        "poisson",
        "no_population",
    ),
    MeasureSpec(
        "testing_coverage_mobile",
        "service_gap",
        "HIV tests per year per member of the mobile groups (gap to target)",
        "poisson",
        "no_group_data",
        target=TESTING_TARGET,
    ),
    MeasureSpec(
        "linkage_proxy",
        "service_gap",
        "ART initiations per positive result (gap to target)",
        "binomial",
        "no_linkage_data",
        target=LINKAGE_TARGET,
    ),
    MeasureSpec(
        "art_coverage",
        "service_gap",
        "people on ART per estimated person living with HIV (gap to target)",
        "binomial",
        "no_art_data",
        target=ART_TARGET,
    ),
    MeasureSpec(
        "vl_suppression",
        "service_gap",
        "viral-load results < 1000 copies/mL (gap to target)",
        "binomial",
        "no_vl_data",
        target=SUPPRESSION_TARGET,
    ),
    MeasureSpec(
        "bridging_flow",
        "bridging",
        "travellers whose journey touches the site, per resident per year, x the range of HIV "
        "prevalence along the journey (origin, site, destination)",
        "poisson",
        "no_flow_data",
    ),
    MeasureSpec(
        "betweenness",
        "bridging",
        "flow-weighted betweenness between high- and low-prevalence places",
        "fixed",
        "no_flow_data",
        counts=False,
    ),
)
SPEC_BY_NAME: Final = {s.name: s for s in SPECS}


@dataclass(slots=True)
class Measure:
    """One measure for every site: value = factor x numerator / denominator (NaN = missing)."""

    spec: MeasureSpec
    numerator: np.ndarray
    denominator: np.ndarray
    factor: np.ndarray
    #: sites where this measure is missing for a reason other than its own flag
    extra_flags: dict[int, str] = field(default_factory=dict)
    #: the cell keys of the counts (sum of their rows' record keys mod 2^32; NaN: none, e.g.
    #: the place registry's population, a reference figure); None: the measure has no counts
    numerator_key: np.ndarray | None = None
    denominator_key: np.ndarray | None = None

    @property
    def observed(self) -> np.ndarray:
        ok = np.isfinite(self.numerator) & np.isfinite(self.denominator)
        ok &= np.isfinite(self.factor)
        with np.errstate(invalid="ignore"):
            ok &= self.denominator > 0
        return np.asarray(ok)

    def value(self, numerator: np.ndarray | None = None) -> np.ndarray:
        """The measure (NaN where missing); ``numerator`` may be a (draws, sites) resample."""
        num = self.numerator if numerator is None else numerator
        with np.errstate(invalid="ignore", divide="ignore"):
            v = self.factor * num / self.denominator
        return np.where(self.observed, v, np.nan)

    def scored(self, value: np.ndarray) -> np.ndarray:
        """What enters the score: the value, or its gap to target for coverage measures."""
        if self.spec.target is None:
            return value
        return np.clip(1.0 - value / self.spec.target, 0.0, 1.0)


@dataclass(slots=True)
class SiteData:
    """The sites and their measures, as read from the warehouse for one window."""

    window: Window
    sites: pd.DataFrame  # place_code, name, place_type, country_code, lat, lon, corridor, ...
    measures: list[Measure]
    notes: list[str]
    inputs: IncidenceInputs | None = None


def compute_site_data(
    engine: Engine, window: Window, *, testing_min_age: int = DEFAULT_TESTING_MIN_AGE
) -> SiteData:
    """Read the warehouse and compute every measure for every site (``testing_min_age``: the
    youngest age offered HIV testing, the setting of that name: the recency correction's
    adults where a site reports its population estimate by age band)."""
    places = read_places(engine)
    sites = places[places["is_site"]].reset_index(drop=True)
    codes = list(sites["place_code"])
    idx = pd.Index(codes)
    n = len(codes)
    services = read_service_totals(engine, window)
    flows = read_flows(engine, window)
    cases, any_cases = read_recent_cases(engine, window)
    if n and services.empty and flows.empty and cases.empty:
        raise nothing_to_rank(engine, window)  # every input of every site would be imputed
    notes: list[str] = []

    lookup = SiteTotals(services, idx)
    ones = np.ones(n)
    # population: the registry's (a reference figure: no cell key), else the services' estimate
    pop_est, pop_est_key = lookup("pop_estimated", (TOTAL,))
    population = sites["population"].to_numpy(dtype=float)
    registry = np.isfinite(population) & (population > 0)
    population_key = np.where(registry, np.nan, pop_est_key)
    population = np.where(registry, population, pop_est)
    population = np.where(population > 0, population, np.nan)

    measures: list[Measure] = []
    years = window.years
    # ---- mobility ----------------------------------------------------------------------
    if flows.empty:
        notes.append("no flow records in the window: travellers and bridging not measured")
    at_site = flows.groupby("observation_code")[["count", "key"]].sum()
    bound = flows[flows["destination_code"] != flows["observation_code"]]
    bound_for = bound.groupby("destination_code")[["count", "key"]].sum()
    seen = idx.isin(at_site.index) | idx.isin(bound_for.index)
    both = at_site.reindex(idx).fillna(0) + bound_for.reindex(idx).fillna(0)
    travellers = np.where(seen, both["count"].to_numpy(dtype=float), np.nan)
    travellers_key = np.where(seen, both["key"].to_numpy(dtype=float) % KEY_MODULUS, np.nan)
    m = Measure(SPEC_BY_NAME["travellers_per_head"], travellers, population, ones / years)
    m.numerator_key, m.denominator_key = travellers_key, population_key
    m.extra_flags = {i: "no_population" for i in range(n) if seen[i] and np.isnan(population[i])}
    measures.append(m)

    Totals = tuple[np.ndarray, np.ndarray]  # per site: value, cell key

    def counted(name: str, num: Totals, den: Totals, factor: np.ndarray) -> Measure:
        return Measure(
            SPEC_BY_NAME[name],
            num[0],
            den[0],
            factor,
            numerator_key=num[1],
            denominator_key=den[1],
        )

    mobile = lookup("hiv_tests", MOBILE_GROUPS)
    groups = tuple(sorted(set(services["population_group"]) - {TOTAL}))
    all_groups = lookup("hiv_tests", groups)
    has_groups = np.isfinite(all_groups[0])
    m = counted("mobile_share", mobile, all_groups, ones)
    m.numerator = np.where(has_groups, np.nan_to_num(m.numerator), np.nan)
    assert m.numerator_key is not None
    m.numerator_key = np.where(has_groups, np.nan_to_num(m.numerator_key), np.nan)
    measures.append(m)
    # ---- burden ------------------------------------------------------------------------
    tests = lookup("hiv_tests", (TOTAL,))
    positive = lookup("hiv_positive", (TOTAL,))
    measures.append(counted("positivity", positive, tests, ones))
    plhiv = lookup("plhiv_estimated", (TOTAL,))
    m = counted("prevalence", plhiv, plhiv, ones)
    m.denominator, m.denominator_key = pop_est, pop_est_key
    measures.append(m)
    if any_cases:
        recent_years = ((window.end - window.recent_start).days + 1) / 365.25
        by_place = cases.set_index("place_code").reindex(idx)
        n_cases = by_place["cases"].fillna(0).to_numpy(dtype=float)
        measures.append(
            Measure(
                SPEC_BY_NAME["outbreak_cases_per_10k"],
                n_cases,
                population,
                ones * 10_000 / recent_years,
                numerator_key=by_place["key"].fillna(0).to_numpy(dtype=float),
                denominator_key=population_key,
            )
        )
    else:
        notes.append("no outbreak cases in the warehouse: the outbreak measure is left out")
    # ---- service gap -------------------------------------------------------------------
    pop_mobile = lookup("pop_estimated", MOBILE_GROUPS)
    measures.append(counted("testing_coverage_mobile", mobile, pop_mobile, ones / years))
    initiated = lookup("art_initiated", (TOTAL,))
    measures.append(counted("linkage_proxy", initiated, positive, ones))
    on_art = lookup("art_current", (TOTAL,))
    measures.append(counted("art_coverage", on_art, plhiv, ones))
    vl_sup = lookup("vl_suppressed", (TOTAL,))
    vl_tested = lookup("vl_tested", (TOTAL,))
    measures.append(counted("vl_suppression", vl_sup, vl_tested, ones))
    # ---- bridging ----------------------------------------------------------------------
    prevalence = network.place_prevalence(places, services)
    bridge = network.bridging_flow(flows, prevalence, codes)
    touched = bridge["travellers"].reindex(idx).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_range = bridge["range_travellers"].reindex(idx).to_numpy(dtype=float) / touched
    m = Measure(
        SPEC_BY_NAME["bridging_flow"],
        touched,
        population,
        np.where(touched > 0, mean_range, 0.0) / years,
        numerator_key=bridge["key"].reindex(idx).to_numpy(dtype=float) % KEY_MODULUS,
        denominator_key=population_key,
    )
    m.extra_flags = {
        i: "no_population" for i in range(n) if np.isfinite(touched[i]) and np.isnan(population[i])
    }
    measures.append(m)
    graph = network.flow_graph(flows)
    betweenness = network.bridging_betweenness(graph, prevalence, codes)
    measures.append(
        Measure(SPEC_BY_NAME["betweenness"], betweenness.to_numpy(dtype=float), ones, ones)
    )
    keep = [m for m in measures if m.observed.any()]
    for m in measures:
        if not m.observed.any() and not (m.spec.name == "outbreak_cases_per_10k" and not any_cases):
            notes.append(f"{m.spec.name}: no site has the data; the measure is left out")
    inputs = collect_inputs(
        services,
        read_recency(engine, window),
        codes,
        population,
        window,
        read_age_totals(engine, window),
        testing_min_age,
    )
    return SiteData(window, sites, keep, notes, inputs)
