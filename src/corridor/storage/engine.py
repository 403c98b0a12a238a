"""The Engine base class: logging, error wrapping and transactions over a few primitives.

Domain code builds named SQL steps and hands them to an Engine; it never imports a driver.
SQL is written once in a portable subset (``?`` placeholders, standard types); a backend
translates what it must (PostgreSQL: ``?`` -> ``%s``).
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pyarrow as pa

from corridor.errors import CorridorError, DatabaseConnectionError
from corridor.storage.dialect import Dialect

log = logging.getLogger("corridor.storage")

Params = Sequence[Any] | None


#: a bulk write (an import, a restore) of at least this many rows into a table brings the
#: engine's planner statistics of it up to date when it commits (Engine.refresh_statistics:
#: PostgreSQL's ANALYZE, about 0.3 s for 2M rows); smaller ones leave it to the server's own
#: schedule
STATISTICS_ROWS = 10_000


class StorageError(RuntimeError):
    """A database step failed. Not a user error: names the step and its SQL."""

    def __init__(self, step: str, sql: str, cause: BaseException) -> None:
        self.step = step
        self.sql = sql
        super().__init__(f"step {step!r} failed: {cause}\n--- SQL ---\n{sql.strip()}")


class Engine(ABC):
    """A connection to a warehouse. Subclasses implement the underscored primitives."""

    name: str = "engine"
    #: the engine's spelling and planner properties, for domain code that shapes its SQL
    dialect: Dialect = Dialect("engine")
    #: whether the database itself refuses a second row with the same natural key
    enforces_unique_keys: bool = False

    def __init__(self) -> None:
        self._depth = 0
        self._stale: set[str] = set()  # tables to refresh_statistics of when the write commits

    # ---- primitives -------------------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Params) -> None: ...

    @abstractmethod
    def _query(self, sql: str, params: Params) -> pa.Table: ...

    @abstractmethod
    def _insert_arrow(self, table: str, data: pa.Table) -> None: ...

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    def _begin_snapshot(self) -> None:
        """Begin a read-only transaction that sees one snapshot of every table. By default a
        plain transaction (DuckDB's is already one snapshot)."""
        self._begin()

    def _can_run_statements(self) -> bool:
        """Whether the connection takes statements now (PostgreSQL: not after a failed statement
        in a transaction, which takes only a rollback then)."""
        return True

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def table_names(self) -> set[str]: ...

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the data lives (a file path or a URL with the password removed)."""

    def _user_error(self, exc: BaseException) -> CorridorError | None:
        """A driver error that a user can act on (a damaged file, a busy database), or None."""
        return None

    def refusal(self, exc: BaseException) -> str | None:
        """Why the database refused the rows of a write (a key held twice, a value it cannot
        store), in one line that shows no row (at most the one offending key or value); None
        when ``exc``, or the driver error it was raised from, is no such refusal."""
        return None

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the writers' lock ``name`` (e.g. imports): other holders wait until it ends."""
        yield

    @contextmanager
    def _settings(self, settings: dict[str, str]) -> Iterator[None]:
        """``settings`` in force within the block, the previous values after it."""
        yield

    # ---- the public API, with logging and error wrapping ------------------------------------
    def execute(self, sql: str, params: Params = None, *, step: str = "sql") -> None:
        self._run(step, sql, lambda: self._execute(sql, params))

    def execute_script(self, statements: Sequence[str], *, step: str = "script") -> None:
        for i, sql in enumerate(statements):
            self.execute(sql, step=f"{step}[{i}]")

    def query(
        self, sql: str, params: Params = None, *, step: str = "query", analytic: bool = False
    ) -> pa.Table:
        """The result of ``sql`` as an Arrow table. ``analytic``: one large read-only
        statement (aggregations over many rows), run with the dialect's ``analytic_settings``."""
        settings = dict(self.dialect.analytic_settings) if analytic else {}
        if not settings:
            result: pa.Table = self._run(step, sql, lambda: self._query(sql, params))
            return result
        with self._settings(settings):
            result = self._run(step, sql, lambda: self._query(sql, params))
        return result

    def query_rows(self, sql: str, params: Params = None, *, step: str = "query") -> list[tuple]:
        table = self.query(sql, params, step=step)
        cols = [c.to_pylist() for c in table.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def scalar(self, sql: str, params: Params = None, *, step: str = "scalar") -> Any:
        rows = self.query_rows(sql, params, step=step)
        return rows[0][0] if rows else None

    def insert_arrow(self, table: str, data: pa.Table, *, step: str = "insert") -> None:
        if data.num_rows == 0:
            return
        self._run(
            step,
            f"INSERT INTO {table} <{data.num_rows} rows>",
            lambda: self._insert_arrow(table, data),
        )

    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """After a bulk write (an import): the planner's statistics of ``tables`` brought up to
        date, where the engine keeps them apart from the data and updates them only later
        (PostgreSQL: ``ANALYZE``, which autovacuum runs some time after a write; the indicator
        query on 2M rows just imported took 3.0-3.2 s before it, 1.9-2.5 s after). Inside a
        transaction, once it commits (never for rows rolled back). A failure is logged, not
        raised: the write it follows stands."""
        if self._depth:
            self._stale.update(tables)
            return
        for table in tables:
            try:
                self._refresh_statistics(table)
            except StorageError as exc:  # the server's own schedule will do it
                log.warning("statistics of %s not refreshed: %s", table, exc)

    def refresh_statistics_now(self) -> list[str]:
        """Inside a transaction: the statistics of the tables it has written in bulk (those
        :meth:`refresh_statistics` keeps for the commit) brought up to date now, so that the
        transaction's own queries are planned with its rows counted (PostgreSQL's ``ANALYZE``
        counts the rows of the transaction that runs it; an import's cache warming on 2M rows
        was planned with the table's old estimates); they are not refreshed again at the commit.
        Returns the tables refreshed. A failure is raised (the caller decides; on PostgreSQL
        it spoils the transaction unless taken back to a savepoint), and every table stays
        pending for the commit."""
        tables = sorted(self._stale)
        for table in tables:
            self._refresh_statistics(table)
        self._stale.difference_update(tables)
        return tables

    def _refresh_statistics(self, table: str) -> None:
        """Nothing by default: DuckDB keeps its statistics as it writes."""
        del table

    @contextmanager
    def staged(self, name: str, data: pa.Table, like: str, *, step: str) -> Iterator[str]:
        """``data`` readable by SQL as the table ``name`` (columns as in table ``like``) within
        the block; gone after it.

        By default a temporary table with ``like``'s column types, filled by ``insert_arrow``;
        an engine that can read Arrow in place (DuckDB) overrides this without the copy.
        """
        self.execute(f"DROP TABLE IF EXISTS {name}", step="drop stage")
        self.execute(self._stage_ddl(name, like), step=step)
        try:
            self.insert_arrow(name, data, step=f"{step} rows")
            yield name
        except BaseException:
            # The original error wins. A transaction that a failed statement (or an interrupted
            # COPY) aborted takes no DROP; the stage, created in it, goes with its rollback.
            if self._can_run_statements():
                with suppress(Exception):
                    self.execute(f"DROP TABLE IF EXISTS {name}", step="drop stage")
            raise
        self.execute(f"DROP TABLE IF EXISTS {name}", step="drop stage")

    def _stage_ddl(self, name: str, like: str) -> str:
        """CREATE TEMPORARY TABLE with the columns of ``like``, spelled out.

        Not ``CREATE TABLE AS SELECT ... WHERE 1 = 0``: in DuckDB 1.5/2.0 a table made that way
        inside a transaction silently loses a large insert that follows
        (tests/intake/test_bulk_import.py).
        """
        cols = self.query_rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            (like,),
            step=f"columns of {like}",
        )
        body = ", ".join(f"{col} {dtype}" for col, dtype in cols)
        return f"CREATE TEMPORARY TABLE {name} ({body})"

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction of :meth:`transaction` or :meth:`snapshot` is open."""
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        """A transaction; nested calls join the outer one. Rolls back on any exception."""
        with self._transaction(self._begin) as engine:
            yield engine

    @contextmanager
    def snapshot(self) -> Iterator[Engine]:
        """A read-only transaction in which every query sees the same snapshot of the data, as
        it was when the first one ran: writes that other connections commit meanwhile are not
        seen (PostgreSQL: ``REPEATABLE READ, READ ONLY``; DuckDB: its transaction). A backup
        reads every table in one. Inside a transaction already open it joins that one."""
        with self._transaction(self._begin_snapshot) as engine:
            yield engine

    @contextmanager
    def _transaction(self, begin: Any) -> Iterator[Engine]:
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        begin()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._stale.clear()
            self._rollback()
            raise
        self._depth = 0
        stale, self._stale = sorted(self._stale), set()  # (a failed commit wrote nothing)
        try:
            # through _run: a commit that fails for the user's reason (DuckDB 2: another process
            # holds the file's write-ahead log) is that user error, not an internal one
            self._run("commit", "COMMIT", self._commit)
        except BaseException:
            with suppress(Exception):  # (the failed commit may have ended the transaction)
                self._rollback()
            raise
        if stale:
            self.refresh_statistics(stale)

    def _run(self, step: str, sql: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        try:
            result = fn()
        except (StorageError, CorridorError):
            raise
        except Exception as exc:  # driver errors are wrapped with the step and its SQL
            user = self._user_error(exc)
            if user is not None:
                raise user from exc
            raise StorageError(step, sql, exc) from exc
        log.debug("%s: %s (%.3fs)", self.name, step, time.perf_counter() - t0)
        return result

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: the URL schemes of PostgreSQL (any case): SQLAlchemy's spellings are taken too
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: libpq's connection parameters (PostgreSQL 15, "Parameter Key Words"), as alternatives
_LIBPQ_KEYS = (
    "host|hostaddr|port|dbname|user|password|passfile|channel_binding|connect_timeout|"
    "client_encoding|options|application_name|fallback_application_name|keepalives|"
    "keepalives_idle|keepalives_interval|keepalives_count|tcp_user_timeout|replication|"
    "gssencmode|sslmode|requiressl|sslcompression|sslcert|sslkey|sslpassword|sslrootcert|"
    "sslcrl|sslcrldir|sslsni|requirepeer|ssl_min_protocol_version|ssl_max_protocol_version|"
    "krbsrvname|gsslib|service|target_session_attrs|load_balance_hosts"
)
#: ``host=... password=...``: a libpq key=value connection string, not a file path (a path
#: such as ``survey round=2/w.duckdb`` names no libpq parameter: a path)
_KEY_VALUE = re.compile(rf"(?:^|\s)(?:{_LIBPQ_KEYS})\s*=", re.IGNORECASE)


def connect(url: str) -> Engine:
    """Open an engine from a URL: ``postgresql://...`` (or ``postgres://``, any case) or a
    DuckDB file path (or ``duckdb://PATH``, or ``:memory:``). Anything else is refused with a
    :class:`~corridor.errors.DatabaseConnectionError` that does not repeat it (it may hold a
    password)."""
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme in _POSTGRES_SCHEMES:
        from corridor.storage.postgres import PostgresEngine

        assert match is not None
        return PostgresEngine("postgresql://" + url[match.end() :])
    if scheme is not None and scheme != "duckdb":
        raise DatabaseConnectionError(
            f"unknown database URL scheme {scheme!r}: give postgresql://USER@HOST:PORT/DBNAME "
            "or the path of a DuckDB file"
        )
    path = url[match.end() :] if match else url
    if _KEY_VALUE.search(path) or path != path.strip() or "\n" in path:
        raise DatabaseConnectionError(
            "the database is not a URL nor a DuckDB file path (a key=value connection string "
            "is not taken; it is not repeated here, as it may hold a password): give "
            "postgresql://USER@HOST:PORT/DBNAME, with the password in ~/.pgpass or $PGPASSWORD"
        )
    from corridor.storage.duckdb import DuckDBEngine

    return DuckDBEngine(path)
