"""``corridor backup`` and ``corridor restore``: a warehouse to Parquet files and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from corridor.cli.common import err_console, state, workspace
from corridor.errors import CorridorError, WorkspaceError


@contextmanager
def _refusals() -> Iterator[None]:
    """A user error of a step of ``corridor restore`` that changes nothing, ending so."""
    from corridor.storage.backup import BackupError
    from corridor.storage.restorecheck import unchanged

    try:
        yield
    except CorridorError as exc:
        raise BackupError(unchanged(str(exc))) from None


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
    help="Replace the warehouse: DuckDB restores into a new file and then moves the current "
    "one (damaged or not) aside, PostgreSQL deletes the current rows in the restore's "
    "transaction. A refused backup changes nothing.",
)
@click.pass_context
def restore_command(ctx: click.Context, directory: Path, replace: bool) -> None:
    """Restore a backup made by `corridor backup` into this workspace's warehouse."""
    from corridor.config import SETTINGS_FILE, load_settings
    from corridor.storage.backup import check_versions, read_manifest, restore
    from corridor.workspace import WAREHOUSE_FILE, find_workspace, open_workspace

    # every check that needs no warehouse, before anything is opened for writing; every refusal
    # ends as the restore's own do: "Nothing was changed: the warehouse ... is as it was"
    with _refusals():
        manifest = read_manifest(directory)
        check_versions(manifest)
        st = state(ctx)
        folder = st.workspace_path or find_workspace()
        if not (folder / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"{folder} is not a Corridor workspace (no {SETTINGS_FILE}); "
                f"run `corridor init {folder}`"
            )
        settings = load_settings(folder, overrides={"db": st.db})
    if replace and not settings.db:
        from corridor.storage.replace import replace_file

        with err_console.status("restoring…"):
            done = replace_file(folder / WAREHOUSE_FILE, directory)
        counts = done.counts
        if done.aside is not None:
            err_console.print(f"moved the old warehouse aside to {done.aside}", highlight=False)
    else:
        with _refusals():  # (a damaged or held DuckDB file, a database out of reach)
            ws = open_workspace(folder, db=st.db)
        try:
            with err_console.status("restoring…"):
                counts = restore(ws.engine, directory, replace=replace)
        finally:
            ws.close()
    click.echo(f"restored {directory} into {folder}: {sum(counts.values())} rows")
