"""The spaces-of-vulnerability page's answer: the API's ranking (``read_hotspots`` with the API's
draws and seed, shared with the overview and the map; raw measures through ``result.disclosed``
as in ``GET /api/v1/hotspots``), re-ranked with the component
multipliers the user moved (``corridor.hotspots.reweigh``), then sorted and filtered for the
table. Sorting and filtering only change what is shown, never the ranks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from corridor.config import Settings
from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS
from corridor.hotspots.drivers import driver_label
from corridor.hotspots.ranking import HotspotResult
from corridor.hotspots.reweigh import MULTIPLIER_RANGE, Reweighed, reweigh

#: sortable columns: key -> (label, row field)
SORTS: Final[dict[str, str]] = {
    "rank": "rank",
    "name": "name",
    "country": "country_code",
    "estimate": "per_1000",
    "p_top10": "p_top10",
    "change": "change",
}
TOP: Final = 10


@dataclass(slots=True)
class RankingView:
    rows: list[dict[str, Any]]  # sorted and filtered
    total: int  # sites ranked (before filtering)
    multipliers: dict[str, float]
    moved: bool
    entered: list[dict[str, Any]]
    left: list[dict[str, Any]]
    period: str
    level: float
    #: what is known of the rate interval's coverage (``HotspotResult.rate_interval_coverage_text``)
    rate_coverage: str
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    place_types: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RankingForm:
    period: str | None = None
    multipliers: dict[str, str] = field(default_factory=dict)
    show_country: str = ""  # filters the table only
    place_type: str = ""
    search: str = ""
    sort: str = "rank"
    descending: bool = False
    top_only: bool = False


def form_from(params: Mapping[str, Any]) -> RankingForm:
    def text(key: str) -> str:
        return str(params.get(key) or "").strip()

    sort = text("sort") or "rank"
    if sort not in SORTS:
        raise QueryError(f"unknown sort column {sort!r}; expected one of {', '.join(SORTS)}")
    mult = {c: text(f"m_{c}") for c in COMPONENTS if text(f"m_{c}")}
    return RankingForm(
        period=text("period") or None,
        multipliers=mult,
        show_country=text("show_country").lower(),
        place_type=text("place_type").lower(),
        search=text("q").lower(),
        sort=sort,
        descending=text("dir") == "desc",
        top_only=text("top_only") in ("1", "on", "true"),
    )


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def ranking_view(
    result: HotspotResult, disclosure: int | Settings, form: RankingForm
) -> RankingView:
    """The page's rows: ``result`` (from ``read_hotspots``) re-ranked with the form's
    multipliers, its raw measures disclosed with ``disclosure`` (the workspace's settings, as
    the API; an int is a threshold over the default settings), then filtered and sorted."""
    again: Reweighed = reweigh(result, form.multipliers, top=TOP)
    shown = result.disclosed(disclosure).to_pylist()
    rows: list[dict[str, Any]] = []
    for pos, i in enumerate(again.order):
        base = shown[int(i)]
        rank = int(again.rank[pos])
        base_rank = int(again.base_rank[pos])
        rows.append(
            {
                "rank": rank,
                "base_rank": base_rank,
                "change": base_rank - rank,  # > 0: moved up
                "place_code": base["place_code"],
                "name": base["name"],
                "place_type": base["place_type"],
                "country_code": base["country_code"],
                "per_1000": _finite(float(again.per_1000[pos])),
                "per_1000_low": _finite(base["new_infections_per_1000_low"]),
                "per_1000_high": _finite(base["new_infections_per_1000_high"]),
                "calibrated_per_1000": _finite(base["new_infections_per_1000"]),
                "rank_low": base["rank_low"],
                "rank_high": base["rank_high"],
                "p_top10": _finite(base["p_top10"]),
                "main_driver": base["main_driver"],  # the data's value ("none")
                "driver": driver_label(base["main_driver"]),  # as the page writes it
                "flags": base["flags"] or "",
                "in_top": rank <= again.top,
            }
        )
    names = {r["place_code"]: r for r in rows}
    countries = sorted({str(r["country_code"]) for r in rows})
    types = sorted({str(r["place_type"]) for r in rows})
    picked = [
        r
        for r in rows
        if (not form.show_country or r["country_code"] == form.show_country)
        and (not form.place_type or r["place_type"] == form.place_type)
        and (
            not form.search
            or form.search in str(r["name"]).lower()
            or form.search in str(r["place_code"]).lower()
        )
        and (not form.top_only or r["in_top"])
    ]
    key = SORTS[form.sort]

    def sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
        v = r[key]
        missing = v is None
        return (missing, v if not missing else 0, r["rank"])

    picked.sort(key=sort_key, reverse=form.descending)
    if form.descending:  # keep missing values last either way
        picked.sort(key=lambda r: r[key] is None)

    def brief(code: str) -> dict[str, Any]:
        r = names[code]
        return {k: r[k] for k in ("place_code", "name", "country_code", "rank", "base_rank")}

    return RankingView(
        rows=picked,
        total=len(rows),
        multipliers=again.multipliers,
        moved=again.moved,
        entered=[brief(c) for c in again.entered],
        left=[brief(c) for c in again.left],
        period=result.period,
        level=result.level,
        rate_coverage=result.rate_interval_coverage_text,
        weights=result.weights,
        notes=list(result.notes),
        countries=countries,
        place_types=types,
    )


MULTIPLIER_MIN, MULTIPLIER_MAX = MULTIPLIER_RANGE
