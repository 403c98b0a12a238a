"""``corridor report``: write the self-contained HTML report of the workspace."""

from __future__ import annotations

from pathlib import Path

import click

from corridor.cli.common import err_console, workspace

# corridor.reports.html's DEFAULT_TITLE and REPORT_FILE, repeated so that --help need not import
# jinja2 and the report's engine; tests/cli/test_cli_startup.py checks that they agree.
DEFAULT_TITLE = "Corridor report: health of migrants and mobile populations"
REPORT_FILE = "report.html"


@click.command("report")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Where to write the HTML file (default: <workspace>/{REPORT_FILE}).",
)
@click.option(
    "--period",
    help="Period or range: 2024, 2024Q2, 2023Q3:2024Q2 (default: the 12 months ending with "
    "the latest data).",
)
@click.option("--title", default=DEFAULT_TITLE, show_default=True, help="Title of the report.")
@click.option(
    "--draws",
    default=500,
    show_default=True,
    type=click.IntRange(min=0),
    help="Uncertainty draws of the ranking (0: no intervals).",
)
@click.option(
    "--seed", default=1, show_default=True, type=click.IntRange(min=0), help="Seed of the draws."
)
@click.pass_context
def report_command(
    ctx: click.Context,
    out: Path | None,
    period: str | None,
    title: str,
    draws: int,
    seed: int,
) -> None:
    """Write one self-contained HTML report (map, ranked sites, cascade, trends, data quality).

    The file needs no network and prints to PDF. Every count and rate in it passes the
    workspace's disclosure control (suppression_threshold).
    """
    from corridor.reports.html import write_report

    ws = workspace(ctx)
    with err_console.status("rendering the report", spinner="dots"):
        path = write_report(ws, out, period=period, title=title, draws=draws, seed=seed)
    click.echo(f"report written to {path}")
