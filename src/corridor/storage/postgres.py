"""PostgreSQL backend (psycopg 3): the multi-user server engine.

Bulk loads use ``COPY ... FROM STDIN`` and large results come back through ``COPY (query) TO
STDOUT`` read by Arrow's CSV reader, not as Python rows. Each session gets settings for analytic
queries (:data:`SESSION_SETTINGS`) wherever the server and the connection URL leave them at
PostgreSQL's defaults, and statements pass :func:`corridor.storage.rewrite.prune_ctes` so that
steps read once are folded into the query that reads them.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from corridor.errors import ConcurrentChangeError, CorridorError, DatabaseConnectionError
from corridor.storage.dialect import POSTGRES
from corridor.storage.engine import Engine, Params
from corridor.storage.rewrite import is_plain_query, prune_ctes

_PLACEHOLDER = re.compile(r"\?")

#: Session settings for analytic queries, applied where the setting is still PostgreSQL's
#: built-in default (a value from postgresql.conf, ALTER ROLE/DATABASE or ``options`` in the
#: URL wins). Measured on the indicator benchmark (CHANGELOG): with 4MB the aggregations and
#: sorts of 2M service rows spill to disk, and JIT compilation took about a second of the
#: query's 20 s.
SESSION_SETTINGS: dict[str, str] = {
    "work_mem": "256MB",
    "jit": "off",
}


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """Portable SQL -> PostgreSQL: ``?`` placeholders become ``%s`` and ``%`` is escaped."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


_USERINFO_PASSWORD = re.compile(r"(://[^:/?#@]*):[^/?#@]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.I)


def _secrets(url: str) -> list[str]:
    """The password texts in ``url`` (in the userinfo, in a ``password=`` parameter), as
    written and percent-decoded, longest first."""
    found = [
        m.group(0)[m.group(0).index(":", 3) + 1 : -1] for m in _USERINFO_PASSWORD.finditer(url)
    ]
    found += [m.group(0)[len(m.group(1)) :] for m in _QUERY_PASSWORD.finditer(url)]
    found += [unquote(f) for f in found]
    return sorted({f for f in found if f}, key=len, reverse=True)


def _redact(url: str) -> str:
    """``url`` without its password (``user:***@``, ``password=***``)."""
    url = _USERINFO_PASSWORD.sub(r"\1:***@", url)
    return _QUERY_PASSWORD.sub(r"\1***", url)


def _scrub(text: str, url: str) -> str:
    """``text`` (a driver's message, which may quote the URL) with the URL's password gone."""
    text = _redact(text)
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


class PostgresEngine(Engine):
    name = "postgres"
    dialect = POSTGRES
    enforces_unique_keys = True  # migration 3: unique indexes on every table's natural key

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        try:
            self._con = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise DatabaseConnectionError(
                _scrub(f"cannot connect to PostgreSQL at {url}: {exc}".strip(), url)
            ) from None
        self._configure()

    def _configure(self) -> None:
        """SET each of SESSION_SETTINGS that the server and the URL leave at its default."""
        rows = self._con.execute(
            b"SELECT name FROM pg_settings WHERE source = 'default' AND name = ANY(%s)",
            [list(SESSION_SETTINGS)],
        ).fetchall()
        for (name,) in rows:
            self._con.execute(b"SELECT set_config(%s, %s, false)", [name, SESSION_SETTINGS[name]])

    @property
    def url(self) -> str:
        return _redact(self._url)

    def _user_error(self, exc: BaseException) -> CorridorError | None:
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return ConcurrentChangeError(
                "another import wrote the same rows at the same time, so this one was rolled "
                "back and nothing was imported; run it again (it will find those rows)"
            )
        return None

    def refusal(self, exc: BaseException) -> str | None:
        cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
        if not isinstance(cause, psycopg.IntegrityError | psycopg.DataError):
            return None
        # the primary message, and the detail only when it names a key: a NOT NULL refusal's
        # detail is the whole row, and COPY's context is the row's line
        text = cause.diag.message_primary or str(cause).splitlines()[0]
        detail = cause.diag.message_detail or ""
        if detail.startswith("Key ("):
            text += f" ({detail.strip().rstrip('.')})"
        return text

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session-level advisory lock: writers of ``name`` across processes take turns."""
        key = int.from_bytes(hashlib.sha256(f"corridor:{name}".encode()).digest()[:8], "big") >> 1
        self._run("lock " + name, "SELECT pg_advisory_lock(%s)", lambda: self._lock(key, True))
        try:
            yield
        finally:
            if not self._con.closed:
                self._lock(key, False)

    @contextmanager
    def _settings(self, settings: dict[str, str]) -> Iterator[None]:
        """Each setting for the session, then its previous value back. In a transaction that a
        failed statement aborted the values are not put back here: the rollback restores
        them."""
        before = {
            name: self._con.execute(b"SELECT current_setting(%s)", [name]).fetchone()[0]  # type: ignore[index]
            for name in settings
        }
        for name, value in settings.items():
            self._con.execute(b"SELECT set_config(%s, %s, false)", [name, value])
        try:
            yield
        finally:
            if self._con.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                for name, value in before.items():
                    self._con.execute(b"SELECT set_config(%s, %s, false)", [name, value])

    def _lock(self, key: int, take: bool) -> None:
        fn = b"pg_advisory_lock" if take else b"pg_advisory_unlock"
        self._con.execute(b"SELECT " + fn + b"(%s)", [key])

    def _execute(self, sql: str, params: Params) -> None:
        if params is None:
            self._con.execute(sql.encode())  # no placeholders to translate
        else:
            self._con.execute(translate(sql).encode(), list(params))

    def _query(self, sql: str, params: Params) -> pa.Table:
        sql = prune_ctes(sql)
        if is_plain_query(sql):
            try:
                table = self._copy_query(sql, params)
            except pa.ArrowInvalid:  # a value Arrow's CSV reader does not take (year 0, ...)
                table = None
            if table is not None:
                return table
        return self._row_query(sql, params)

    def _copy_query(self, sql: str, params: Params) -> pa.Table | None:
        """The result through ``COPY (query) TO STDOUT`` read by Arrow's CSV reader; None where
        a column has a type that this path does not read (the row path takes it then)."""
        text = (translate(sql) if params is not None else sql).rstrip().rstrip(";")
        args = list(params) if params is not None else None
        with self._con.cursor() as cur:
            cur.execute(f"SELECT * FROM ({text}\n) AS q LIMIT 0".encode(), args)
            if not cur.description:
                return None
            names = [d.name for d in cur.description]
            types = [_OID_TYPES.get(d.type_code) for d in cur.description]
        if any(t is None for t in types):
            return None
        literal = psycopg.ClientCursor(self._con).mogrify(text, args)
        buf = bytearray()
        with (
            self._con.cursor() as cur,
            cur.copy(f"COPY ({literal}\n) TO STDOUT (FORMAT csv)".encode()) as copy,
        ):
            for chunk in copy:
                buf += chunk
        return _read_csv(buf, names, types)

    def _row_query(self, sql: str, params: Params) -> pa.Table:
        with self._con.cursor() as cur:
            if params is None:
                cur.execute(sql.encode())
            else:
                cur.execute(translate(sql).encode(), list(params))
            if cur.description is None:
                return pa.table({})
            names = [d.name for d in cur.description]
            types = [_OID_TYPES.get(d.type_code) for d in cur.description]
            rows = cur.fetchall()
        arrays = [_to_arrow([r[i] for r in rows], types[i]) for i in range(len(names))]
        return pa.Table.from_arrays(arrays, names=names) if names else pa.table({})

    def _insert_arrow(self, table: str, data: pa.Table) -> None:
        # Arrow's CSV writer does not take string views (polars' own layout): plain strings
        views = [i for i, f in enumerate(data.schema) if f.type == pa.string_view()]
        for i in views:
            data = data.set_column(i, data.field(i).name, data.column(i).cast(pa.large_string()))
        buf = io.BytesIO()
        pacsv.write_csv(
            data,
            buf,
            # all_valid: "" is an empty string, an unquoted empty field is NULL
            pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        cols = ", ".join(data.column_names)
        with (
            self._con.cursor() as cur,
            cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)".encode()) as copy,
        ):
            view = buf.getbuffer()
            for i in range(0, len(view), 1 << 20):
                copy.write(view[i : i + (1 << 20)])

    def _refresh_statistics(self, table: str) -> None:
        self.execute(f"ANALYZE {table}", step=f"statistics of {table}")

    def _begin(self) -> None:
        self._con.execute(b"BEGIN")

    def _begin_snapshot(self) -> None:
        # READ COMMITTED (a plain BEGIN) takes a new snapshot for each statement
        self._con.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def _can_run_statements(self) -> bool:
        status = self._con.info.transaction_status
        return not self._con.closed and status in (
            psycopg.pq.TransactionStatus.IDLE,
            psycopg.pq.TransactionStatus.INTRANS,
        )

    def _commit(self) -> None:
        self._con.execute(b"COMMIT")

    def _rollback(self) -> None:
        self._con.execute(b"ROLLBACK")

    def close(self) -> None:
        self._con.close()

    def table_names(self) -> set[str]:
        rows = self._con.execute(
            b"SELECT table_name FROM information_schema.tables "
            b"WHERE table_schema = current_schema()"
        ).fetchall()
        return {r[0] for r in rows}


# PostgreSQL type OIDs -> Arrow types, so that empty results keep their column types
_OID_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    25: pa.string(),
    1043: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
}


def _read_csv(data: bytearray, names: list[str], types: list[pa.DataType]) -> pa.Table:
    """A table from PostgreSQL's CSV: an unquoted empty field is NULL, a quoted one ``""``."""
    keys = [f"c{i}" for i in range(len(names))]
    if not data:
        return pa.Table.from_arrays([pa.array([], t) for t in types], names=names)
    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data)),  # no copy of the bytes
        read_options=pacsv.ReadOptions(column_names=keys, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(keys, types, strict=True)),
            null_values=[""],
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.rename_columns(names)


def _to_arrow(values: list[Any], type_: pa.DataType | None) -> pa.Array:
    if any(isinstance(v, Decimal) for v in values):
        values = [float(v) if isinstance(v, Decimal) else v for v in values]
    return pa.array(values, type=type_)
