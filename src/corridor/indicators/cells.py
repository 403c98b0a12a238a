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


def mapped(arr: pa.Array | pa.ChunkedArray, fmt: Callable[[Any], str]) -> pa.Array:
    """``fmt`` of each value, computed once per distinct value (nulls as ``fmt(None)``)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) == 0:
        return pa.array([], _STRING)
    enc = pc.dictionary_encode(arr)
    texts = pa.array([fmt(v) for v in enc.dictionary.to_pylist()], _STRING)
    out = texts.take(enc.indices)
    if out.null_count:
        out = pc.fill_null(out, fmt(None))
    return out


def numbers(
    arr: pa.Array | pa.ChunkedArray,
    digits: int,
    null_text: str,
    text: Callable[[Any], str] = str,
) -> pa.Array:
    """``text(number(v, digits))`` of each value (``null_text`` for None/NaN), by Arrow.

    ``text`` is ``str`` for CSV and ``json_value`` for JSON; they differ only for infinities,
    which are written by ``text`` itself.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n == 0:
        return pa.array([], _STRING)
    if not pa.types.is_floating(arr.type):
        if pa.types.is_integer(arr.type):
            out = pc.cast(arr, _STRING)
            return pc.fill_null(out, null_text) if out.null_count else out
        return mapped(arr, lambda v: null_text if v is None else text(number(v, digits)))
    x = arr.to_numpy(zero_copy_only=False)  # nulls as NaN
    with np.errstate(invalid="ignore", over="ignore"):
        return _floats(x, digits, null_text, text)


def _floats(x: np.ndarray, digits: int, null_text: str, text: Callable[[Any], str]) -> pa.Array:
    finite = np.isfinite(x)
    whole = finite & (np.floor(x) == x)
    scaled = x * 10.0**digits
    frac = scaled - np.floor(scaled)
    rounded = np.round(x, digits)  # numpy rounds half to even on the scaled value, as Arrow
    big = np.abs(x) >= 1e9  # measured: Arrow writes exponents from about 1e11 (4 decimals)
    special = (
        ~finite & ~np.isnan(x)  # +-inf: as Python writes it
        | (whole & (np.abs(x) >= 9e18))  # beyond int64
        | (~whole & big)  # scaling loses the fraction; Arrow writes exponents sooner
        | (finite & ~whole & (np.abs(frac - 0.5) < 1e-6))  # halfway: Python's exact rounding
        | (finite & ~whole & (rounded == 0))  # 0.0 and -0.0
    )
    ints = pc.cast(pa.array(np.where(whole & ~special, x, 0.0)).cast(pa.int64()), _STRING)
    decimals = pc.cast(pa.array(rounded), _STRING)
    # a non-whole value that rounds to a whole number is written as Python writes floats: "9.0"
    round_whole = finite & ~whole & (np.floor(rounded) == rounded)
    decimals = pc.if_else(
        pa.array(round_whole), pc.binary_join_element_wise(decimals, ".0", ""), decimals
    )
    out = pc.if_else(pa.array(whole), ints, decimals)
    out = pc.if_else(pa.array(np.isnan(x)), pa.scalar(null_text, _STRING), out)
    idx = np.flatnonzero(special)
    if len(idx):
        fixed = pa.array([text(number(float(x[i]), digits)) for i in idx], _STRING)
        out = pc.replace_with_mask(out, pa.array(special), fixed)
    return out


def join_lines(parts: Sequence[pa.Array | pa.Scalar | str]) -> pa.Array:
    """Element-wise concatenation of arrays and constant texts."""
    args = [pa.scalar(p, _STRING) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, "")


def write_array(arr: pa.Array | pa.ChunkedArray, stream: BinaryIO, *, drop_tail: int = 0) -> None:
    """Write the bytes of a string array (all its values, back to back) to ``stream``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
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


__all__ = ("csv_field", "join_lines", "json_value", "mapped", "number", "numbers", "write_array")
