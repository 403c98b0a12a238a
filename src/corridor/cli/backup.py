"""``corridor backup`` and ``corridor restore``: a warehouse to Parquet files and back."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from corridor.cli.common import err_console, state, workspace
from corridor.errors import CorridorError, WorkspaceError

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
    from corridor.config import SETTINGS_FILE, load_settings
    from corridor.storage.backup import check_versions, read_manifest, restore
    from corridor.workspace import find_workspace, open_workspace

    # every check that needs no warehouse, before anything is moved or opened for writing
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
        counts: dict[str, int] | None = replace_duckdb(folder, directory, manifest, st.db)
    else:
        ws = open_workspace(folder, db=st.db)
        try:
            if replace:
                restore_replacing(ws.engine, directory)
                counts = None
            else:
                counts = restore(ws.engine, directory)
        finally:
            ws.close()
    total = "" if counts is None else f": {sum(counts.values())} rows"
    click.echo(f"restored {directory} into {folder}{total}")


#: how long ``restore --replace`` waits for another process to let go of the DuckDB file: not at
#: all, unlike other commands (an import that finishes meanwhile would be moved aside with it)
LOCK_WAIT_S = 0.0


@contextmanager
def holding(file: Path, wait_s: float) -> Iterator[None]:
    """Hold the DuckDB file at ``file`` as DuckDB does (an fcntl lock on the whole file), so that
    no other process has it open while it is moved; refuse as every command does when another
    process holds it (after ``wait_s``). The lock follows the file when it is renamed."""
    from corridor.storage.duckdb import DuckDBEngine, busy, server_holding

    if not file.exists():
        yield
        return
    if server_holding(file) is not None:
        raise busy(str(file))
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: prove it free by opening it once
        DuckDBEngine(file, wait_s=wait_s).close()
        yield
        return
    try:
        fd = os.open(file, os.O_RDWR)
    except OSError as exc:
        raise WorkspaceError(
            f"cannot open {file} to replace it: {exc.strerror or exc}. Nothing was changed"
        ) from None
    try:
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise WorkspaceError(
                        f"cannot lock {file} to replace it: {exc.strerror or exc}. "
                        "Nothing was changed"
                    ) from None
                if server_holding(file) is None and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                raise busy(str(file), wait_s or None) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def replace_duckdb(
    folder: Path, directory: Path, manifest: dict[str, Any], db: str | None
) -> dict[str, int]:
    """DuckDB --replace: check, move the file aside (held), restore into a new file; if the
    restore fails, the new file is removed and the original put back."""
    from corridor.storage.backup import check_columns, restore
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate
    from corridor.workspace import WAREHOUSE_FILE, open_workspace

    probe = connect(":memory:")  # the tables a new warehouse has, before anything is moved
    try:
        migrate(probe)
        check_columns(probe, directory, manifest)
    finally:
        probe.close()
    file = folder / WAREHOUSE_FILE
    wal = file.with_name(WAREHOUSE_FILE + ".wal")
    with holding(file, LOCK_WAIT_S):
        aside: Path | None = None
        if file.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            aside = file.with_name(f"{WAREHOUSE_FILE}.replaced-{stamp}")
            os.replace(file, aside)
            if wal.exists():
                os.replace(wal, aside.with_name(aside.name + ".wal"))
            err_console.print(f"moved the old warehouse aside to {aside}", highlight=False)
        try:
            ws = open_workspace(folder, db=db)
            try:
                return restore(ws.engine, directory)
            finally:
                ws.close()
        except BaseException as exc:
            if aside is None:
                raise
            note = put_back(aside, file)
            if isinstance(exc, CorridorError):
                from corridor.storage.backup import BackupError

                raise BackupError(f"{str(exc).rstrip('.')}. {note}") from exc
            err_console.print(note, highlight=False)
            raise


def put_back(aside: Path, file: Path) -> str:
    """Remove the new warehouse file and move the original back; says what was done."""
    aside_wal = aside.with_name(aside.name + ".wal")
    try:
        for new in (file, file.with_name(file.name + ".wal")):
            new.unlink(missing_ok=True)
        os.replace(aside, file)
        if aside_wal.exists():
            os.replace(aside_wal, file.with_name(file.name + ".wal"))
    except OSError as exc:
        return (
            f"The original warehouse could not be put back ({exc.strerror or exc}): it is "
            f"{aside}; move it to {file} by hand"
        )
    return f"The restore was undone: the original warehouse is back in place ({file})"


def restore_replacing(engine: Engine, directory: Path) -> None:
    """PostgreSQL --replace: delete, then restore; both in one transaction."""
    from corridor.storage.backup import clear, restore

    with engine.transaction():
        clear(engine)
        restore(engine, directory)
