"""The ranking's main driver in words, the same in every output that shows it to a person.

The ranking's ``main_driver`` column is the component whose model terms lift a site's estimate
most above the median site, or ``none`` when no component lifts it (``ranking.py``). That value
stays as it is in the data (CSV, JSON, HXL, the API); what a person reads (the report, the
dashboard's overview, map panel and ranking table, ``corridor demo``) is :func:`driver_label`,
because "driven by none" or a column of "none" read as a fault.
"""

from __future__ import annotations

from typing import Final

#: the components as they are written in sentences and tables
COMPONENT_LABELS: Final[dict[str, str]] = {
    "mobility": "mobility",
    "burden": "burden",
    "service_gap": "service gap",
    "bridging": "bridging",
}
#: the ranking's ``main_driver`` of a site that no component lifts above the median site
NO_DRIVER: Final = "none"
#: what a person reads for it (a reader took "driven by none" for a fault)
NO_DRIVER_LABEL: Final = "none above the median site"


def driver_label(main_driver: str | None) -> str:
    """The ranking's ``main_driver`` as a person reads it: the component's name ("service
    gap"), or :data:`NO_DRIVER_LABEL` for a site that no component lifts above the median site
    (the ranking's "none")."""
    if main_driver is None or main_driver == NO_DRIVER:
        return NO_DRIVER_LABEL
    return COMPONENT_LABELS.get(main_driver, main_driver.replace("_", " "))
