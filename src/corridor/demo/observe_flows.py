"""Observed flow monitoring: monthly DTM-style counts at the active flow-monitoring points.

Each active point counts most of the travellers of its gate's streams (enumerators cover most
hours: 85-98%), split by sex and age band; busy points round their tallies; a few months are
missing and the last months are partly unreported at export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from corridor.demo import strata as st
from corridor.demo.geography import SITES, gate_of_site
from corridor.demo.mobility import FlowTruth, month_weights
from corridor.demo.strata import YEARS

LAST_MONTH: Final = "2025-12"


@dataclass(frozen=True, slots=True)
class FlowRow:
    t: str  # YYYY-MM
    fmp: str
    fmp_country: str
    movement: str
    origin: str
    next: str
    final: str
    sex: str  # F | M
    age: str  # DTM label (0-14, 15-24, ...)
    group: str
    mode: str
    n: int


@dataclass(slots=True)
class FlowData:
    rows: list[FlowRow] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (fmp, month)
    late: list[tuple[str, str]] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)  # fmp site -> share counted


def months_from(first: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y}-{m:02d}" <= LAST_MONTH:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def observe_flows(flows: FlowTruth, fmp_codes: dict[str, str], seed: int) -> FlowData:
    """Monthly counts at every site with an active flow-monitoring point (``Site.fmp_from``)."""
    rng = np.random.default_rng([41, seed])
    out = FlowData()
    gates = gate_of_site()
    comps = {g: st.composition(g, st.FLOW_AGE_DIST) for g in st.GROUPS}
    for s in SITES:
        if not s.fmp_from:
            continue
        gate = gates[s.code]
        fmp = fmp_codes[s.code]
        coverage = float(rng.uniform(0.85, 0.98))
        out.coverage[s.code] = coverage
        rounds = gate.people >= 10000
        streams = flows.streams[gate.key]
        annual = flows.annual[gate.key]
        p_late = {"2025-12": 0.4, "2025-11": 0.1}
        weights = {y: month_weights(gate.key, y) for y in YEARS}
        for month in months_from(s.fmp_from):
            if rng.random() < 0.03:
                out.missing.append((fmp, month))
                continue
            if rng.random() < p_late.get(month, 0.0):
                out.late.append((fmp, month))
                continue
            y, m = int(month[:4]), int(month[5:7])
            yi = YEARS.index(y)
            share = weights[y][m - 1] * coverage
            for k, stream in enumerate(streams):
                expected = annual[k, yi] * share * comps[stream.group]
                counts = rng.poisson(expected)
                direction = stream.direction_at(s.code, gate)
                for sx in range(2):
                    for a in range(5):
                        n = int(counts[sx, a])
                        if rounds and n >= 100:
                            n = round(n, -1)
                        if n <= 0:
                            continue
                        out.rows.append(
                            FlowRow(month, fmp, s.country, direction, stream.origin, stream.next,
                                    stream.final, st.SEXES[sx].upper(), st.DTM_AGES[a],
                                    stream.group, stream.mode, n)
                        )  # fmt: skip
    return out
