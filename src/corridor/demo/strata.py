"""Strata of the demonstration world: groups, sexes, age bands, years and their compositions.

All compositions are [assumed] plausible values (docs/demo.md lists them).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GROUPS: Final = (
    "host",
    "migrant",
    "mobile_worker",
    "truck_driver",
    "sex_worker",
    "fisherfolk",
    "miner",
    "cross_border_trader",
    "seasonal_worker",
)
G: Final = {g: i for i, g in enumerate(GROUPS)}
SEXES: Final = ("f", "m")
AGES: Final = ("<15", "15-24", "25-34", "35-49", "50+")
#: DTM flow-monitoring age labels, in the order of AGES
DTM_AGES: Final = ("0-14", "15-24", "25-34", "35-49", "50+")
#: age bands as whole years (lower, upper inclusive), for drawing ages of cases
AGE_YEARS: Final = ((0, 14), (15, 24), (25, 34), (35, 49), (50, 74))
YEARS: Final = tuple(range(2019, 2026))
BASE_YEAR: Final = 2023  # the year the facts refer to
QUARTERS: Final = tuple(f"{y}Q{q}" for y in YEARS for q in range(1, 5))

#: share of women in each group
FEMALE_SHARE: Final[dict[str, float]] = {
    "host": 0.51,
    "migrant": 0.42,
    "mobile_worker": 0.12,
    "truck_driver": 0.02,
    "sex_worker": 0.93,
    "fisherfolk": 0.30,
    "miner": 0.08,
    "cross_border_trader": 0.62,
    "seasonal_worker": 0.45,
}

#: age distribution (AGES order) of each group among residents of a site
AGE_DIST: Final[dict[str, tuple[float, ...]]] = {
    "host": (0.42, 0.20, 0.15, 0.13, 0.10),
    "migrant": (0.15, 0.30, 0.28, 0.18, 0.09),
    "mobile_worker": (0.0, 0.35, 0.35, 0.22, 0.08),
    "truck_driver": (0.0, 0.08, 0.37, 0.40, 0.15),
    "sex_worker": (0.0, 0.38, 0.38, 0.20, 0.04),
    "fisherfolk": (0.0, 0.30, 0.33, 0.25, 0.12),
    "miner": (0.0, 0.28, 0.36, 0.26, 0.10),
    "cross_border_trader": (0.0, 0.22, 0.34, 0.30, 0.14),
    "seasonal_worker": (0.0, 0.40, 0.32, 0.20, 0.08),
}
#: age distribution of travellers at points of entry, where it differs from residents
FLOW_AGE_DIST: Final[dict[str, tuple[float, ...]]] = {
    **AGE_DIST,
    "host": (0.12, 0.25, 0.28, 0.23, 0.12),
    "migrant": (0.10, 0.32, 0.30, 0.20, 0.08),
}

#: relative sexual-partnership activity (weights the mixing pool and the force of infection)
ACTIVITY: Final[dict[str, float]] = {
    "host": 1.0,
    "migrant": 1.5,
    "mobile_worker": 2.0,
    "truck_driver": 3.0,
    "sex_worker": 12.0,
    "fisherfolk": 2.5,
    "miner": 2.5,
    "cross_border_trader": 1.5,
    "seasonal_worker": 2.0,
}
#: relative activity by age band (AGES order)
AGE_ACTIVITY: Final = (0.0, 1.2, 1.2, 0.8, 0.3)

#: access to services relative to hosts at the same site (mobility, stigma, hours) [assumed]
ACCESS: Final[dict[str, float]] = {
    "host": 1.0,
    "migrant": 0.8,
    "mobile_worker": 0.8,
    "truck_driver": 0.7,
    "sex_worker": 0.8,
    "fisherfolk": 0.7,
    "miner": 0.75,
    "cross_border_trader": 0.85,
    "seasonal_worker": 0.7,
}
#: groups a key-population / mobile-population programme reaches (drop-in centres, roadside
#: wellness clinics): their access improves where a site has such a programme
PROGRAMME_GROUPS: Final = ("sex_worker", "truck_driver", "fisherfolk", "miner", "mobile_worker")

#: annual HIV testing rate (share of adults not known positive tested per year), at full access
TEST_RATE: Final[dict[str, float]] = {
    "host": 0.22,
    "migrant": 0.30,
    "mobile_worker": 0.35,
    "truck_driver": 0.45,
    "sex_worker": 1.2,
    "fisherfolk": 0.4,
    "miner": 0.45,
    "cross_border_trader": 0.3,
    "seasonal_worker": 0.3,
}
#: PrEP coverage of HIV-negative adults reached by 2025 at full access
PREP_2025: Final[dict[str, float]] = {
    "host": 0.02,
    "migrant": 0.02,
    "mobile_worker": 0.04,
    "truck_driver": 0.06,
    "sex_worker": 0.30,
    "fisherfolk": 0.08,
    "miner": 0.05,
    "cross_border_trader": 0.03,
    "seasonal_worker": 0.02,
}
#: condom use at last sex with a non-regular partner
CONDOM_USE: Final[dict[str, float]] = {
    "host": 0.25,
    "migrant": 0.3,
    "mobile_worker": 0.3,
    "truck_driver": 0.4,
    "sex_worker": 0.6,
    "fisherfolk": 0.2,
    "miner": 0.3,
    "cross_border_trader": 0.3,
    "seasonal_worker": 0.25,
}
#: condoms distributed per adult member per quarter at full access
CONDOMS_PER_QUARTER: Final[dict[str, float]] = {
    "host": 0.6,
    "migrant": 1.0,
    "mobile_worker": 3.0,
    "truck_driver": 6.0,
    "sex_worker": 45.0,
    "fisherfolk": 3.0,
    "miner": 3.0,
    "cross_border_trader": 1.0,
    "seasonal_worker": 1.5,
}


def composition(group: str, ages: dict[str, tuple[float, ...]] = AGE_DIST) -> FloatArray:
    """Sex x age shares (2 x 5) of a group, summing to 1."""
    f = FEMALE_SHARE[group]
    a = np.asarray(ages[group], dtype=np.float64)
    a = a / a.sum()
    return np.stack([f * a, (1.0 - f) * a])
