"""What a restore checks in a backup's rows besides their types, and how every refusal ends.

Both engines check the same things, so that a backup that restores on one restores on the other:

- :func:`unique_keys`: the keys of a table that hold each value once: its primary key and unique
  constraints (the catalog's, the same on both engines) and the natural keys of ``flows`` and
  ``services`` (unique indexes on PostgreSQL since migration 3, kept by each import on DuckDB).
- :func:`key_twice`: the first key of a table's rows held by more than one row. Each key column
  becomes small integer codes (Arrow's dictionary encoding), the codes of a row are folded into
  one 64-bit integer and sorted: no hash of a row, and nothing more unless a key is held twice.
  A row with an empty key column holds no key (as in a unique index).
- :func:`first_nul`: the first text with a NUL character, which PostgreSQL cannot store in text
  (and no import writes: control characters are removed or refused at intake). The bytes of each
  column are searched at once; the row is looked for only when one is found.
- :func:`row_problem`: either of the last two, as the message of a refusal.
- :func:`unchanged`: a refusal's message ending as every refused restore ends.

Messages name a key's columns and value, never a whole row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.errors import Problem
from corridor.storage.engine import Engine
from corridor.storage.migrations import FLOWS_KEY, SERVICES_KEY

#: the natural keys no constraint of DuckDB's holds (docs/data-contract.md, "Natural keys")
NATURAL_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "flows": tuple(FLOWS_KEY.split(", ")),
    "services": tuple(SERVICES_KEY.split(", ")),
}
#: how many rows holding a key a message names
_ROWS_SHOWN: Final = 5
#: the words that end every refused restore
UNCHANGED: Final = "Nothing was changed"


def unique_keys(engine: Engine, table: str) -> tuple[tuple[str, ...], ...]:
    """The keys of ``table`` in ``engine``'s warehouse that hold each value once, each as its
    columns: the primary key first, then unique constraints, then the table's natural key."""
    rows = engine.query_rows(
        "SELECT tc.constraint_type, tc.constraint_name, kcu.column_name "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu "
        "ON kcu.constraint_name = tc.constraint_name "
        "AND kcu.constraint_schema = tc.constraint_schema AND kcu.table_name = tc.table_name "
        "WHERE tc.table_name = ? AND tc.table_schema = current_schema() "
        "AND tc.table_catalog = current_database() "
        "AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
        "ORDER BY tc.constraint_type, tc.constraint_name, kcu.ordinal_position",
        (table,),
        step=f"keys of {table}",
    )
    found: dict[tuple[str, str], list[str]] = {}
    for kind, name, column in rows:
        found.setdefault((str(kind), str(name)), []).append(str(column))
    keys = [tuple(cols) for (kind, _), cols in found.items() if kind == "PRIMARY KEY"]
    keys += [tuple(cols) for (kind, _), cols in found.items() if kind != "PRIMARY KEY"]
    natural = NATURAL_KEYS.get(table)
    if natural is not None:
        keys.append(natural)
    return tuple(dict.fromkeys(k for k in keys if k))  # (each key once, in order)


@dataclass(frozen=True, slots=True)
class KeyTwice:
    """A key that more than one row of a table holds."""

    rows: tuple[int, ...]  # the 0-based positions of the first rows that hold it
    count: int  # how many rows hold it
    values: tuple[object, ...]  # its value, column by column

    def format(self, file: str, table: str, key: tuple[str, ...]) -> str:
        """The refusal, naming the file, the rows, the key's columns and value and the reason."""
        rows = [str(r + 1) for r in self.rows]
        more = self.count - len(rows)
        named = f"{', '.join(rows)} and {more} more" if more else _and(rows)
        shown = [_shown(v) for v in self.values]
        if len(key) == 1:
            where = f"column {key[0]!r}, value {shown[0]}"
        else:
            where = f"columns {', '.join(repr(c) for c in key)}, values {', '.join(shown)}"
        return (
            f"{file}, rows {named}, {where}: a duplicate key: the table {table} holds each "
            f"value of its key ({', '.join(key)}) in one row only"
        )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Integer codes of ``column``'s values (equal values, equal codes), how many codes there
    are, and which rows are empty (None: none is)."""
    encoded = pc.dictionary_encode(column).unify_dictionaries()
    if encoded.num_chunks == 0:
        return np.zeros(0, np.int64), 1, None
    size = len(encoded.chunk(0).dictionary)
    indices = pa.chunked_array([c.indices for c in encoded.chunks])
    empty = None
    if indices.null_count:
        empty = pc.is_null(indices).to_numpy(zero_copy_only=False)
        indices = pc.fill_null(indices, 0)
    codes = indices.to_numpy().astype(np.int64, copy=False)
    return codes, max(size, 1), empty


def _folded(data: pa.Table, key: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    """One 64-bit integer per row, equal where the rows hold the same key, and the positions of
    the rows whose key has no empty column (None: every row)."""
    folded = np.zeros(data.num_rows, np.int64)
    radix = 1
    holding: np.ndarray | None = None
    for name in key:
        codes, size, empty = _codes(data.column(name))
        if empty is not None:
            holding = ~empty if holding is None else holding & ~empty
        if radix * size >= 1 << 62:  # the keys so far, numbered again densely
            _, inverse = np.unique(folded, return_inverse=True)
            folded = inverse.astype(np.int64).reshape(-1)
            radix = int(folded.max()) + 1
        folded = folded * size + codes
        radix *= size
    return folded, None if holding is None else np.flatnonzero(holding)


def key_twice(data: pa.Table, key: tuple[str, ...]) -> KeyTwice | None:
    """The first value of ``key`` that more than one row of ``data`` holds (the one whose second
    row comes first), or None when each is held once."""
    if data.num_rows < 2:
        return None
    folded, positions = _folded(data, key)
    if positions is not None:
        folded = folded[positions]
    ordered = np.sort(folded)
    if not (ordered[1:] == ordered[:-1]).any():
        return None
    order = np.argsort(folded, kind="stable")
    ordered = folded[order]
    repeats = order[1:][ordered[1:] == ordered[:-1]]  # rows whose key an earlier row holds
    held = np.flatnonzero(folded == folded[int(repeats.min())])
    if positions is not None:
        held = positions[held]
    first = int(held[0])
    return KeyTwice(
        tuple(int(r) for r in held[:_ROWS_SHOWN]),
        len(held),
        tuple(data.column(c)[first].as_py() for c in key),
    )


def _may_hold_nul(chunk: pa.Array) -> bool:
    """Whether the bytes of the text array ``chunk`` hold a NUL (only then is it searched row by
    row; in UTF-8 no character but NUL has a zero byte)."""
    if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            return False
        kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        bounds = np.frombuffer(offsets, kind)[chunk.offset : chunk.offset + len(chunk) + 1]
        return not np.frombuffer(data, np.uint8)[bounds[0] : bounds[-1]].all()
    return True


def first_nul(column: pa.ChunkedArray) -> int | None:
    """The 0-based position of the first text of ``column`` with a NUL character, or None."""
    if not any(_may_hold_nul(chunk) for chunk in column.chunks):
        return None
    found = pc.match_substring(column, "\x00")
    position = int(pc.index(found, True).as_py())
    return None if position < 0 else position


def first_bad_utf8(column: pa.ChunkedArray) -> int | None:
    """The 0-based position of the first text of ``column`` that is not valid UTF-8, or None
    (Parquet's reader takes a string's bytes as they are; Arrow's full validation finds them)."""
    offset = 0
    for chunk in column.chunks:
        try:
            chunk.validate(full=True)
        except pa.ArrowInvalid:
            values = chunk.cast(pa.binary()).to_pylist()  # (the error path only)
            for i, value in enumerate(values):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError:
                    return offset + i
        offset += len(chunk)
    return None


def row_problem(
    file: str,
    table: str,
    data: pa.Table,
    text: Iterable[str],
    keys: tuple[tuple[str, ...], ...],
) -> str | None:
    """What is wrong with the rows ``data`` of ``table`` (from ``file``, conformed to the
    table's types) that no warehouse could keep on both engines: a NUL character in one of the
    ``text`` columns, text that is not UTF-8, or a key of ``keys`` held by more than one row;
    None when nothing is."""
    for name in text:
        row = first_bad_utf8(data.column(name))
        if row is not None:  # (nor here: the bytes are not shown)
            return Problem(
                file,
                row + 1,
                name,
                None,
                f"text that is not valid UTF-8, which the column {name} of the table {table} "
                "cannot keep (no import writes it: the backup was changed or damaged)",
            ).format()
        row = first_nul(data.column(name))
        if row is not None:  # (the text itself is not shown: it may be a quarantined row)
            return Problem(
                file,
                row + 1,
                name,
                None,
                f"text with a NUL character (\\x00), which the column {name} of the table "
                f"{table} cannot keep on PostgreSQL (and no import writes)",
            ).format()
    for key in keys:
        twice = key_twice(data, key)
        if twice is not None:
            return twice.format(file, table, key)
    return None


def unchanged(message: str, warehouse: str | None = None) -> str:
    """``message`` ending as every refused restore ends: "Nothing was changed: the warehouse
    [WAREHOUSE] is as it was", once. An ending it already has gives way to this one (a refusal
    passed on by an outer step names the warehouse that step knows), and an earlier "Nothing was
    changed." in it is dropped, since it now ends so."""
    text = message.strip()
    said = text.rfind(f"{UNCHANGED}: the warehouse")
    if said >= 0 and text.endswith("is as it was"):
        text = text[:said]
    text = text.replace(f"{UNCHANGED}. ", "").rstrip(" .")
    if text.endswith(UNCHANGED):
        text = text[: -len(UNCHANGED)].rstrip(" .")
    where = f"the warehouse {warehouse}" if warehouse else "the warehouse"
    return f"{text}. {UNCHANGED}: {where} is as it was"


__all__ = (
    "NATURAL_KEYS",
    "UNCHANGED",
    "KeyTwice",
    "first_nul",
    "key_twice",
    "row_problem",
    "unchanged",
    "unique_keys",
)
