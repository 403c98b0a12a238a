"""Wiring of the dashboard: navigation, templates, the page route class and the static mount.

A page is one module in ``corridor.web`` (named in ``PAGE_MODULES``) that defines ``router =
page_router()`` and renders one template with :func:`render`. Modules not present yet are
skipped, so the navigation can name every page before all of them exist.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from corridor import __version__
from corridor.access.accounts import Account
from corridor.access.roles import allows
from corridor.api.auth import CSRF_COOKIE
from corridor.api.problems import audit_denied, status_of
from corridor.errors import CorridorError

STATIC_PREFIX = "/static"
#: the page modules, in navigation order; dash2's pages join by existing
PAGE_MODULES = ("overview", "map", "explorer", "ranking", "data", "admin")

#: scripts and styles only from this server; inline style attributes are allowed (the report's
#: SVG charts use them), inline scripts are not
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)


@dataclass(frozen=True, slots=True)
class NavItem:
    slug: str
    label: str
    path: str
    action: str  # the permission (corridor.access.roles.ACTIONS) the page needs

    def visible_to(self, account: Account) -> bool:
        return allows(account.role, self.action)


NAV: tuple[NavItem, ...] = (
    NavItem("overview", "Overview", "/overview", "read_places"),
    NavItem("map", "Map", "/map", "read_hotspots"),
    NavItem("explorer", "Indicator explorer", "/explorer", "read_indicators"),
    NavItem("ranking", "Spaces of vulnerability", "/spaces", "read_hotspots"),
    NavItem("data", "Data", "/data", "read_imports"),
    NavItem("admin", "Admin", "/admin", "manage_accounts"),
)


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login page."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        # the dashboard's templates, then the report's (its macros: cells, charts, curves)
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("corridor.web", "templates"),
                jinja2.PackageLoader("corridor.reports", "templates"),
            ]
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static"] = lambda path: f"{STATIC_PREFIX}/{path}"
    env.globals["version"] = __version__
    return env


TEMPLATES = _environment()


def compile_templates() -> int:
    """Compile every dashboard template (and the report macros they import) into the
    environment's cache, so that no page's first render pays for it; returns how many."""
    names = [n for n in TEMPLATES.list_templates() if n.endswith(".j2")]
    for name in names:
        TEMPLATES.get_template(name)
    return len(names)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    account: Account | None = None,
    active: str = "",
    status: int = 200,
) -> HTMLResponse:
    """A page: ``template`` (in corridor/web/templates) rendered with the navigation the
    account may see, the CSRF token for its forms and ``context``."""
    nav = [n for n in NAV if account is not None and n.visible_to(account)]
    html = TEMPLATES.get_template(template).render(
        request_path=request.url.path,
        account=account,
        nav=nav,
        active=active,
        csrf=request.cookies.get(CSRF_COOKIE, ""),
        **(context or {}),
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["content-security-policy"] = CSP
    response.headers["cache-control"] = "no-store"
    return response


def error_page(request: Request, exc: CorridorError, account: Account | None = None) -> Response:
    status = status_of(exc)
    titles = {403: "Not allowed", 404: "Not found", 429: "Too many attempts"}
    return render(
        request,
        "error.html.j2",
        {"title": titles.get(status, "Cannot show this page"), "message": str(exc)},
        account=account,
        status=status,
    )


def login_redirect(request: Request) -> Response:
    """To the login page, and back to the page afterwards. A page asks with a 303; an htmx
    request (a panel, a re-ranking) gets an ``HX-Redirect`` to the login page instead: a
    browser follows a 303 inside the request itself, and htmx would put the whole login page
    into the panel (and the login would return to that bare fragment), so the page the user
    is on (``HX-Current-URL``) is the one to come back to."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.headers.get("hx-request"):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        same_host = not current.netloc or current.netloc == request.url.netloc
        page = current.path if same_host and current.path.startswith("/") else "/"
        page += f"?{current.query}" if same_host and current.query else ""
        response = Response(status_code=200)
        response.headers["hx-redirect"] = f"/login?next={quote(page, safe='')}"
        response.headers["cache-control"] = "no-store"
        return response
    return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)


class PageRoute(APIRoute):
    """Routes of the dashboard: a missing session redirects to the login page and a user error
    (a CorridorError) is an HTML page with its message, never the API's JSON problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except CorridorError as exc:
                if status_of(exc) == 403:  # who was refused what, in the audit trail
                    await audit_denied(request, exc, "web")
                return error_page(request, exc, getattr(request.state, "account", None))

        return page_handler


def page_router() -> APIRouter:
    """The router a page module defines (``router = page_router()``)."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def page_modules() -> list[str]:
    return [
        name
        for name in PAGE_MODULES
        if importlib.util.find_spec(f"corridor.web.{name}") is not None
    ]


def mount(app: FastAPI) -> None:
    """Add the dashboard to the API's app: ``/`` and the pages, ``/login``, ``/logout`` and the
    vendored and own static files under ``/static``."""
    from corridor.web import session

    app.include_router(session.router)
    for name in page_modules():
        module = importlib.import_module(f"corridor.web.{name}")
        app.include_router(module.router)
    compile_templates()  # code, not data: nothing about any user is computed here
    app.mount(
        STATIC_PREFIX,
        StaticFiles(directory=str(files("corridor.web") / "static")),
        name="static",
    )
