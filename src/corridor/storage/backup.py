"""Backups of a warehouse: one Parquet file per table and a manifest, on either engine.

``backup`` reads every table through the engine (so it also proves each block of a DuckDB file
readable) and writes ``DIR/<table>.parquet`` and ``DIR/manifest.json`` (schema versions, row
counts, SHA-256 of each file). ``restore`` checks the manifest and the files, then loads them into
an empty, migrated warehouse in one transaction and sets the import-id sequence after the
highest import. For a whole PostgreSQL server, ``pg_dump`` remains the tool (docs/backup.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from corridor.errors import CorridorError
from corridor.storage.engine import STATISTICS_ROWS, Engine
from corridor.storage.placeorder import by_place

MANIFEST: Final = "manifest.json"
FORMAT: Final = "corridor-backup-1"
_SKIP: Final = ("schema_migrations",)
_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class BackupError(CorridorError):
    """A backup cannot be written, or a folder is not a backup that can be restored."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions(engine: Engine) -> list[int]:
    rows = engine.query_rows("SELECT version FROM schema_migrations", step="schema versions")
    return sorted(int(r[0]) for r in rows)


def backup(engine: Engine, folder: Path) -> dict[str, Any]:
    """Write every table of the warehouse to ``folder`` (new, or empty). Returns the manifest."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} exists and is not an empty folder: name a new folder")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {folder}: {exc.strerror or exc}") from None
    try:
        return _write(engine, folder)
    except BaseException as exc:  # a failed backup leaves nothing half-written behind
        _remove_partial(folder, created)
        if isinstance(exc, BackupError):
            raise BackupError(
                f"{exc} (the backup was not written; what it had written was removed)"
            ) from None
        raise


def _remove_partial(folder: Path, created: bool) -> None:
    """Remove the files a failed backup wrote into ``folder`` (the folder too if it made it)."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name.endswith(".parquet") or path.name in (MANIFEST, MANIFEST + ".part"):
            path.unlink(missing_ok=True)
    if created:
        with contextlib.suppress(OSError):  # something else was put there meanwhile: leave it
            folder.rmdir()


def _write(engine: Engine, folder: Path) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    with engine.snapshot():  # one consistent snapshot of every table
        versions = _versions(engine)
        for name in sorted(engine.table_names() - set(_SKIP)):
            data = engine.query(f"SELECT * FROM {name}", step=f"back up {name}")
            path = folder / f"{name}.parquet"
            try:
                pq.write_table(data, path)
            except OSError as exc:
                raise BackupError(f"cannot write {path}: {exc.strerror or exc}") from None
            tables[name] = {"rows": data.num_rows, "sha256": _sha256(path)}
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "engine": engine.name,
        "schema_versions": versions,
        "tables": tables,
    }
    tmp = folder / (MANIFEST + ".part")
    try:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, folder / MANIFEST)
    except OSError as exc:
        raise BackupError(f"cannot write {folder / MANIFEST}: {exc.strerror or exc}") from None
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a backup folder, with every file checked against it.

    Checks the manifest's fields, each file's SHA-256, and that each file is Parquet whose footer
    gives the manifest's row count; a damaged or hand-edited backup is a ``BackupError``.
    """
    where = folder / MANIFEST
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Corridor backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {where}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{where} is not a {FORMAT} manifest")
    versions = manifest.get("schema_versions")
    if not isinstance(versions, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in versions
    ):
        raise BackupError(
            f"the backup is damaged: {where} has no valid 'schema_versions' (a list of numbers)"
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise BackupError(f"the backup is damaged: {where} has no valid 'tables'")
    for name, info in tables.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise BackupError(f"the backup is damaged: {where} names a table {name!r}")
        rows = info.get("rows") if isinstance(info, dict) else None
        sha = info.get("sha256") if isinstance(info, dict) else None
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise BackupError(f"the backup is damaged: {where} has no row count for {name}")
        if not isinstance(sha, str):
            raise BackupError(f"the backup is damaged: {where} has no SHA-256 for {name}")
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise BackupError(f"the backup is incomplete: {path} is missing")
        try:
            digest = _sha256(path)
        except OSError as exc:
            raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
        if digest != sha:
            raise BackupError(f"the backup is damaged: {path} differs from its manifest")
        try:
            found = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException) as exc:
            raise BackupError(
                f"the backup is damaged: {path} is not a readable Parquet file ({exc})"
            ) from None
        if found != rows:
            raise BackupError(
                f"the backup is damaged: {path} holds {found} rows, its manifest {rows}"
            )
    return manifest


def check_versions(manifest: dict[str, Any], known: set[int] | None = None) -> None:
    """Refuse a backup with schema versions this Corridor (or ``known``) does not know."""
    if known is None:
        from corridor.storage.migrations import MIGRATIONS

        known = {m.version for m in MIGRATIONS}
    unknown = set(manifest["schema_versions"]) - known
    if unknown:
        raise BackupError(
            f"the backup has schema version(s) {sorted(unknown)} that this Corridor does not "
            "know: restore it with the version that made it"
        )


def check_columns(engine: Engine, folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse a backup whose tables are not this warehouse's tables, column for column."""
    present = engine.table_names()
    missing = sorted(set(manifest["tables"]) - present)
    if missing:
        raise BackupError(f"the backup has tables this warehouse lacks: {', '.join(missing)}")
    for name in sorted(manifest["tables"]):
        path = folder / f"{name}.parquet"
        try:
            names = set(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as exc:
            raise BackupError(
                f"the backup is damaged: {path} is not a readable Parquet file ({exc})"
            ) from None
        wanted = set(
            engine.query(f"SELECT * FROM {name} LIMIT 0", step=f"columns of {name}").schema.names
        )
        if names != wanted:
            odd = sorted(names ^ wanted)
            raise BackupError(
                f"the backup is damaged: the columns of {path} are not those of the table "
                f"{name} (differing: {', '.join(odd)})"
            )


def _read(folder: Path, name: str) -> pa.Table:
    path = folder / f"{name}.parquet"
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise BackupError(
            f"the backup is damaged: {path} is not a readable Parquet file ({exc})"
        ) from None


def restore(engine: Engine, folder: Path) -> dict[str, int]:
    """Load a backup into an empty, migrated warehouse, atomically. Returns rows per table."""
    manifest = read_manifest(folder)
    check_versions(manifest, set(_versions(engine)))
    check_columns(engine, folder, manifest)
    present = engine.table_names()
    full = [
        n
        for n in sorted(present - set(_SKIP))
        if engine.scalar(f"SELECT COUNT(*) FROM {n}", step=f"count {n}")
    ]
    if full:
        raise BackupError(
            f"the warehouse is not empty ({', '.join(full)} hold rows): restore into a new "
            "workspace, or use --replace (docs/backup.md)"
        )
    counts: dict[str, int] = {}
    with engine.transaction():
        for name in sorted(manifest["tables"]):
            data = _read(folder, name)
            if data.num_rows != manifest["tables"][name]["rows"]:
                raise BackupError(f"the backup is damaged: {name} has the wrong number of rows")
            if name == "services" and engine.dialect.services_by_place:
                data = by_place(data)  # (as an import writes them)
            engine.insert_arrow(name, data, step=f"restore {name}")
            counts[name] = data.num_rows
        last = engine.scalar("SELECT MAX(import_id) FROM imports", step="highest import")
        engine.execute("DROP SEQUENCE import_id_seq", step="reset import ids")
        engine.execute(
            f"CREATE SEQUENCE import_id_seq START {int(last or 0) + 1}", step="reset import ids"
        )
    engine.refresh_statistics(sorted(n for n, rows in counts.items() if rows >= STATISTICS_ROWS))
    return counts


def clear(engine: Engine) -> None:
    """Delete every row of every table (``restore --replace`` on PostgreSQL), atomically."""
    with engine.transaction():
        for name in sorted(engine.table_names() - set(_SKIP)):
            engine.execute(f"DELETE FROM {name}", step=f"clear {name}")


__all__ = (
    "BackupError",
    "backup",
    "check_columns",
    "check_versions",
    "clear",
    "read_manifest",
    "restore",
)
