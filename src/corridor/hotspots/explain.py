"""Why a site ranks where it does: contributions of the components, and the median site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.drivers import NO_DRIVER, driver_label
from corridor.hotspots.ranking import rate_interval_coverage_text

if TYPE_CHECKING:
    from corridor.config import Settings
    from corridor.hotspots.ranking import HotspotResult


#: a component's lift (log factor) counted as notable in the summary (x1.1)
LIFT_NOTABLE = 0.1


def comparison(above: list[str], below: list[str], driver: str | None) -> str:
    """The summary's comparison with the median site: the components whose lift is notable
    (above :data:`LIFT_NOTABLE`, or below its negative), and the main driver ``driver`` (None
    when no component lifts the site) said to be "only slightly higher" when its own lift is
    not notable: the summary names it as the main driver just before, so "not higher on any
    component" would contradict it."""
    if above:
        higher = "higher on " + ", ".join(driver_label(a) for a in above)
    elif driver is not None:
        higher = f"only slightly higher on {driver_label(driver)}"
    else:
        higher = "not higher on any component"
    lower = "; lower on " + ", ".join(driver_label(b) for b in below) if below else ""
    return higher + lower


def _r(x: float | None, digits: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def percentile_of(values: np.ndarray, i: int) -> float:
    """Share of the other sites (in %) with a lower value than site ``i`` (ties count half)."""
    v = values[i]
    others = np.delete(values, i)
    others = others[np.isfinite(others)]
    if others.size == 0 or not np.isfinite(v):
        return 50.0
    return float(100.0 * ((others < v).sum() + 0.5 * (others == v).sum()) / others.size)


#: measures that are shares (shown as percentages, as every rate in Corridor's outputs)
PERCENT_MEASURES: frozenset[str] = frozenset(
    {"mobile_share", "positivity", "prevalence", "linkage_proxy", "art_coverage", "vl_suppression"}
)


def explain_site(
    result: HotspotResult, place_code: str, *, threshold: int | Settings | None = None
) -> dict[str, Any]:
    """A dict explaining one site's estimate; raw values published (the values of
    ``disclosed``) when ``threshold`` is given (the workspace's settings, or a threshold).

    ``components``: for each component, its normalised value and percentile among sites (the
    explanation), and ``factor_vs_median``: how many times the model's terms of that component
    multiply the site's estimate relative to the median site (``lift`` the log of it). Rates are
    percentages (``unit`` ``%``).
    """
    codes = result.place_codes
    code = place_code.strip().lower()
    if code not in codes:
        raise QueryError(
            f"{place_code!r} is not a ranked site (sites are places of a site type, such as "
            "border_crossing, truck_stop or mine)"
        )
    i = codes.index(code)
    row = result.table.slice(i, 1).to_pylist()[0]
    n = len(codes)
    published = None
    if threshold is not None:
        from corridor.hotspots.disclosure import published_measures

        published = published_measures(result, threshold)
    hidden = set() if published is None else {k for k, v in published.items() if v is None}
    rates = np.asarray(result.table.column("new_infections_per_1000").to_numpy(), dtype=float)
    median_rate = float(np.median(rates))
    components: list[dict[str, Any]] = []
    for j, c in enumerate(COMPONENTS):
        values = result.component_values[:, j]
        lift = float(result.lift[i, j]) if result.lift.size else 0.0
        measures = []
        for name, m in result.measures.items():
            if m.component != c:
                continue
            if m.imputed[i]:
                shown = None
            elif published is not None and m.counts:
                shown = published.get((code, name))
            else:
                shown = m.value[i]
            percent = name in PERCENT_MEASURES
            if shown is not None and percent:
                shown = 100.0 * shown
            measures.append(
                {
                    "measure": name,
                    "label": m.label,
                    "value": _r(shown, 6),
                    "unit": "%" if percent else "",
                    "target": (100.0 * m.target if percent else m.target) if m.target else None,
                    "imputed": bool(m.imputed[i]),
                    "suppressed": (code, name) in hidden,
                    "normalised": _r(m.normalised[i]),
                    "percentile": round(percentile_of(m.normalised, i), 1),
                }
            )
        has_values = bool(np.isfinite(values).any())
        components.append(
            {
                "component": c,
                "value": _r(values[i]) if has_values else None,
                "percentile": round(percentile_of(values, i), 1) if has_values else None,
                "median_site_value": _r(float(np.nanmedian(values))) if has_values else None,
                "lift": _r(lift, 3),
                "factor_vs_median": _r(float(np.exp(lift)), 2),
                "measures": measures,
            }
        )
    components.sort(key=lambda d: -(d["lift"] or 0.0))
    flags = [f for f in (row["flags"] or "").split(";") if f]
    above = [d["component"] for d in components if (d["lift"] or 0) > LIFT_NOTABLE]
    below = [d["component"] for d in components if (d["lift"] or 0) < -LIFT_NOTABLE]
    lvl = round(100 * result.level)
    intervals = result.has_intervals  # without draws: no interval and no p_top10
    summary = (
        f"{row['name']} ({row['place_type'].replace('_', ' ')}, {row['country_code'].upper()}) "
        f"ranks {row['rank']} of {n}: an estimated {row['new_infections_per_1000']:.1f} new HIV "
        f"infections per 1,000 residents a year"
    )
    parts = (
        [
            f"{lvl}% model interval {row['new_infections_per_1000_low']:.1f}-"
            f"{row['new_infections_per_1000_high']:.1f}, "
            f"{rate_interval_coverage_text(result.level, result.calibrated, result.draws)}"
        ]
        if intervals
        else []
    )
    total = row.get("new_infections")
    if total is not None and np.isfinite(total):
        parts.append(f"about {total:,.0f} in all")
    if not intervals:
        parts.append("no intervals: 0 draws")
    summary += f" ({'; '.join(parts)})"
    summary += (
        f"; rank interval {row['rank_low']}-{row['rank_high']}; in the top {result.top} in "
        f"{100 * row['p_top10']:.0f}% of the draws. "
        if intervals
        else ". "
    )
    driven = bool(components) and row["main_driver"] != NO_DRIVER
    if driven:
        top = components[0]  # the main driver: the largest lift
        summary += (
            f"Main driver: {driver_label(top['component'])} (x{top['factor_vs_median']:.2f} "
            "against the median site). "
        )
    summary += f"Compared with the median site ({median_rate:.1f} per 1,000): "
    summary += comparison(above, below, components[0]["component"] if driven else None) + "."
    if "fully_imputed" in flags:
        summary += (
            " The site reports no data the model uses: its estimate is imputed from similar "
            "sites" + (", hence its wide interval." if intervals else ".")
        )
    elif flags:
        summary += f" Flags: {', '.join(flags)}."
    return {
        "place_code": code,
        "name": row["name"],
        "place_type": row["place_type"],
        "country_code": row["country_code"],
        "period": result.period,
        "rank": row["rank"],
        "rank_low": row["rank_low"],
        "rank_high": row["rank_high"],
        "n_sites": n,
        "new_infections_per_1000": _r(row["new_infections_per_1000"], 3),
        "new_infections_per_1000_low": _r(row["new_infections_per_1000_low"], 3),
        "new_infections_per_1000_high": _r(row["new_infections_per_1000_high"], 3),
        "new_infections": _r(total, 1) if total is not None else None,
        "score": _r(row["score"], 2),
        "p_top10": _r(row["p_top10"], 3),
        "median_site_per_1000": _r(median_rate, 3),
        "main_driver": row["main_driver"],
        "flags": flags,
        "components": components,
        "summary": summary,
    }
