"""Disclosure control of the ranking's raw measures.

Scores, normalised components, ranks and probabilities are derived from percentiles across sites
and are shown as they are; the ranking itself is computed on the true values (the analyst's
model). The raw measures are rates built on counts (positive tests, cases, travellers); what
leaves (exports, the explanation, the report, the API) is published through the project's one
disclosure-control function, ``corridor.indicators.publish``, as indicator rows with their
numerator and denominator, the data element each count is, and each count's cell key (the sum of
the record keys of the rows that make it, carried from the SQL beside the count):

* ``disclosure_method = cellkey`` (the default): each count is perturbed by the cell-key method,
  the same count (e.g. hiv_positive at a site over the window) the same as in every other output,
  and the rate is computed from the published counts. A denominator that is no count of the
  warehouse (the place registry's population, a reference figure) is used as it is;
* ``disclosure_method = suppression``: a rate is withheld when its numerator or denominator is a
  small count (1 to threshold - 1) or is withheld by secondary suppression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from corridor.config import load_settings
from corridor.contract.dimensions import TOTAL
from corridor.hotspots.components import SPEC_BY_NAME
from corridor.indicators import publish
from corridor.indicators.disclosure import small_counts

if TYPE_CHECKING:
    from corridor.config import Settings
    from corridor.hotspots.ranking import HotspotResult


#: the counts behind each measure, named so that one count (e.g. hiv_positive at a site) is
#: treated the same in every measure it enters
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
#: published (place_code, measure) -> value, or None where withheld
Published = dict[tuple[str, str], float | None]


def settings_of(disclosure: int | Settings) -> Settings:
    """The disclosure settings: the workspace's, or (an int) a threshold over the defaults and
    the CORRIDOR_* environment."""
    if isinstance(disclosure, int):
        return load_settings(None, overrides={"suppression_threshold": disclosure})
    return disclosure


def disclosure_line(disclosure: int | Settings) -> str:
    """The one line every output of the ranking carries about its disclosure control."""
    from corridor.indicators.cellkey import totals_note

    settings = settings_of(disclosure)
    # the small counts in words: "from 1 to 9", "of 1"; a threshold of 1 has none (never "1 to 0")
    small = small_counts(settings.suppression_threshold)
    if settings.disclosure_method == "cellkey":
        withheld = (
            f"No count {small} is published"
            if small
            else "No count is withheld for being small (threshold 1)"
        )
        return (
            f"Raw measures are rates of published counts. {totals_note()} {withheld}; scores "
            "and ranks are computed on the true values."
        )
    if not small:
        return (
            "No raw measure is withheld for being small (threshold 1); scores and ranks use the "
            "true values."
        )
    return (
        f"Raw measures built on a count {small} (or that would let one be worked out) "
        "are withheld (empty, flagged 'suppressed'); scores and ranks use the true values."
    )


def _key(keys: np.ndarray | None, i: int) -> float | None:
    if keys is None:
        return None
    k = float(keys[i])
    return k if np.isfinite(k) else None


def measure_rows(result: HotspotResult) -> pa.Table:
    """The raw measures as indicator-shaped rows (one per site and measure with counts), with
    the cell keys of their counts. A denominator that is no keyed count (the registry's
    population) is left out of the row (null): it is not protected, and is not perturbed."""
    names = (
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
        "numerator_key",
        "denominator_key",
        "value",
        "target",
        "gap",
    )
    rows: dict[str, list[Any]] = {k: [] for k in names}
    codes = result.place_codes
    for name, m in result.measures.items():
        spec = SPEC_BY_NAME[name]
        if not spec.counts:
            continue
        for i, code in enumerate(codes):
            if m.imputed[i] or not np.isfinite(m.value[i]):
                continue
            num_el, den_el = ELEMENTS[name]
            den_key = _key(m.denominator_key, i)
            # the registry's population carries no key: a reference figure, not a count
            den_counts = spec.denominator_counts and not (
                den_el == "population" and m.denominator_key is not None and den_key is None
            )
            num_key = _key(m.numerator_key, i)
            rows["indicator"].append(f"hotspots.{name}")
            rows["period"].append(result.period)
            rows["place_code"].append(code)
            rows["sex"].append(TOTAL)
            rows["age_band"].append(TOTAL)
            rows["population_group"].append(TOTAL)
            rows["numerator"].append(float(m.numerator[i]))
            rows["denominator"].append(float(m.denominator[i]) if den_counts else None)
            rows["numerator_element"].append(num_el)
            rows["denominator_element"].append(den_el if den_counts else None)
            rows["numerator_key"].append(None if num_key is None else int(num_key))
            rows["denominator_key"].append(
                None if den_key is None or not den_counts else int(den_key)
            )
            rows["value"].append(float(m.value[i]))
            rows["target"].append(spec.target)
            rows["gap"].append(None)
    types = {
        "numerator": pa.float64(),
        "denominator": pa.float64(),
        "numerator_key": pa.int64(),
        "denominator_key": pa.int64(),
        "value": pa.float64(),
        "target": pa.float64(),
        "gap": pa.float64(),
    }
    table = pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in rows.items()})
    if all(m.numerator_key is None for m in result.measures.values()):
        # a result built without cell keys (measures computed outside the warehouse): the
        # one function protects it by suppression
        table = table.drop_columns(["numerator_key", "denominator_key"])
    return table


def published_measures(result: HotspotResult, disclosure: int | Settings) -> Published:
    """Every raw measure that may leave: (place_code, measure) -> published value (None where
    withheld). Computed once per result and settings (the report asks for every ranked site)."""
    settings = settings_of(disclosure)
    ident = (
        settings.disclosure_method,
        settings.suppression_threshold,
        settings.disclosure_max_noise,
        settings.disclosure_variance,
    )
    cached = result.disclosure_cache.get(ident)
    if cached is None:
        cached = result.disclosure_cache[ident] = _publish(result, settings)
    out: Published = cached
    return out


def _publish(result: HotspotResult, settings: Settings) -> Published:
    rows = measure_rows(result)
    if rows.num_rows == 0:
        return {}
    out = publish(rows, settings)
    raw = rows.select(["numerator", "denominator", "value"]).to_pydict()
    pub = out.select(["indicator", "place_code", "numerator", "denominator", "value"]).to_pydict()
    keyed = "numerator_key" in rows.column_names and settings.disclosure_method == "cellkey"
    published: Published = {}
    for i in range(out.num_rows):
        key = (str(pub["place_code"][i]), str(pub["indicator"][i]).removeprefix("hotspots."))
        value = _finite(pub["value"][i])
        if keyed and raw["denominator"][i] is None:
            # a reference denominator (not perturbed): the rate scales with the published count
            num, pnum = _finite(raw["numerator"][i]), _finite(pub["numerator"][i])
            true = _finite(raw["value"][i])
            if pnum == 0:
                value = 0.0
            elif num and pnum is not None and true is not None:
                value = true * pnum / num
            else:
                value = None
        published[key] = value
    return published


def _finite(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if np.isfinite(f) else None


def suppressed_cells(result: HotspotResult, disclosure: int | Settings) -> set[tuple[str, str]]:
    """(place_code, measure) pairs whose raw value is withheld (suppression only; the cell-key
    method withholds nothing)."""
    return {k for k, v in published_measures(result, disclosure).items() if v is None}


def disclosed_table(result: HotspotResult, disclosure: int | Settings) -> pa.Table:
    """The result table with every raw measure replaced by its published value (null and
    flagged ``suppressed`` where withheld)."""
    published = published_measures(result, disclosure)
    table = result.table
    codes = result.place_codes
    for name, m in result.measures.items():
        values = table.column(name).to_pylist()
        if m.counts:
            values = [published.get((c, name)) for c in codes]
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.array(values, type=pa.float64())
        )
    hidden = {k for k, v in published.items() if v is None}
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
