"""``corridor init``, ``corridor ingest`` and ``corridor status``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from corridor.cli.common import err_console, print_table, state, to_json, workspace
from corridor.contract.formats import INTAKE_FORMATS
from corridor.contract.schema import KINDS
from corridor.errors import InputError, Problem

FORMATS = INTAKE_FORMATS


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def init_command(ctx: click.Context, directory: Path) -> None:
    """Create a workspace in DIRECTORY (a settings file and a DuckDB warehouse)."""
    from corridor.workspace import init_workspace

    ws = init_workspace(directory, db=state(ctx).db)
    try:
        click.echo(f"workspace ready: {ws.path} ({ws.engine.name}: {ws.engine.url})")
    finally:
        ws.close()


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the files hold.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(FORMATS),
    help="Source format; auto detects it from the content.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Mapping file for DHIS2/ADX/DTM identifiers.",
)
@click.option(
    "--quarantine",
    is_flag=True,
    help="Import the valid rows; keep invalid ones in the quarantine table.",
)
@click.option("--dry-run", is_flag=True, help="Validate only; change nothing.")
@click.option(
    "--format-out",
    "out_fmt",
    default="table",
    type=click.Choice(["table", "json"]),
    help="How to print the outcome.",
)
@click.pass_context
def ingest_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    kind: str,
    fmt: str,
    mapping: Path | None,
    quarantine: bool,
    dry_run: bool,
    out_fmt: str,
) -> None:
    """Validate and import FILES of one kind. Atomic: any invalid row rejects everything."""
    ws = workspace(ctx)
    try:
        with err_console.status("ingesting…") as status:
            results = ws.ingest(
                list(files),
                kind,
                format=fmt,
                mapping=mapping,
                quarantine=quarantine,
                dry_run=dry_run,
                progress=lambda msg: status.update(msg),
            )
    except InputError as exc:
        if out_fmt == "json":  # a script reads the refusal on stdout too (exit 2, as always)
            click.echo(to_json(rejected_json(exc)), nl=False)
        raise
    if out_fmt == "json":
        click.echo(
            to_json(
                [r.as_dict() | {"problem_details": problem_details(r.problems)} for r in results]
            ),
            nl=False,
        )
        return
    for r in results:
        for w in r.warnings:
            err_console.print(f"warning: {r.file}: {w}", highlight=False)
        if dry_run:
            click.echo(
                f"{r.file}: valid ({r.format}, {r.rows_read} rows); dry run, nothing imported"
            )
            continue
        if r.status == "unchanged":
            click.echo(f"{r.file}: already imported (import {r.import_id}); nothing changed")
            continue
        line = (
            f"{r.file}: imported as {r.kind} ({r.format}) - import {r.import_id}: "
            f"{r.rows_read} rows read, {r.rows_new} new, {r.rows_replaced} replaced, "
            f"{r.rows_unchanged} unchanged"
        )
        if r.replaced_imports:
            line += f" (replacing values of import(s) {', '.join(map(str, r.replaced_imports))})"
        click.echo(line)
        if r.rows_quarantined:
            click.echo(f"  {r.rows_quarantined} invalid row(s) quarantined:")
            for p in r.problems[:10]:
                click.echo(f"    {p.format()}")
            if len(r.problems) > 10:
                click.echo(f"    ... and {len(r.problems) - 10} more problem(s)")


#: problems listed one by one in ``--format-out json`` (the count is always whole)
JSON_PROBLEMS = 1000


def problem_details(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """The first :data:`JSON_PROBLEMS` problems as JSON objects: file, row, column, value,
    reason (null where a problem is about the whole file)."""
    return [
        {"file": p.file, "row": p.row, "column": p.column, "value": p.value, "reason": p.reason}
        for p in problems[:JSON_PROBLEMS]
    ]


def rejected_json(exc: InputError) -> dict[str, Any]:
    """``ingest --format-out json`` of files refused whole (nothing imported)."""
    return {
        "status": "rejected",
        "summary": exc.summary,
        "problems": len(exc.problems),
        "problem_details": problem_details(exc.problems),
    }


@click.command("status")
@click.option(
    "--format", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True
)
@click.pass_context
def status_command(ctx: click.Context, fmt: str) -> None:
    """Counts per table and the latest imports."""
    info = workspace(ctx).status()
    if fmt == "json":
        click.echo(to_json(info), nl=False)
        return
    click.echo(f"workspace {info['workspace']} ({info['database']})")
    print_table(
        [{"table": k, "rows": v} for k, v in info["counts"].items()]
        + [{"table": "quarantine", "rows": info["quarantine"]}],
        ["table", "rows"],
    )
    if info["imports"]:
        print_table(
            info["imports"],
            [
                "import_id",
                "file_name",
                "kind",
                "format",
                "imported_at",
                "rows_read",
                "rows_new",
                "rows_replaced",
                "rows_quarantined",
            ],
            title="latest imports",
        )
