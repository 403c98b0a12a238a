"""Normalisation, imputation of missing measures and the weights of the explanation.

* Each measure is normalised to [0, 1] against the values observed at all sites: by default its
  mid-rank percentile (``rank``: the lowest site 0, the highest 1, ties share the mean, values in
  between interpolated), or ``minmax``: a robust min-max between the 5th and 95th percentiles,
  clipped. The reference is fixed by the observed values, so resampled values are placed on the
  same scale.
* A component is the (weighted, by default equal) mean of its normalised measures; it explains
  the estimate (where the site stands among sites), it does not make it (``incidence.py`` does).
  Component weights (rescaled to sum 1) only say which components are shown.
* A measure missing at a site is imputed with the median of the sites of the same place type (of
  all sites when fewer than ``MIN_POOL`` of that type have it); in the uncertainty draws it is
  drawn at random from those sites' values (``impute_draws``), which widens the site's interval.
  The site is flagged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import yaml

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS, SPECS

#: default component weights: burden (the outcome-side evidence) counts double; the three
#: pathways (mobility, service gap, bridging) share the rest equally
DEFAULT_WEIGHTS: Final[dict[str, float]] = {
    "mobility": 0.2,
    "burden": 0.4,
    "service_gap": 0.2,
    "bridging": 0.2,
}
#: measures within a component weigh 1 each unless a weights file says otherwise
DEFAULT_MEASURE_WEIGHT: Final = 1.0
MEASURES_KEY: Final = "measures"
MIN_POOL: Final = 3
Normalization = Literal["rank", "minmax"]
NORMALIZATIONS: Final = ("rank", "minmax")


# ---- weights ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Weights:
    """Component weights (summing to 1) and the relative weights of measures within components."""

    components: dict[str, float]
    measures: dict[str, float]


def _number(raw: Any, what: str, source: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise QueryError(f"{source}: weight of {what!r} must be a number, got {raw!r}")
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise QueryError(f"{source}: weight of {what!r} must be a finite number >= 0, got {raw!r}")
    return value


def validate_weights(
    weights: Mapping[str, Any] | None, *, source: str = "weights"
) -> dict[str, float]:
    """Component weights: defaults updated with ``weights``, rescaled to sum to 1.

    Unnamed components keep their default weight (set one to 0 to leave it out). Raises
    QueryError for unknown components, non-numeric, negative or non-finite weights, or when
    every weight is zero. A ``measures`` key is allowed (see ``parse_weights``) and ignored here.
    """
    out = dict(DEFAULT_WEIGHTS)
    if weights is not None:
        if not isinstance(weights, Mapping):
            raise QueryError(
                f"{source}: expected a mapping of component to weight, e.g. "
                f"{{mobility: 0.2, burden: 0.4, service_gap: 0.2, bridging: 0.2}}"
            )
        unknown = sorted(str(k) for k in weights if k not in COMPONENTS and k != MEASURES_KEY)
        if unknown:
            raise QueryError(
                f"{source}: unknown component(s) {', '.join(unknown)}; "
                f"expected {', '.join(COMPONENTS)} (and optionally {MEASURES_KEY})"
            )
        for name, raw in weights.items():
            if name != MEASURES_KEY:
                out[str(name)] = _number(raw, str(name), source)
    total = sum(out.values())
    if total <= 0:
        raise QueryError(f"{source}: at least one weight must be above 0")
    return {k: v / total for k, v in out.items()}


def parse_weights(
    weights: Mapping[str, Any] | Weights | None, *, source: str = "weights"
) -> Weights:
    """Component weights plus, under ``measures``, weights of measures within their component.

    ``{burden: 0.6, measures: {outbreak_cases_per_10k: 0, betweenness: 0.5}}``: measures not
    named weigh 1; a component's value is the weighted mean of its measures.
    """
    if isinstance(weights, Weights):
        return weights
    components = validate_weights(weights, source=source)
    measures = {s.name: DEFAULT_MEASURE_WEIGHT for s in SPECS}
    raw = (weights or {}).get(MEASURES_KEY) if isinstance(weights, Mapping) else None
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise QueryError(f"{source}: {MEASURES_KEY} must be a mapping of measure to weight")
        unknown = sorted(str(k) for k in raw if k not in measures)
        if unknown:
            raise QueryError(
                f"{source}: unknown measure(s) {', '.join(unknown)}; expected {', '.join(measures)}"
            )
        for name, value in raw.items():
            measures[str(name)] = _number(value, str(name), source)
    return Weights(components, measures)


def load_weights(path: str | Path) -> Weights:
    """Read a YAML or JSON weights file (component -> weight, optional ``measures``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"weights file {p}: cannot be read: {exc}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise QueryError(f"weights file {p}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, Mapping) or not data:
        raise QueryError(
            f"weights file {p}: expected a mapping of component to weight ({', '.join(COMPONENTS)})"
        )
    return parse_weights(data, source=f"weights file {p}")


# ---- normalisation ---------------------------------------------------------------------------
class Normaliser:
    """Maps values to [0, 1] against a fixed reference (the observed values); monotone."""

    def __init__(self, reference: np.ndarray, method: Normalization = "rank") -> None:
        ref = np.sort(np.asarray(reference, dtype=float)[np.isfinite(reference)])
        if ref.size == 0:
            raise ValueError("a normaliser needs at least one observed value")
        if method not in NORMALIZATIONS:
            raise QueryError(f"unknown normalisation {method!r}; expected rank or minmax")
        self.method = method
        n = ref.size
        if method == "rank":
            xp, first = np.unique(ref, return_index=True)
            counts = np.diff(np.append(first, n))
            midrank = first + (counts + 1) / 2.0  # 1-based mean rank of the ties
            self.xp = xp
            self.fp = (midrank - 1) / (n - 1) if n > 1 else np.full(xp.size, 0.5)
        else:
            lo, hi = np.quantile(ref, [0.05, 0.95])
            if hi <= lo:
                lo, hi = ref[0], ref[-1]
            self.lo, self.hi = float(lo), float(hi)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.method == "rank":
            return np.asarray(np.interp(x, self.xp, self.fp))
        if self.hi <= self.lo:
            return np.full_like(x, 0.5)
        return np.asarray(np.clip((x - self.lo) / (self.hi - self.lo), 0.0, 1.0))


# ---- imputation ------------------------------------------------------------------------------
def imputation_pools(observed: np.ndarray, place_types: np.ndarray) -> list[np.ndarray]:
    """For each site, the indices of the observed sites its missing value is drawn from."""
    all_obs = np.flatnonzero(observed)
    by_type: dict[object, np.ndarray] = {}  # sites of one type share one pool (read only)
    pools = []
    for t in place_types:
        pool = by_type.get(t)
        if pool is None:
            same = np.flatnonzero(observed & (place_types == t))
            pool = by_type[t] = same if same.size >= MIN_POOL else all_obs
        pools.append(pool)
    return pools


def impute_point(values: np.ndarray, pools: list[np.ndarray]) -> np.ndarray:
    """Missing values replaced with the median of their pool."""
    out = values.copy()
    medians: dict[int, float] = {}  # by pool: sites of one type share theirs
    for i in np.flatnonzero(~np.isfinite(values)):
        pool = pools[i]
        median = medians.get(id(pool))
        if median is None:
            median = medians[id(pool)] = float(np.median(values[pool]))
        out[i] = median
    return out


def impute_draws(
    draws: np.ndarray, point: np.ndarray, pools: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Missing columns of ``draws`` (draws x sites) filled with random values of their pool."""
    out = draws.copy()
    for i in np.flatnonzero(~np.isfinite(point)):
        pool_values = point[pools[i]]
        out[:, i] = rng.choice(pool_values, size=draws.shape[0], replace=True)
    return out
