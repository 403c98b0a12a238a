"""The app factory: ``create_app(workspace)`` builds the ASGI application of the data hub.

Routes live in routes_read, routes_data and analytics; they parse, call the domain functions of
``corridor.access`` (which call the CLI's own: compute_indicators, rank_sites, ingest, publish)
and serialise. ``corridor serve`` only builds this app and runs it with uvicorn.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from corridor import __version__
from corridor.access.accounts import admin_exists
from corridor.api import analytics, routes_data, routes_read
from corridor.api.fastlane import CachedAnswers
from corridor.api.hub import Hub
from corridor.api.problems import RequestIdAndHeaders, RequestIds, UploadLimit, install_handlers
from corridor.config import SETTINGS_FILE, Settings, load_settings
from corridor.errors import WorkspaceError
from corridor.storage.engine import connect
from corridor.storage.migrations import migrate
from corridor.workspace import WAREHOUSE_FILE, find_workspace

PREFIX = "/api/v1"
POOL_DUCKDB = 40  # anyio's default number of worker threads: no request waits for a connection
POOL_PG = 20
NO_ADMIN = (
    "no admin account in this warehouse: create one first with "
    "`corridor users add NAME --role admin` (the password is read from standard input, or "
    "generated and printed once)"
)


def create_app(
    workspace: str | Path | None = None,
    *,
    db: str | None = None,
    pool_size: int | None = None,
    require_admin: bool = True,
    trusted_proxies: str | None = None,
) -> FastAPI:
    """The hub's app. ``trusted_proxies`` (``corridor serve --trusted-proxies``) overrides the
    setting ``api_trusted_proxies``: run the app with ``proxy_options(app.state.hub.settings)``."""
    folder = Path(workspace) if workspace is not None else find_workspace()
    if not (folder / SETTINGS_FILE).is_file():
        raise WorkspaceError(f"{folder} is not a Corridor workspace (no {SETTINGS_FILE})")
    settings = load_settings(folder, overrides={"db": db, "api_trusted_proxies": trusted_proxies})
    url = settings.db or str(folder / WAREHOUSE_FILE)
    first = connect(url)
    try:
        migrate(first)
        if require_admin and not admin_exists(first):
            raise WorkspaceError(NO_ADMIN)
    finally:
        first.close()
    if pool_size is None:  # DuckDB: as many as the thread pool's threads (40); PostgreSQL: fewer
        # per worker process, so that several workers stay under the server's max_connections
        pool_size = POOL_DUCKDB if not url.startswith(("postgresql://", "postgres://")) else POOL_PG
    hub = Hub(folder, settings, url, pool_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        hub.close()

    app = HubApp(
        title="Corridor data hub",
        version=__version__,
        description="Indicators, spaces of vulnerability and intake for the health of migrants "
        "and mobile populations, with country scopes, sharing agreements, an audit trail and "
        "disclosure control. Authenticate with `Authorization: Bearer TOKEN`.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,  # the interactive pages load scripts from the internet: off
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    install_handlers(app)
    app.include_router(routes_data.public, prefix=PREFIX, tags=["hub"])
    app.include_router(routes_data.router, prefix=PREFIX, tags=["hub"])
    app.include_router(routes_read.router, prefix=PREFIX, tags=["data"])
    app.include_router(analytics.router, prefix=PREFIX, tags=["dhis2"])
    from corridor.web.site import mount as mount_dashboard

    mount_dashboard(app)  # the web dashboard: pages, login/logout, /static (corridor.web)
    origins = [o.strip() for o in str(settings["api_cors_origins"]).split(",") if o.strip()]
    if origins:  # CORS is off unless origins are named
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-csrf-token"],
        )
    # uploads (the API's and the dashboard's Data page) up to the setting; other bodies 1 MB
    app.add_middleware(
        UploadLimit, max_bytes=hub.max_upload, paths=(f"{PREFIX}/imports", "/data/upload")
    )
    ids = RequestIds()
    app.add_middleware(RequestIdAndHeaders, ids=ids)
    app.fast = CachedAnswers(hub, ids, cors=bool(origins))
    return app


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for the client address and scheme of a request
    (``request.client``, read by the login limit and the audit trail of both logins, and
    ``request.url.scheme``, which makes the session cookies Secure): the connection's own,
    unless its peer is one of the trusted proxies of the setting ``api_trusted_proxies``, whose
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers then count (uvicorn's
    ProxyHeadersMiddleware, which takes the nearest address that is not a trusted proxy).
    uvicorn's own default (trust 127.0.0.1 and ::1, or ``$FORWARDED_ALLOW_IPS``) is never used:
    any local client could otherwise choose the address it is audited and limited under."""
    trusted = settings.api_trusted_proxies
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted)}


class HubApp(FastAPI):
    """The FastAPI application with cached answers served in front of it: a request that
    ``corridor.api.fastlane`` can answer from memory never enters FastAPI's layers."""

    fast: CachedAnswers | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast is not None and await self.fast.answer(scope, send):
            return
        await super().__call__(scope, receive, send)


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory`` with several workers: the workspace and database come from
    CORRIDOR_WORKSPACE and CORRIDOR_DB (set by ``corridor serve``)."""
    return create_app(os.environ.get("CORRIDOR_WORKSPACE"), db=os.environ.get("CORRIDOR_DB"))
