"""DuckDB backend: the embedded default (a file in the workspace). No extensions are loaded.

Concurrency: DuckDB lets one process open a file for writing; a second process waits here (up to
``wait_s``) for the first to finish and then fails with a clear message. A file held by a running
``corridor serve`` (which says so in a marker beside the file, see :func:`serving`) is refused at
once: the server holds it for as long as it runs, so waiting would only delay the same answer.
Within one process the imports into one file are serialised by :meth:`DuckDBEngine.exclusive`.

A damaged file (truncated, overwritten, with unreadable blocks) is refused with
:class:`~corridor.errors.WarehouseDamagedError`, which points to the recovery steps.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa

from corridor.errors import (
    CorridorError,
    DatabaseConnectionError,
    WarehouseBusyError,
    WarehouseDamagedError,
)
from corridor.storage.dialect import DUCKDB
from corridor.storage.engine import Engine, Params

#: beside ``warehouse.duckdb``: the pid and address of the server that holds the file
SERVING_SUFFIX = ".serving"


@contextmanager
def serving(path: str | Path, address: str) -> Iterator[None]:
    """Mark the DuckDB file at ``path`` as held by this process's server (at ``address``)."""
    marker = Path(f"{path}{SERVING_SUFFIX}")
    marker.write_text(f"{os.getpid()} {address}\n", encoding="utf-8")
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def server_holding(path: str | Path) -> str | None:
    """The address of a live ``corridor serve`` that holds the file, or None."""
    try:
        pid_text, _, address = Path(f"{path}{SERVING_SUFFIX}").read_text("utf-8").partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a marker left by a server that died
    except PermissionError:
        pass  # alive, another user's
    return address.strip() or "?"


RECOVERY = "docs/backup.md: `corridor restore BACKUP_DIR --replace` puts the latest backup back"

_HEADER = 4096  # DuckDB: a main header then two database headers, 4 KiB each, then the blocks
_LOCKED = re.compile(r"Could not set lock on file|Conflicting lock is held", re.I)
_DAMAGED = re.compile(
    r"corrupt|checksum|not a valid DuckDB database|Could not read enough bytes|"
    r"read past the end|block .* out of range|Failed to read|serializ",
    re.I,
)
_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def damage_of(path: str | Path) -> str | None:
    """Why the DuckDB file at ``path`` is damaged, or None when its header and size agree.

    Reads 12 KiB: the magic bytes, and the active database header's block count and block size,
    which give the least size of an intact file (a truncated file is shorter).
    """
    try:
        size = os.path.getsize(path)
        if size == 0:
            return None  # DuckDB makes a new database of an empty file
        with open(path, "rb") as fh:
            head = fh.read(3 * _HEADER)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if len(head) < 12 or head[8:12] != b"DUCK":
        return "it is not a DuckDB database file (overwritten, or not a warehouse)"
    if len(head) < 3 * _HEADER:
        return f"it is truncated ({size} bytes, shorter than its own header)"
    headers = [struct.unpack_from("<8Q", head, off) for off in (_HEADER, 2 * _HEADER)]
    _sum, iteration, _meta, _free, count, alloc, _vec, _compat = max(headers, key=lambda h: h[1])
    if iteration == 0 and count == 0:
        return None
    if alloc < 4096 or alloc > (1 << 30) or alloc & (alloc - 1):
        return None  # a layout this check does not know: leave the judgement to DuckDB
    needed = 3 * _HEADER + count * alloc
    if size < needed // 2:  # DuckDB may leave trailing free blocks unwritten: only a gross gap
        return f"it is truncated ({size} bytes of the {needed} its header describes)"
    return None


def busy(path: str, wait_s: float | None = None) -> WarehouseBusyError:
    """The user error of a DuckDB file that another process holds: at opening (after waiting
    ``wait_s`` where no server holds it) or later, when a write or its commit cannot take the
    file's lock (DuckDB 2 may take the lock of the write-ahead log only then)."""
    server = server_holding(path)
    if server is not None:
        return WarehouseBusyError(
            f"the workspace's DuckDB file {path} is held by another process, a running "
            f"`corridor serve` ({server}): a DuckDB file has one process at a time. Use the "
            "server's HTTP API (docs/api.md), stop the server and run the command again, or "
            "move the warehouse to PostgreSQL (--db) for many processes"
        )
    held = f" for more than {wait_s:.0f} s" if wait_s is not None else ""
    return WarehouseBusyError(
        f"the workspace's DuckDB file {path} is held by another process (a running "
        f"`corridor serve`, an import, or another command){held}: a DuckDB file has one "
        "process at a time. Nothing was changed. Use the running server's HTTP API "
        "(docs/api.md), stop it and run the command again, or move the warehouse to "
        "PostgreSQL (--db) for many processes"
    )


def damaged(path: str, reason: str) -> WarehouseDamagedError:
    return WarehouseDamagedError(
        f"the warehouse file {path} is damaged: {reason}. Nothing was changed. "
        f"Recovery, in {RECOVERY} (the damaged file is kept aside)."
    )


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = DUCKDB

    def __init__(self, path: str | Path, *, wait_s: float = 60.0) -> None:
        super().__init__()
        self._path = str(path)
        if self._path != ":memory:":
            reason = damage_of(self._path)
            if reason is not None:
                raise damaged(self._path, reason)
        deadline = time.monotonic() + wait_s
        delay = 0.05
        while True:
            try:
                # autoload/autoinstall off: the tool never downloads an extension at run time
                self._con = duckdb.connect(
                    self._path,
                    config={
                        "autoinstall_known_extensions": False,
                        "autoload_known_extensions": False,
                    },
                )
                break
            except duckdb.Error as exc:
                if _LOCKED.search(str(exc)):
                    if server_holding(self._path) is None and time.monotonic() < deadline:
                        time.sleep(delay)
                        delay = min(delay * 2, 1.0)
                        continue
                    raise busy(self._path, wait_s) from exc
                if _DAMAGED.search(str(exc)):
                    raise damaged(self._path, str(exc).splitlines()[0]) from exc
                raise DatabaseConnectionError(
                    f"cannot open DuckDB file {self._path}: {exc}"
                ) from exc

    @property
    def url(self) -> str:
        return self._path

    def refusal(self, exc: BaseException) -> str | None:
        cause = exc if isinstance(exc, duckdb.Error) else exc.__cause__
        if isinstance(cause, duckdb.IntegrityError | duckdb.DataError):
            return str(cause).splitlines()[0]  # (the key or value; no row)
        return None

    def _user_error(self, exc: BaseException) -> CorridorError | None:
        if isinstance(exc, duckdb.Error) and _LOCKED.search(str(exc)):
            return busy(self._path)
        if isinstance(exc, duckdb.Error) and _DAMAGED.search(str(exc)):
            return damaged(self._path, str(exc).splitlines()[0])
        return None

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        key = f"{os.path.realpath(self._path)}\0{name}"
        with _PROCESS_LOCKS_GUARD:
            lock = _PROCESS_LOCKS.setdefault(key, threading.Lock())
        with lock:
            yield

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
        except BaseException:
            with suppress(duckdb.Error):  # (as in _insert_arrow: the block's own error wins)
                self._con.unregister(name)
            raise
        self._con.unregister(name)

    def _insert_arrow(self, table: str, data: pa.Table) -> None:
        self._con.register("_corridor_incoming", data)
        try:
            cols = ", ".join(data.column_names)
            self._con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _corridor_incoming")
        except BaseException:
            # The insert's own error wins: in a transaction it aborted, unregistering fails too
            # ("Current transaction is aborted"), which hid why the rows were refused
            with suppress(duckdb.Error):
                self._con.unregister("_corridor_incoming")
            raise
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
        try:
            rows = self._con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        except duckdb.Error as exc:
            user = self._user_error(exc)
            if user is not None:
                raise user from exc
            raise
        return {r[0] for r in rows}
