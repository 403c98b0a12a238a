"""The ``corridor`` command: a click group; user errors print without a traceback and exit 2."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from corridor import __version__
from corridor.cli.access import agreements_group, audit_group, tokens_group, users_group
from corridor.cli.backup import backup_command, restore_command
from corridor.cli.common import State, err_console
from corridor.cli.demo import demo_command
from corridor.cli.hotspots import hotspots_command
from corridor.cli.indicators import indicators_command
from corridor.cli.intake import ingest_command, init_command, status_command
from corridor.cli.report import report_command
from corridor.cli.serve import serve_command
from corridor.errors import CorridorError, InputError
from corridor.storage.engine import StorageError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


cli.add_command(init_command)
cli.add_command(ingest_command)
cli.add_command(status_command)
cli.add_command(demo_command)
cli.add_command(report_command)
cli.add_command(indicators_command)
cli.add_command(hotspots_command)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(serve_command)
cli.add_command(users_group)
cli.add_command(tokens_group)
cli.add_command(agreements_group)
cli.add_command(audit_group)


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
    except StorageError as exc:  # a bug, not a user error: say so, exit 1
        click.echo(f"internal error (please report it): {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
