"""Spaces of vulnerability: where new HIV infections happen, estimated and explained.

::

    from corridor.hotspots import rank_sites, sensitivity
    result = rank_sites(ws.engine, period="2024", draws=500, seed=1)
    result.table                      # pyarrow, sorted by rank (raw measures unsuppressed):
                                      # new_infections_per_1000 (+ _low/_high), new_infections,
                                      # rank interval, p_top10, components, main_driver
    result.disclosed(threshold=10)    # the same, raw measures through disclosure control
    result.explain("ke-busia-osbp")   # why a site ranks where it does
    sensitivity(result)               # top-10 changes when a component's multipliers move

The method is documented in docs/hotspots.md.
"""

from corridor.hotspots.components import COMPONENTS, SPECS, MeasureSpec
from corridor.hotspots.ranking import HotspotResult, rank_sites
from corridor.hotspots.scoring import DEFAULT_WEIGHTS, load_weights, validate_weights
from corridor.hotspots.sensitivity import sensitivity

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "SPECS",
    "HotspotResult",
    "MeasureSpec",
    "load_weights",
    "rank_sites",
    "sensitivity",
    "validate_weights",
]
