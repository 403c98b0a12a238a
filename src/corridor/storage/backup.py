"""Backups of a warehouse: one Parquet file per table and a manifest, on either engine.

``backup`` reads every table through the engine (so it also proves each block of a DuckDB file
readable) and writes ``DIR/<table>.parquet`` and ``DIR/manifest.json`` (schema versions, row
counts, SHA-256 of each file). ``restore`` checks the manifest and the files, then loads them into
an empty, migrated warehouse in one transaction and sets the import-id sequence after the
highest import; ``restore(..., replace=True)`` deletes the warehouse's rows in that transaction
first. Every table and column of the backup is checked against the warehouse's (names, types,
empty values where the table needs one, numbers the column cannot hold, keys held by two rows,
text PostgreSQL cannot store: ``storage/restorecheck.py``) before the database is asked to
write (or delete) any row, with or without ``replace`` (:func:`check_rows`), and a row the
database still refuses rolls the whole restore back: a damaged or incompatible backup is a
:class:`BackupError` that names the file, the table, the column and the one offending value,
and leaves the warehouse as it was; every refusal ends "Nothing was changed: the warehouse is
as it was". ``restore --replace`` of a workspace's DuckDB file is in ``storage/replace.py``.
For a whole PostgreSQL server, ``pg_dump`` remains the tool (docs/backup.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corridor.errors import CorridorError, Problem
from corridor.storage.engine import STATISTICS_ROWS, Engine, StorageError, connect
from corridor.storage.placeorder import by_place
from corridor.storage.restorecheck import row_problem, unchanged, unique_keys

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
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in _SKIP:
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


#: what a column of each kind holds, in words (messages)
_KIND_WORDS: Final = {
    "text": "text",
    "integer": "whole numbers",
    "number": "numbers",
    "date": "dates",
    "timestamp": "date-times",
    "boolean": "true/false values",
    "null": "no values",
}
#: the SQL integer types and their width in bits (DuckDB and PostgreSQL spellings, upper case)
_INT_BITS: Final = {"SMALLINT": 16, "INT2": 16, "INTEGER": 32, "INT": 32, "INT4": 32}


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a warehouse table, as a restore must fill it."""

    name: str
    kind: str  # a key of _KIND_WORDS
    type: pa.DataType  # the Arrow type the rows are cast to before they are written
    sql: str  # the SQL type, upper case (messages)
    nullable: bool


def _kind(t: pa.DataType) -> str | None:
    """What a column of Arrow type ``t`` holds (a key of ``_KIND_WORDS``), or None for a type
    no table column takes (nested values, bytes, decimals, time zones, ...)."""
    if pa.types.is_dictionary(t):
        return _kind(t.value_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t) and t.tz is None:
        return "timestamp"
    return None


def _takes(want: str, found: str | None) -> bool:
    """Whether a column of kind ``want`` takes values of kind ``found`` (without change; the
    values themselves are checked by the cast)."""
    return found == want or found == "null" or (found == "integer" and want == "number")


def table_columns(engine: Engine, name: str) -> dict[str, Column]:
    """The columns of the table ``name`` of ``engine``'s warehouse, by name."""
    schema = engine.query(f"SELECT * FROM {name} LIMIT 0", step=f"columns of {name}").schema
    info = {
        str(col): (str(nullable).upper() != "NO", str(sql).upper())
        for col, nullable, sql in engine.query_rows(
            "SELECT column_name, is_nullable, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() "
            "AND table_catalog = current_database()",
            (name,),
            step=f"columns of {name}",
        )
    }
    columns: dict[str, Column] = {}
    for field in schema:
        nullable, sql = info.get(field.name, (True, str(field.type).upper()))
        kind = _kind(field.type) or "other"
        arrow = field.type
        if kind == "integer":  # PostgreSQL's reads give every integer as int64
            arrow = pa.int16() if _INT_BITS.get(sql) == 16 else arrow
            arrow = pa.int32() if _INT_BITS.get(sql) == 32 else arrow
        columns[field.name] = Column(field.name, kind, arrow, sql, nullable)
    return columns


def tables_at(versions: list[int]) -> set[str] | None:
    """The tables a warehouse at schema ``versions`` has (those a backup of it holds), from an
    in-memory warehouse migrated to them; None when those migrations cannot be applied alone."""
    from corridor.storage.migrations import MIGRATIONS

    probe = connect(":memory:")
    try:
        for m in MIGRATIONS:
            if m.version in versions:
                probe.execute_script(m.statements, step=f"migration {m.version}")
                if probe.name in m.only_on:
                    probe.execute_script(m.engine_statements, step=f"migration {m.version}")
        return probe.table_names() - set(_SKIP)
    except StorageError:
        return None
    finally:
        probe.close()


def check_columns(
    engine: Engine, folder: Path, manifest: dict[str, Any]
) -> dict[str, dict[str, Column]]:
    """Refuse a backup whose tables are not this warehouse's tables, column for column: every
    table the backup's schema versions have, no other table, each with the table's columns (no
    more, no fewer, none twice) of the kinds the table keeps. Reads only the files' schemas
    (and, for a message, one value). Returns the columns of each table of the backup."""
    present = engine.table_names() - set(_SKIP)
    extra = sorted(set(manifest["tables"]) - present)
    if extra:
        raise BackupError(f"the backup has tables this warehouse lacks: {', '.join(extra)}")
    expected = tables_at(manifest["schema_versions"])
    needed = present if expected is None else expected & present
    lacking = sorted(needed - set(manifest["tables"]))
    if lacking:
        raise BackupError(
            f"the backup is incomplete: {folder / MANIFEST} lists no table {', '.join(lacking)}, "
            f"which a warehouse of its schema versions has"
        )
    targets: dict[str, dict[str, Column]] = {}
    for name in sorted(manifest["tables"]):
        path = folder / f"{name}.parquet"
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise BackupError(
                f"the backup is damaged: {path} is not a readable Parquet file ({exc})"
            ) from None
        columns = table_columns(engine, name)
        twice = sorted({n for n in schema.names if schema.names.count(n) > 1})
        if twice:
            raise BackupError(
                f"the backup is damaged: {path} (table {name}) has the column(s) "
                f"{', '.join(twice)} twice"
            )
        names, wanted = set(schema.names), set(columns)
        if names != wanted:
            odd = sorted(names ^ wanted)
            parts = []
            if wanted - names:
                parts.append(f"lacks {', '.join(sorted(wanted - names))}")
            if names - wanted:
                parts.append(f"has {', '.join(sorted(names - wanted))}, which the table lacks")
            raise BackupError(
                f"the backup is damaged: the columns of {path} are not those of the table "
                f"{name} (differing: {', '.join(odd)}; the file {' and '.join(parts)})"
            )
        for field in schema:
            column = columns[field.name]
            if not _takes(column.kind, _kind(field.type)):
                raise _wrong_type(path, name, field, column)
        targets[name] = columns
    return targets


def _wrong_type(path: Path, table: str, field: pa.Field, column: Column) -> BackupError:
    """The refusal of a column of the wrong type, with its first value (if it has one)."""
    found = _KIND_WORDS.get(_kind(field.type) or "", "values of another kind")
    row: int | None = None
    value: str | None = None
    try:
        data = pq.read_table(path, columns=[field.name]).column(0)
        if data.null_count < len(data):
            row = int(pc.index(pc.is_valid(data), True).as_py())
            value = str(data[row].as_py())
            row += 1
    except (OSError, pa.ArrowException):  # the type alone says it
        pass
    reason = (
        f"{found} ({field.type}), but the column {column.name} of the table {table} keeps "
        f"{_KIND_WORDS.get(column.kind, column.kind)} ({column.sql})"
    )
    return BackupError(
        "the backup is damaged: " + Problem(str(path), row, column.name, value, reason).format()
    )


def _first_bad(data: pa.ChunkedArray, to: pa.DataType) -> int:
    """The position of the first value of ``data`` that does not cast to ``to`` (whole-column
    cast failed), by halving: a few casts of slices."""
    lo, n = 0, len(data)
    while n > 1:
        half = n // 2
        try:
            data.slice(lo, half).cast(to, safe=True)
        except pa.ArrowException:
            n = half
            continue
        lo, n = lo + half, n - half
    return lo


def _conform(path: Path, table: str, data: pa.Table, columns: dict[str, Column]) -> pa.Table:
    """The rows of ``table`` from ``path`` in the warehouse's own column types, or a refusal
    naming the first row whose value the column cannot hold: empty where the table needs a
    value, or a number out of the column's range (or a finer time than it keeps)."""
    arrays: list[pa.ChunkedArray] = []
    for name in data.column_names:
        col, column = data.column(name), columns[name]
        if not column.nullable and col.null_count:
            row = int(pc.index(pc.is_null(col), True).as_py())
            raise BackupError(
                "the backup is damaged: "
                + Problem(
                    str(path),
                    row + 1,
                    name,
                    None,
                    f"empty, but the table {table} needs a value in every row",
                ).format()
            )
        try:
            col = col.cast(column.type, safe=True)
        except pa.ArrowException:
            row = _first_bad(col, column.type)
            value = col[row].as_py()
            raise BackupError(
                "the backup is damaged: "
                + Problem(
                    str(path),
                    row + 1,
                    name,
                    str(value),
                    f"the column {name} of the table {table} ({column.sql}) cannot hold it "
                    "unchanged",
                ).format()
            ) from None
        arrays.append(col)
    return pa.Table.from_arrays(arrays, names=data.column_names)


def _read(folder: Path, name: str) -> pa.Table:
    path = folder / f"{name}.parquet"
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise BackupError(
            f"the backup is damaged: {path} is not a readable Parquet file ({exc})"
        ) from None


def _rows(
    folder: Path,
    name: str,
    manifest: dict[str, Any],
    columns: dict[str, Column],
    keys: tuple[tuple[str, ...], ...] | None,
) -> pa.Table:
    """The rows of table ``name``, read, counted and conformed to its columns, and checked
    against its ``keys`` and for text PostgreSQL cannot keep (``keys`` None: checked before)."""
    path = folder / f"{name}.parquet"
    data = _conform(path, name, _read(folder, name), columns)
    if data.num_rows != manifest["tables"][name]["rows"]:
        raise BackupError(f"the backup is damaged: {name} has the wrong number of rows")
    if keys is not None:
        text = [c for c in data.column_names if columns[c].kind == "text"]
        problem = row_problem(str(path), name, data, text, keys)
        if problem is not None:
            raise BackupError(f"the backup is damaged: {problem}")
    return data


def _refused(engine: Engine, exc: BaseException, where: str) -> BackupError | None:
    """``exc`` as the refusal of a backup's rows (a key held twice, a value the database cannot
    store), or None when the database did not refuse the data."""
    reason = engine.refusal(exc)
    if reason is None:
        return None
    return BackupError(
        f"the backup cannot be restored: {where} holds rows the warehouse refuses: {reason}"
    )


def check_rows(
    engine: Engine,
    folder: Path,
    manifest: dict[str, Any],
    targets: dict[str, dict[str, Column]],
) -> None:
    """Refuse a backup any of whose rows a warehouse could not keep, before a row is written:
    every table's file read, counted and conformed to its columns, its keys held once and its
    text UTF-8 without NUL characters (``storage/restorecheck.py``). One table is held at a
    time; the load reads each file again."""
    for name in sorted(manifest["tables"]):
        _rows(folder, name, manifest, targets[name], unique_keys(engine, name))


def _load(
    engine: Engine,
    folder: Path,
    manifest: dict[str, Any],
    targets: dict[str, dict[str, Column]],
) -> dict[str, int]:
    """Write every table of the backup (inside the caller's transaction; every table was
    checked by :func:`check_rows` before); set the import ids."""
    counts: dict[str, int] = {}
    for name in sorted(manifest["tables"]):
        data = _rows(folder, name, manifest, targets[name], None)
        if name == "services" and engine.dialect.services_by_place:
            data = by_place(data)  # (as an import writes them)
        try:
            engine.insert_arrow(name, data, step=f"restore {name}")
        except Exception as exc:
            refusal = _refused(engine, exc, f"{folder / f'{name}.parquet'} (table {name})")
            if refusal is None:
                raise
            raise refusal from None
        counts[name] = data.num_rows
    last = engine.scalar("SELECT MAX(import_id) FROM imports", step="highest import")
    engine.execute("DROP SEQUENCE import_id_seq", step="reset import ids")
    engine.execute(
        f"CREATE SEQUENCE import_id_seq START {int(last or 0) + 1}", step="reset import ids"
    )
    return counts


def restore(engine: Engine, folder: Path, *, replace: bool = False) -> dict[str, int]:
    """Load a backup into an empty, migrated warehouse, atomically. Returns rows per table.

    Every file is read and checked against the tables before the first row is written.
    ``replace``: the warehouse need not be empty; its rows are deleted in the restore's
    transaction, after those checks. Either way a backup that is refused (by the checks, or by
    the database while it is written) leaves the warehouse as it was, and
    the :class:`BackupError` says so at its end. Imports wait meanwhile (the engine's ``import``
    lock).
    """
    try:
        counts = _restore(engine, folder, replace=replace)
    except CorridorError as exc:  # (not one row was committed)
        raise BackupError(unchanged(str(exc))) from None
    engine.refresh_statistics(sorted(n for n, rows in counts.items() if rows >= STATISTICS_ROWS))
    return counts


def _restore(engine: Engine, folder: Path, *, replace: bool) -> dict[str, int]:
    """The backup loaded and committed, or an error and nothing written."""
    manifest = read_manifest(folder)
    check_versions(manifest, set(_versions(engine)))
    with engine.exclusive("import"):
        targets = check_columns(engine, folder, manifest)
        if not replace:
            full = [
                n
                for n in sorted(engine.table_names() - set(_SKIP))
                if engine.scalar(f"SELECT COUNT(*) FROM {n}", step=f"count {n}")
            ]
            if full:
                raise BackupError(
                    f"the warehouse is not empty ({', '.join(full)} hold rows): restore into a "
                    "new workspace, or use --replace (docs/backup.md)"
                )
        # every value of every table checked before a row is written (or, with replace,
        # deleted): a refusal of the last table comes before the first is loaded
        check_rows(engine, folder, manifest, targets)
        try:
            with engine.transaction():
                if replace:
                    clear(engine)
                counts = _load(engine, folder, manifest, targets)
        except BackupError:
            raise
        except Exception as exc:  # (a refusal at the commit: a key held twice, say)
            refusal = _refused(engine, exc, str(folder))
            if refusal is None:
                raise
            raise refusal from None
    return counts


def clear(engine: Engine) -> None:
    """Delete every row of every table (``restore --replace`` on PostgreSQL), atomically."""
    with engine.transaction():
        for name in sorted(engine.table_names() - set(_SKIP)):
            engine.execute(f"DELETE FROM {name}", step=f"clear {name}")


__all__ = (
    "BackupError",
    "Column",
    "backup",
    "check_columns",
    "check_rows",
    "check_versions",
    "clear",
    "read_manifest",
    "restore",
    "table_columns",
    "tables_at",
)
