"""Dimensions and code lists of the data contract (DESIGN.md, "The data contract")."""

from __future__ import annotations

from typing import Final

TOTAL: Final = "total"

SEXES: Final = ("f", "m", "x", TOTAL)
AGE_BANDS: Final = ("<15", "15-24", "25-34", "35-49", "50+", TOTAL)
POPULATION_GROUPS: Final = (
    TOTAL,
    "host",
    "migrant",
    "mobile_worker",
    "truck_driver",
    "sex_worker",
    "fisherfolk",
    "miner",
    "cross_border_trader",
    "seasonal_worker",
    "refugee",
    "idp",
    "other",
)
#: groups counted as mobile or migrant for the "migrant vs host" comparisons
MOBILE_GROUPS: Final = (
    "migrant",
    "mobile_worker",
    "truck_driver",
    "fisherfolk",
    "miner",
    "cross_border_trader",
    "seasonal_worker",
    "refugee",
    "idp",
)
PLACE_TYPES: Final = (
    "country",
    "admin1",
    "admin2",
    "border_crossing",
    "seaport",
    "airport",
    "truck_stop",
    "mine",
    "fishing_site",
    "construction_site",
    "farm_compound",
    "market",
    "urban_hotspot",
    "displacement_site",
    "health_facility",
    "other",
)
#: place types that are sites (ranked as spaces of vulnerability), not administrative areas
SITE_TYPES: Final = tuple(t for t in PLACE_TYPES if t not in ("country", "admin1", "admin2"))
DIRECTIONS: Final = ("incoming", "outgoing", "transit")
MODES: Final = ("truck", "bus", "car", "foot", "boat", "rail", "air", "other")
CLASSIFICATIONS: Final = ("suspected", "probable", "confirmed")

#: what an indicator output can be grouped by (``--by``): place groupings, disaggregations, period
PLACE_DIMS: Final = ("place", "country", "admin1", "corridor", "place_type")
DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
QUERY_DIMENSIONS: Final = (*PLACE_DIMS, *DISAGGREGATIONS, "period")

#: aggregation types: "sum" (events, added over time), "stock" (people at a date: the latest
#: value of the period, never summed) and "lookback" (people counted over a trailing window,
#: reported every period: the latest value of the output period, never summed; the window is
#: part of the element's definition, see LOOKBACK_MONTHS)
AGGREGATION_TYPES: Final = ("sum", "stock", "lookback")

#: data dictionary: element -> aggregation type
DATA_ELEMENTS: Final[dict[str, str]] = {
    "hiv_tests": "sum",
    "hiv_positive": "sum",
    "hiv_recent": "sum",
    "hiv_recency_tested": "sum",
    "art_initiated": "sum",
    "art_current": "stock",
    "vl_tested": "lookback",
    "vl_suppressed": "lookback",
    "plhiv_estimated": "stock",
    "plhiv_diagnosed": "stock",
    "pop_estimated": "stock",
    "prep_initiated": "sum",
    "condoms_distributed": "sum",
    "poe_crossings": "sum",
    "poe_screened": "sum",
    "mpox_suspected": "sum",
    "mpox_tested": "sum",
    "mpox_confirmed": "sum",
}

#: the trailing window (months) of each lookback element
LOOKBACK_MONTHS: Final[dict[str, int]] = {"vl_tested": 12, "vl_suppressed": 12}

DATA_ELEMENT_MEANINGS: Final[dict[str, str]] = {
    "hiv_tests": "HIV tests with a result returned (HTS_TST)",
    "hiv_positive": "positive results returned (HTS_TST_POS)",
    "hiv_recent": (
        "newly diagnosed people classified as recent infections by a recent-infection "
        "testing algorithm (HTS_RECENT, recent)"
    ),
    "hiv_recency_tested": "newly diagnosed people with a recency test result (HTS_RECENT, all)",
    "art_initiated": "people newly started on ART (TX_NEW)",
    "art_current": "people currently on ART (TX_CURR)",
    "vl_tested": (
        "people on ART >= 3 months with a viral-load result in the last 12 months (TX_PVLS D)"
    ),
    "vl_suppressed": "of which the last result is < 1000 copies/mL (TX_PVLS N)",
    "plhiv_estimated": "estimated people living with HIV",
    "plhiv_diagnosed": "people living with HIV who know their status",
    "pop_estimated": "estimated size of the population (group)",
    "prep_initiated": "people newly started on PrEP (PrEP_NEW)",
    "condoms_distributed": "condoms distributed",
    "poe_crossings": "crossings recorded at a point of entry",
    "poe_screened": "travellers screened at a point of entry",
    "mpox_suspected": "suspected mpox cases",
    "mpox_tested": "mpox tests",
    "mpox_confirmed": "confirmed mpox cases",
}
