"""Writes on behalf of an account: imports, with the CLI's validation and atomicity, limited to
the account's countries, and audited."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from corridor.access.accounts import Account
from corridor.access.audit import append
from corridor.access.reads import require_countries_of_import
from corridor.access.roles import require
from corridor.config import Settings
from corridor.contract.schema import KINDS
from corridor.errors import CorridorError, QueryError
from corridor.intake.importer import ImportResult, ingest
from corridor.storage.engine import Engine


def import_files(
    engine: Engine,
    account: Account,
    settings: Settings,
    paths: Sequence[Path],
    kind: str,
    *,
    fmt: str = "auto",
    mapping: Path | None = None,
    quarantine: bool = False,
    dry_run: bool = False,
    channel: str,
) -> list[ImportResult]:
    """Validate and import as ``account``: all or nothing (unless ``quarantine``), and nothing
    at all when a row falls outside the account's countries."""
    require(account.role, "write_imports", user=account.username)
    if kind not in KINDS:
        raise QueryError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    detail = {
        "kind": kind,
        "format": fmt,
        "files": [p.name for p in paths],
        "quarantine": quarantine,
        "dry_run": dry_run,
    }
    try:
        with engine.transaction():
            results = ingest(
                engine,
                list(paths),
                kind,
                fmt=fmt,
                mapping_path=mapping,
                quarantine=quarantine,
                dry_run=dry_run,
                user=account.username,
                extra_age_bands=settings.extra_age_bands,
            )
            new_ids = [r.import_id for r in results if r.import_id is not None]
            require_countries_of_import(engine, account, kind, new_ids)
    except CorridorError as exc:
        # appended after the rollback: the audit chain is never part of an import's transaction
        append(
            engine,
            account.username,
            f"{channel}.import_rejected",
            {**detail, "reason": type(exc).__name__},
            cells=0,
        )
        raise
    append(
        engine,
        account.username,
        f"{channel}.import",
        {
            **detail,
            "imports": [r.import_id for r in results],
            "status": [r.status for r in results],
        },
        cells=sum(r.rows_new + r.rows_replaced for r in results),
    )
    return results
