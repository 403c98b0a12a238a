"""Provenance read back: the imports with what they replaced, and the quarantined rows.

Counts of imports and of quarantined rows are not counts of people, so they are shown as they
are (no disclosure control). The rows of the quarantine hold whatever the invalid source row
held: they are for the analyst's own eyes and are never logged.
"""

from __future__ import annotations

from typing import Any

from corridor.errors import QueryError
from corridor.storage.engine import Engine

IMPORT_COLUMNS = (
    "import_id",
    "file_name",
    "sha256",
    "kind",
    "format",
    "source",
    "user_name",
    "imported_at",
    "status",
    "rows_read",
    "rows_imported",
    "rows_new",
    "rows_replaced",
    "rows_unchanged",
    "rows_quarantined",
    "replaced_imports",
)
QUARANTINE_COLUMNS = ("import_id", "file_name", "row", "column", "value", "reason")


def list_imports(engine: Engine, *, kind: str | None = None) -> list[dict[str, Any]]:
    """Every import, oldest first, with the earlier imports whose values it replaced."""
    where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
    rows = engine.query(
        "SELECT import_id, file_name, sha256, kind, format, source, user_name, imported_at, "
        "status, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
        f"rows_quarantined FROM imports {where} ORDER BY import_id",
        params,
        step="list imports",
    ).to_pylist()
    replaced: dict[int, list[int]] = {}
    for import_id, earlier in engine.query_rows(
        "SELECT import_id, replaced_import_id FROM replacements "
        "ORDER BY import_id, replaced_import_id",
        step="list replacements",
    ):
        replaced.setdefault(int(import_id), []).append(int(earlier))
    for row in rows:
        row["imported_at"] = row["imported_at"].isoformat(timespec="seconds")
        row["replaced_imports"] = replaced.get(int(row["import_id"]), [])
    return rows


def list_quarantine(engine: Engine, *, import_id: int | None = None) -> list[dict[str, Any]]:
    """Quarantined rows with their file, row, column, value and reason, in file order."""
    if import_id is not None:
        known = engine.scalar(
            "SELECT COUNT(*) FROM imports WHERE import_id = ?", (import_id,), step="find import"
        )
        if not known:
            raise QueryError(f"no import {import_id} in this workspace (see `corridor imports`)")
    where, params = ("WHERE q.import_id = ?", (import_id,)) if import_id is not None else ("", ())
    return engine.query(
        'SELECT q.import_id, i.file_name, q.row_number AS "row", q.column_name AS "column", '
        "q.value, q.reason FROM quarantine q LEFT JOIN imports i ON i.import_id = q.import_id "
        f"{where} ORDER BY q.import_id, q.row_number NULLS FIRST, q.column_name",
        params,
        step="list quarantine",
    ).to_pylist()
