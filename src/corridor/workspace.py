"""The workspace: a folder with a settings file (corridor.toml) and, by default, a DuckDB file.

``open_workspace(path)`` is the entry point of the Python API.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from corridor.config import SETTINGS_FILE, Settings, load_settings, settings_template
from corridor.contract.schema import KINDS
from corridor.errors import QueryError, WorkspaceError
from corridor.intake.importer import ImportResult, Progress, ingest
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

WAREHOUSE_FILE = "warehouse.duckdb"
TABLES = (*KINDS, "imports", "quarantine", "replacements", "audit_log")


class Workspace:
    """An open workspace: settings and a migrated warehouse engine."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = path
        self.settings = settings
        url = settings.db or str(path / WAREHOUSE_FILE)
        self.engine: Engine = connect(url)
        migrate(self.engine)

    # ---- intake ------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        kind: str,
        *,
        format: str = "auto",
        mapping: str | Path | None = None,
        quarantine: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> list[ImportResult]:
        """Validate and import files of one kind; atomic unless ``quarantine``."""
        if kind not in KINDS:
            raise QueryError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        from corridor.access.quarantine import tag_quarantine_countries

        results = ingest(
            self.engine,
            [Path(p) for p in paths],
            kind,
            fmt=format,
            mapping_path=Path(mapping) if mapping is not None else None,
            quarantine=quarantine,
            dry_run=dry_run,
            user=self.settings.user,
            extra_age_bands=self.settings.extra_age_bands,
            progress=progress,
            max_bytes=self.settings.max_file_bytes,
        )
        # quarantined rows record their country, so that the data managers of that country see
        # them (as for an import through the API, which does it in the import's transaction)
        quarantined = [
            r.import_id for r in results if r.import_id is not None and r.rows_quarantined
        ]
        if quarantined:
            with self.engine.transaction():
                tag_quarantine_countries(self.engine, quarantined)
        return results

    # ---- reading -----------------------------------------------------------------------------
    def table(self, name: str, as_: Literal["arrow", "pandas", "polars"] = "arrow") -> Any:
        """A whole table as pyarrow (default), pandas or polars."""
        if name not in TABLES:
            raise QueryError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        data = self.engine.query(f"SELECT * FROM {name}", step=f"read {name}")
        return convert(data, as_)

    def status(self, latest: int = 10) -> dict[str, Any]:
        counts = {
            k: int(self.engine.scalar(f"SELECT COUNT(*) FROM {k}", step=f"count {k}") or 0)
            for k in KINDS
        }
        quarantined = int(self.engine.scalar("SELECT COUNT(*) FROM quarantine") or 0)
        imports = self.engine.query(
            "SELECT import_id, file_name, kind, format, user_name, imported_at, rows_read, "
            "rows_imported, rows_new, rows_replaced, rows_unchanged, rows_quarantined, sha256 "
            "FROM imports ORDER BY import_id DESC LIMIT ?",
            (latest,),
            step="latest imports",
        ).to_pylist()
        for imp in imports:
            imp["imported_at"] = imp["imported_at"].isoformat(timespec="seconds")
        return {
            "workspace": str(self.path),
            "database": self.engine.name,
            "counts": counts,
            "quarantine": quarantined,
            "imports": imports,
        }

    # ---- audit -------------------------------------------------------------------------------
    def audit(self, action: str, detail: dict[str, Any]) -> None:
        """Record an action (e.g. an unsuppressed output) in the workspace's audit log."""
        self.engine.execute(
            "INSERT INTO audit_log (logged_at, user_name, action, detail) VALUES (?, ?, ?, ?)",
            (
                datetime.now(UTC).replace(tzinfo=None),
                self.settings.user,
                action,
                json.dumps(detail, sort_keys=True),
            ),
            step="audit",
        )
        # and in the hash-chained trail that `corridor audit verify` and GET /audit read
        from corridor.access.audit import append

        append(
            self.engine,
            self.settings.user,
            f"cli.{action}",
            detail,
            cells=int(detail.get("rows", 0)) * 3 if action == "unsuppressed_output" else 0,
            suppressed=action != "unsuppressed_output",
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def convert(data: pa.Table, as_: str) -> Any:
    if as_ == "arrow":
        return data
    if as_ == "pandas":
        return data.to_pandas()
    if as_ == "polars":
        import polars as pl

        return pl.from_arrow(data)
    raise QueryError(f"unknown table format {as_!r}; expected arrow, pandas or polars")


def workspace_files(folder: Path, db_url: str | None = None) -> list[Path]:
    """The files of a workspace that no output may overwrite: settings, warehouse and its WAL."""
    files = [folder / SETTINGS_FILE, folder / WAREHOUSE_FILE, folder / (WAREHOUSE_FILE + ".wal")]
    if db_url and "://" not in db_url and db_url != ":memory:":
        files += [Path(db_url), Path(db_url + ".wal")]
    return files


def find_workspace(start: Path | None = None) -> Path:
    """The workspace: $CORRIDOR_WORKSPACE, else the first folder upward holding corridor.toml."""
    env = os.environ.get("CORRIDOR_WORKSPACE")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise WorkspaceError(
        f"no workspace found in {here} or above: create one with `corridor init DIR`, "
        "or name it with -w DIR or CORRIDOR_WORKSPACE"
    )


def open_workspace(path: str | Path | None = None, *, db: str | None = None) -> Workspace:
    """Open an existing workspace (found from the current folder upward when ``path`` is None)."""
    folder = Path(path) if path is not None else find_workspace()
    if not (folder / SETTINGS_FILE).is_file():
        raise WorkspaceError(
            f"{folder} is not a Corridor workspace (no {SETTINGS_FILE}); "
            f"run `corridor init {folder}`"
        )
    settings = load_settings(folder, overrides={"db": db})
    return Workspace(folder, settings)


def init_workspace(path: str | Path, *, db: str | None = None) -> Workspace:
    """Create a workspace folder (settings file + migrated warehouse); fine if it exists."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} exists and is not a folder")
    settings_file = folder / SETTINGS_FILE
    warehouse = folder / WAREHOUSE_FILE
    try:
        # the warehouse holds health data, password and token hashes: a folder made here is
        # its owner's alone, and so are the files made here (in a folder of the user's own)
        if not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir(mode=0o700)
        if not settings_file.exists():
            fd = os.open(settings_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(settings_template())
        new_warehouse = not warehouse.exists()
    except (FileExistsError, NotADirectoryError):
        raise WorkspaceError(
            f"cannot create a workspace in {folder}: a part of it is a file"
        ) from None
    except OSError as exc:
        raise WorkspaceError(
            f"cannot create a workspace in {folder}: {exc.strerror or exc}"
        ) from None
    ws = open_workspace(folder, db=db)
    if new_warehouse and warehouse.exists():  # made by DuckDB just now, with the umask's mode
        warehouse.chmod(0o600)
    return ws
