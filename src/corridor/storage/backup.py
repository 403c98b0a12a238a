"""Backups of a warehouse: one Parquet file per table and a manifest, on either engine.

``backup`` reads every table through the engine (so it also proves each block of a DuckDB file
readable) and writes ``DIR/<table>.parquet`` and ``DIR/manifest.json`` (schema versions, row
counts, SHA-256 of each file). ``restore`` checks the manifest and the files, then loads them into
an empty, migrated warehouse in one transaction and sets the import-id sequence after the
highest import. For a whole PostgreSQL server, ``pg_dump`` remains the tool (docs/backup.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow.parquet as pq

from corridor.errors import CorridorError
from corridor.storage.engine import STATISTICS_ROWS, Engine
from corridor.storage.placeorder import by_place

MANIFEST: Final = "manifest.json"
FORMAT: Final = "corridor-backup-1"
_SKIP: Final = ("schema_migrations",)


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {folder}: {exc.strerror or exc}") from None
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
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a backup folder, with every file checked against it."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Corridor backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {folder / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST} is not a {FORMAT} manifest")
    for name, info in manifest["tables"].items():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise BackupError(f"the backup is incomplete: {path} is missing")
        if _sha256(path) != info["sha256"]:
            raise BackupError(f"the backup is damaged: {path} differs from its manifest")
    return manifest


def restore(engine: Engine, folder: Path) -> dict[str, int]:
    """Load a backup into an empty, migrated warehouse, atomically. Returns rows per table."""
    manifest = read_manifest(folder)
    unknown = set(manifest["schema_versions"]) - set(_versions(engine))
    if unknown:
        raise BackupError(
            f"the backup has schema version(s) {sorted(unknown)} that this Corridor does not "
            "know: restore it with the version that made it"
        )
    present = engine.table_names()
    missing = sorted(set(manifest["tables"]) - present)
    if missing:
        raise BackupError(f"the backup has tables this warehouse lacks: {', '.join(missing)}")
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
            data = pq.read_table(folder / f"{name}.parquet")
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


__all__ = ("BackupError", "backup", "clear", "read_manifest", "restore")
