"""The order of output rows, as SQL, and a vectorised lookup used when finishing tables.

Rows come in registry order of indicators, then period, then places (``all`` last), then the
disaggregations in code-list order (other codes, e.g. extra age bands, after the list, then
``unallocated``, then the ``total`` margin). Text is compared byte by byte on every engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import (
    AGE_BANDS,
    DISAGGREGATIONS,
    POPULATION_GROUPS,
    SEXES,
    TOTAL,
)
from corridor.indicators.places import ALL
from corridor.storage.dialect import Dialect

UNALLOCATED: Final = "unallocated"
#: the place columns in the order rows are sorted by (each with ``all`` after its groups)
PLACE_ORDER: Final = ("corridor", "country", "admin1", "place_type", "place_code")

_ORDERS: Final[dict[str, tuple[str, ...]]] = {
    "sex": tuple(c for c in SEXES if c != TOTAL),
    "age_band": tuple(c for c in AGE_BANDS if c != TOTAL),
    "population_group": tuple(c for c in POPULATION_GROUPS if c != TOTAL),
}


def _rank_of(dimension: str) -> tuple[dict[str, int], int]:
    """The position of each code in its code list, unallocated and total after it; and the
    position of any other code (between the list and unallocated)."""
    known = _ORDERS[dimension]
    ranks = {c: i for i, c in enumerate(known)}
    ranks[UNALLOCATED] = len(known) + 1
    ranks[TOTAL] = len(known) + 2
    return ranks, len(known)


def code_rank(expr: str, dimension: str) -> str:
    """SQL: the position of a code in its code list; others, unallocated, total after it."""
    ranks, other = _rank_of(dimension)
    whens = " ".join(f"WHEN '{c}' THEN {i}" for c, i in ranks.items())
    return f"CASE {expr} {whens} ELSE {other} END"


def text_order(expr: str, dialect: Dialect) -> str:
    """SQL: ``expr`` compared byte by byte (PostgreSQL's default collation may ignore dashes)."""
    return dialect.text_order(expr)


def lookup(column: Any, mapping: Mapping[str, Any], type_: pa.DataType) -> pa.Array:
    """``mapping[v]`` for every value of a string column (null where absent), vectorised."""
    if len(mapping) == 0:
        return pa.nulls(len(column), type_)
    keys = list(mapping)
    idx = pc.index_in(column, value_set=pa.array(keys, pa.string()))
    out = pc.take(pa.array([mapping[k] for k in keys], type_), idx)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _ranks(column: Any) -> npt.NDArray[np.int64]:
    """Each value's rank among the distinct values of a string column, compared byte by byte
    (Arrow orders strings as bytes, as ``COLLATE "C"`` and DuckDB do); null last."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = len(order)
    codes = pc.fill_null(encoded.indices, len(order)).to_numpy(zero_copy_only=False)
    return rank[codes]


def _code_ranks(column: Any, dimension: str) -> npt.NDArray[np.int64]:
    """:func:`code_rank` on an Arrow column."""
    ranks, other = _rank_of(dimension)
    out = pc.fill_null(lookup(column, ranks, pa.int64()), other)
    return np.asarray(out.to_numpy(zero_copy_only=False), np.int64)


def order_indices(table: pa.Table, buckets: Sequence[str]) -> pa.Array:
    """The row order of the cells in ``table`` (columns period, the place columns, the
    disaggregations) that :func:`corridor.indicators.margins.cells_out_sql` gives by
    ``ORDER BY``: period in ``buckets`` order (others after), each place column with ``all``
    last and byte-wise, each disaggregation in code-list order (age bands then by text).

    The keys are small whole numbers, packed into one 64-bit key where they fit (one sort of
    integers), else sorted together."""
    names = table.column_names
    keys: list[npt.NDArray[np.int64]] = []
    period = pc.index_in(table.column("period"), value_set=pa.array(list(buckets), pa.string()))
    keys.append(np.asarray(pc.fill_null(period, len(buckets)).to_numpy(zero_copy_only=False)))
    for c in PLACE_ORDER:
        if c in names:
            column = table.column(c)
            flag = pc.fill_null(pc.equal(column, ALL), False)
            keys.append(np.asarray(flag.to_numpy(zero_copy_only=False), np.int64))
            keys.append(_ranks(column))
    for d in DISAGGREGATIONS:
        column = table.column(d)
        keys.append(_code_ranks(column, d))
        if d == "age_band":  # a workspace may declare more bands; sex and groups are closed
            keys.append(_ranks(column))
    key = np.zeros(table.num_rows, np.int64)
    span = 1
    for k in keys:
        size = int(k.max()) + 1 if len(k) else 1
        span *= size
        if span >= 2**62:  # too many distinct values to pack: sort the keys together
            return pa.array(np.lexsort(keys[::-1]))
        key = key * size + k
    return pc.sort_indices(pa.array(key))
