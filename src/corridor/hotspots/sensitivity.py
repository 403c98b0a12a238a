"""How much the top of the ranking moves when the model's multipliers move (by default +/-50%).

For each component (mobility, burden, service gap, bridging), the coefficients of the model's
terms of that component are multiplied by ``1 +/- change``; a site's log estimate then moves by
``+/- change x`` its lift on that component (the terms' log factor relative to the median site),
and the sites are ranked again. A top that hardly moves does not hang on one prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.ranking import HotspotResult, rank_min, rank_sites
from corridor.storage.engine import Engine


def sensitivity(
    source: Engine | HotspotResult,
    *,
    change: float = 0.5,
    top: int = 10,
    **rank_kwargs: Any,
) -> pa.Table:
    """One row per (component, direction): the factor on its coefficients, how many sites
    enter and leave the top ``top``, the Jaccard overlap of the two tops, the codes
    entering/leaving, and the mean absolute change of rank over all sites.

    ``source``: a result, or an engine (then ``rank_sites(engine, draws=0, **rank_kwargs)``).
    """
    if not 0 < change < 1:
        raise QueryError(f"change must be between 0 and 1 (e.g. 0.5 for +/-50%), got {change}")
    if top < 1:
        raise QueryError(f"top must be >= 1, got {top}")
    if isinstance(source, HotspotResult):
        result = source
    else:
        result = rank_sites(source, draws=0, **rank_kwargs)
    codes = np.array(result.place_codes, dtype=object)
    k = min(top, len(codes))
    base_log = np.log(np.asarray(result.table.column("new_infections_per_1000").to_numpy()))
    base_rank = rank_min(base_log)
    base_top = set(codes[base_rank <= k])
    names = (
        "component", "direction", "factor", "entered", "left", "jaccard", "entered_codes",
        "left_codes", "mean_abs_rank_change",
    )  # fmt: skip
    rows: dict[str, list[Any]] = {n: [] for n in names}
    for j, c in enumerate(COMPONENTS):
        lift = result.lift[:, j] if result.lift.size else np.zeros(len(codes))
        if not np.any(lift):
            continue
        for sign, label in ((-1.0, f"-{change:.0%}"), (1.0, f"+{change:.0%}")):
            rank = rank_min(base_log + sign * change * lift)
            new_top = set(codes[rank <= k])
            entered = sorted(new_top - base_top)
            left = sorted(base_top - new_top)
            union = base_top | new_top
            rows["component"].append(c)
            rows["direction"].append(label)
            rows["factor"].append(1.0 + sign * change)
            rows["entered"].append(len(entered))
            rows["left"].append(len(left))
            rows["jaccard"].append(len(base_top & new_top) / len(union) if union else 1.0)
            rows["entered_codes"].append(";".join(entered))
            rows["left_codes"].append(";".join(left))
            rows["mean_abs_rank_change"].append(float(np.abs(rank - base_rank).mean()))
    return pa.table(rows)
