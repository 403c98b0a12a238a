"""The perturbation table of the cell-key method (docs/disclosure.md).

Built as in the R package ``ptable`` (ESSnet handbook on statistical disclosure control,
chapter 5): for each original count ``i`` a distribution of the noise ``d`` (published value
``i + d``) of maximum entropy under the constraints

* ``|d| <= D`` (the maximum noise) for counts at or above the threshold ``js``;
* zero mean (the published count is unbiased);
* variance ``V`` where the support allows it (near the threshold the downward side is short and
  the largest reachable variance of a zero-mean distribution, ``|min d| * max d``, can be below
  ``V``: there the variance is 90% of that bound);
* no published count from 1 to ``js - 1``: a count ``i`` of 1 to ``js - 1`` goes to 0 or to
  ``js .. js + D`` with zero mean; its variance is at least ``i * (js - i)`` (all on 0 and
  ``js``), and is taken as that plus ``V`` (at most half-way to the largest reachable), so
  that little of it spreads above ``js``. A zero stays zero (a true zero discloses nobody).

A distribution of maximum entropy under moment constraints is ``p(d) ~ exp(l1 d + l2 d^2)``;
the multipliers are found by Newton's method on the convex dual. Rows from ``js + D`` on are the
same distribution (the constraints no longer depend on ``i``), so the table stops there.

A cell's key ``u`` in [0, 1) picks the noise: the row's cumulative probabilities cut [0, 1) into
intervals, one per noise value, and ``u`` falls in one of them. Same value and same key, same
published value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PerturbationTable:
    """Noise distributions by original count (rows ``0 .. js + D``; larger counts use the last)."""

    max_noise: int
    variance: float
    threshold: int
    #: per row: the noise values and their cumulative probabilities (last = 1)
    noise: tuple[IntArray, ...] = field(repr=False)
    cumulative: tuple[FloatArray, ...] = field(repr=False)

    @property
    def rows(self) -> int:
        return len(self.noise)

    def probabilities(self, count: int) -> dict[int, float]:
        """The noise distribution of an original count: {noise: probability}."""
        r = min(int(count), self.rows - 1)
        cum = self.cumulative[r]
        p = np.diff(np.concatenate([[0.0], cum]))
        return {int(d): float(q) for d, q in zip(self.noise[r], p, strict=True) if q > 0}

    def perturb(self, counts: npt.ArrayLike, keys: npt.ArrayLike) -> FloatArray:
        """Published counts from original whole counts (>= 0) and cell keys in [0, 1)."""
        i = np.asarray(counts, dtype=np.int64)
        u = np.asarray(keys, dtype=np.float64)
        # every row's interval bounds (but the last, 1) shifted by the row number, in one sorted
        # array: one binary search per count finds its row and its key's interval at once
        # (linear in n, whatever the mix of small and large counts; benchmarks/disclosure.py)
        inner = [c[:-1] for c in self.cumulative]
        bounds = np.concatenate([r + c for r, c in enumerate(inner)])
        start = np.cumsum([0, *(len(c) for c in inner)])[:-1]
        flat = np.concatenate(self.noise)
        first = np.cumsum([0, *(len(d) for d in self.noise)])[:-1]
        row = np.minimum(i, self.rows - 1)
        pick = np.searchsorted(bounds, row + u, side="right") - start[row]
        out: FloatArray = (i + flat[first[row] + pick]).astype(np.float64)
        return out

    def _padded(self) -> tuple[FloatArray, IntArray]:
        """Rows x widest row: cumulative probabilities (padded with 1) and noise values."""
        width = max(len(d) for d in self.noise)
        cum = np.ones((self.rows, width))
        noise = np.zeros((self.rows, width), dtype=np.int64)
        for r, (d, c) in enumerate(zip(self.noise, self.cumulative, strict=True)):
            cum[r, : len(c)] = c
            noise[r, : len(d)] = d
            noise[r, len(d) :] = d[-1]
        return cum, noise

    def describe(self) -> list[dict[str, float]]:
        """Per row: count, mean and variance of the noise, probability of no change."""
        out = []
        for r in range(self.rows):
            p = self.probabilities(r)
            d = np.array(list(p), dtype=float)
            q = np.array(list(p.values()))
            mean = float(d @ q)
            out.append(
                {
                    "count": r,
                    "mean": mean,
                    "variance": float((d - mean) ** 2 @ q),
                    "p_unchanged": p.get(0, 0.0),
                    "max_abs_noise": float(np.max(np.abs(d))),
                }
            )
        return out


def _maxent(d: FloatArray, variance: float | None) -> FloatArray:
    """Maximum-entropy probabilities on support ``d`` with mean 0 (and ``variance`` if given)."""
    feats = [d] if variance is None else [d, d * d - variance]
    f = np.vstack(feats)  # k x n
    lam = np.zeros(len(feats))

    def dual(x: FloatArray) -> float:  # log-sum-exp: convex, its gradient is E[f]
        z = x @ f
        return float(np.log(np.exp(z - z.max()).sum()) + z.max())

    for _ in range(100):
        z = lam @ f
        w = np.exp(z - z.max())
        p = w / w.sum()
        g = f @ p  # the moments' errors (targets are 0)
        if np.max(np.abs(g)) < 1e-12:
            break
        h = (f * p) @ f.T - np.outer(g, g)
        step = np.linalg.solve(h + 1e-12 * np.eye(len(feats)), g)
        now, t = dual(lam), 1.0
        while t > 1e-6 and dual(lam - t * step) > now + 1e-12:  # damped: never uphill
            t /= 2
        if t <= 1e-6:  # no more progress at this precision
            break
        lam = lam - t * step
    z = lam @ f
    w = np.exp(z - z.max())
    out: FloatArray = w / w.sum()
    return out


def _row(i: int, max_noise: int, variance: float, threshold: int) -> tuple[IntArray, FloatArray]:
    if i == 0:
        return np.array([0], dtype=np.int64), np.array([1.0])
    if i < threshold:  # to 0 or to js .. js + D
        targets = np.array([0, *range(threshold, threshold + max_noise + 1)], dtype=np.int64)
        d = targets - i
        least, most = i * (threshold - i), i * (threshold + max_noise - i)
        p = _maxent(d.astype(float), min(least + variance, (least + most) / 2))
    else:
        lo = max(threshold, i - max_noise)
        d = np.arange(lo, i + max_noise + 1, dtype=np.int64) - i
        if d.min() == 0:  # nothing below: a zero-mean noise cannot move
            return np.array([0], dtype=np.int64), np.array([1.0])
        reach = float(-d.min() * d.max())
        p = _maxent(d.astype(float), min(variance, 0.9 * reach))
    p[p < 1e-12] = 0.0
    p /= p.sum()
    keep = p > 0
    d, p = d[keep], p[keep]
    cum = np.cumsum(p)
    cum[-1] = 1.0
    return d, cum


@lru_cache(maxsize=16)
def build_ptable(max_noise: int, variance: float, threshold: int) -> PerturbationTable:
    """The perturbation table for maximum noise ``D``, variance ``V`` and threshold ``js``."""
    if max_noise < 1:
        raise ValueError("the maximum noise must be at least 1")
    if not 0 < variance < max_noise * max_noise:
        raise ValueError("the variance must be above 0 and below the maximum noise squared")
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    rows = [_row(i, max_noise, variance, threshold) for i in range(threshold + max_noise + 1)]
    return PerturbationTable(
        max_noise,
        variance,
        threshold,
        tuple(r[0] for r in rows),
        tuple(r[1] for r in rows),
    )
