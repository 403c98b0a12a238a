"""The hotspot table of the report: the disclosed ranking with a short explanation per site.

Only ``HotspotResult.disclosed(settings)`` and ``HotspotResult.explain(..., threshold=settings)``
(the workspace's disclosure settings) are read: the estimates (expected new infections per 1,000
residents, model outputs, not counts), ranks and probabilities are shown as they are; no raw
measure value is printed (the explanation names where a site stands among sites, not its
counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corridor.hotspots import HotspotResult
from corridor.hotspots.drivers import COMPONENT_LABELS, NO_DRIVER, driver_label
from corridor.hotspots.drivers import NO_DRIVER_LABEL as NO_DRIVER_LABEL  # the report's name
from corridor.hotspots.explain import LIFT_NOTABLE

if TYPE_CHECKING:
    from corridor.config import Settings

COMPONENT_COLOURS: dict[str, str] = {
    "mobility": "#0072b2",
    "burden": "#d55e00",
    "service_gap": "#cc79a7",
    "bridging": "#009e73",
}
#: short names of the measures for the explanations
MEASURE_LABELS: dict[str, str] = {
    "travellers_per_head": "travellers per resident",
    "mobile_share": "share of tests among mobile groups",
    "positivity": "HIV positivity",
    "prevalence": "HIV prevalence",
    "outbreak_cases_per_10k": "outbreak cases per resident",
    "testing_coverage_mobile": "testing gap among mobile groups",
    "linkage_proxy": "linkage-to-ART gap",
    "art_coverage": "ART coverage gap",
    "vl_suppression": "viral-suppression gap",
    "bridging_flow": "bridging flow",
    "betweenness": "bridging position in the flow network",
}
STANDS_OUT = 75.0
#: bar units (of 100) per doubling of the estimate against the median site
BAR_SCALE = 25.0


@dataclass(slots=True)
class Segment:
    component: str
    colour: str
    x: float
    width: float
    title: str


@dataclass(slots=True)
class HotspotRow:
    rank: int
    place_code: str
    name: str
    place_type: str
    country: str
    score: str  # expected new HIV infections per 1,000 residents a year
    score_interval: str  # "" without draws (as rank_interval and p_top)
    rank_interval: str
    p_top: str
    main_driver: str  # the component's name, or NO_DRIVER_LABEL
    #: False when no component lifts the site above the median site (no main driver)
    driven: bool
    explanation: str
    bar: list[Segment]
    top: bool


def _f(v: Any) -> float:
    x = float(v) if v is not None else math.nan
    return x if math.isfinite(x) else 0.0


def _standing(percentile: float) -> str:
    if percentile >= 99.95:
        return "highest of all sites"
    return f"above {percentile:.0f}% of sites"


def explanation(exp: dict[str, Any]) -> str:
    """A few sentences from ``HotspotResult.explain``: driver, standing, stand-out measures."""
    parts: list[str] = []
    comps = exp.get("components") or []
    if comps and exp.get("main_driver") not in (None, NO_DRIVER):
        top = comps[0]
        label = COMPONENT_LABELS.get(top["component"], top["component"])
        factor = top.get("factor_vs_median")
        if factor is not None:
            parts.append(
                f"{label.capitalize()} lifts the estimate most: x{float(factor):.2f} against "
                "the median site."
            )
    elif comps:
        parts.append("No component lifts the estimate above the median site.")
    above = [
        COMPONENT_LABELS.get(c["component"], c["component"])
        for c in comps
        if (c.get("lift") or 0) > LIFT_NOTABLE
    ]
    below = [
        COMPONENT_LABELS.get(c["component"], c["component"])
        for c in comps
        if (c.get("lift") or 0) < -LIFT_NOTABLE
    ]
    if above:
        text = "Above the median site on " + ", ".join(above)
        parts.append(text + (f"; below on {', '.join(below)}." if below else "."))
    elif below:
        parts.append(f"Below the median site on {', '.join(below)}.")
    notable = sorted(
        (
            (float(m["percentile"]), m["measure"])
            for c in comps
            for m in c.get("measures") or []
            if not m.get("imputed") and float(m.get("percentile") or 0) >= STANDS_OUT
        ),
        reverse=True,
    )[:3]
    if notable:
        parts.append(
            "Stands out on "
            + ", ".join(
                f"{MEASURE_LABELS.get(name, name.replace('_', ' '))} ({_standing(pct)})"
                for pct, name in notable
            )
            + "."
        )
    flags = [f for f in exp.get("flags") or [] if f not in ("suppressed", "recency_calibrated")]
    if "fully_imputed" in flags:
        wide = " (wide interval)" if exp.get("p_top10") is not None else ""
        parts.append(f"No data of its own: estimated from similar sites{wide}.")
    elif flags:
        parts.append(
            "Imputed from similar sites: " + ", ".join(f.replace("_", " ") for f in flags) + "."
        )
    if "recency_calibrated" in (exp.get("flags") or []):
        parts.append("Calibrated with the site's recency testing.")
    return " ".join(parts)


def contribution_bar(exp: dict[str, Any], width: float = 100.0) -> list[Segment]:
    """Stacked lifts of the components above the median site (log factor; ``BAR_SCALE`` units
    of ``width`` per doubling)."""
    out: list[Segment] = []
    x = 0.0
    by_name = {c["component"]: c for c in exp.get("components") or []}
    for name in COMPONENT_LABELS:
        c = by_name.get(name)
        if c is None:
            continue
        lift = max(0.0, _f(c.get("lift")))
        w = min(width - x, lift / math.log(2.0) * BAR_SCALE * width / 100.0)
        if w <= 0:
            continue
        title = f"{COMPONENT_LABELS[name]}: x{math.exp(lift):.2f} against the median site"
        out.append(Segment(name, COMPONENT_COLOURS[name], round(x, 2), round(w, 2), title))
        x += w
    return out


def hotspot_rows(result: HotspotResult, threshold: int | Settings) -> list[HotspotRow]:
    """One row per ranked site, in rank order, from the disclosed table. Without uncertainty
    draws the intervals and the share of draws in the top are empty strings (the report leaves
    them out), never a zero-width interval."""
    rows: list[HotspotRow] = []
    intervals = result.has_intervals
    for rec in result.disclosed(threshold).to_pylist():
        exp = result.explain(str(rec["place_code"]), threshold=threshold)
        driver = str(rec["main_driver"])
        rows.append(
            HotspotRow(
                rank=int(rec["rank"]),
                place_code=str(rec["place_code"]),
                name=str(rec["name"]),
                place_type=str(rec["place_type"]).replace("_", " "),
                country=str(rec["country_code"]).upper(),
                score=f"{_f(rec['new_infections_per_1000']):.1f}",
                score_interval=(
                    f"{_f(rec['new_infections_per_1000_low']):.1f}–"
                    f"{_f(rec['new_infections_per_1000_high']):.1f}"
                    if intervals
                    else ""
                ),
                rank_interval=(
                    ""
                    if not intervals
                    else f"{rec['rank_low']}–{rec['rank_high']}"
                    if rec["rank_low"] != rec["rank_high"]
                    else str(rec["rank_low"])
                ),
                p_top=f"{100 * _f(rec['p_top10']):.0f}%" if intervals else "",
                main_driver=driver_label(driver),
                driven=driver != NO_DRIVER,
                explanation=explanation(exp),
                bar=contribution_bar(exp),
                top=int(rec["rank"]) <= result.top,
            )
        )
    return rows
