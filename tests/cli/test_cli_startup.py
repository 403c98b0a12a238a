"""A fast start: ``import corridor.cli`` and every command's ``--help`` load no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clihelp import run
from corridor.cli.main import COMMANDS, cli

HEAVY = (
    "pyarrow",
    "polars",
    "duckdb",
    "networkx",
    "jinja2",
    "numpy",
    "pandas",
    "psycopg",
    "rich",
)

PROBE = """
import json, sys
import click
import corridor.cli.main as m
ctx = click.Context(m.cli)
for name in m.COMMANDS:
    m.cli.get_command(ctx, name).get_help(click.Context(m.cli.get_command(ctx, name)))
m.cli.get_help(ctx)
heavy = %r
print(json.dumps(sorted({k.split(".")[0] for k in sys.modules} & set(heavy))))
"""


def test_help_of_every_command_imports_no_heavy_library() -> None:
    """Run in a fresh interpreter: the test process itself has imported everything."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out) == []


def test_import_corridor_is_light_and_api_still_there() -> None:
    code = (
        "import sys, corridor; light = 'pyarrow' not in sys.modules; "
        "ws = corridor.open_workspace; print(light, 'pyarrow' in sys.modules, ws.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["True", "True", "open_workspace"]


def test_lazy_table_names_real_commands(capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "--help")
    assert r.code == 0
    for name in COMMANDS:
        assert name in r.out
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
        assert run(capsys, name, "--help").code == 0


def test_choice_lists_repeated_in_the_cli_agree_with_the_domain() -> None:
    from corridor.cli import hotspots as cli_hotspots
    from corridor.cli import indicators as cli_indicators
    from corridor.cli import intake as cli_intake
    from corridor.cli import report as cli_report
    from corridor.hotspots import COMPONENTS
    from corridor.indicators import export, registry
    from corridor.intake import formats
    from corridor.reports import html

    assert cli_intake.FORMATS == formats.FORMATS
    assert cli_indicators.FORMATS == export.FORMATS
    assert cli_indicators.DIMENSIONS == registry.DIMENSIONS
    assert cli_hotspots.COMPONENTS == COMPONENTS
    assert (cli_report.DEFAULT_TITLE, cli_report.REPORT_FILE) == (
        html.DEFAULT_TITLE,
        html.REPORT_FILE,
    )


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    r = run(capsys, "no-such-command")
    assert r.code == 2 and "No such command" in r.err
