"""DuckDB backend: the embedded default (a file in the workspace). No extensions are loaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from corridor.errors import DatabaseConnectionError
from corridor.storage.engine import Engine, Params


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self._path = str(path)
        try:
            # autoload/autoinstall off: the tool never downloads an extension at run time
            self._con = duckdb.connect(
                self._path,
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                raise DatabaseConnectionError(
                    f"the workspace's DuckDB file {self._path} is held by another process "
                    "(a running `corridor serve`, or another command): a DuckDB file has one "
                    "process at a time. Use the running server's HTTP API (docs/api.md), stop "
                    "it and run the command again, or move the warehouse to PostgreSQL (--db) "
                    "for many processes"
                ) from exc
            raise DatabaseConnectionError(f"cannot open DuckDB file {self._path}: {exc}") from exc

    @property
    def url(self) -> str:
        return self._path

    def _execute(self, sql: str, params: Params) -> None:
        self._con.execute(sql, list(params) if params is not None else None)

    def _query(self, sql: str, params: Params) -> pa.Table:
        rel = self._con.sql(sql, params=list(params) if params is not None else None)
        if rel is None:  # a statement without a result
            return pa.table({})
        if hasattr(rel, "to_arrow_table"):  # duckdb >= 1.4
            return rel.to_arrow_table()
        return rel.arrow()

    @contextmanager
    def staged(self, name: str, data: pa.Table, like: str, *, step: str) -> Iterator[str]:
        """The Arrow table itself, registered as a view: DuckDB scans it in place (no copy)."""
        self._run(step, f"REGISTER {name} <{data.num_rows} rows>", lambda: None)
        self._con.register(name, data)
        try:
            yield name
        finally:
            self._con.unregister(name)

    def _insert_arrow(self, table: str, data: pa.Table) -> None:
        self._con.register("_corridor_incoming", data)
        try:
            cols = ", ".join(data.column_names)
            self._con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _corridor_incoming")
        finally:
            self._con.unregister("_corridor_incoming")

    def _begin(self) -> None:
        self._con.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        self._con.execute("COMMIT")

    def _rollback(self) -> None:
        self._con.execute("ROLLBACK")

    def close(self) -> None:
        self._con.close()

    def table_names(self) -> set[str]:
        rows = self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}
