"""``corridor backup`` and ``corridor restore``: a warehouse to Parquet files and back."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from corridor.cli.common import err_console, state, workspace

if TYPE_CHECKING:  # storage and the workspace pull in pyarrow: imported when a command runs
    from corridor.storage.engine import Engine


@click.command("backup")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def backup_command(ctx: click.Context, directory: Path) -> None:
    """Write every table of the warehouse to DIRECTORY (Parquet files and a manifest).

    Works on DuckDB and PostgreSQL; restore it with `corridor restore DIRECTORY`.
    """
    from corridor.storage.backup import backup as write_backup

    ws = workspace(ctx)
    with err_console.status("backing up…"):
        manifest = write_backup(ws.engine, directory)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"backup written to {directory}: {len(manifest['tables'])} tables, {rows} rows")


@click.command("restore")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the warehouse: DuckDB moves the current file (damaged or not) aside, "
    "PostgreSQL deletes the current rows, in the restore's transaction.",
)
@click.pass_context
def restore_command(ctx: click.Context, directory: Path, replace: bool) -> None:
    """Restore a backup made by `corridor backup` into this workspace's warehouse."""
    from corridor.config import load_settings
    from corridor.storage.backup import read_manifest, restore
    from corridor.workspace import WAREHOUSE_FILE, find_workspace, open_workspace

    read_manifest(directory)  # a bad backup is refused before anything is moved
    st = state(ctx)
    folder = st.workspace_path or find_workspace()
    settings = load_settings(folder, overrides={"db": st.db})
    if replace and not settings.db:
        file = folder / WAREHOUSE_FILE
        if file.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = file.with_name(f"{WAREHOUSE_FILE}.replaced-{stamp}")
            os.replace(file, aside)
            wal = file.with_name(WAREHOUSE_FILE + ".wal")
            if wal.exists():
                os.replace(wal, aside.with_name(aside.name + ".wal"))
            err_console.print(f"moved the old warehouse aside to {aside}", highlight=False)
    ws = open_workspace(folder, db=st.db)
    try:
        if replace and settings.db:
            restore_replacing(ws.engine, directory)
            counts = None
        else:
            counts = restore(ws.engine, directory)
    finally:
        ws.close()
    total = "" if counts is None else f": {sum(counts.values())} rows"
    click.echo(f"restored {directory} into {folder}{total}")


def restore_replacing(engine: Engine, directory: Path) -> None:
    """PostgreSQL --replace: delete, then restore; both in one transaction."""
    from corridor.storage.backup import clear, restore

    with engine.transaction():
        clear(engine)
        restore(engine, directory)
