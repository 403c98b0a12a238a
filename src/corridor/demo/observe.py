"""The observed service data: quarterly HIV and outbreak values sampled from the truth.

Programmes report the way they do in the field: key-population and mobile-population programmes
(drop-in centres, roadside wellness clinics: sites with ``reporting == "full"``) record population
group, sex and age band; ordinary facilities record sex only or totals only. Stocks are end of
quarter values; estimates (PLHIV, population size) are annual and carry estimation error; some
site-quarters are missing, the last quarter is partly unreported at export (late), some sites
round their numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from corridor.demo import strata as st
from corridor.demo.geography import SITES, gate_of_site
from corridor.demo.mobility import FlowTruth, month_weights
from corridor.demo.outbreak import SUSPECTS_PER_CONFIRMED, Outbreak
from corridor.demo.strata import GROUPS, QUARTERS, YEARS, FloatArray
from corridor.demo.truth import HivTruth

HIV_ELEMENTS: Final = (
    "hiv_tests",
    "hiv_positive",
    "art_initiated",
    "plhiv_diagnosed",
    "art_current",
    "vl_tested",
    "vl_suppressed",
    "plhiv_estimated",
    "pop_estimated",
    "prep_initiated",
    "condoms_distributed",
)
#: elements that key-population programmes record by group x sex x age band (MER-style), with
#: the age bands (indices into AGES) they report: services to people 15+ (children's testing and
#: treatment are not modelled), the population estimate at every age (its <15 band too, so that
#: the bands add up to the whole population and testing_coverage can take the ages offered testing)
BY_AGE: Final[dict[str, range]] = {
    "hiv_tests": range(1, 5),
    "hiv_positive": range(1, 5),
    "art_initiated": range(1, 5),
    "pop_estimated": range(0, 5),
    "prep_initiated": range(1, 5),
}
#: quarterly shape of testing within a year (2020: COVID-19 disruption in Q2)
TESTING_QUARTERS: Final[dict[int, tuple[float, ...]]] = {2020: (1.3, 0.5, 0.95, 1.25)}
#: share of travellers screened at points of entry (COVID-19 2020-21, mpox from mid-2024)
SCREENING: Final[dict[str, float]] = {"2020Q1": 0.3, "2024Q3": 0.45}
#: viral-load coverage (TX_PVLS D / TX_CURR two quarters earlier) at full access, and its
#: trend by year (2020-21: COVID-19 disruption of sample transport) [assumed]
VL_COVERAGE: Final = 0.9
VL_TREND: Final = (0.85, 0.75, 0.85, 0.92, 0.97, 1.0, 1.0)
VL_LAG_QUARTERS: Final = 2


@dataclass(frozen=True, slots=True)
class ServiceValue:
    place: str
    period: str
    element: str
    sex: str  # "" = total
    age_band: str
    group: str
    value: int


@dataclass(slots=True)
class ServiceData:
    values: list[ServiceValue] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (site, quarter) never sent
    late: list[tuple[str, str]] = field(default_factory=list)  # (site, quarter) after export
    rounding_sites: list[str] = field(default_factory=list)


def _screening(q: str) -> float:
    y = int(q[:4])
    if "2020Q2" <= q <= "2021Q4":
        return 0.6
    if q >= "2024Q3":
        return 0.45
    return {2020: 0.3, 2022: 0.15}.get(y, 0.04)


def _interp(stock: FloatArray, yi: int, quarter: int) -> FloatArray:
    """End-of-quarter value of an annual stock [..., Y] (linear towards next year)."""
    nxt = stock[..., min(yi + 1, stock.shape[-1] - 1)]
    w = quarter / 4.0
    return np.asarray(stock[..., yi] * (1 - w) + nxt * w, dtype=np.float64)


def observe_services(hiv: HivTruth, flows: FlowTruth, outbreak: Outbreak, seed: int) -> ServiceData:
    rng = np.random.default_rng([31, seed])
    out = ServiceData()
    pop = hiv.population.astype(np.float64)
    plhiv = pop * hiv.prevalence
    # annual estimation error of PLHIV and population-size estimates, per site x group
    est_plhiv = rng.lognormal(0.0, 0.12, size=(len(SITES), len(GROUPS), len(YEARS)))
    kp = np.array([0.05 if g == "host" else 0.25 for g in GROUPS])
    est_pop = np.exp(rng.normal(0.0, 1.0, size=est_plhiv.shape) * kp[None, :, None])
    mpox = _mpox_by_site_quarter(outbreak)
    for i, s in enumerate(SITES):
        if s.reporting == "none":
            continue
        rounds = s.reporting != "full" and rng.random() < 0.25
        if rounds:
            out.rounding_sites.append(s.code)
        start = 0
        if s.reporting in ("sex", "total") and rng.random() < 0.3:
            start = int(rng.integers(2, 9))  # onboarded to DHIS2 between 2019Q3 and 2021Q1
        for qi, q in enumerate(QUARTERS):
            if qi < start:
                continue
            p_missing = 0.03 + 0.06 * s.remoteness + (0.12 if q == "2020Q2" else 0.0)
            if rng.random() < p_missing:
                out.missing.append((s.code, q))
                continue
            p_late = {"2025Q4": 0.2 + 0.2 * s.remoteness, "2025Q3": 0.04}.get(q, 0.0)
            if rng.random() < p_late:
                out.late.append((s.code, q))
                continue
            yi, quarter = qi // 4, qi % 4 + 1
            cells = _hiv_quarter(hiv, pop, plhiv, est_plhiv, est_pop, i, yi, quarter)
            out.values += _emit(s.code, q, s.reporting, cells, rounds, rng)
            if s.is_poe:
                out.values += _poe(s.code, q, flows, rng)
            row = mpox.get((s.code, q))
            if row:
                discarded = int(rng.poisson(row["discarded"]))
                for element in ("mpox_suspected", "mpox_tested", "mpox_confirmed"):
                    n = row.get(element, 0) + (0 if element == "mpox_confirmed" else discarded)
                    if n > 0:
                        out.values.append(ServiceValue(s.code, q, element, "", "", "", n))
    return out


def _hiv_quarter(
    hiv: HivTruth,
    pop: FloatArray,
    plhiv: FloatArray,
    est_plhiv: FloatArray,
    est_pop: FloatArray,
    i: int,
    yi: int,
    quarter: int,
) -> dict[str, FloatArray]:
    """Expected values of the HIV elements at site i in one quarter, per cell [G, X, A]."""
    year = YEARS[yi]
    n = pop[i, :, :, :, yi]
    p = hiv.prevalence[i, :, :, :, yi]
    adult = np.array([0.0, 1.0, 1.0, 1.0, 1.0])[None, None, :]
    know = hiv.know[i][:, None, None, :]
    art = hiv.on_art[i][:, None, None, :]
    supp = hiv.suppressed[i, :, yi][:, None, None]
    access = hiv.access[i][:, None, None]
    shape = TESTING_QUARTERS.get(year, (1.0, 1.0, 1.0, 1.0))[quarter - 1]
    tau = hiv.test_rate[i, :, yi][:, None, None]
    k = know[..., yi]
    tests = tau / 4 * shape * n * (1 - p * k) * adult
    positives = (n * p * (1 - k) * np.minimum(0.9, 1.5 * tau) / 4 * shape
                 + n * p * k * 0.01 / 4) * adult  # fmt: skip
    on_art_stock = plhiv[i] * know * art  # [G, X, A, Y]
    art_current = _interp(on_art_stock, yi, quarter)
    diagnosed = _interp(plhiv[i] * know, yi, quarter)
    initiated = positives * 0.9 * access**0.3 + art_current * 0.002 * adult  # + re-initiations
    # TX_PVLS D: people on ART >= 3 months with a result in the last 12 months, a lookback
    # count reported every quarter; its base is the ART cohort of two quarters earlier
    qi = yi * 4 + quarter - 1
    lag_y, lag_q = divmod(max(qi - VL_LAG_QUARTERS, 0), 4)
    art_lagged = _interp(on_art_stock, lag_y, lag_q + 1)
    vl_coverage = np.clip(VL_COVERAGE * VL_TREND[yi] * access**0.3, 0.3, 0.97)
    vl_tested = art_lagged * vl_coverage * adult
    prep_new = hiv.prep[i, :, yi][:, None, None] * n * (1 - p) * 0.15 * adult
    condoms = n * adult * np.array([st.CONDOMS_PER_QUARTER[g] for g in GROUPS])[:, None, None]
    return {
        "hiv_tests": tests,
        "hiv_positive": positives,
        "art_initiated": initiated,
        "art_current": art_current,
        "vl_tested": vl_tested,
        "vl_suppressed": vl_tested * supp,
        "plhiv_estimated": plhiv[i, :, :, :, yi] * est_plhiv[i, :, yi][:, None, None],
        "plhiv_diagnosed": diagnosed,
        "pop_estimated": n * est_pop[i, :, yi][:, None, None],
        "prep_initiated": prep_new,
        "condoms_distributed": condoms * access,
    }


_STOCK_ESTIMATES: Final = ("plhiv_estimated", "pop_estimated")


#: numerators drawn as a binomial share of their denominator, so a rate never exceeds 100 %
_PARTS: Final = {
    "hiv_positive": "hiv_tests",
    "art_current": "plhiv_diagnosed",
    "vl_suppressed": "vl_tested",
}


def _emit(
    code: str,
    q: str,
    reporting: str,
    cells: dict[str, FloatArray],
    rounds: bool,
    rng: np.random.Generator,
) -> list[ServiceValue]:
    out: list[ServiceValue] = []
    drawn: dict[tuple[str, int, int, int], tuple[int, float]] = {}
    for element in HIV_ELEMENTS:
        x = cells[element]
        if element == "condoms_distributed":
            v = int(round(float(rng.poisson(x.sum())), -2))
            if v > 0:
                out.append(ServiceValue(code, q, element, "", "", "", v))
            continue
        if reporting == "full" and element in BY_AGE:
            cellwise = [
                ((sx, a, g), float(x[g, sx, a]))
                for g in range(x.shape[0])
                for sx in range(2)
                for a in BY_AGE[element]
            ]
            rounding = False
        elif reporting == "full":
            agg = x.sum(axis=2)
            cellwise = [
                ((sx, -1, g), float(agg[g, sx])) for g in range(agg.shape[0]) for sx in range(2)
            ]
            rounding = False
        elif reporting == "sex":
            agg = x.sum(axis=(0, 2))
            cellwise = [((sx, -1, -1), float(agg[sx])) for sx in range(2)]
            rounding = rounds
        else:
            cellwise = [((-1, -1, -1), float(x.sum()))]
            rounding = rounds
        for (sx, a, g), expected in cellwise:
            whole = drawn.get((_PARTS[element], sx, a, g)) if element in _PARTS else None
            v = _draw(element, expected, whole, rng)
            drawn[(element, sx, a, g)] = (v, expected)
            out += _value(code, q, element, sx, a, g, v, rounding)
    return out


def _draw(
    element: str, expected: float, whole: tuple[int, float] | None, rng: np.random.Generator
) -> int:
    """The observed count: estimates as they are, parts of a whole binomial, others Poisson."""
    if element in _STOCK_ESTIMATES:
        v = round(expected)  # estimates: error already applied, no sampling noise
        if v >= 1000:
            v = round(v, -2) if element == "pop_estimated" else round(v, -1)
        return int(v)
    if whole is not None:
        n, mean = whole
        share = min(1.0, expected / mean) if mean > 0 else 0.0
        return int(rng.binomial(n, share))
    return int(rng.poisson(max(expected, 0.0)))


def _value(
    code: str, q: str, element: str, sx: int, a: int, g: int, v: int, rounds: bool
) -> list[ServiceValue]:
    if rounds and v >= 50 and element not in _STOCK_ESTIMATES:
        v = round(v, -1)  # rounding is monotone, so a part stays within its whole
    if v <= 0:
        return []  # DHIS2 does not store zero values by default
    sex = st.SEXES[sx] if sx >= 0 else ""
    age = st.AGES[a] if a >= 0 else ""
    group = GROUPS[g] if g >= 0 else ""
    return [ServiceValue(code, q, element, sex, age, group, v)]


def _poe(code: str, q: str, flows: FlowTruth, rng: np.random.Generator) -> list[ServiceValue]:
    yi, quarter = YEARS.index(int(q[:4])), int(q[-1])
    gate = gate_of_site()[code]
    months = month_weights(gate.key, YEARS[yi])[3 * quarter - 3 : 3 * quarter].sum()
    crossings = int(rng.poisson(flows.poe_total[code][yi] * months * 0.97))
    screened = int(rng.binomial(crossings, _screening(q)))
    out = []
    if crossings > 0:
        out.append(ServiceValue(code, q, "poe_crossings", "", "", "", crossings))
    if screened > 0:
        out.append(ServiceValue(code, q, "poe_screened", "", "", "", screened))
    return out


def _mpox_by_site_quarter(outbreak: Outbreak) -> dict[tuple[str, str], dict[str, int]]:
    """Line-list counts per site and report quarter, with the discarded suspects expected."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    for c in outbreak.line_list():
        assert c.report_date is not None
        q = f"{c.report_date.year}Q{(c.report_date.month - 1) // 3 + 1}"
        if q not in QUARTERS:
            continue
        key = (c.site, q)
        counter = counts.setdefault(key, Counter())
        counter["mpox_suspected"] += 1
        if c.classification == "confirmed":
            counter["mpox_confirmed"] += 1
            counter["mpox_tested"] += 1
    out: dict[tuple[str, str], dict[str, int]] = {}
    for (code, q), counter in counts.items():
        country = next(s.country for s in SITES if s.code == code)
        ratio = SUSPECTS_PER_CONFIRMED[country]
        row = dict(counter)
        row["discarded"] = round(counter["mpox_confirmed"] * (ratio - 1.0))
        out[(code, q)] = row
    return out
