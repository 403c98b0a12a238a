"""Spaces of vulnerability: the ranking with its intervals, sortable and filterable; the
component multipliers can be moved and the ranking recomputes, saying which sites enter and
leave the top 10.

A GET form (works without JavaScript; with it, htmx re-renders the result as a control
changes). The ranking is the API's (``ranking_view``: ``read_hotspots`` and ``disclosed``), the
re-ranking the domain's (``corridor.hotspots.reweigh``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from corridor.access.reads import asked_countries
from corridor.access.roles import require
from corridor.api.auth import EngineDep
from corridor.api.problems import status_of
from corridor.errors import CorridorError
from corridor.hotspots.components import COMPONENTS
from corridor.web.live import disclosure_of, ranking_for, window_for
from corridor.web.ranking_view import (
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    SORTS,
    RankingForm,
    form_from,
    ranking_view,
)
from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()

COMPONENT_HELP = {
    "mobility": "travellers and the share of mobile groups among people tested",
    "burden": "positivity and sex-work presence",
    "service_gap": "the unsuppressed share of people living with HIV",
    "bridging": "journeys linking high- and low-prevalence places",
}


@router.get("/spaces")
def ranking_page(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    require(account.role, "read_hotspots", user=account.username)
    view = None
    message = ""
    status = 200
    try:
        form = form_from(request.query_params)
    except CorridorError as exc:  # an unknown sort column: the rest of the form still counts
        form = form_from({k: v for k, v in request.query_params.items() if k != "sort"})
        message, status = str(exc), status_of(exc)
    if not message:
        try:
            # a country that is no country (KNE for KEN) is said so, not shown as an empty
            # table (the check of GET /hotspots?country=; the filter stays the table's only)
            asked_countries(engine, account, form.show_country)
            # the overview's and the map's window and ranking (one cached answer per scope and
            # period); the workspace's disclosure settings, as the API's GET /hotspots (a bare
            # threshold would publish with the default method, whatever corridor.toml says)
            period = window_for(engine, account, form.period).text
            result = ranking_for(request, engine, account, period)
            view = ranking_view(result, disclosure_of(request), form)
        except CorridorError as exc:
            if status_of(exc) == 403:
                raise  # a refusal is the error page (and audited), not a form message
            # a bad period or multiplier: the form stays, with what was typed and the reason
            # (in the result's place, which htmx swaps in as well: ranking.js)
            message, status = str(exc), status_of(exc)
    params = {k: v for k, v in request.query_params.items() if k not in ("sort", "dir")}

    def sort_url(key: str) -> str:
        desc = key == form.sort and not form.descending
        return "/spaces?" + urlencode({**params, "sort": key, "dir": "desc" if desc else "asc"})

    return render(
        request,
        "ranking.html.j2",
        {
            "title": "Spaces of vulnerability",
            "form": form,
            "view": view,
            "message": message,
            "multipliers": view.multipliers if view else typed_multipliers(form),
            "countries": view.countries if view else [c for c in [form.show_country] if c],
            "place_types": view.place_types if view else [t for t in [form.place_type] if t],
            "components": COMPONENTS,
            "component_help": COMPONENT_HELP,
            "m_min": MULTIPLIER_MIN,
            "m_max": MULTIPLIER_MAX,
            "sorts": SORTS,
            "sort_url": sort_url,
        },
        account=account,
        active="ranking",
        status=status,
    )


def typed_multipliers(form: RankingForm) -> dict[str, float]:
    """The sliders' positions when the ranking could not be computed: what was typed where it
    is a multiplier in range, else 1."""
    out = {}
    for c in COMPONENTS:
        try:
            value = float(form.multipliers.get(c, "1"))
        except ValueError:
            value = 1.0
        out[c] = value if MULTIPLIER_MIN <= value <= MULTIPLIER_MAX else 1.0
    return out
