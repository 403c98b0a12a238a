"""Recency testing (HTS_RECENT): newly diagnosed people tested for recent infection.

Drawn from the TRUE new infections, the way a recent-infection testing algorithm (RITA) sees them:

* the truly recent among a quarter's new diagnoses are the people infected in the last
  ``MDRI_DAYS`` (the mean duration of recent infection) who were tested in that time:
  ``Poisson(new infections per quarter x (1 - exp(-tau x MDRI)))`` with ``tau`` the annual testing
  rate of the groups the new infections fall in, capped by the quarter's observed positives;
* a share of the new diagnoses get a recency result (consent, sample, eligibility), the same for
  recent and long-standing infections;
* a long-standing infection is misclassified as recent with probability ``FALSE_RECENT_RATE``.

Only a subset of sites run recency testing (most key-population programmes, fewer ordinary
facilities), each from a quarter of the 2020-2022 roll-out on. The values used and their sources
are in docs/demo.md.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

import numpy as np

from corridor.demo.geography import SITES
from corridor.demo.observe import ServiceValue
from corridor.demo.strata import QUARTERS, YEARS
from corridor.demo.truth import HivTruth

#: mean duration of recent infection of a LAg-avidity RITA with a viral-load step (days)
MDRI_DAYS: Final = 130.0
#: false-recent rate of such a RITA among people with long-standing infection
FALSE_RECENT_RATE: Final = 0.005
RECENCY_ELEMENTS: Final = ("hiv_recency_tested", "hiv_recent")
#: chance that a site runs recency testing, by how it reports [assumed]
SITE_SHARE: Final[dict[str, float]] = {"full": 0.8, "sex": 0.35, "total": 0.15}
#: the roll-out: a site starts in one of these quarters [assumed]
ROLLOUT: Final = ("2020Q3", "2020Q4", "2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1")
#: share of new diagnoses with a recency result, drawn per site in this range [assumed]
TESTED_SHARE: Final = (0.55, 0.9)


def recency_sites(seed: int) -> dict[str, tuple[str, float]]:
    """Sites running recency testing: code -> (first quarter, share of diagnoses tested)."""
    rng = np.random.default_rng([37, seed])
    out: dict[str, tuple[str, float]] = {}
    for s in SITES:
        u, start, share = rng.random(), rng.integers(len(ROLLOUT)), rng.uniform(*TESTED_SHARE)
        if s.reporting != "none" and u < SITE_SHARE.get(s.reporting, 0.0):
            out[s.code] = (ROLLOUT[int(start)], float(share))
    return out


def true_recent_rate(hiv: HivTruth) -> np.ndarray:
    """Expected truly recent new diagnoses per quarter [S, Y]."""
    ni = hiv.new_infections.sum(axis=(2, 3)).astype(np.float64)  # [S, G, Y]
    omega = MDRI_DAYS / 365.25
    caught = 1.0 - np.exp(-hiv.test_rate * omega)  # [S, G, Y]
    return np.asarray((ni * caught).sum(axis=1) / 4.0, dtype=np.float64)


def observe_recency(hiv: HivTruth, values: list[ServiceValue], seed: int) -> list[ServiceValue]:
    """hiv_recency_tested and hiv_recent per (site, quarter) where the site tests for recency."""
    rng = np.random.default_rng([41, seed])
    sites = recency_sites(seed)
    positives: dict[tuple[str, str], int] = defaultdict(int)
    for v in values:
        if v.element == "hiv_positive" and v.place in sites:
            positives[(v.place, v.period)] += v.value
    rate = true_recent_rate(hiv)
    index = {s.code: i for i, s in enumerate(SITES)}
    out: list[ServiceValue] = []
    for (code, q), p in sorted(positives.items()):
        start, share = sites[code]
        if q < start or q not in QUARTERS:
            continue
        yi = YEARS.index(int(q[:4]))
        recent_true = min(p, int(rng.poisson(rate[index[code], yi])))
        tested_recent = int(rng.binomial(recent_true, share))
        tested_other = int(rng.binomial(p - recent_true, share))
        recent = tested_recent + int(rng.binomial(tested_other, FALSE_RECENT_RATE))
        tested = tested_recent + tested_other
        if tested > 0:
            out.append(ServiceValue(code, q, "hiv_recency_tested", "", "", "", tested))
        if recent > 0:
            out.append(ServiceValue(code, q, "hiv_recent", "", "", "", recent))
    return out
