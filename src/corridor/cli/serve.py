"""``corridor serve``: build the data hub's ASGI app and run it with uvicorn. Nothing else."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from corridor.cli.common import err_console, state

log = logging.getLogger("corridor.serve")

ALLOW_SUPPRESSION_HELP = (
    "Serve a workspace whose disclosure_method is suppression. Its guarantee holds only within "
    "one output: the API and the dashboard answer any query, and small counts withheld in one "
    "answer can be worked out from others (docs/disclosure.md). Without this flag serve "
    "refuses such a workspace."
)


def refuse_suppression(folder: Path) -> str | None:
    """Why ``corridor serve`` refuses the workspace (its disclosure method is suppression), or
    None. The settings are read as the hub reads them (corridor.toml, CORRIDOR_* variables)."""
    from corridor.config import load_settings

    settings = load_settings(folder)
    if settings.disclosure_method != "suppression":
        return None
    if settings.sources.get("disclosure_method") == "environment":
        where = "the environment variable CORRIDOR_DISCLOSURE_METHOD"
        change = "unset CORRIDOR_DISCLOSURE_METHOD (or set it to cellkey)"
    else:
        where = settings.sources.get("disclosure_method", "the settings")
        change = f'set disclosure_method = "cellkey" in the [settings] of {where}'
    return (
        f"disclosure_method = suppression (set in {where}): suppression protects each output "
        "on its own, not a series of outputs, and the HTTP API and the dashboard answer any "
        "query: small counts withheld in one answer can be worked out from the others "
        "(docs/disclosure.md, 'Why not suppression'). To serve with the cell-key method (the "
        f"default), {change}; to serve with suppression all the same, pass --allow-suppression"
    )


def _trusted_proxies(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--trusted-proxies: IP addresses or networks; anything else is a usage error (exit 2)."""
    if value is None:
        return None
    from corridor.config import proxy_addresses  # light: the standard library's ipaddress

    try:
        return ",".join(proxy_addresses(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.command("serve")
@click.option(
    "-w",
    "--workspace",
    "workspace_path",
    type=click.Path(path_type=Path, file_okay=False),
    help="Workspace folder (also accepted before the command, as for every command).",
)
@click.option("--db", help="Database URL: postgresql://... (default: the workspace's DuckDB file).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8421, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (PostgreSQL only: a DuckDB file is held by one process).",
)
@click.option(
    "--prepare-seconds",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Before answering, compute each account scope's default overview, map and ranking "
    "for up to this long (0: none; one worker only). docs/dashboard.md, 'Speed and size'.",
)
@click.option(
    "--trusted-proxies",
    metavar="ADDRESSES",
    callback=_trusted_proxies,
    help="Comma-separated IP addresses or networks (CIDR) of reverse proxies whose "
    "X-Forwarded-For and X-Forwarded-Proto are believed, e.g. 127.0.0.1,10.0.0.0/24 "
    "(default: the setting api_trusted_proxies, else none: a client's address is its "
    "connection's). docs/api.md, 'Serving'.",
)
@click.option("--allow-suppression", is_flag=True, help=ALLOW_SUPPRESSION_HELP)
@click.pass_context
def serve_command(
    ctx: click.Context,
    workspace_path: Path | None,
    db: str | None,
    host: str,
    port: int,
    workers: int,
    prepare_seconds: float,
    trusted_proxies: str | None,
    allow_suppression: bool,
) -> None:
    """Serve the HTTP API (docs/api.md) on loopback by default. Needs an admin account."""
    import uvicorn

    from corridor.api.app import create_app, proxy_options
    from corridor.errors import ConfigError, QueryError
    from corridor.workspace import find_workspace

    st = state(ctx)
    folder = workspace_path or st.workspace_path or find_workspace()
    refusal = refuse_suppression(folder)
    if refusal is not None and not allow_suppression:
        raise ConfigError(f"corridor serve refuses {folder}: {refusal}")
    # refuses without an admin, says how to add one
    app = create_app(folder, db=db or st.db, trusted_proxies=trusted_proxies)
    url = app.state.hub.url
    trusted = app.state.hub.settings.api_trusted_proxies
    proxies = proxy_options(app.state.hub.settings)
    if workers > 1 and app.state.hub.is_duckdb:
        raise QueryError(
            "--workers > 1 needs PostgreSQL (--db postgresql://...): a DuckDB file is held by "
            "one process, which serves many readers and one writer"
        )
    if app.state.hub.settings.disclosure_method == "suppression":  # --allow-suppression
        log.warning(
            "serving with disclosure_method = suppression (--allow-suppression): its guarantee "
            "holds only within one output; the answers of the API and the dashboard together "
            "can give away small counts it withholds (docs/disclosure.md)"
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[bold yellow]warning:[/] listening on {host}: put a TLS-terminating proxy in "
            "front (and name it with --trusted-proxies); tokens travel in every request",
            highlight=False,
        )
    if workers == 1 and prepare_seconds > 0:
        from corridor.web.warm import prepare

        ready = prepare(app.state.hub, budget_s=prepare_seconds)
        err_console.print(
            f"prepared the overview, map and ranking of {ready.scopes} account scope(s) in "
            f"{ready.seconds:.1f} s"
            + (f" ({ready.left} left for their first user)" if ready.left else ""),
            highlight=False,
        )
    err_console.print(
        f"serving {folder} ({'DuckDB' if app.state.hub.is_duckdb else 'PostgreSQL'}) on "
        f"http://{host}:{port}/api/v1 (OpenAPI: /api/v1/openapi.json); Ctrl-C stops",
        highlight=False,
    )
    if trusted:
        err_console.print(
            f"client addresses from X-Forwarded-For when the peer is {', '.join(trusted)}",
            highlight=False,
        )
    if workers > 1:
        app.state.hub.close()
        os.environ["CORRIDOR_WORKSPACE"] = str(folder)
        os.environ["CORRIDOR_DB"] = url
        os.environ["CORRIDOR_API_TRUSTED_PROXIES"] = ",".join(trusted)  # the workers' settings
        uvicorn.run(
            "corridor.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            **proxies,
        )
        return
    if app.state.hub.is_duckdb:
        from corridor.storage.duckdb import serving

        # a CLI command on the held file then fails at once, naming this server
        with serving(url, f"pid {os.getpid()}, http://{host}:{port}"):
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **proxies)
        return
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, **proxies)
