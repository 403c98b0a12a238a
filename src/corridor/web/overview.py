"""Overview: the report's summary, live, within the user's scope.

The top spaces of vulnerability (``read_hotspots``: scoped, audited, disclosed like the API),
where migrant and mobile groups are furthest behind host communities on the cascade, reporting
completeness and the latest outbreak situation: the report's own functions
(``corridor.reports``), run on a warehouse scoped to the user's countries, so every count has
passed the same disclosure control as the report and the API.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from corridor.access.accounts import Account
from corridor.access.agreements import list_agreements
from corridor.access.audit import append
from corridor.access.roles import allows
from corridor.access.scope import Scope, scoped
from corridor.api.auth import EngineDep, hub_of
from corridor.api.problems import status_of
from corridor.config import Settings
from corridor.errors import CorridorError
from corridor.reports.cascade import cascade, largest_gaps
from corridor.reports.hotspot_view import hotspot_rows
from corridor.reports.html import Window, country_names
from corridor.reports.outbreak import outbreaks
from corridor.reports.protect import disclosure_method, small_counts
from corridor.reports.quality import completeness
from corridor.storage.engine import Engine
from corridor.web.live import cached, ranking_for, window_for
from corridor.web.session import PageAccount
from corridor.web.site import page_router, render

router = page_router()
TOP_SITES = 10


def summary_key(scope: Scope, window: Window, settings: Settings) -> tuple[Any, ...]:
    """The answer cache's key of the report's summary views (without the data version)."""
    return ("web.overview", scope, window.text, settings.suppression_threshold)


def summary_views(
    base: Engine, scope: Scope, window: Window, settings: Settings
) -> tuple[Any, ...]:
    """The report's summary views within ``scope``: cascade, completeness, outbreaks."""
    with scoped(base, scope) as eng:
        names = country_names(eng)
        return (
            cascade(eng, window.text, settings, names),
            completeness(eng, window.start, window.end, names, settings.suppression_threshold),
            outbreaks(eng, window.start, window.end, settings, names),
        )


def summary(
    engine: Engine, account: Account, request: Request, period: str | None
) -> dict[str, Any]:
    """What the overview shows for ``account`` (each number already disclosure-controlled)."""
    hub = hub_of(request)
    settings = hub.settings
    threshold = settings.suppression_threshold
    window = window_for(engine, account, period)

    def compute(base: Engine) -> tuple[Any, ...]:
        return summary_views(base, account.scope, window, settings)

    def views_of() -> tuple[Any, ...]:
        return cached(request, engine, summary_key(account.scope, window, settings), compute)

    # the ranking and the report's summary are independent: on a cold cache they are computed
    # side by side (the queries release the GIL) on a second connection, idle or new (a cold
    # server has opened only one); never waiting for one, so that busy requests cannot hold the
    # pool waiting for each other
    own = hub.pool.take_spare()
    if own is None:
        views = views_of()
        result = ranking_for(request, engine, account, window.text)
    else:
        try:
            with ThreadPoolExecutor(max_workers=1) as side:
                ranked = side.submit(ranking_for, request, own, account, window.text)
                views = views_of()
                result = ranked.result()
        finally:
            hub.pool.put(own)
    cascade_view, (quarters, complete, missing, missing_more), outbreak_views = views
    sites = hotspot_rows(result, settings)[:TOP_SITES]
    append(
        engine,
        account.username,
        "web.overview",
        {"period": window.text, "scope": account.scope.describe()},
        cells=len(complete) * 3 + sum(len(c.rows) for c in cascade_view.countries),
        suppressed=True,
    )
    return {
        "period": window.text,
        "period_start": window.start.isoformat(),
        "period_end": window.end.isoformat(),
        "threshold": threshold,
        # "from 1 to 9", "of 1", or "" when the threshold (1) withholds no count for its size
        "small_counts": small_counts(settings),
        "disclosure_method": disclosure_method(settings),
        "sites": sites,
        "level": round(100 * result.level),
        "rate_coverage": result.rate_interval_coverage_text,
        "top": result.top,
        "gaps": largest_gaps(cascade_view),
        "cascade_period": cascade_view.period,
        "quarters": quarters,
        "completeness": complete,
        "missing_sites": missing,
        "missing_more": missing_more,
        "outbreaks": [latest_situation(o) for o in outbreak_views],
    }


def latest_situation(o: Any) -> dict[str, Any]:
    """An outbreak's latest picture: cases per country in the window, the last sites reached."""
    return {
        "disease": o.disease,
        "countries": [(c.name, c.total) for c in o.curves],
        "latest": o.latest,  # the sites reached last, latest first (not of the first shown)
        "reached": len(o.arrivals) + o.more_sites,
        "curves": o.curves,
        "view": o,
    }


@router.get("/overview")
def overview(
    request: Request, engine: EngineDep, account: PageAccount, period: str | None = None
) -> Response:
    if not allows(account.role, "read_hotspots"):
        # partners read what their sharing agreements grant, nothing of the report
        agreements = [a for a in list_agreements(engine, account.username)]
        return render(
            request,
            "overview_partner.html.j2",
            {"title": "Overview", "agreements": agreements},
            account=account,
            active="overview",
        )
    try:
        context = summary(engine, account, request, period)
    except CorridorError as exc:
        if not period or status_of(exc) == 403:
            raise  # no data at all, or a refusal: the error page (a refusal audited)
        # a period typed in the form that cannot be shown: the form stays, with the reason
        return render(
            request,
            "overview.html.j2",
            {"title": "Overview", "message": str(exc), "period": period},
            account=account,
            active="overview",
            status=status_of(exc),
        )
    return render(
        request,
        "overview.html.j2",
        {"title": "Overview", "message": "", **context},
        account=account,
        active="overview",
    )
