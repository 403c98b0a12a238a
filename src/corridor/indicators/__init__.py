"""Migrant-disaggregated HIV and outbreak indicators: registry, aggregation, targets, disclosure.

    from corridor.indicators import compute_indicators, publish
    raw = compute_indicators(ws.engine, ["first_95", "second_95"], by=["place", "population_group"])
    safe = publish(raw, ws.settings)   # every output goes through it

See docs/indicators.md (generated from the registry) for the definitions and the rules.
"""

from corridor.indicators.aggregate import UNALLOCATED, compute_indicators
from corridor.indicators.disclosure import is_suppressed, publish, suppress
from corridor.indicators.registry import (
    CASCADE,
    DIMENSIONS,
    INDICATORS,
    Indicator,
    get_indicator,
    resolve_ids,
)

__all__ = [
    "CASCADE",
    "DIMENSIONS",
    "INDICATORS",
    "UNALLOCATED",
    "Indicator",
    "compute_indicators",
    "get_indicator",
    "is_suppressed",
    "publish",
    "resolve_ids",
    "suppress",
]
