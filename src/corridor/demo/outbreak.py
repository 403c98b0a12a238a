"""The mpox (clade Ib-like) outbreak: spread along the corridors from Kamituga, true cases and the
reported line list.

Arrival at a site follows the corridor graph: from each infected site the outbreak reaches a
neighbour after a random delay that shortens with the traffic between them; the first cases of
each country are pinned to the facts sheet. The size of a site's epidemic grows with its adult
population, sex-work presence and mobility; truck drivers and sex workers carry a higher risk.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from corridor.demo import strata as st
from corridor.demo.facts import (
    MPOX_FIRST_CASES,
    MPOX_REPORTED_AT_SITES,
    MPOX_REPORTING_FRACTION,
    MPOX_SITE_ANCHORS,
)
from corridor.demo.geography import SITES, edges, gate_of_site, site, site_index
from corridor.demo.strata import GROUPS, FloatArray
from corridor.demo.truth import HivTruth

END: Final = date(2025, 12, 31)  # the line list is exported on 2026-01-05
EXPORT: Final = date(2026, 1, 5)
#: relative risk of mpox by group (close physical and sexual contact) [assumed]
GROUP_RISK: Final[dict[str, float]] = {
    "host": 1.0,
    "migrant": 1.5,
    "mobile_worker": 2.0,
    "truck_driver": 14.0,
    "sex_worker": 25.0,
    "fisherfolk": 2.0,
    "miner": 3.0,
    "cross_border_trader": 2.5,
    "seasonal_worker": 1.5,
}
AGE_RISK: Final = (0.25, 1.0, 1.0, 0.8, 0.4)
CHILD_RISK: Final[dict[str, float]] = {"COD": 0.8, "BDI": 0.7}  # household spread in children
CFR: Final[dict[str, float]] = {"COD": 0.02, "BDI": 0.006}
CFR_OTHER: Final = 0.004
#: suspected cases per confirmed one (Kenya: 447 suspected, 48 confirmed) [others assumed]
SUSPECTS_PER_CONFIRMED: Final[dict[str, float]] = {
    "KEN": 9.3, "UGA": 4.0, "BDI": 3.0, "RWA": 6.0, "COD": 2.0, "ZMB": 6.0, "TZA": 6.0,
}  # fmt: skip
CURVE_SHAPE: Final = 1.8  # gamma-shaped local epidemic curves, in weeks
CURVE_SCALE: Final = 20.0


@dataclass(frozen=True, slots=True)
class Case:
    """One true symptomatic case; ``report_date`` is None when never reported by the export."""

    site: str
    onset: date
    report_date: date | None
    population_group: str
    sex: str
    age_years: int
    origin: str
    poe: str
    classification: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Outbreak:
    cases: list[Case]  # all true cases, in generation order
    arrival: dict[str, date]  # site -> date of its first case
    source: dict[str, str]  # site -> site it was reached from ("" for the anchors)

    def line_list(self) -> list[Case]:
        """Reported cases, ordered by report date then site."""
        reported = [c for c in self.cases if c.report_date is not None]
        return sorted(reported, key=lambda c: (c.report_date or END, c.site, c.onset))


def _weekly_curve(weeks: int) -> FloatArray:
    t = np.arange(weeks) + 0.5
    log_pdf = (CURVE_SHAPE - 1) * np.log(t) - t / CURVE_SCALE
    log_pdf -= math.lgamma(CURVE_SHAPE) + CURVE_SHAPE * math.log(CURVE_SCALE)
    return np.asarray(np.exp(log_pdf), dtype=np.float64)


def spread(traffic: FloatArray, rng: np.random.Generator) -> tuple[dict[str, date], dict[str, str]]:
    """Arrival dates over the corridor graph; ``traffic`` is passers/day per site."""
    idx = site_index()
    affected = set(MPOX_REPORTED_AT_SITES)
    anchors: dict[str, date] = {f.site: f.report_date for f in MPOX_FIRST_CASES}
    anchors.update({a[0]: a[1] for a in MPOX_SITE_ANCHORS})
    floor: dict[str, date] = {}
    for code, d in anchors.items():
        c = site(code).country
        floor[c] = max(floor.get(c, d), d)
    neighbours: dict[str, list[tuple[str, float]]] = {s.code: [] for s in SITES}
    for a, b in edges():
        for u, v in ((a, b), (b, a)):
            strength = math.sqrt(traffic[idx[u]] * traffic[idx[v]]) + 1.0
            delay = 10.0 + float(rng.exponential(60.0 * math.sqrt(1000.0 / strength)))
            neighbours[u].append((v, delay))
    arrival: dict[str, date] = {}
    source: dict[str, str] = {}
    heap: list[tuple[date, str, str]] = [(d, code, "") for code, d in anchors.items()]
    heapq.heapify(heap)
    while heap:
        d, code, src = heapq.heappop(heap)
        if code in arrival:
            continue
        arrival[code] = d
        source[code] = src
        for nb, delay in neighbours[code]:
            country = site(nb).country
            if nb in arrival or nb in anchors or country not in affected:
                continue
            t = d + timedelta(days=round(delay))
            t = max(t, floor[country] + timedelta(days=3))
            if t <= END - timedelta(days=30):
                heapq.heappush(heap, (t, nb, code))
    return arrival, source


def build_outbreak(hiv: HivTruth, traffic: FloatArray, seed: int) -> Outbreak:
    rng = np.random.default_rng([23, seed])
    arrival, source = spread(traffic, rng)
    y24 = st.YEARS.index(2024)
    idx = site_index()
    horizon = 320
    curve = _weekly_curve(horizon)
    curve /= curve.sum()
    # raw epidemic sizes from mechanisms, then one scale per country to the facts' magnitudes
    raw: dict[str, float] = {}
    within: dict[str, float] = {}
    drivers = hiv.drivers
    for code, start in arrival.items():
        i = idx[code]
        adults = float(hiv.population[i, :, :, 1:, y24].sum())
        sw = float(drivers["sex_work_share"][i, y24])
        mob = float(drivers["passers_per_1000_residents"][i, y24])
        size = (adults / 1000.0) ** 0.8 * (1.0 + 25.0 * sw) * (1.0 + 0.3 * math.log1p(mob / 10))
        raw[code] = size * float(rng.lognormal(0.0, 0.35))
        weeks = min(horizon, max(0, (END - start).days // 7))
        within[code] = float(curve[:weeks].sum())
    scale: dict[str, float] = {}
    for country, target in MPOX_REPORTED_AT_SITES.items():
        denom = sum(raw[c] * within[c] for c in raw if site(c).country == country)
        scale[country] = target / (MPOX_REPORTING_FRACTION[country] * max(denom, 1e-9))
    cases: list[Case] = []
    cases += _anchor_cases()
    floors = _country_floors()
    for code in sorted(arrival, key=lambda c: (arrival[c], c)):
        s = site(code)
        # local spread begins after the country's anchored cases
        start = max(arrival[code], floors[s.country] + timedelta(days=3))
        weeks = max(0, (END - start).days // 7 + 1)
        lam = scale[s.country] * raw[code] * curve[: min(weeks, horizon)]
        counts = rng.poisson(lam)
        cases += _draw_cases(code, start, counts, hiv, rng)
    return Outbreak(cases, arrival, source)


def _country_floors() -> dict[str, date]:
    floors: dict[str, date] = {}
    for f in MPOX_FIRST_CASES:
        floors[f.iso3] = f.report_date
    for code, d, *_ in MPOX_SITE_ANCHORS:
        c = site(code).country
        floors[c] = max(floors[c], d)
    return floors


def _anchor_cases() -> list[Case]:
    out: list[Case] = []
    specs = [(f.site, f.report_date, f.population_group, f.origin, f.poe, f.cases)
             for f in MPOX_FIRST_CASES]  # fmt: skip
    specs += [(a[0], a[1], a[2], a[3], a[4], 1) for a in MPOX_SITE_ANCHORS]
    for code, d, group, origin, poe, n in specs:
        for k in range(n):
            sex = "m" if group in ("truck_driver", "miner") or k % 2 == 0 else "f"
            if group == "sex_worker":
                sex = "f"
            age = 34 + 3 * k
            out.append(Case(code, d - timedelta(days=4 + k), d, group, sex, age, origin, poe,
                            "confirmed", "recovered"))  # fmt: skip
    return out


def _origin_for(code: str, group: str, rng: np.random.Generator) -> tuple[str, str]:
    """Travel origin and point of entry of a case in a mobile group."""
    if group not in ("truck_driver", "cross_border_trader", "migrant"):
        return "", ""
    gate = gate_of_site().get(code)
    if gate is not None and not gate.is_port:
        other = gate.side_b if code == gate.side_a else gate.side_a
        origin = other or gate.country_b.lower()
        return origin, code
    options = sorted({b for a, b in edges() if a == code} | {a for a, b in edges() if b == code})
    if group == "truck_driver" and options:
        return str(options[int(rng.integers(len(options)))]), ""
    return "", ""


def _draw_cases(
    code: str, start: date, counts: np.ndarray, hiv: HivTruth, rng: np.random.Generator
) -> list[Case]:
    total = int(counts.sum())
    if total == 0:
        return []
    s = site(code)
    i = site_index()[code]
    pop = hiv.population[i, :, :, :, st.YEARS.index(2024)].astype(np.float64)  # [G, X, A]
    risk = np.array([GROUP_RISK[g] for g in GROUPS])[:, None, None] * np.array(AGE_RISK)[None, None]
    risk = np.broadcast_to(risk, pop.shape).copy()
    risk[:, :, 0] = CHILD_RISK.get(s.country, AGE_RISK[0])
    w = (pop * risk).ravel()
    cells = rng.choice(w.size, size=total, p=w / w.sum())
    report_p = MPOX_REPORTING_FRACTION[s.country]
    cfr = CFR.get(s.country, CFR_OTHER)
    out: list[Case] = []
    k = 0
    for week, n in enumerate(counts):
        for _ in range(int(n)):
            g_i, x_i, a_i = np.unravel_index(cells[k], pop.shape)
            k += 1
            group = GROUPS[int(g_i)]
            onset = start + timedelta(days=7 * week + int(rng.integers(0, 7)))
            if onset > END:
                continue
            lo, hi = st.AGE_YEARS[int(a_i)]
            age = int(rng.integers(lo, hi + 1))
            delay = 2 + int(rng.gamma(2.0, 2.5))
            if rng.random() < 0.03:
                delay += int(rng.integers(20, 60))  # a late report
            reported: date | None = onset + timedelta(days=delay)
            if rng.random() > report_p or (reported is not None and reported > END):
                reported = None
            recent = (END - onset).days < 21
            u = rng.random()
            if recent:
                cls = "suspected" if u < 0.6 else "confirmed"
            else:
                cls = "confirmed" if u < 0.72 else ("probable" if u < 0.82 else "suspected")
            died = rng.random() < cfr * (2.0 if age < 15 else 1.0)
            outcome = "died" if died else ("" if recent or rng.random() < 0.15 else "recovered")
            origin, poe = _origin_for(code, group, rng)
            out.append(Case(code, onset, reported, group, st.SEXES[int(x_i)], age, origin, poe,
                            cls, outcome))  # fmt: skip
    return out
