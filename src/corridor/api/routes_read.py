"""Read routes: status, indicators, hotspots, places. Thin: parse, call access.reads, serialise."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from corridor.access.reads import IndicatorQuery, read_hotspots, read_indicators, read_places
from corridor.access.reads import read_status as status_of
from corridor.api.auth import AccountDep, EngineDep, hub_of
from corridor.api.problems import ERRORS
from corridor.api.respond import (
    CSV_TYPE,
    JSON_OR_CSV,
    Format,
    clean_rows,
    csv_text,
    deep_clean,
    table_response,
    wants_csv,
)
from corridor.indicators.export import export

router = APIRouter(responses=ERRORS)

FormatQ = Annotated[Format | None, Query(description="json (default) or csv")]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


@router.get("/status", summary="Row counts and the latest imports, within your scope")
def get_status(request: Request, engine: EngineDep, account: AccountDep) -> dict[str, Any]:
    hub = hub_of(request)
    return status_of(engine, account, channel="api", cache=hub.answers, settings=hub.settings)


@router.get(
    "/indicators",
    summary="Indicators (the CLI's `corridor indicators`), disclosure-controlled",
    responses=JSON_OR_CSV,
)
def get_indicators(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    indicator: Annotated[str, Query(description="ids, comma-separated, or cascade / all")],
    by: Annotated[str, Query(description="dimensions, comma-separated")] = "",
    period: Annotated[str | None, Query(description="2024, 2024Q2, 2024-05, 2023Q1:2024Q4")] = None,
    country: Annotated[
        str | None,
        Query(
            description="ISO 3166-1 alpha-3 country codes (or XKX), comma-separated; a code "
            "that is no country is a 400 naming the nearest codes"
        ),
    ] = None,
    place: Annotated[str | None, Query(description="a place code: it and its descendants")] = None,
    totals: bool = True,
    unsuppressed: Annotated[
        bool, Query(description="no disclosure control (admins; analysts with the grant)")
    ] = False,
    format: FormatQ = None,
) -> Response:
    q = IndicatorQuery(_split(indicator), _split(by), period, country, place, totals, unsuppressed)
    hub = hub_of(request)
    table = read_indicators(engine, account, hub.settings, q, channel="api", cache=hub.answers)
    fmt = "csv" if wants_csv(request, format) else "json"

    def text(answer: Any) -> bytes:
        return export(answer, fmt, unsuppressed=unsuppressed, query=q.as_dict()).encode()

    # a published answer from the cache is serialised once per format and query wording
    body = text(table) if unsuppressed else hub.answers.derived(table, (fmt, repr(q)), text)
    return Response(body, media_type=CSV_TYPE if fmt == "csv" else "application/json")


def _hotspots(
    request: Request,
    engine: Any,
    account: Any,
    period: str | None,
    country: str | None,
    draws: int,
    seed: int,
    place: str | None = None,
) -> Any:
    return read_hotspots(
        engine,
        account,
        hub_of(request).settings,
        period=period,
        country=country,
        draws=draws,
        seed=seed,
        channel="api",
        cache=hub_of(request).answers,
        place=place,
    )


@router.get(
    "/hotspots",
    summary="The spaces-of-vulnerability ranking within your scope",
    responses=JSON_OR_CSV,
)
def get_hotspots(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    period: str | None = None,
    country: str | None = None,
    top: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    draws: Annotated[int, Query(ge=0, le=2000)] = 200,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 1,
    format: FormatQ = None,
) -> Response:
    result = _hotspots(request, engine, account, period, country, draws, seed)
    rows = clean_rows(result.disclosed(hub_of(request).settings).to_pylist())
    if top is not None:
        rows = rows[:top]
    columns = list(rows[0]) if rows else ["rank", "place_code", "name", "score"]
    extra = {
        "period": result.period,
        "weights": result.weights,
        "draws": result.draws,
        "seed": result.seed,
        "interval_level": result.level,
        "notes": result.notes,
    }
    return table_response(request, format, rows, columns, extra, key="sites")


@router.get(
    "/hotspots/{place_code}",
    summary="Why a site ranks where it does",
    response_model=None,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
def get_hotspot(
    request: Request,
    engine: EngineDep,
    account: AccountDep,
    place_code: str,
    period: str | None = None,
    draws: Annotated[int, Query(ge=0, le=2000)] = 200,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 1,
) -> Response:
    from corridor.access.reads import check_place_in_scope

    check_place_in_scope(engine, account, place_code, hub_of(request).answers)
    result = _hotspots(request, engine, account, period, None, draws, seed, place_code)
    settings = hub_of(request).settings

    def text(answer: Any) -> bytes:
        info = deep_clean(answer.explain(place_code, threshold=settings))
        return json.dumps(info, ensure_ascii=False, allow_nan=False).encode()

    # the explanation of a cached ranking is made once per site (and again by an import's warming)
    body = hub_of(request).answers.derived(result, ("explain", place_code), text)
    return Response(body, media_type="application/json")


@router.get("/places", summary="The place registry within your scope", responses=JSON_OR_CSV)
def get_places(
    request: Request, engine: EngineDep, account: AccountDep, format: FormatQ = None
) -> Response:
    hub = hub_of(request)
    rows = read_places(engine, account, channel="api", cache=hub.answers)
    columns = [
        "place_code",
        "name",
        "place_type",
        "parent_code",
        "country_code",
        "lat",
        "lon",
        "corridor",
        "dhis2_uid",
    ]
    fmt: Format = "csv" if wants_csv(request, format) else "json"

    def text(answer: Any) -> bytes:  # what table_response writes, kept beside the answer
        if fmt == "csv":
            return csv_text(answer, columns).encode()
        return json.dumps({"places": clean_rows(answer)}, default=str).encode()

    return Response(
        hub.answers.derived(rows, ("places", fmt), text),
        media_type=CSV_TYPE if fmt == "csv" else "application/json",
    )
