"""``GET /analytics``: a compatible subset of the DHIS2 analytics API.

``dimension=dx:ID;ID`` (indicator ids), ``dimension=pe:2024Q1;2024Q2`` (ISO periods),
``dimension=ou:CODE;CODE`` (place codes or the DHIS2 UIDs of the place registry),
``filter=pe:2024`` / ``filter=ou:CODE`` (one item each). The answer has DHIS2's ``headers``,
``metaData``, ``rows``, ``height`` and ``width``. Values come from the same disclosure-controlled
indicator tables as ``GET /indicators`` (rates in percent; withheld values are left out, as DHIS2
leaves out empty cells).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from corridor.access.accounts import Account
from corridor.access.reads import IndicatorQuery, read_indicators
from corridor.api.auth import AccountDep, EngineDep, hub_of
from corridor.api.problems import ERRORS
from corridor.errors import QueryError
from corridor.indicators.export import number
from corridor.indicators.registry import resolve_ids
from corridor.storage.engine import Engine

router = APIRouter(responses=ERRORS)
DIMS = ("dx", "pe", "ou")
_HEADER = {
    "dx": ("Data", "TEXT", "java.lang.String"),
    "pe": ("Period", "TEXT", "java.lang.String"),
    "ou": ("Organisation unit", "TEXT", "java.lang.String"),
}


def parse_dimensions(items: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        dim, sep, rest = item.partition(":")
        dim = dim.strip()
        values = [v.strip() for v in rest.split(";") if v.strip()]
        if not sep or dim not in DIMS or not values:
            raise QueryError(
                f"bad {what} {item!r}: expected dx:ID;ID, pe:PERIOD;PERIOD or ou:CODE;CODE"
            )
        if dim in out:
            raise QueryError(f"{what} {dim} given twice")
        out[dim] = values
    return out


def _places(engine: Engine, items: list[str]) -> list[tuple[str, str, str, str]]:
    """(as asked, place_code, place_type, name) for each ou item: a code or a DHIS2 UID."""
    found = []
    for item in items:
        rows = engine.query_rows(
            "SELECT place_code, place_type, name FROM places "
            "WHERE place_code = ? OR (dhis2_uid <> '' AND LOWER(dhis2_uid) = ?)",
            (item.lower(), item.lower()),
            step="analytics place",
        )
        if not rows:
            raise QueryError(f"ou {item!r} is neither a place code nor a DHIS2 UID of a place")
        found.append((item, rows[0][0], rows[0][1], rows[0][2]))
    return found


def analytics(
    engine: Engine,
    account: Account,
    settings: Any,
    dimension: list[str],
    filter_: list[str],
    cache: Any = None,
) -> dict[str, Any]:
    dims = parse_dimensions(dimension, "dimension")
    filters = parse_dimensions(filter_, "filter")
    both = set(dims) & set(filters)
    if both:
        raise QueryError(f"{', '.join(sorted(both))} is both a dimension and a filter")
    for d, chosen in filters.items():
        if len(chosen) != 1:
            raise QueryError(f"filter {d} takes one item here, got {len(chosen)}")
    dx = dims.get("dx") or filters.get("dx")
    if not dx:
        raise QueryError("name the data with dimension=dx:ID;ID (indicator ids)")
    indicators = resolve_ids(dx)
    asked: list[str | None] = [*(dims.get("pe") or filters.get("pe") or [])]
    periods: list[str | None] = asked or [None]
    ou_items = _places(engine, dims["ou"]) if "ou" in dims else []
    filter_place = _places(engine, filters["ou"])[0][1] if "ou" in filters else None
    ids = tuple(i.id for i in indicators)
    groups: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    if ou_items:
        countries = [o for o in ou_items if o[2] == "country"]
        others = [o for o in ou_items if o[2] != "country"]
        if countries:
            groups.append(("country", countries))
        if others:
            groups.append(("place", others))
    else:
        groups.append(("", []))
    values: dict[tuple[str, str, str], Any] = {}
    for pe in periods:
        for level, members in groups:
            q = IndicatorQuery(
                ids,
                (level,) if level else (),
                pe,
                None,
                filter_place,
                False,
                within=tuple(m[1] for m in members),
            )
            table = read_indicators(
                engine, account, settings, q, channel="api.analytics", cache=cache
            )
            wanted = {m[1]: m[0] for m in members}
            for r in table.to_pylist():
                if r.get("value") is None or r.get("value_flag") is not None:
                    continue
                if level and r["place_code"] not in wanted:
                    continue
                ou = wanted.get(r["place_code"], "") if level else ""
                values[(r["indicator"], pe or "", ou)] = number(r["value"], 2)
    order = [d for d in ("dx", "pe", "ou") if d in dims]
    headers = [
        {
            "name": d,
            "column": _HEADER[d][0],
            "valueType": _HEADER[d][1],
            "type": _HEADER[d][2],
            "hidden": False,
            "meta": True,
        }
        for d in order
    ]
    headers.append(
        {
            "name": "value",
            "column": "Value",
            "valueType": "NUMBER",
            "type": "java.lang.Double",
            "hidden": False,
            "meta": False,
        }
    )
    rows = []
    for (dx_id, pe, ou), v in values.items():
        key = {"dx": dx_id, "pe": pe, "ou": ou}
        rows.append([key[d] for d in order] + [str(v)])
    items: dict[str, dict[str, str]] = {i.id: {"name": i.name} for i in indicators}
    items.update({p: {"name": p} for p in periods if p})
    items.update({o[0]: {"name": o[3], "code": o[1]} for o in ou_items})
    meta_dims: dict[str, list[str]] = {"dx": list(ids)}
    if any(periods):
        meta_dims["pe"] = [p for p in periods if p]
    if ou_items:
        meta_dims["ou"] = [o[0] for o in ou_items]
    return {
        "headers": headers,
        "metaData": {"items": items, "dimensions": meta_dims},
        "rows": rows,
        "height": len(rows),
        "width": len(headers),
    }


@router.get("/analytics", summary="A compatible subset of the DHIS2 analytics API")
def get_analytics(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    dimension: Annotated[list[str], Query(description="dx:ID;ID, pe:P;P, ou:CODE;CODE")] = [],  # noqa: B006
    filter: Annotated[list[str], Query(description="pe:P or ou:CODE")] = [],  # noqa: B006
) -> dict[str, Any]:
    hub = hub_of(request)
    return analytics(engine, account, hub.settings, dimension, filter, hub.answers)
