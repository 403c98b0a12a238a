"""Why a site ranks where it does: contributions of the components, and the median site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS

if TYPE_CHECKING:
    from corridor.hotspots.ranking import HotspotResult


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


def explain_site(
    result: HotspotResult, place_code: str, *, threshold: int | None = None
) -> dict[str, Any]:
    """A dict explaining one site's score; raw values suppressed when ``threshold`` is given."""
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
    hidden: set[tuple[str, str]] = set()
    if threshold is not None:
        from corridor.hotspots.disclosure import suppressed_cells

        hidden = suppressed_cells(result, threshold)
    scores = np.asarray(result.table.column("score").to_numpy(), dtype=float)
    median_score = float(np.median(scores))
    components: list[dict[str, Any]] = []
    for c in result.components:
        j = COMPONENTS.index(c)
        values = result.component_values[:, j]
        w = result.weights[c]
        contribution = 100.0 * w * values[i]
        median_value = float(np.median(values))
        measures = []
        for name, m in result.measures.items():
            if m.component != c:
                continue
            shown = None if (code, name) in hidden or m.imputed[i] else m.value[i]
            measures.append(
                {
                    "measure": name,
                    "label": m.label,
                    "weight_in_component": result.measure_weights.get(name, 1.0),
                    "value": _r(shown, 6),
                    "target": m.target,
                    "imputed": bool(m.imputed[i]),
                    "suppressed": (code, name) in hidden,
                    "normalised": _r(m.normalised[i]),
                    "percentile": round(percentile_of(m.normalised, i), 1),
                }
            )
        components.append(
            {
                "component": c,
                "weight": _r(w),
                "value": _r(values[i]),
                "contribution": _r(contribution, 2),
                "share_of_score": _r(contribution / row["score"], 3) if row["score"] > 0 else None,
                "percentile": round(percentile_of(values, i), 1),
                "median_site_value": _r(median_value),
                "vs_median_site": _r(100.0 * w * (values[i] - median_value), 2),
                "measures": measures,
            }
        )
    components.sort(key=lambda d: -(d["contribution"] or 0.0))
    flags = [f for f in (row["flags"] or "").split(";") if f]
    above = [d["component"] for d in components if (d["vs_median_site"] or 0) > 0.5]
    below = [d["component"] for d in components if (d["vs_median_site"] or 0) < -0.5]
    lvl = round(100 * result.level)
    summary = (
        f"{row['name']} ({row['place_type'].replace('_', ' ')}, {row['country_code'].upper()}) "
        f"ranks {row['rank']} of {n} with a score of {row['score']:.1f} "
        f"({lvl}% interval {row['score_low']:.1f}-{row['score_high']:.1f}; "
        f"rank {row['rank_low']}-{row['rank_high']}); it is in the top {result.top} in "
        f"{100 * row['p_top10']:.0f}% of the draws. "
    )
    if components and row["main_driver"] != "none":
        top = components[0]
        share = top["share_of_score"] or 0.0
        summary += f"Main driver: {top['component']} ({100 * share:.0f}% of the score). "
    summary += f"Compared with the median site (score {median_score:.1f}): "
    summary += (
        (("higher on " + ", ".join(above)) if above else "not higher on any component")
        + ("; lower on " + ", ".join(below) if below else "")
        + "."
    )
    if flags:
        summary += f" Flags: {', '.join(flags)} (missing measures imputed from similar sites)."
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
        "score": _r(row["score"], 2),
        "score_low": _r(row["score_low"], 2),
        "score_high": _r(row["score_high"], 2),
        "p_top10": _r(row["p_top10"], 3),
        "score_percentile": round(percentile_of(scores, i), 1),
        "median_site_score": _r(median_score, 2),
        "main_driver": row["main_driver"],
        "flags": flags,
        "components": components,
        "summary": summary,
    }
