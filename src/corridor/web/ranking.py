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

from corridor.access.roles import require
from corridor.api.auth import EngineDep
from corridor.hotspots.components import COMPONENTS
from corridor.web.live import ranking_for, threshold_of, window_for
from corridor.web.ranking_view import (
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    SORTS,
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
    form = form_from(request.query_params)
    # the overview's and the map's window and ranking (one cached answer per scope and period)
    period = window_for(engine, account, form.period).text
    result = ranking_for(request, engine, account, period)
    view = ranking_view(result, threshold_of(request), form)
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
            "components": COMPONENTS,
            "component_help": COMPONENT_HELP,
            "m_min": MULTIPLIER_MIN,
            "m_max": MULTIPLIER_MAX,
            "sorts": SORTS,
            "sort_url": sort_url,
        },
        account=account,
        active="ranking",
    )
