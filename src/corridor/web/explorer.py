"""The indicator explorer: pick indicators, dimensions, period and filters; a table and a chart;
download exactly what is shown as CSV or XLSX.

The answer is the API's (``explorer_query.explore``: ``read_indicators`` then the API's JSON
writer), so the page, its CSV and its XLSX hold what ``GET /api/v1/indicators`` answers for the
same query, disclosure-controlled, scoped and audited the same way. A GET form: it works without
JavaScript, and the URL of a query can be bookmarked or shared (the answer still depends on who
opens it).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from corridor.access.audit import append
from corridor.access.roles import require
from corridor.api.auth import EngineDep, hub_of
from corridor.api.problems import denied_detail, status_of
from corridor.errors import CorridorError
from corridor.web.explorer_chart import bar_chart
from corridor.web.explorer_query import (
    DIMENSION_CHOICES,
    INDICATOR_CHOICES,
    NUMBERS,
    api_query_string,
    csv_of,
    defaults_for,
    explore,
    query_from_form,
)
from corridor.web.explorer_xlsx import xlsx_of
from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file_name(request: Request, ext: str) -> str:
    return f"corridor-indicators.{ext}"


@router.get("/explorer")
def explorer_page(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    require(account.role, "read_indicators", user=account.username)
    defaults = defaults_for(engine, account)
    q = query_from_form(request.query_params, defaults)
    hub = hub_of(request)
    answer = None
    message = ""
    status = 200
    try:
        answer = explore(engine, account, hub.settings, q, cache=hub.answers)
    except CorridorError as exc:  # a bad or ungranted query: the form stays, with the reason
        message, status = str(exc), status_of(exc)
        if status == 403:  # a refusal is audited as on every other page (``web.denied``)
            append(engine, account.username, "web.denied", denied_detail(request, exc), cells=0)
    chart = bar_chart(answer.rows) if answer is not None and answer.rows else None
    return render(
        request,
        "explorer.html.j2",
        {
            "title": "Indicator explorer",
            "q": q,
            "indicators": INDICATOR_CHOICES,
            "dimensions": DIMENSION_CHOICES,
            "answer": answer,
            "chart": chart,
            "numbers": NUMBERS,
            "message": message,
            "grants": defaults.grants,
            "query_string": api_query_string(q),
        },
        account=account,
        active="explorer",
        status=status,
    )


@router.get("/explorer.csv")
def explorer_csv(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    q = query_from_form(request.query_params, defaults_for(engine, account))
    hub = hub_of(request)
    text = csv_of(engine, account, hub.settings, q, cache=hub.answers)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{_file_name(request, "csv")}"'},
    )


@router.get("/explorer.xlsx")
def explorer_xlsx(request: Request, engine: EngineDep, account: PageAccount) -> Response:
    q = query_from_form(request.query_params, defaults_for(engine, account))
    hub = hub_of(request)
    answer = explore(engine, account, hub.settings, q, cache=hub.answers)
    return Response(
        xlsx_of(answer),
        media_type=XLSX_TYPE,
        headers={"content-disposition": f'attachment; filename="{_file_name(request, "xlsx")}"'},
    )
