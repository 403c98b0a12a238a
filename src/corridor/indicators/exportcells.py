"""Text cells of an export, made column by column with Arrow compute, never row by row.

A text column (codes, names, periods) has few distinct values: each distinct value is formatted
once in Python (CSV quoting, JSON escaping, formula neutralisation: exactly what the ``csv`` and
``json`` modules would write) and the column is mapped through them. A number column is formatted
by Arrow (``number``: whole numbers as integers, others rounded), with the few values where
Arrow's text could differ from Python's (halfway roundings, zero, huge magnitudes) done in Python.
Lines are joined by one Arrow kernel and written as the bytes of the resulting string array.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.output import neutralise

_STRING = pa.string()
_END = (1 << 31) - 1  # a slice start past any value's end: the slice is empty, at the end


def one_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values of a column as one array (a column of one chunk: that chunk, not a copy)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def number(v: float | None, digits: int = 2) -> int | float | None:
    """A count or rate as written: whole numbers as integers, others rounded."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if float(v).is_integer():
        return int(v)
    return round(float(v), digits)


def csv_field(value: Any) -> str:
    """One CSV field as ``csv.writer`` (minimal quoting) writes it, text neutralised."""
    if value is None:
        return ""
    text = neutralise(value) if isinstance(value, str) else str(value)
    if text == "":
        return ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text])
    return buf.getvalue()[:-1]


def json_value(value: Any) -> str:
    return json.dumps(value, default=str)


def mapped(
    arr: pa.Array | pa.ChunkedArray, fmt: Callable[[Any], str], *, fill: bool = True
) -> pa.Array:
    """``fmt`` of each value, computed once per distinct value (nulls as ``fmt(None)``, or left
    null if not ``fill``)."""
    arr = one_array(arr)
    if len(arr) == 0:
        return pa.array([], _STRING)
    enc = pc.dictionary_encode(arr)
    distinct = enc.dictionary.to_pylist()
    formatted = [fmt(v) for v in distinct]
    if pa.types.is_string(arr.type) and formatted == distinct:  # nothing to quote or escape
        return pc.fill_null(arr, fmt(None)) if arr.null_count and fill else arr
    texts = pa.array(formatted, _STRING)
    out = texts.take(enc.indices)
    if out.null_count and fill:
        out = pc.fill_null(out, fmt(None))
    return out


def numbers(
    arr: pa.Array | pa.ChunkedArray,
    digits: int,
    null_text: str,
    text: Callable[[Any], str] = str,
    *,
    fill: bool = True,
) -> pa.Array:
    """``text(number(v, digits))`` of each value (``null_text`` for None/NaN, or null if not
    ``fill``), by Arrow.

    ``text`` is ``str`` for CSV and ``json_value`` for JSON; they differ only for infinities,
    which are written by ``text`` itself.
    """
    arr = one_array(arr)
    n = len(arr)
    if n == 0:
        return pa.array([], _STRING)
    if not pa.types.is_floating(arr.type):
        if pa.types.is_integer(arr.type):
            out = pc.cast(arr, _STRING)
            return pc.fill_null(out, null_text) if out.null_count and fill else out
        return mapped(arr, lambda v: null_text if v is None else text(number(v, digits)))
    x = arr.to_numpy(zero_copy_only=False)  # nulls as NaN
    with np.errstate(invalid="ignore", over="ignore"):
        return _floats(x, digits, null_text if fill else None, text)


def _floats(
    x: np.ndarray, digits: int, null_text: str | None, text: Callable[[Any], str]
) -> pa.Array:
    nan = np.isnan(x)
    finite = np.isfinite(x)
    whole = finite & (np.floor(x) == x)
    rounded = np.round(x, digits)  # numpy rounds the scaled value half to even, as Arrow does
    frac = x * 10.0**digits
    frac -= np.floor(frac)
    # One Arrow cast writes a whole float as an integer ("25") and a rounded one in its shortest
    # form ("27.5"), as Python does. Python writes the rest: infinities, values from 1e9 on
    # (Arrow turns to exponents sooner), halfway cases (Python rounds the exact decimal), and
    # values that round to a whole number or zero ("9.0", "-0.0").
    special = ~finite & ~nan | (np.abs(x) >= 1e9)
    special |= ~whole & finite & ((np.abs(frac - 0.5) < 1e-6) | (np.floor(rounded) == rounded))
    if (whole | nan).all():  # counts: integers cast faster than floats
        out = pc.cast(
            pa.array(np.where(whole & ~special, x, 0).astype(np.int64), mask=nan), _STRING
        )
    else:  # (+0.0 turns -0.0 into 0.0, which Python writes as int 0)
        out = pc.cast(pa.array(np.where(whole, x + 0.0, rounded), mask=nan), _STRING)
    if null_text is not None and nan.any():
        out = pc.fill_null(out, null_text)
    idx = np.flatnonzero(special)
    if len(idx):
        fixed = pa.array([text(number(float(x[i]), digits)) for i in idx], _STRING)
        out = pc.replace_with_mask(out, pa.array(special), fixed)
    return out


def affix(arr: pa.Array, prefix: str = "", suffix: str = "") -> pa.Array:
    """``prefix + value + suffix`` of each value (one pass each; nulls stay null)."""
    if prefix:
        arr = pc.binary_replace_slice(arr, 0, 0, prefix)
    if suffix:
        arr = pc.binary_replace_slice(arr, _END, _END, suffix)
    return arr


def join_lines(
    parts: Sequence[pa.Array | pa.ChunkedArray | str], sep: str = "", nulls: str | None = None
) -> pa.Array:
    """Element-wise concatenation of arrays and constant texts (``sep`` between the arrays;
    a null value as ``nulls`` where given).

    Constant texts are folded into their neighbouring array (a prefix of the next one, or a
    suffix of the last), since Arrow joins arrays much faster than arrays and scalars mixed.
    """
    arrays: list[pa.Array] = []
    pending = ""
    for part in parts:
        if isinstance(part, str):
            pending += part
            continue
        arr = one_array(part)
        arrays.append(affix(arr, pending))
        pending = ""
    if not arrays:
        raise ValueError("join_lines needs at least one array")
    if pending:
        arrays[-1] = affix(arrays[-1], suffix=pending)
    if len(arrays) == 1:
        return arrays[0]
    if nulls is None:
        return pc.binary_join_element_wise(*arrays, sep)
    return pc.binary_join_element_wise(
        *arrays, sep, null_handling="replace", null_replacement=nulls
    )


def write_array(arr: pa.Array | pa.ChunkedArray, stream: BinaryIO, *, drop_tail: int = 0) -> None:
    """Write the bytes of a string array (all its values, back to back) to ``stream``."""
    arr = one_array(arr)
    if len(arr) == 0:
        return
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    if arr.type != pa.large_string():
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
    else:
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    lo, hi = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    data = arr.buffers()[2]
    if data is None:
        return
    stream.write(memoryview(data)[lo : hi - drop_tail])


__all__ = (
    "csv_field",
    "join_lines",
    "json_value",
    "mapped",
    "number",
    "numbers",
    "one_array",
    "write_array",
)
