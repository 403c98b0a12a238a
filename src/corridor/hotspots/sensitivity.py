"""How much the top of the ranking moves when one weight moves (by default +/- 50%)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.ranking import HotspotResult, rank_sites
from corridor.hotspots.scoring import combine, rank_order
from corridor.storage.engine import Engine


def sensitivity(
    source: Engine | HotspotResult,
    *,
    change: float = 0.5,
    top: int = 10,
    **rank_kwargs: Any,
) -> pa.Table:
    """For each component and each direction, move its weight by ``change`` (x(1 +/- change)),
    rescale the weights to sum 1, re-rank (point scores) and compare the top ``top`` sites.

    ``source``: a result, or an engine (then ``rank_sites(engine, draws=0, **rank_kwargs)``).
    Returns one row per (component, direction): the new weight, how many sites enter and leave
    the top, the Jaccard overlap of the two tops, the codes entering/leaving, and the mean
    absolute change of rank over all sites.
    """
    if not 0 < change < 1:
        raise QueryError(f"change must be between 0 and 1 (e.g. 0.5 for +/-50%), got {change}")
    if top < 1:
        raise QueryError(f"top must be >= 1, got {top}")
    if isinstance(source, HotspotResult):
        result = source
    else:
        result = rank_sites(source, draws=0, **rank_kwargs)
    used = result.components
    cols = [COMPONENTS.index(c) for c in used]
    comp = result.component_values[:, cols]
    codes = np.array(result.place_codes, dtype=object)
    n = len(codes)
    k = min(top, n)
    tiebreak = np.argsort(np.argsort(codes))
    base_w = np.array([result.weights[c] for c in used], dtype=float)
    base_rank = rank_order(combine(comp, base_w), tiebreak)
    base_top = set(codes[base_rank <= k])
    rows: dict[str, list[Any]] = {
        k_: []
        for k_ in (
            "component",
            "direction",
            "weight",
            "new_weight",
            "entered",
            "left",
            "jaccard",
            "entered_codes",
            "left_codes",
            "mean_abs_rank_change",
        )
    }
    for j, c in enumerate(used):
        for sign, label in ((-1.0, f"-{change:.0%}"), (1.0, f"+{change:.0%}")):
            w = base_w.copy()
            w[j] *= 1.0 + sign * change
            if w.sum() <= 0:
                continue
            w = w / w.sum()
            rank = rank_order(combine(comp, w), tiebreak)
            new_top = set(codes[rank <= k])
            entered = sorted(new_top - base_top)
            left = sorted(base_top - new_top)
            union = base_top | new_top
            rows["component"].append(c)
            rows["direction"].append(label)
            rows["weight"].append(float(base_w[j]))
            rows["new_weight"].append(float(w[j]))
            rows["entered"].append(len(entered))
            rows["left"].append(len(left))
            rows["jaccard"].append(len(base_top & new_top) / len(union) if union else 1.0)
            rows["entered_codes"].append(";".join(entered))
            rows["left_codes"].append(";".join(left))
            rows["mean_abs_rank_change"].append(float(np.abs(rank - base_rank).mean()))
    return pa.table(rows)
