"""The ranking again with the model's component multipliers moved (the dashboard's weights).

A component's *multiplier* scales the coefficients of the model's terms of that component (as in
``sensitivity``, which moves one at a time by +/-50%): at multiplier ``m`` a site's log estimate
moves by ``(m - 1) x`` its lift on that component (the terms' log factor relative to the median
site), and the sites are ranked again. At every multiplier 1 the ranking is ``rank_sites``'s own.
The result says which sites enter and leave the top ``top``.

The re-weighted estimate is a what-if on the calibrated model: its uncertainty was not drawn
again, so no interval is given for it (the calibrated model's interval stays in ``result``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.ranking import HotspotResult, rank_min

#: the range a multiplier may take (0: the component's terms left out of the model)
MULTIPLIER_RANGE: Final = (0.0, 3.0)


@dataclass(frozen=True, slots=True)
class Reweighed:
    """The ranking under ``multipliers``, in the new order."""

    multipliers: dict[str, float]
    top: int
    place_codes: list[str]  # new order
    rank: np.ndarray  # new rank, new order
    base_rank: np.ndarray  # the calibrated model's rank, new order
    per_1000: np.ndarray  # re-weighted estimate per 1,000 residents a year, new order
    order: np.ndarray  # index into ``result.table`` (ranking order) of each row, new order
    entered: list[str]  # codes in the new top that were not in the calibrated top
    left: list[str]  # codes in the calibrated top that are not in the new top

    @property
    def moved(self) -> bool:
        return any(m != 1.0 for m in self.multipliers.values())


def parse_multipliers(raw: Mapping[str, Any] | None) -> dict[str, float]:
    """Multipliers per component (default 1), each a finite number in ``MULTIPLIER_RANGE``;
    unknown components or bad values are a QueryError naming them."""
    out = dict.fromkeys(COMPONENTS, 1.0)
    lo, hi = MULTIPLIER_RANGE
    for name, value in (raw or {}).items():
        if name not in COMPONENTS:
            raise QueryError(f"unknown component {name!r}; expected one of {', '.join(COMPONENTS)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise QueryError(f"multiplier of {name!r} must be a number, got {value!r}") from None
        if not math.isfinite(number) or not lo <= number <= hi:
            raise QueryError(
                f"multiplier of {name!r} must be between {lo:g} and {hi:g}, got {value!r}"
            )
        out[name] = number
    return out


def reweigh(
    result: HotspotResult, multipliers: Mapping[str, Any] | None = None, *, top: int = 10
) -> Reweighed:
    """Rank ``result``'s sites again with the component multipliers moved (see module doc)."""
    if top < 1:
        raise QueryError(f"top must be >= 1, got {top}")
    mult = parse_multipliers(multipliers)
    codes = np.array(result.place_codes, dtype=object)
    n = len(codes)
    base = np.asarray(result.table.column("new_infections_per_1000").to_numpy(), dtype=float)
    with np.errstate(divide="ignore"):
        log_new = np.log(base)
    lift = result.lift if result.lift.size else np.zeros((n, len(COMPONENTS)))
    for j, c in enumerate(COMPONENTS):
        if mult[c] != 1.0:
            log_new = log_new + (mult[c] - 1.0) * lift[:, j]
    base_rank = np.asarray(result.table.column("rank").to_numpy(), dtype=np.int64)
    rank = rank_min(log_new)
    order = np.lexsort((np.arange(n), rank))
    k = min(top, n)
    before = set(codes[base_rank <= k])
    after = set(codes[rank <= k])
    return Reweighed(
        multipliers=mult,
        top=k,
        place_codes=[str(c) for c in codes[order]],
        rank=rank[order],
        base_rank=base_rank[order],
        per_1000=np.exp(log_new)[order],
        order=order,
        entered=sorted(after - before),
        left=sorted(before - after),
    )
