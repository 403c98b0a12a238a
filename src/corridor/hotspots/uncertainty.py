"""Uncertainty: resample the counts behind each measure and perturb the weights.

* Counts: a parametric bootstrap. Binomial measures (positivity, prevalence, linkage, viral-load
  suppression, mobile share) redraw the numerator as Binomial(denominator, observed proportion)
  with the denominator fixed (Poisson when the numerator exceeds the denominator, as ART
  initiations may); Poisson measures (travellers, cases, tests per member of a group, travellers
  touching a site) redraw the numerator as Poisson(observed). Betweenness is held fixed (its
  uncertainty enters through the weights only). Missing values are redrawn from their imputation
  pool (``scoring.impute_draws``).
* Weights: ``w ~ Dirichlet(CONCENTRATION x w_default)``, centred on the chosen weights; with a
  concentration of 40 a weight of 0.25 varies with a standard deviation of about 0.07.

Everything is vectorised over draws x sites and seeded: the same seed gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from corridor.hotspots.components import Measure

CONCENTRATION: Final = 40.0


def resample_numerator(m: Measure, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` resamples of the measure's numerator (draws x sites); NaN where missing."""
    obs = m.observed
    n = obs.size
    num = np.where(obs, np.maximum(m.numerator, 0.0), 0.0)
    if m.spec.resample == "fixed":
        out = np.broadcast_to(num, (draws, n)).astype(float)
    elif m.spec.resample == "poisson":
        out = rng.poisson(num, size=(draws, n)).astype(float)
    else:
        den = np.where(obs, m.denominator, 1.0)
        trials = np.maximum(np.rint(den), 1.0)
        p = np.clip(num / den, 0.0, 1.0)
        binom = rng.binomial(trials.astype(np.int64), p, size=(draws, n)) * (den / trials)
        pois = rng.poisson(num, size=(draws, n))
        out = np.where(num <= den, binom, pois).astype(float)
    return np.where(obs, out, np.nan)


def dirichlet_weights(
    weights: np.ndarray, draws: int, rng: np.random.Generator, concentration: float = CONCENTRATION
) -> np.ndarray:
    """Weights (draws x C) from a Dirichlet centred on ``weights``; zero weights stay zero."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    out = np.zeros((draws, w.size))
    pos = w > 0
    if pos.sum() == 1:
        out[:, pos] = 1.0
    else:
        out[:, pos] = rng.dirichlet(concentration * w[pos], size=draws)
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    score_low: np.ndarray
    score_high: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    p_top: np.ndarray


def summarise(scores: np.ndarray, ranks: np.ndarray, level: float, top: int) -> Summary:
    """Intervals (central ``level``) of scores and ranks, and P(rank <= top), per site."""
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(scores, [a, 1.0 - a], axis=0)
    r_lo = np.quantile(ranks, a, axis=0, method="inverted_cdf")
    r_hi = np.quantile(ranks, 1.0 - a, axis=0, method="inverted_cdf")
    return Summary(
        lo,
        hi,
        r_lo.astype(np.int64),
        r_hi.astype(np.int64),
        (ranks <= top).mean(axis=0),
    )
