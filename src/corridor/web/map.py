"""Map: pan and zoom over the package's own country boundaries and lakes (no tile server);
sites sized and coloured by score; corridors, main flows and outbreak cases as layers; a click on
a site opens its explanation, cascade by group and trends.

The geometry reuses the report's map code (``corridor.reports.mapview``: corridor networks and
flow segments, computed in longitude/latitude here instead of SVG units), on a warehouse scoped
to the user's countries: a Kenya-only analyst's layers hold Kenyan places only. Counts of people
(cases) pass the report's disclosure control; flow volumes appear only as line widths.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from corridor.access.audit import append
from corridor.access.reads import IndicatorQuery, check_place_in_scope, read_indicators
from corridor.access.scope import Scope, scoped
from corridor.api.auth import EngineDep, hub_of
from corridor.api.respond import deep_clean
from corridor.config import Settings
from corridor.hotspots.drivers import driver_label
from corridor.indicators.disclosure import publish_counts
from corridor.reports import basemap
from corridor.reports.cascade import TREND_IDS, group_label, trends
from corridor.reports.hotspot_view import contribution_bar, explanation
from corridor.reports.mapview import (
    SCORE_CLASSES,
    corridors,
    flow_lines,
    score_colour,
    score_radius,
)
from corridor.reports.outbreak import iso_week, reached_counts
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS
from corridor.web.live import cached, disclosure_of, ranking_for, threshold_of, window_for
from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()
#: the site panel's cascade: the 95-95-95 and testing, then linkage
SITE_INDICATORS = ("first_95", "second_95", "third_95", "positivity", "linkage_proxy")


def _lonlat(lon: float, lat: float) -> tuple[float, float]:
    """The identity "projection": the report's map code then works in degrees."""
    return lon, lat


def _finite(*values: Any) -> bool:
    return all(isinstance(v, int | float) and v == v for v in values)


@lru_cache(maxsize=1)
def basemap_json() -> bytes:
    """Country boundaries and lakes (Natural Earth, in the package) as one JSON document."""
    return json.dumps(
        {"countries": basemap.load_boundaries(), "lakes": basemap.load_lakes()},
        separators=(",", ":"),
    ).encode()


def _json(body: Any, *, cache: bool = False) -> Response:
    response = Response(
        json.dumps(deep_clean(body), separators=(",", ":")), media_type="application/json"
    )
    response.headers["cache-control"] = "private, max-age=86400" if cache else "no-store"
    return response


def site_layer(disclosed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in disclosed:
        if not _finite(row.get("lat"), row.get("lon")):
            continue
        score = float(row["score"])
        out.append(
            {
                "code": row["place_code"],
                "name": row["name"],
                "country": str(row["country_code"]).upper(),
                "type": str(row["place_type"]).replace("_", " "),
                "rank": int(row["rank"]),
                "score": round(score, 1),
                "per_1000": round(float(row["new_infections_per_1000"]), 1),
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
                "colour": score_colour(score),
                "radius": round(2 * score_radius(score), 1),
            }
        )
    return out


def outbreak_layer(engine: Any, end: Any, settings: Settings) -> list[dict[str, Any]]:
    """Cases per site up to the end of the window (published counts) and the week each site
    was reached, in the order sites were reached."""
    day = "COALESCE(c.onset_date, c.report_date)"
    rows = engine.query_rows(
        f"SELECT c.disease, c.place_code, p.name, p.lat, p.lon, MIN({day}), COUNT(*), "
        "SUM(COALESCE(c.record_key, 0)) FROM cases c JOIN places p ON p.place_code = c.place_code "
        f"WHERE {day} <= ? GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 6, 2",
        (end,),
        step="web: outbreak cases by site",
    )
    rows = [r for r in rows if _finite(r[3], r[4])]
    cells = reached_counts([int(r[6]) for r in rows], settings, [int(r[7] or 0) for r in rows])
    out = []
    order: dict[str, int] = {}
    for r, cell in zip(rows, cells, strict=True):
        disease = str(r[0])
        order[disease] = order.get(disease, 0) + 1
        out.append(
            {
                "disease": disease,
                "code": r[1],
                "name": r[2],
                "lat": float(r[3]),
                "lon": float(r[4]),
                "cases": cell.text,
                "value": cell.value,
                "week": iso_week(r[5]),
                "order": order[disease],
            }
        )
    return out


def _map_rows(eng: Any, window: Any, settings: Settings) -> tuple[Any, ...]:
    places = eng.query(
        "SELECT place_code, name, place_type, lat, lon, corridor FROM places",
        step="web: places for the map",
    ).to_pylist()
    flows = eng.query(
        "SELECT origin_code, observation_code, destination_code, SUM(count) AS count, "
        f"SUM(CASE WHEN count = 0 THEN 0 ELSE COALESCE(record_key, 0) END) % {KEY_MODULUS} "
        "AS cell_key FROM flows WHERE period_start <= ? AND period_end >= ? "
        "GROUP BY origin_code, observation_code, destination_code",
        (window.end, window.start),
        step="web: flows for the map",
    ).to_pylist()
    return places, flows, outbreak_layer(eng, window.end, settings)


def layers_key(scope: Scope, window: Any, settings: Settings) -> tuple[Any, ...]:
    """The answer cache's key of the map's places, flows and outbreak layer (no version)."""
    return ("web.map", scope, window.text, settings.suppression_threshold)


def layer_rows(base: Engine, scope: Scope, window: Any, settings: Settings) -> tuple[Any, ...]:
    """The map's places, flows and outbreak layer within ``scope``."""
    with scoped(base, scope) as eng:
        return _map_rows(eng, window, settings)


def layers(request: Request, engine: Any, account: Any, period: str | None) -> dict[str, Any]:
    """Everything the map draws for this user, within their scope."""
    threshold = threshold_of(request)
    settings = disclosure_of(request)
    window = window_for(engine, account, period)
    result = ranking_for(request, engine, account, window.text)
    disclosed = result.disclosed(settings).to_pylist()

    def compute(base: Engine) -> tuple[Any, ...]:
        return layer_rows(base, account.scope, window, settings)

    places, flows, outbreak = cached(
        request, engine, layers_key(account.scope, window, settings), compute
    )
    coords = {
        str(p["place_code"]): (float(p["lon"]), float(p["lat"]))
        for p in places
        if _finite(p.get("lat"), p.get("lon")) and p.get("place_type") != "country"
    }
    names = {str(p["place_code"]): str(p["name"]) for p in places}
    sites = site_layer(disclosed)
    append(
        engine,
        account.username,
        "web.map",
        {"period": window.text, "scope": account.scope.describe()},
        cells=len(sites) + len(outbreak),
        suppressed=True,
    )
    bins = [*(lo for lo, _ in SCORE_CLASSES[1:]), 100.0]
    return {
        "period": window.text,
        "sites": sites,
        "corridors": [
            {
                "code": c.code,
                "label": c.label,
                "colour": c.colour,
                "segments": [[[y1, x1], [y2, x2]] for x1, y1, x2, y2 in c.segments],
            }
            for c in corridors(places, _lonlat)
            if c.segments
        ],
        "flows": [
            {"line": [[f.y1, f.x1], [f.y2, f.x2]], "width": f.width, "title": f.title}
            for f in flow_lines(
                flows,
                coords,
                names,
                _lonlat,
                threshold,
                lambda v, k: publish_counts(v, k, settings, "travellers"),
            )
        ],
        "outbreak": outbreak,
        "legend": [
            {"label": f"{lo:.0f}–{hi:.0f}", "colour": fill}
            for (lo, fill), hi in zip(SCORE_CLASSES, bins, strict=True)
        ],
    }


def _percent(value: Any, flag: Any) -> str:
    if flag:
        return str(flag)
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{float(value):.1f}%"


def _count(value: Any, flag: Any) -> str:
    if flag:
        return str(flag)
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{float(value):,.0f}"


def site_detail(
    request: Request, engine: Any, account: Any, code: str, period: str | None
) -> dict[str, Any]:
    """One site: why it ranks where it does, its cascade by population group, its trends."""
    code = code.strip().lower()
    check_place_in_scope(engine, account, code)
    threshold = threshold_of(request)
    settings = disclosure_of(request)
    window = window_for(engine, account, period)
    result = ranking_for(request, engine, account, window.text)
    info = result.explain(code, threshold=settings)
    row = next(r for r in result.disclosed(settings).to_pylist() if r["place_code"] == code)
    table = read_indicators(
        engine,
        account,
        hub_of(request).settings,
        IndicatorQuery(SITE_INDICATORS, ("population_group",), window.text, None, code),
        channel="web",
        cache=hub_of(request).answers,
    ).to_pylist()
    groups: dict[str, dict[str, dict[str, str]]] = {}
    for rec in table:
        groups.setdefault(str(rec["population_group"]), {})[str(rec["indicator"])] = {
            "value": _percent(rec["value"], rec.get("value_flag")),
            "of": f"{_count(rec['numerator'], rec.get('numerator_flag'))} / "
            f"{_count(rec['denominator'], rec.get('denominator_flag'))}",
        }
    site_scope = account.scope.narrow(place=code)

    def compute(base: Engine) -> Any:
        with scoped(base, site_scope) as eng:
            return trends(eng, settings)

    charts, granularity = cached(request, engine, ("web.trends", site_scope, threshold), compute)
    from corridor.indicators.registry import get_indicator

    return {
        "site": row,
        "code": code,
        "period": window.text,
        "level": round(100 * result.level),
        "rate_coverage": result.rate_interval_coverage_text,
        "top": result.top,
        "explanation": explanation(info),
        "bar": contribution_bar(info),
        "driver": driver_label(row["main_driver"]),
        "indicators": [(i, get_indicator(i).name.split(":")[0]) for i in SITE_INDICATORS],
        "groups": [
            (group_label(g), cells) for g, cells in sorted(groups.items(), key=_group_order)
        ],
        "trends": charts,
        "granularity": granularity or "quarter",
        "trend_ids": TREND_IDS,
    }


def _group_order(item: tuple[str, Any]) -> tuple[int, str]:
    from corridor.reports.cascade import GROUP_ORDER

    g = item[0]
    return (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g)


@router.get("/map")
def map_page(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    period: str | None = None,
    site: str | None = None,
) -> Response:
    from corridor.access.roles import require

    require(account.role, "read_hotspots", user=account.username)
    window = window_for(engine, account, period)
    result = ranking_for(request, engine, account, window.text)
    sites = site_layer(result.disclosed(disclosure_of(request)).to_pylist())
    detail = site_detail(request, engine, account, site, window.text) if site else None
    return render(
        request,
        "map.html.j2",
        {
            "title": "Map",
            "period": window.text,
            "sites": sorted(sites, key=lambda s: s["rank"]),
            "detail": detail,
            "legend": layers_legend(),
        },
        account=account,
        active="map",
    )


def layers_legend() -> list[tuple[str, str]]:
    bins = [*(lo for lo, _ in SCORE_CLASSES[1:]), 100.0]
    return [
        (f"{lo:.0f}–{hi:.0f}", fill) for (lo, fill), hi in zip(SCORE_CLASSES, bins, strict=True)
    ]


@router.get("/map/basemap.json")
def map_basemap(account: PageAccount) -> Response:
    response = Response(basemap_json(), media_type="application/json")
    response.headers["cache-control"] = "private, max-age=86400"
    return response


@router.get("/map/layers.json")
def map_layers(
    request: Request, engine: EngineDep, account: PageAccount, period: str | None = None
) -> Response:
    from corridor.access.roles import require

    require(account.role, "read_hotspots", user=account.username)
    return _json(layers(request, engine, account, period))


@router.get("/map/site/{code}")
def map_site(
    request: Request,
    engine: EngineDep,
    account: PageAccount,
    code: str,
    period: str | None = None,
) -> Response:
    from corridor.access.roles import require

    require(account.role, "read_hotspots", user=account.username)
    detail = site_detail(request, engine, account, code, period)
    return render(request, "map_site.html.j2", {"detail": detail}, account=account)
