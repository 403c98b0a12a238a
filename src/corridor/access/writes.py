"""Writes on behalf of an account: imports, with the CLI's validation and atomicity, limited to
the account's countries, and audited."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corridor.access.accounts import Account
from corridor.access.audit import append
from corridor.access.changes import services_change
from corridor.access.quarantine import file_scope, require_countries_of_import, tag_quarantine
from corridor.access.reads import Cache
from corridor.access.roles import require
from corridor.access.versions import bump, pinned, stored_version, upcoming_versions
from corridor.config import Settings
from corridor.contract.schema import KINDS
from corridor.errors import CorridorError, QueryError
from corridor.intake.importer import ImportResult, ingest
from corridor.storage.engine import Engine

log = logging.getLogger("corridor.access")


class _DryRunDone(Exception):
    """Rolls back the trial load of a dry run."""


def _as_dry_run(r: ImportResult) -> ImportResult:
    return dataclasses.replace(
        r,
        status="validated",
        import_id=None,
        rows_new=0,
        rows_replaced=0,
        rows_unchanged=0,
        rows_quarantined=0,
        replaced_imports=[],
    )


def _warm(
    engine: Engine,
    cache: Cache | None,
    results: Sequence[ImportResult],
    current: tuple[Any, ...] | None,
    before: tuple[Any, ...] | None,
) -> None:
    """DuckDB: prepare the answers in use for the new data before readers see the new version:
    those the import cannot change are kept (``corridor.access.changes``), the others computed
    again. ``current``: the version readers had (pinned); ``before``: the imports table's
    version read before the import. A failure only means their next reader computes them."""
    if cache is None:
        return
    try:
        ids = [int(r.import_id) for r in results if r.import_id is not None and _changed(r)]
        change = None
        # keeping answers is safe only when this import is all that changed since ``current``
        # (no other write in between): otherwise every answer in use is computed again
        if (
            ids
            and current is not None
            and before is not None
            and all(r.kind == "services" for r in results)
            and tuple(current[1:]) == tuple(before)
            and tuple(stored_version(engine)) == (int(before[0]) + len(ids), max(ids))
        ):
            change = services_change(engine, ids)
        cache.warm(engine, upcoming_versions(engine), change=change, current=current)
    except Exception:
        log.debug("warming the answer cache after an import failed", exc_info=True)


def _changed(r: ImportResult) -> bool:
    """Whether an import changed the data version (``versions.stored_version``'s rule)."""
    return bool(r.rows_new + r.rows_replaced > 0 or r.rows_quarantined > 0)


def _warm_in_transaction(engine: Engine, cache: Cache | None) -> None:
    """PostgreSQL: the same inside the import's transaction (which sees its own rows), keyed by
    the version the commit will publish, under a savepoint so that a failure cannot spoil the
    import. The planner's statistics of what the import wrote in bulk are brought up to date
    first (``Engine.refresh_statistics_now``), so that the answers are computed with plans for
    the new rows; if the warming fails, that refresh is taken back with it and left for the
    commit."""
    if cache is None:
        return
    engine.execute("SAVEPOINT corridor_warm", step="warm cache")
    refreshed: list[str] = []
    try:
        refreshed = engine.refresh_statistics_now()
        cache.warm(engine, [stored_version(engine)])
    except Exception:
        engine.execute("ROLLBACK TO SAVEPOINT corridor_warm", step="warm cache")
        engine.refresh_statistics(refreshed)  # (inside the transaction: again at the commit)
        log.debug("warming the answer cache in an import failed", exc_info=True)
    else:
        engine.execute("RELEASE SAVEPOINT corridor_warm", step="warm cache")


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
    cache: Cache | None = None,
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
    # DuckDB: readers keep the version they have (and its cached answers) until the import
    # is committed and its answers warmed; bump() then switches them all at once
    with pinned(engine) as current:
        before = stored_version(engine) if current is not None else None
        # A dry run by an account limited to some countries loads the file in a transaction
        # that is then rolled back, so that the same scope check as a real import runs on its
        # rows.
        trial = dry_run and account.countries is not None
        changed = False
        try:
            with engine.transaction():
                results = ingest(
                    engine,
                    list(paths),
                    kind,
                    fmt=fmt,
                    mapping_path=mapping,
                    quarantine=quarantine,
                    dry_run=dry_run and not trial,
                    user=account.username,
                    extra_age_bands=settings.extra_age_bands,
                    scope=file_scope(engine, account, dry_run=dry_run),
                )
                new_ids = [r.import_id for r in results if r.import_id is not None]
                tag_quarantine(engine, account, new_ids)
                require_countries_of_import(engine, account, kind, new_ids, dry_run=dry_run)
                if trial:
                    raise _DryRunDone
                changed = any(r.rows_new + r.rows_replaced + r.rows_quarantined for r in results)
                if changed and engine.name == "postgres":  # before the commit: readers never wait
                    _warm_in_transaction(engine, cache)
        except _DryRunDone:  # rolled back: report what a dry run reports
            results = [_as_dry_run(r) for r in results]
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
        if not dry_run and changed:
            if engine.name != "postgres":  # committed; readers see it when bumped, warmed first
                _warm(engine, cache, results, current, before)
            bump(engine)  # answers cached before this import are stale from now on
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
