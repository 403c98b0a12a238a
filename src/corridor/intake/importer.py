"""Atomic, idempotent imports: read, validate, then load every file in one transaction.

A re-import of the same file changes nothing; a corrected file for the same keys replaces those
values and records which earlier import it replaced. By default any invalid row rejects the whole
command and leaves the warehouse unchanged; with ``quarantine`` the valid rows are imported and the
invalid ones kept, with their reasons, in the quarantine table.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from corridor.contract.periods import parse_period
from corridor.contract.schema import TableSchema, schema_for
from corridor.errors import ConcurrentChangeError, InputError, Problem, file_error
from corridor.intake.formats import detect_format, reader_for
from corridor.intake.jsonstage import COLUMNS as STAGED_COLUMNS
from corridor.intake.jsonstage import Staged, stage_values
from corridor.intake.lookup import by_value
from corridor.intake.mapping import load_mapping
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.source import (
    DEFAULT_MAX_FILE_MB,
    check_unchanged,
    read_head,
    read_source,
    scan_source,
)
from corridor.intake.text import has_text, printable
from corridor.intake.tidy import scan_delimited
from corridor.intake.validate import Validated, validate
from corridor.storage.engine import STATISTICS_ROWS, Engine
from corridor.storage.placeorder import place_order
from corridor.storage.recordkeys import KEY_MODULUS, KEYED_TABLES, new_record_keys

Progress = Callable[[str], None]


@dataclass(slots=True)
class ImportResult:
    file: str
    kind: str
    format: str
    sha256: str
    rows_read: int
    rows_valid: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_new: int = 0
    rows_replaced: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    import_id: int | None = None
    replaced_imports: list[int] = field(default_factory=list)
    #: validated | imported | unchanged (already imported, nothing changed) | rejected
    status: str = "validated"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "format": self.format,
            "sha256": self.sha256,
            "status": self.status,
            "import_id": self.import_id,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_new": self.rows_new,
            "rows_replaced": self.rows_replaced,
            "rows_unchanged": self.rows_unchanged,
            "rows_quarantined": self.rows_quarantined,
            "replaced_imports": self.replaced_imports,
            "problems": len(self.problems),
            "warnings": self.warnings,
        }


@dataclass(slots=True)
class _Prepared:
    result: ImportResult
    #: the rows read and validated, or None when they are ``staged`` in the warehouse
    validated: Validated | None
    mapping: dict[str, Any] | None
    staged: Staged | None = None


def ingest(
    engine: Engine,
    paths: Sequence[Path],
    kind: str,
    *,
    fmt: str = "auto",
    mapping_path: Path | None = None,
    quarantine: bool = False,
    dry_run: bool = False,
    user: str = "",
    extra_age_bands: Sequence[str] = (),
    progress: Progress | None = None,
    max_bytes: int | None = DEFAULT_MAX_FILE_MB * 1024 * 1024,
    scope: Callable[[str, pl.DataFrame], None] | None = None,
) -> list[ImportResult]:
    """Import ``paths`` as ``kind``. Raises InputError (nothing imported) on invalid input.

    Files that are not regular files, or larger than ``max_bytes``, are refused before reading.
    ``scope``, when given, sees every file's valid rows (loaded, replacing or unchanged alike)
    before anything is loaded, and may refuse them by raising.
    """
    schema_for(kind)  # KeyError is caught by callers that accept user input
    say = progress or (lambda _msg: None)
    mapping = load_mapping(mapping_path) if mapping_path is not None else None
    places, dhis2, fmp, countries = _crosswalk(engine)
    # DHIS2 JSON values staged in the warehouse itself where it reads JSON (DuckDB), unless
    # every file's rows are to be seen here first
    inside = engine if engine.dialect.json_files and kind == "services" and scope is None else None
    prepared: list[_Prepared] = []
    try:
        for path in paths:
            say(f"reading {path}")
            p = _prepare(
                path,
                kind,
                fmt,
                mapping,
                places,
                dhis2,
                fmp,
                extra_age_bands,
                max_bytes,
                inside,
                countries,
            )
            prepared.append(p)
            if kind == "places" and p.validated is not None:  # later files may name these places
                valid = p.validated.valid
                places |= set(valid["place_code"].to_list())
                dhis2.update(_pairs(valid, "dhis2_uid"))
                fmp.update(_pairs(valid, "fmp_code"))
        return _finish(engine, kind, prepared, quarantine, dry_run, user, say, scope)
    finally:
        for p in prepared:
            if p.staged is not None:
                p.staged.close()


def _finish(
    engine: Engine,
    kind: str,
    prepared: list[_Prepared],
    quarantine: bool,
    dry_run: bool,
    user: str,
    say: Progress,
    scope: Callable[[str, pl.DataFrame], None] | None,
) -> list[ImportResult]:
    """Refuse the command on any problem (unless ``quarantine``), else load every file in one
    transaction."""
    problems = [pr for p in prepared for pr in p.result.problems]
    if problems and not quarantine:
        for p in prepared:
            p.result.status = "rejected"
        files = sum(1 for p in prepared if p.result.problems)
        raise InputError(
            problems,
            summary=f"{len(problems)} problem(s) in {files} file(s); nothing was imported"
            + (" (dry run)" if dry_run else "")
            + ". Fix the file(s), or use --quarantine to import the valid rows.",
        )
    if scope is not None:
        for p in prepared:
            if p.validated is not None:
                scope(kind, p.validated.valid)
    if dry_run:
        return [p.result for p in prepared]
    who = user or getpass.getuser()
    # Imports take turns (across processes on PostgreSQL, within the process on DuckDB, whose
    # file lock already keeps other processes out): a second import of the same file waits, then
    # finds the first one's rows unchanged instead of adding them again.
    with engine.exclusive("import"), engine.transaction():
        for p in prepared:
            say(f"loading {p.result.file}")
            _load(engine, p, who)
    written = sum(p.result.rows_new + p.result.rows_replaced for p in prepared)
    if written >= STATISTICS_ROWS:  # the next query plans with the rows just written
        engine.refresh_statistics([kind])
    return [p.result for p in prepared]


def _pairs(frame: pl.DataFrame, column: str) -> dict[str, str]:
    sub = frame.filter(pl.col(column) != "").select(column, "place_code")
    if column == "dhis2_uid":
        return dict(sub.iter_rows())
    return {k.lower(): v for k, v in sub.iter_rows()}


def _crosswalk(engine: Engine) -> tuple[set[str], dict[str, str], dict[str, str], set[str]]:
    """The warehouse's place codes, DHIS2 UIDs and flow-monitoring point codes (-> place code),
    and the country codes its places have."""
    rows = engine.query_rows(
        "SELECT place_code, dhis2_uid, fmp_code, country_code FROM places",
        step="load place crosswalk",
    )
    places = {r[0] for r in rows}
    dhis2 = {r[1]: r[0] for r in rows if r[1]}
    fmp = {r[2].lower(): r[0] for r in rows if r[2]}
    countries = {r[3] for r in rows if r[3]}
    return places, dhis2, fmp, countries


def _prepare(
    path: Path,
    kind: str,
    fmt: str,
    mapping: dict[str, Any] | None,
    places: set[str],
    dhis2: dict[str, str],
    fmp: dict[str, str],
    extra_age_bands: Sequence[str],
    max_bytes: int | None,
    inside: Engine | None = None,
    countries: Collection[str] = (),
) -> _Prepared:
    name = str(path)
    ctx = ReadContext(name, mapping, dict(dhis2), dict(fmp))

    def stage(data: bytes, pool: ThreadPoolExecutor) -> Staged | None:
        if inside is None:
            return None
        return stage_values(inside, data, ctx, places, extra_age_bands, pool)

    raw, digest, chosen = _read(path, kind, fmt, ctx, max_bytes, stage)
    if isinstance(raw, Staged):
        result = ImportResult(
            file=name,
            kind=kind,
            format=chosen,
            sha256=digest,
            rows_read=raw.rows,
            rows_valid=raw.rows,
        )
        return _Prepared(result, None, raw.mapping, raw)
    validated = validate(raw, places, extra_age_bands, countries)
    if not validated.problems:  # the raw text is kept only for quarantine records
        validated.raw = validated.raw.clear()
    result = ImportResult(
        file=name,
        kind=kind,
        format=raw.format,
        sha256=digest,
        rows_read=validated.rows_read,
        rows_valid=validated.valid.height,
        problems=validated.problems,
        warnings=list(raw.warnings),
    )
    used = dict(raw.mapping) if raw.mapping else (mapping if chosen in _MAPPED else None)
    if used is None and mapping and "drop_zeros" in mapping:  # a source setting, any format
        used = {"drop_zeros": mapping["drop_zeros"]}
    return _Prepared(result, validated, used)


def _read(
    path: Path,
    kind: str,
    fmt: str,
    ctx: ReadContext,
    max_bytes: int | None,
    stage: Callable[[bytes, ThreadPoolExecutor], Staged | None],
) -> tuple[RawTable | Staged, str, str]:
    """The file's rows as text (or DHIS2 JSON values ``stage``d in the warehouse), its SHA-256
    and its format.

    Tidy delimited text is read from the file in batches (its bytes are only hashed, a block at
    a time); other formats, and text the batch reader leaves to the byte reader, are read whole.
    """
    name = ctx.display_name
    head = read_head(path, name, max_bytes)
    if has_text(head):
        chosen = detect_format(path, head) if fmt == "auto" else fmt
        if chosen in _SCANNED:
            scanned = scan_source(path, name, max_bytes)
            raw = scan_delimited(path, scanned.head, kind, ctx)
            if raw is not None:
                check_unchanged(path, name, scanned)
                return raw, scanned.sha256, chosen
    data = read_source(path, name, max_bytes)
    # hashed beside the reader (hashlib lets go of the interpreter's lock for large inputs)
    with ThreadPoolExecutor(2) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if not has_text(data):
            raise file_error(name, "empty file")
        chosen = detect_format(path, data) if fmt == "auto" else fmt
        if chosen == "dhis2-json" and kind == "services":
            staged = stage(data, pool)
            if staged is not None:
                return staged, digest.result(), chosen
        raw = reader_for(chosen, name)(path, data, kind, ctx)
        return raw, digest.result(), chosen


#: formats read from the file in batches (:func:`corridor.intake.tidy.scan_delimited`)
_SCANNED = ("csv", "hxl")
_MAPPED = ("dhis2-json", "dhis2-csv", "dhis2-xml", "adx", "dtm-fmr", "dtm-fmr-xlsx")


def _load(engine: Engine, p: _Prepared, user: str) -> None:
    r, v = p.result, p.validated
    schema = schema_for(r.kind)
    import_id = int(engine.scalar("SELECT nextval('import_id_seq')", step="next import id"))
    with _staged(engine, p, import_id) as (stage, columns, fresh_keys):
        counts = (r.rows_valid, 0, 0) if fresh_keys else _diff(engine, schema, stage)
        r.rows_new, r.rows_replaced, r.rows_unchanged = counts
        seen = engine.scalar(
            "SELECT MIN(import_id) FROM imports "
            "WHERE sha256 = ? AND kind = ? AND status = 'imported'",
            (r.sha256, r.kind),
            step="find earlier import",
        )
        if seen is not None and r.rows_new == 0 and r.rows_replaced == 0:
            r.status, r.import_id = "unchanged", int(seen)
            return
        r.import_id = import_id
        replaced = _replace(engine, schema, stage, import_id, r.kind, columns, counts)
        # when no staged key was stored before (the comparison above, in this transaction),
        # each key is now held once: validation left one row per key in the stage
        fresh = r.rows_replaced == 0 and r.rows_unchanged == 0
        if not engine.enforces_unique_keys and r.kind in _UNKEYED and not fresh:
            _check_keys(engine, schema, stage)
    r.replaced_imports = [i for i, _n in replaced]
    if v is not None and v.problems:
        r.rows_quarantined = _quarantine(engine, p, import_id)
    engine.execute(
        "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, "
        "imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
        "rows_quarantined, status, mapping) VALUES (" + ", ".join(["?"] * 16) + ")",
        (
            import_id,
            Path(r.file).name,
            r.sha256,
            r.kind,
            r.format,
            str(Path(r.file).resolve()),
            user,
            datetime.now(UTC).replace(tzinfo=None),
            r.rows_read,
            r.rows_new + r.rows_replaced + r.rows_unchanged,
            r.rows_new,
            r.rows_replaced,
            r.rows_unchanged,
            r.rows_quarantined,
            "imported",
            json.dumps(p.mapping, sort_keys=True) if p.mapping else None,
        ),
        step="record import",
    )
    r.status = "imported"


@contextmanager
def _staged(engine: Engine, p: _Prepared, import_id: int) -> Iterator[tuple[str, list[str], bool]]:
    """The rows to load, readable as a table: its name, its columns, and whether no stored row
    can share a key with them (then they need no comparison with the warehouse)."""
    kind = p.result.kind
    if p.staged is None:
        assert p.validated is not None
        together = kind == "services" and engine.dialect.services_by_place
        rows = _arrow(p.validated.valid, kind, import_id, by_place=together)
        with engine.staged(f"stage_{kind}", rows, kind, step=f"stage {kind}") as stage:
            yield stage, rows.column_names, False
        return
    staged = p.staged
    name = f"stage_{kind}_{import_id}"
    # dropped, and the setting below put back, when the staged values are closed: after the
    # transaction, which an error here leaves aborted until it is rolled back
    staged.later(engine.execute, f"DROP VIEW IF EXISTS {name}", step="drop stage")
    engine.execute(
        f"CREATE TEMPORARY VIEW {name} AS SELECT s.*, {import_id} AS import_id, "
        f"CAST(floor(random() * {KEY_MODULUS}) AS BIGINT) AS record_key FROM ({staged.select}) s",
        step=f"stage {kind}",
    )
    # the staged values have no order to keep: DuckDB then inserts them in both threads
    staged.later(engine.execute, "RESET preserve_insertion_order", step="insert in order")
    engine.execute("SET preserve_insertion_order = false", step="insert in any order")
    yield name, [*STAGED_COLUMNS, "import_id", "record_key"], _no_stored_keys(engine, staged)


def _no_stored_keys(engine: Engine, staged: Staged) -> bool:
    """Whether no stored row of services has a period, place and element of ``staged``'s (so
    that none shares a key with them); a scan of the stored rows' three columns."""
    tests = " AND ".join(
        f"{column} IN ({', '.join('?' for _ in values)})" for column, values in staged.keys.items()
    )
    params = [v for values in staged.keys.values() for v in values]
    found = engine.scalar(
        f"SELECT EXISTS (SELECT 1 FROM services WHERE {tests})", params, step="stored keys"
    )
    return not found


def _arrow(frame: pl.DataFrame, kind: str, import_id: int, by_place: bool = False) -> pa.Table:
    """The rows to stage as Arrow; ``by_place``: each place's rows together (the engine's
    ``Dialect.services_by_place``)."""
    out = frame.drop(ROW)
    order = place_order(out["place_code"].to_arrow()) if by_place else None
    if order is not None:
        out = out[order]
    if kind == "services":
        spread = by_value(out["period"], (_period_columns,))
        # the type as an Enum (a byte a row, where text took 16)
        out = out.with_columns(
            spread.coded("period_type"), spread.column("period_start"), spread.column("period_end")
        )
    out = out.with_columns(pl.lit(import_id, dtype=pl.Int64).alias("import_id"))
    if kind in KEYED_TABLES:  # a permanent random key per row (cell-key disclosure control)
        out = out.with_columns(pl.Series("record_key", new_record_keys(out.height)))
    # string views as they are (no copy into Arrow's older string layout); Enum codes as
    # dictionaries of plain strings, which both engines read as text
    table = out.to_arrow(compat_level=pl.CompatLevel.newest())
    enums = [name for name, dtype in out.schema.items() if isinstance(dtype, pl.Enum)]
    if enums:
        coded = out.select(enums).to_arrow(compat_level=pl.CompatLevel.oldest())
        for name in enums:
            table = table.set_column(table.schema.get_field_index(name), name, coded[name])
    return table


_PERIOD_COLUMNS = ("period_type", "period_start", "period_end")


def _period_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Type, first and last day of each (canonical) period."""
    periods = [parse_period(t) if t is not None else None for t in frame["period"].to_list()]
    return pl.DataFrame(
        [
            pl.Series("period_type", [p.kind if p else None for p in periods], pl.Utf8),
            pl.Series("period_start", [p.start if p else None for p in periods], pl.Date),
            pl.Series("period_end", [p.end if p else None for p in periods], pl.Date),
        ]
    )


def _join(schema: TableSchema) -> str:
    return " AND ".join(f"t.{k} = s.{k}" for k in schema.key)


def _differs(schema: TableSchema) -> str:
    return "(" + " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in schema.values) + ")"


def _diff(engine: Engine, schema: TableSchema, stage: str) -> tuple[int, int, int]:
    row = engine.query_rows(
        f"""SELECT
              COUNT(*) FILTER (WHERE t.{schema.key[0]} IS NULL),
              COUNT(*) FILTER (WHERE t.{schema.key[0]} IS NOT NULL AND {_differs(schema)}),
              COUNT(*) FILTER (WHERE t.{schema.key[0]} IS NOT NULL AND NOT {_differs(schema)})
            FROM {stage} s LEFT JOIN {schema.kind} t ON {_join(schema)}""",
        step=f"compare {schema.kind}",
    )[0]
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def _replace(
    engine: Engine,
    schema: TableSchema,
    stage: str,
    import_id: int,
    kind: str,
    columns: Sequence[str],
    counts: tuple[int, int, int],
) -> list[tuple[int, int]]:
    """Delete rows whose values the new file changes, then insert what is new or changed.

    ``counts`` (new, replaced, unchanged) come from :func:`_diff` in the same transaction: when
    no staged row matches a stored one, the rows go in without looking for matches again.
    """
    _new, n_replaced, n_unchanged = counts
    replaced: list[tuple[Any, ...]] = []
    if n_replaced:
        replaced = engine.query_rows(
            f"SELECT t.import_id, COUNT(*) FROM {kind} t JOIN {stage} s ON {_join(schema)} "
            f"WHERE {_differs(schema)} GROUP BY t.import_id ORDER BY t.import_id",
            step=f"find replaced {kind}",
        )
    for old, n in replaced:
        engine.execute(
            "INSERT INTO replacements (import_id, kind, replaced_import_id, rows_replaced) "
            "VALUES (?, ?, ?, ?)",
            (import_id, kind, int(old), int(n)),
            step="record replacement",
        )
    kept = f"kept_keys_{kind}_{import_id}"
    keep = bool(replaced) and kind in KEYED_TABLES
    if keep:
        # a replaced row keeps its record key: a cell's noise changes only with its count, so
        # importing the same row again and again draws no new noise to average away (a fresh
        # key for each replacement gave a new draw of every cell holding the row)
        keys = ", ".join(f"t.{k}" for k in schema.key)
        engine.execute(f"DROP TABLE IF EXISTS {kept}", step="keep record keys")
        engine.execute(
            f"CREATE TEMPORARY TABLE {kept} AS SELECT {keys}, t.record_key FROM {kind} t "
            f"JOIN {stage} s ON {_join(schema)} WHERE {_differs(schema)}",
            step=f"keep the record keys of replaced {kind}",
        )
    if replaced:
        engine.execute(
            f"DELETE FROM {kind} t USING {stage} s WHERE {_join(schema)} AND {_differs(schema)}",
            step=f"replace {kind}",
        )
    names = ", ".join(columns)
    fresh = n_replaced == 0 and n_unchanged == 0
    engine.execute(
        f"INSERT INTO {kind} ({names}) SELECT {', '.join(f's.{c}' for c in columns)} "
        f"FROM {stage} s"
        + ("" if fresh else f" WHERE NOT EXISTS (SELECT 1 FROM {kind} t WHERE {_join(schema)})"),
        step=f"insert {kind}",
    )
    if keep:
        on = " AND ".join(f"t.{k} = s.{k}" for k in schema.key)
        engine.execute(
            f"UPDATE {kind} t SET record_key = s.record_key FROM {kept} s WHERE {on}",
            step=f"put back the record keys of replaced {kind}",
        )
        engine.execute(f"DROP TABLE {kept}", step="keep record keys")
    return [(int(a), int(b)) for a, b in replaced]


#: tables whose natural key DuckDB does not hold in an index (places and cases have primary keys)
_UNKEYED = ("flows", "services")


def _check_keys(engine: Engine, schema: TableSchema, stage: str) -> None:
    """The equivalent of a unique index: no key this import touched is held twice afterwards.

    Joins the imported keys with the table: each key of the stage must match exactly one row.
    """
    keys = ", ".join(schema.key)
    extra = engine.scalar(
        f"SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {stage}) k) "
        f"FROM {schema.kind} t WHERE EXISTS (SELECT 1 FROM {stage} s WHERE {_join(schema)})",
        step=f"check natural keys of {schema.kind}",
    )
    if extra:
        raise ConcurrentChangeError(
            f"this import would leave {int(extra)} row(s) of {schema.kind} with a natural key "
            f"({keys}) held twice; it was rolled back and nothing was imported"
        )


def _quarantine(engine: Engine, p: _Prepared, import_id: int) -> int:
    """Keep every problem of the rejected rows, with the raw row as JSON."""
    v = p.validated
    assert v is not None  # staged values have no problems
    raw = v.raw
    rows: dict[str, list[Any]] = {
        k: [] for k in ("row_number", "column_name", "value", "reason", "record")
    }
    by_row = {
        int(r[ROW]): r for r in raw.filter(pl.col(ROW).is_in(list(v.invalid_rows))).to_dicts()
    }
    file_level = 0
    for pr in p.result.problems:
        record = by_row.get(pr.row or -1)
        rows["row_number"].append(pr.row)
        rows["column_name"].append(pr.column)
        rows["value"].append(printable(pr.value) if pr.value is not None else None)
        rows["reason"].append(pr.reason)
        rows["record"].append(
            json.dumps({k: v for k, v in record.items() if k != ROW}, sort_keys=True)
            if record
            else None
        )
        file_level += pr.row is None
    table = pa.table(
        {
            "import_id": pa.array([import_id] * len(rows["reason"]), pa.int64()),
            "row_number": pa.array(rows["row_number"], pa.int64()),
            "column_name": pa.array(rows["column_name"], pa.string()),
            "value": pa.array(rows["value"], pa.string()),
            "reason": pa.array(rows["reason"], pa.string()),
            "record": pa.array(rows["record"], pa.string()),
        }
    )
    engine.insert_arrow("quarantine", table, step="quarantine rows")
    return len(v.invalid_rows)
