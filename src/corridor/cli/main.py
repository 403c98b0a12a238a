"""The ``corridor`` command: a click group; user errors print without a traceback and exit 2.

Fast start: ``corridor --help`` must answer in well under 0.3 s, so this module imports nothing
heavy (no pyarrow, polars, duckdb, numpy, pandas, networkx, jinja2). Subcommands are listed in
``COMMANDS`` as ``"name": "module:attribute"`` and their module is imported only when that
subcommand is looked up (see :class:`corridor.cli.lazy.LazyGroup`). A subcommand's module itself
imports heavy libraries inside the command function, never at module level, so that its
``--help`` stays fast too; ``tests/cli/test_cli_startup.py`` checks both.

To add a command: write ``corridor/cli/<noun>.py`` with a ``@click.command`` and add one line to
``COMMANDS`` below.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from corridor import __version__
from corridor.cli.common import State, err_console
from corridor.cli.lazy import LazyGroup
from corridor.errors import CorridorError, InputError

# name -> "module:attribute" of the click command; imported only when the command is used.
# `corridor --help` lists them in this order.
COMMANDS: dict[str, str] = {
    "init": "corridor.cli.intake:init_command",
    "ingest": "corridor.cli.intake:ingest_command",
    "status": "corridor.cli.intake:status_command",
    "imports": "corridor.cli.imports:imports_command",
    "quarantine": "corridor.cli.imports:quarantine_command",
    "indicators": "corridor.cli.indicators:indicators_command",
    "hotspots": "corridor.cli.hotspots:hotspots_command",
    "report": "corridor.cli.report:report_command",
    "demo": "corridor.cli.demo:demo_command",
    "serve": "corridor.cli.serve:serve_command",
    "users": "corridor.cli.access:users_group",
    "tokens": "corridor.cli.access:tokens_group",
    "agreements": "corridor.cli.access:agreements_group",
    "audit": "corridor.cli.access:audit_group",
    "backup": "corridor.cli.backup:backup_command",
    "restore": "corridor.cli.backup:restore_command",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CORRIDOR_WORKSPACE",
    help="Workspace folder (default: $CORRIDOR_WORKSPACE, else found from here upward).",
)
@click.option(
    "--db",
    envvar="CORRIDOR_DB",
    help="Database URL: postgresql://... (default: the workspace's DuckDB file).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for SQL steps).")
@click.version_option(__version__, prog_name="corridor")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, db: str | None, verbose: int) -> None:
    """Corridor: health of migrants and mobile populations along transport corridors."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    st = State(workspace, db or None)
    ctx.obj = st
    ctx.call_on_close(st.close)


def _is_storage_error(exc: BaseException) -> bool:
    """A StorageError, without importing the storage layer (and pyarrow) to find out."""
    engine = sys.modules.get("corridor.storage.engine")
    return engine is not None and isinstance(exc, engine.StorageError)


def main(argv: list[str] | None = None) -> None:
    """Entry point: exit 0 on success, 2 on user error (CorridorError or bad flags)."""
    try:
        cli.main(args=argv, prog_name="corridor", standalone_mode=False)
    except CorridorError as exc:
        if isinstance(exc, InputError):
            err_console.print("[bold red]error:[/] input rejected", highlight=False)
            click.echo(str(exc), err=True)
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if not _is_storage_error(exc):
            raise
        # a bug, not a user error: say so, exit 1
        click.echo(f"internal error (please report it): {exc}", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
