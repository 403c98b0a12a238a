"""``corridor imports`` and ``corridor quarantine``: provenance and rejected rows, read back."""

from __future__ import annotations

from typing import Any

import click

from corridor.cli.common import err_console, print_table, to_csv, to_json, workspace
from corridor.contract.schema import KINDS

FORMATS = ("table", "csv", "json")


def _emit(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, table: list[str]) -> None:
    if fmt == "json":
        click.echo(to_json(rows), nl=False)
    elif fmt == "csv":
        flat = [
            {k: (";".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()}
            for r in rows
        ]
        click.echo(to_csv(flat, columns), nl=False)
    else:
        print_table(rows, table)


@click.command("imports")
@click.option("--kind", type=click.Choice(KINDS), help="Only imports of this kind.")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(FORMATS))
@click.pass_context
def imports_command(ctx: click.Context, kind: str | None, fmt: str) -> None:
    """List imports with their provenance: file, SHA-256, kind, format, user, time, row counts
    and the earlier imports whose values they replaced."""
    from corridor.intake.provenance import IMPORT_COLUMNS, list_imports

    rows = list_imports(workspace(ctx).engine, kind=kind)
    if fmt == "table":
        if not rows:
            err_console.print("no imports yet: see `corridor ingest --help`")
            return
        for r in rows:
            r["sha256"] = r["sha256"][:12]
            r["replaced_imports"] = ", ".join(map(str, r["replaced_imports"]))
    _emit(
        rows,
        IMPORT_COLUMNS,
        fmt,
        [
            "import_id",
            "file_name",
            "sha256",
            "kind",
            "format",
            "user_name",
            "imported_at",
            "rows_read",
            "rows_new",
            "rows_replaced",
            "rows_unchanged",
            "rows_quarantined",
            "replaced_imports",
        ],
    )
    if fmt == "table":
        err_console.print("sha256 shortened to 12 characters; --format csv/json gives it whole")


@click.command("quarantine")
@click.option("--import", "import_id", type=int, metavar="ID", help="Only rows of this import.")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(FORMATS))
@click.pass_context
def quarantine_command(ctx: click.Context, import_id: int | None, fmt: str) -> None:
    """List quarantined rows (kept by `ingest --quarantine`) with file, row, column, value and
    reason. Rows are data-row numbers: the first row after the header is row 1."""
    from corridor.intake.provenance import QUARANTINE_COLUMNS, list_quarantine

    rows = list_quarantine(workspace(ctx).engine, import_id=import_id)
    if fmt == "table" and not rows:
        err_console.print("no quarantined rows")
        return
    _emit(rows, QUARANTINE_COLUMNS, fmt, list(QUARANTINE_COLUMNS))
