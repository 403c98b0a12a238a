"""The order of output rows, as SQL, and a vectorised lookup used when finishing tables.

Rows come in registry order of indicators, then period, then places (``all`` last), then the
disaggregations in code-list order (other codes, e.g. extra age bands, after the list, then
``unallocated``, then the ``total`` margin). Text is compared byte by byte on every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import AGE_BANDS, POPULATION_GROUPS, SEXES, TOTAL
from corridor.storage.dialect import Dialect

UNALLOCATED: Final = "unallocated"

_ORDERS: Final[dict[str, tuple[str, ...]]] = {
    "sex": tuple(c for c in SEXES if c != TOTAL),
    "age_band": tuple(c for c in AGE_BANDS if c != TOTAL),
    "population_group": tuple(c for c in POPULATION_GROUPS if c != TOTAL),
}


def code_rank(expr: str, dimension: str) -> str:
    """SQL: the position of a code in its code list; others, unallocated, total after it."""
    known = _ORDERS[dimension]
    whens = [f"WHEN '{c}' THEN {i}" for i, c in enumerate(known)]
    whens += [
        f"WHEN '{UNALLOCATED}' THEN {len(known) + 1}",
        f"WHEN '{TOTAL}' THEN {len(known) + 2}",
    ]
    return f"CASE {expr} {' '.join(whens)} ELSE {len(known)} END"


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
