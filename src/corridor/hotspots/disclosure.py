"""Disclosure control of the ranking's raw measures.

Scores, normalised components, ranks and probabilities are derived from percentiles across sites
and are shown as they are. The raw measures are rates built on counts (positive tests, cases,
travellers); they are put through the project's one disclosure-control function,
``corridor.indicators.publish``, as indicator rows with their numerator and denominator (and
the data element each count is): a rate is withheld when its numerator or denominator is a small
count (1 to threshold - 1) or is withheld by secondary suppression (so that a small count cannot
be worked out from the sum over sites).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from corridor.config import load_settings
from corridor.contract.dimensions import TOTAL
from corridor.hotspots.components import SPEC_BY_NAME
from corridor.indicators import publish

if TYPE_CHECKING:
    from corridor.hotspots.ranking import HotspotResult


#: the counts behind each measure, named so that one count (e.g. hiv_positive at a site) is
#: withheld in every measure it enters or in none
ELEMENTS: dict[str, tuple[str, str]] = {
    "travellers_per_head": ("travellers_in", "population"),
    "mobile_share": ("hiv_tests_mobile", "hiv_tests_by_group"),
    "positivity": ("hiv_positive", "hiv_tests"),
    "prevalence": ("plhiv_estimated", "pop_estimated"),
    "outbreak_cases_per_10k": ("cases_recent", "population"),
    "testing_coverage_mobile": ("hiv_tests_mobile", "pop_estimated_mobile"),
    "linkage_proxy": ("art_initiated", "hiv_positive"),
    "vl_suppression": ("vl_suppressed", "vl_tested"),
    "art_coverage": ("art_current", "plhiv_estimated"),
    "bridging_flow": ("travellers_touching", "population"),
    "betweenness": ("betweenness", "per_site"),
}


def measure_rows(result: HotspotResult) -> pa.Table:
    """The raw measures as indicator-shaped rows (one per site and measure with counts)."""
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "indicator",
            "period",
            "place_code",
            "sex",
            "age_band",
            "population_group",
            "numerator",
            "denominator",
            "numerator_element",
            "denominator_element",
            "value",
            "target",
            "gap",
        )
    }
    codes = result.place_codes
    for name, m in result.measures.items():
        spec = SPEC_BY_NAME[name]
        if not spec.counts:
            continue
        for i, code in enumerate(codes):
            if m.imputed[i] or not np.isfinite(m.value[i]):
                continue
            rows["indicator"].append(f"hotspots.{name}")
            rows["period"].append(result.period)
            rows["place_code"].append(code)
            rows["sex"].append(TOTAL)
            rows["age_band"].append(TOTAL)
            rows["population_group"].append(TOTAL)
            rows["numerator"].append(float(m.numerator[i]))
            rows["denominator"].append(float(m.denominator[i]) if spec.denominator_counts else None)
            num_el, den_el = ELEMENTS[name]
            rows["numerator_element"].append(num_el)
            rows["denominator_element"].append(den_el if spec.denominator_counts else None)
            rows["value"].append(float(m.value[i]))
            rows["target"].append(spec.target)
            rows["gap"].append(None)
    types = {
        "numerator": pa.float64(),
        "denominator": pa.float64(),
        "value": pa.float64(),
        "target": pa.float64(),
        "gap": pa.float64(),
    }
    return pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in rows.items()})


def suppressed_cells(result: HotspotResult, threshold: int) -> set[tuple[str, str]]:
    """(place_code, measure) pairs whose raw value must not be shown (computed once per result
    and threshold: the report asks for every ranked site)."""
    cached = result.disclosure_cache.get(threshold)
    if cached is not None:
        return cached
    hidden = _hidden(result, threshold)
    result.disclosure_cache[threshold] = hidden
    return hidden


def _hidden(result: HotspotResult, threshold: int) -> set[tuple[str, str]]:
    rows = measure_rows(result)
    if rows.num_rows == 0:
        return set()
    # the one disclosure function; these rates carry no record keys (they are built over the
    # ranking's window from several sources), so publish() protects them by suppression
    out = publish(rows, load_settings(None, overrides={"suppression_threshold": threshold}))
    hidden: set[tuple[str, str]] = set()
    for rec in out.select(["indicator", "place_code", "value"]).to_pylist():
        value = rec["value"]
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            hidden.add((rec["place_code"], rec["indicator"].removeprefix("hotspots.")))
    return hidden


def disclosed_table(result: HotspotResult, threshold: int) -> pa.Table:
    """The result table with suppressed raw measures set to null and flagged."""
    hidden = suppressed_cells(result, threshold)
    table = result.table
    codes = result.place_codes
    for name in result.measures:
        values = table.column(name).to_pylist()
        masked = [None if (c, name) in hidden else v for c, v in zip(codes, values, strict=True)]
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.array(masked, type=pa.float64())
        )
    flags = table.column("flags").to_pylist()
    extra = [
        ";".join(sorted({*(f.split(";") if f else []), "suppressed"}))
        if any((c, n) in hidden for n in result.measures)
        else f
        for c, f in zip(codes, flags, strict=True)
    ]
    return table.set_column(
        table.schema.get_field_index("flags"), "flags", pa.array(extra, type=pa.string())
    )
