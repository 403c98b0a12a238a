"""The fastest path of the DHIS2 JSON reader: DuckDB's JSON reader over the values array.

The values array of a dataValueSet (or a top-level list of values) is copied, as bytes, to a
temporary file that DuckDB's JSON reader (its ``json`` extension, statically linked: nothing is
downloaded) reads with ``format='array'``: C++ over the bytes, columns out, no Python object per
value. It reads each field a DHIS2 data value may have as raw JSON text, so a number, a nested
value or anything else that is not a string shows itself.

DuckDB's reader is laxer than Python's ``json`` in a few places (a trailing comma in an object,
``nan`` and ``inf`` in any case, form feed and vertical tab as blanks) and ignores keys it is
not asked for. So a document is read here only when all of this holds, and otherwise ``None``
sends it to the next reader (:mod:`corridor.intake.jsonvalues`, then the general path), which
reads it exactly as before or explains what is wrong:

- the bytes of the array hold no backslash (no escapes), no form feed and no vertical tab, and
  are valid UTF-8;
- every field read is a string, ``true``, ``false`` or absent (not a number, not ``null``, not
  nested);
- the colons and commas of the array add up: one colon a member and one comma between members
  and between values, besides those inside the strings read. So every member of every value is
  one of the fields read (no other key, no doubled key: DuckDB refuses doubled keys it reads),
  and there is no stray comma. A list of dataValueSets, or a value holding one, fails this too,
  so the array is found without searching the whole document for a second ``"dataValues"``.

What is read is then the very cells the general path gives: text as written, ``true`` and
``false`` as those words.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from corridor.intake.jsonvalues import array_span
from corridor.intake.rawtable import ROW

#: fields of a DHIS2 data value read besides those the reader keeps (only to see that every
#: member of a value is accounted for; DHIS2's exports give them)
EXTRA_FIELDS = ("storedBy", "created", "lastUpdated", "comment", "followup")
#: bytes of the array checked at a time (memory stays a few times this)
SLICE = 16 << 20
#: rows handed from DuckDB to polars at a time
BATCH = 1 << 18
_ODD = (b"\\", b"\x0b", b"\x0c")  # escapes; blanks DuckDB takes and Python's json does not


def duck_values(data: bytes, fields: Sequence[str]) -> pl.DataFrame | None:
    """The values of a dataValueSet (``{"dataValues": [...]}``) or of a top-level list of
    values, as ``Categorical`` columns ``fields`` and their 1-based numbers (``_row``); None
    when the document needs another reader."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        span = array_span(data, head, sole=False)  # the member count below refuses more
    except ValueError:  # no closing bracket
        return None
    if span is None:
        return None
    start, end = span
    if any(data.find(odd, start, end) >= 0 for odd in _ODD):
        return None
    counted = separators(data, start, end)
    if counted is None:
        return None
    columns = [*fields, *(f for f in EXTRA_FIELDS if f not in fields)]
    try:
        with tempfile.TemporaryDirectory(prefix="corridor-json-") as folder:
            path = os.path.join(folder, "values.json")
            with open(path, "wb") as fh:
                fh.write(b"[")
                fh.write(memoryview(data)[start:end])
                fh.write(b"]")
            read = _read(path, fields, columns)
    except OSError:  # no room for the copy in the temporary folder: the next reader reads it
        return None
    except duckdb.Error:
        return None  # broken JSON, a doubled key, a value that is not an object, ...
    except UnicodeDecodeError:  # DuckDB's message quoting the JSON cut a character in two
        return None
    if read is None:
        return None
    frame, expected = read
    if expected != counted:
        return None
    return frame


def separators(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Colons and commas between ``start`` and ``end``; None when the bytes are not UTF-8."""
    colons = commas = 0
    pos = start
    while pos < end:
        cut = min(pos + SLICE, end)
        while cut < end and data[cut] >= 0x80:  # cut before an ASCII byte: never in a character
            cut += 1
        piece = np.frombuffer(data, np.uint8, count=cut - pos, offset=pos)
        if piece.max() >= 0x80:
            try:
                data[pos:cut].decode("utf-8")
            except UnicodeDecodeError:
                return None
        colons += int(np.count_nonzero(piece == ord(":")))
        commas += int(np.count_nonzero(piece == ord(",")))
        pos = cut
    return colons, commas


def _read(
    path: str, fields: Sequence[str], columns: Sequence[str]
) -> tuple[pl.DataFrame, tuple[int, int]] | None:
    """The values as Categorical columns, and the colons and commas they account for (None
    when a field holds something other than a string, ``true`` or ``false``)."""
    declared = ", ".join(f"{_literal(c)}: 'JSON'" for c in columns)
    sql = f"SELECT * FROM read_json({_literal(path)}, format = 'array', columns = {{{declared}}})"
    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    extra = [c for c in columns if c not in fields]
    try:
        con.execute("SET preserve_insertion_order = true")
        # raw JSON texts, one set of categories a column for the whole document: each distinct
        # text is then checked and unquoted once (see jsonvalues.arrow_values)
        coded = [pl.col(f).cast(pl.Categorical(pl.Categories.random())) for f in fields]
        frames: list[pl.DataFrame] = []
        members = colons = commas = 0
        for batch in con.sql(sql).to_arrow_reader(BATCH):
            members += sum(len(c) - c.null_count for c in batch.columns)
            part = pl.DataFrame(pa.Table.from_batches([batch]))
            if extra:
                ok, k, c = part.select(_plain_texts(extra)).row(0)
                if not ok:
                    return None
                colons += int(k or 0)
                commas += int(c or 0)
            frames.append(part.select(coded))
    finally:
        con.close()
    if not frames:
        return None
    frame = pl.concat(frames, rechunk=False)
    if not frame.height:
        return None
    out: list[pl.Series] = []
    for name in fields:
        decoded = _unquoted(frame[name])
        if decoded is None:
            return None
        series, k, c = decoded
        out.append(series.alias(name))
        colons += k
        commas += c
    out.append(pl.Series(ROW, np.arange(1, frame.height + 1, dtype=np.int64)))
    # one colon a member, a comma between members of a value and between values
    return pl.DataFrame(out), (members + colons, members - 1 + commas)


def _plain_texts(names: Sequence[str]) -> list[pl.Expr]:
    """Whether every cell of ``names`` is a JSON string without escapes, ``true``, ``false`` or
    absent; the colons and commas inside those cells."""
    ok = [
        (
            pl.col(n).is_null()
            | (pl.col(n).str.starts_with('"') & ~pl.col(n).str.contains("\\", literal=True))
            | pl.col(n).is_in(["true", "false"])
        ).all()
        for n in names
    ]
    return [
        pl.all_horizontal(ok).alias("ok"),
        pl.sum_horizontal(
            pl.col(n).str.count_matches(":", literal=True).sum() for n in names
        ).alias("colons"),
        pl.sum_horizontal(
            pl.col(n).str.count_matches(",", literal=True).sum() for n in names
        ).alias("commas"),
    ]


def _unquoted(raw: pl.Series) -> tuple[pl.Series, int, int] | None:
    """A Categorical column of raw JSON texts as the texts they stand for (each distinct text
    checked once), with the colons and commas inside them; None when one is not a string
    without escapes, ``true`` or ``false``."""
    distinct = raw.unique().drop_nulls()
    ids = distinct.to_physical().to_list()
    size = max(ids, default=-1) + 2  # the last entry stands for absent cells
    texts: list[str | None] = [None] * size
    inner_colons = np.zeros(size, np.int64)
    inner_commas = np.zeros(size, np.int64)
    for i, text in zip(ids, distinct.cast(pl.Utf8).to_list(), strict=True):
        if text in ("true", "false"):
            texts[i] = text
        elif len(text) >= 2 and text[0] == '"' and text[-1] == '"' and "\\" not in text:
            texts[i] = text[1:-1]
            inner_colons[i] = text.count(":")
            inner_commas[i] = text.count(",")
        else:
            return None
    indices = raw.to_physical().cast(pl.UInt32)
    categories = pl.Series(raw.name, texts, pl.Utf8).cast(pl.Categorical(pl.Categories.random()))
    series = categories.gather(indices)  # an absent cell's null index gives null
    if not inner_colons.any() and not inner_commas.any():  # the usual case: identifiers
        return series, 0, 0
    codes = indices.fill_null(size - 1).to_numpy()
    return series, int(inner_colons[codes].sum()), int(inner_commas[codes].sum())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
