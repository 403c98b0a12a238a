"""Versioned schema migrations. Append new migrations; never edit one that has shipped."""

from __future__ import annotations

from dataclasses import dataclass

from corridor.storage.engine import Engine


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    #: engines whose schema runs ``only_on`` statements (the version is recorded on every engine)
    only_on: tuple[str, ...] = ()
    #: statements run only on the engines named in ``only_on`` (after ``statements``)
    engine_statements: tuple[str, ...] = ()


FLOWS_KEY = (
    "observation_code, period_start, period_end, direction, origin_code, destination_code, "
    "sex, age_band, population_group, mode"
)
SERVICES_KEY = "place_code, data_element, period, sex, age_band, population_group"


def _keep_latest(table: str, key: str) -> str:
    """Delete rows whose natural key a later import also holds (rows doubled by a race)."""
    join = " AND ".join(f"n.{k} = {table}.{k}" for k in key.split(", "))
    return (
        f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {table} n WHERE {join} "
        f"AND n.import_id > {table}.import_id)"
    )


_DIMS = """
    sex TEXT NOT NULL,
    age_band TEXT NOT NULL,
    population_group TEXT NOT NULL"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "canonical tables, provenance and quarantine",
        (
            "CREATE SEQUENCE import_id_seq START 1",
            """CREATE TABLE imports (
                import_id BIGINT PRIMARY KEY,
                file_name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                kind TEXT NOT NULL,
                format TEXT NOT NULL,
                source TEXT NOT NULL,
                user_name TEXT NOT NULL,
                imported_at TIMESTAMP NOT NULL,
                rows_read BIGINT NOT NULL,
                rows_imported BIGINT NOT NULL,
                rows_new BIGINT NOT NULL,
                rows_replaced BIGINT NOT NULL,
                rows_unchanged BIGINT NOT NULL,
                rows_quarantined BIGINT NOT NULL,
                status TEXT NOT NULL,
                mapping TEXT
            )""",
            """CREATE TABLE places (
                place_code TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                place_type TEXT NOT NULL,
                parent_code TEXT NOT NULL,
                country_code TEXT NOT NULL,
                lat DOUBLE PRECISION,
                lon DOUBLE PRECISION,
                corridor TEXT NOT NULL,
                population BIGINT,
                dhis2_uid TEXT NOT NULL,
                fmp_code TEXT NOT NULL,
                import_id BIGINT NOT NULL
            )""",
            f"""CREATE TABLE flows (
                period_start DATE NOT NULL,
                period_end DATE NOT NULL,
                observation_code TEXT NOT NULL,
                direction TEXT NOT NULL,
                origin_code TEXT NOT NULL,
                destination_code TEXT NOT NULL,{_DIMS},
                mode TEXT NOT NULL,
                count BIGINT NOT NULL,
                import_id BIGINT NOT NULL
            )""",
            f"""CREATE TABLE services (
                period TEXT NOT NULL,
                period_type TEXT NOT NULL,
                period_start DATE NOT NULL,
                period_end DATE NOT NULL,
                place_code TEXT NOT NULL,
                data_element TEXT NOT NULL,{_DIMS},
                value DOUBLE PRECISION NOT NULL,
                import_id BIGINT NOT NULL
            )""",
            """CREATE TABLE cases (
                case_id TEXT PRIMARY KEY,
                disease TEXT NOT NULL,
                classification TEXT NOT NULL,
                onset_date DATE,
                report_date DATE NOT NULL,
                place_code TEXT NOT NULL,
                sex TEXT NOT NULL,
                age_years DOUBLE PRECISION,
                population_group TEXT NOT NULL,
                origin_code TEXT NOT NULL,
                poe_code TEXT NOT NULL,
                outcome TEXT NOT NULL,
                import_id BIGINT NOT NULL
            )""",
            """CREATE TABLE quarantine (
                import_id BIGINT NOT NULL,
                row_number BIGINT,
                column_name TEXT,
                value TEXT,
                reason TEXT NOT NULL,
                record TEXT
            )""",
            """CREATE TABLE replacements (
                import_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                replaced_import_id BIGINT NOT NULL,
                rows_replaced BIGINT NOT NULL
            )""",
            """CREATE TABLE audit_log (
                logged_at TIMESTAMP NOT NULL,
                user_name TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "CREATE INDEX services_key ON services (place_code, data_element, period)",
            "CREATE INDEX flows_obs ON flows (observation_code, period_start)",
        ),
    ),
    Migration(
        2,
        "record keys for the cell-key method of disclosure control",
        (
            # DuckDB does not alter a table that an index depends on: drop and remake them
            "DROP INDEX IF EXISTS services_key",
            "DROP INDEX IF EXISTS flows_obs",
            *(
                stmt
                for table in ("services", "flows", "cases")
                for stmt in (
                    f"ALTER TABLE {table} ADD COLUMN record_key BIGINT",
                    # existing rows get a random key now (new rows get theirs at import)
                    f"UPDATE {table} SET record_key = CAST(FLOOR(RANDOM() * 4294967296) AS BIGINT)",
                )
            ),
            "CREATE INDEX services_key ON services (place_code, data_element, period)",
            "CREATE INDEX flows_obs ON flows (observation_code, period_start)",
        ),
    ),
    # Natural keys: places and cases have primary keys since 1; flows and services get a unique
    # index on PostgreSQL (replacing the narrower index, with the same leading columns). On DuckDB
    # a unique ART index made a bulk insert 2-3x slower and the file 10x larger, so there the
    # guarantee is the importer's: one writing process per file (DuckDB's file lock), imports
    # serialised within a process, and a check in the import's transaction that no key it touched
    # is held twice (docs/data-contract.md, "Natural keys").
    Migration(
        3,
        "natural keys of flows and services enforced",
        (
            _keep_latest("flows", FLOWS_KEY),
            _keep_latest("services", SERVICES_KEY),
        ),
        only_on=("postgres",),
        engine_statements=(
            f"CREATE UNIQUE INDEX flows_natural_key ON flows ({FLOWS_KEY})",
            f"CREATE UNIQUE INDEX services_natural_key ON services ({SERVICES_KEY})",
            "DROP INDEX IF EXISTS flows_obs",
            "DROP INDEX IF EXISTS services_key",
        ),
    ),
    Migration(
        4,
        "accounts, tokens, sharing agreements and the hash-chained audit trail (the data hub)",
        (
            """CREATE TABLE accounts (
                username TEXT PRIMARY KEY,
                role TEXT NOT NULL,
                countries TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                unsuppressed BOOLEAN NOT NULL,
                disabled BOOLEAN NOT NULL,
                created_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE api_tokens (
                token_id TEXT PRIMARY KEY,
                username TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                purpose TEXT NOT NULL,
                created_at TIMESTAMP NOT NULL,
                expires_at TIMESTAMP,
                revoked BOOLEAN NOT NULL
            )""",
            """CREATE TABLE agreements (
                agreement_id BIGINT PRIMARY KEY,
                partner TEXT NOT NULL,
                indicators TEXT NOT NULL,
                disaggregations TEXT NOT NULL,
                period_type TEXT NOT NULL,
                countries TEXT NOT NULL,
                valid_from DATE NOT NULL,
                valid_to DATE NOT NULL,
                revoked BOOLEAN NOT NULL,
                created_by TEXT NOT NULL,
                created_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE audit_chain (
                seq BIGINT PRIMARY KEY,
                logged_at TIMESTAMP NOT NULL,
                user_name TEXT NOT NULL,
                action TEXT NOT NULL,
                detail TEXT NOT NULL,
                cells BIGINT NOT NULL,
                suppressed BOOLEAN NOT NULL,
                prev_hash TEXT NOT NULL,
                entry_hash TEXT NOT NULL
            )""",
            """CREATE TABLE audit_head (
                id INTEGER PRIMARY KEY,
                seq BIGINT NOT NULL,
                entry_hash TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        6,
        "the country of each quarantined row; failed logins shared by the server's workers",
        (
            "ALTER TABLE quarantine ADD COLUMN country_code TEXT",
            "CREATE TABLE login_failures (failure_key TEXT NOT NULL, failed_at TIMESTAMP NOT NULL)",
        ),
    ),
    # What the indicator query asks before it runs (corridor.indicators.reported): on
    # PostgreSQL, which has no skip scan, a recursive walk of these indexes answers in
    # milliseconds instead of a scan of services (Dialect.loose_scans). The partial index's
    # condition is the one those queries spell (PostgreSQL uses it only for a query whose
    # condition implies it). DuckDB scans instead, and its inserts keep no more indexes.
    Migration(
        7,
        "indexes for the look-ups before the indicator query (PostgreSQL)",
        (),
        only_on=("postgres",),
        engine_statements=(
            "CREATE INDEX services_element_period ON services (data_element, period)",
            "CREATE INDEX services_element_partial ON services (data_element, period) "
            "WHERE sex = 'total' OR age_band = 'total' OR population_group = 'total'",
            "CREATE INDEX services_element_place "
            "ON services (data_element, place_code, period_start)",
            "CREATE INDEX services_age_band ON services (age_band)",
        ),
    ),
    # DuckDB's planner never reads a multi-column ART index (a filter on all its columns is a
    # sequential scan), yet every import paid for these two: rebuilding services_key at the
    # commit of 1M DHIS2 values took 0.4 s of about 3 CPU s. PostgreSQL dropped them in 3.
    Migration(
        8,
        "DuckDB: drop the two multi-column indexes its planner never uses",
        (),
        only_on=("duckdb",),
        engine_statements=(
            "DROP INDEX IF EXISTS services_key",
            "DROP INDEX IF EXISTS flows_obs",
        ),
    ),
)


def current_version(engine: Engine) -> int:
    if "schema_migrations" not in engine.table_names():
        return 0
    version = engine.scalar("SELECT MAX(version) FROM schema_migrations")
    return int(version or 0)


def _pending(engine: Engine) -> list[Migration]:
    if "schema_migrations" not in engine.table_names():
        return list(MIGRATIONS)
    rows = engine.query_rows("SELECT version FROM schema_migrations", step="applied migrations")
    done = {int(r[0]) for r in rows}
    return [m for m in MIGRATIONS if m.version not in done]


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations, each in its own transaction. Returns the versions applied.

    Processes that open a new database at the same time take turns (the engine's ``migrations``
    lock, a PostgreSQL advisory lock): the first applies them, the others find them applied.
    """
    if not _pending(engine):
        return []
    with engine.exclusive("migrations"):
        return _apply(engine)


def _apply(engine: Engine) -> list[int]:
    if "schema_migrations" not in engine.table_names():
        engine.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            step="create schema_migrations",
        )
    # Every migration not yet recorded is applied, in order (not only those above the highest):
    # branches developed side by side may land their numbered migrations in any order.
    applied: list[int] = []
    for m in _pending(engine):  # read again under the lock: another process may have applied
        with engine.transaction():
            engine.execute_script(m.statements, step=f"migration {m.version}")
            if engine.name in m.only_on:
                engine.execute_script(m.engine_statements, step=f"migration {m.version}")
            engine.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (m.version, m.name),
                step=f"record migration {m.version}",
            )
        applied.append(m.version)
    return applied
