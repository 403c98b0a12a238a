"""Steps 4-6 of the indicator query in Arrow, for plain cells (docs/indicators.md).

Where each cell is already one row per place, output period and disaggregation (one slot per
output period), and the output keeps places apart without place groups or margins, the steps
``paired`` and ``grouped`` of :mod:`corridor.indicators.margins` and the final SELECT only
rename and pick values row by row. Then the statement returns the cells themselves (a value and
a cell-key column per series) and the pairs are taken here, with the same rules:

* a pair where the place reports the denominator and the numerator, or where the numerator is
  missing and the place's denominator source drops zeros (then the numerator is 0);
* ``r_k`` 1 where the place reported a pair, ``x_k`` 1 where it reports either element.

An engine that evaluates expressions one row at a time (PostgreSQL) otherwise computes some
sixty ``CASE`` expressions per cell in one process after its parallel workers, and returns
seventy columns instead of thirty (``Dialect.client_pairs``; CHANGELOG, "PostgreSQL at 10M rows").
tests/indicators/test_indicator_shapes.py compares both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DISAGGREGATIONS, TOTAL
from corridor.indicators.cells import col, kcol
from corridor.indicators.margins import den, kden, knum, num, present, reporting
from corridor.indicators.places import ALL
from corridor.indicators.registry import Indicator


def plain_cells_sql(series: Sequence[str]) -> str:
    """The final SELECT of plain cells: keys, then each series' value and cell key."""
    cols = ["place_code", "bucket AS period", *DISAGGREGATIONS]
    cols += [col(s) for s in series]
    cols += [f"CAST({kcol(s)} AS BIGINT) AS {kcol(s)}" for s in series]
    return f"SELECT {', '.join(cols)} FROM cells"


def _flag(mask: Any) -> Any:
    return pc.cast(pc.fill_null(mask, False), pa.int32())


def pair_cells(
    cells: pa.Table, indicators: Sequence[Indicator], zeros: Mapping[str, set[str]]
) -> pa.Table:
    """The columns of :func:`corridor.indicators.margins.cells_out_sql` (without sort keys)
    from the rows of :func:`plain_cells_sql`. ``zeros``: denominator element -> the places
    whose source drops zeros."""
    place = pc.fill_null(cells.column("place_code"), ALL)
    out: dict[str, Any] = {"period": cells.column("period"), "place_code": place}
    for d in DISAGGREGATIONS:
        out[d] = pc.fill_null(cells.column(d), TOTAL)
    pairs: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    null_value = pa.scalar(None, pa.float64())
    null_key = pa.scalar(None, pa.int64())
    for k, ind in enumerate(indicators):
        a, b = (s.key for s in ind.series)
        va, vb = cells.column(col(a)), cells.column(col(b))
        ka, kb = cells.column(kcol(a)), cells.column(kcol(b))
        given = pc.is_valid(va)
        dropped = zeros.get(ind.denominator)
        if dropped:
            zero = pc.is_in(place, value_set=pa.array(sorted(dropped), pa.string()))
            given = pc.or_(given, pc.fill_null(zero, False))
        ok = pc.and_(pc.is_valid(vb), given)
        numerator = pc.if_else(ok, pc.cast(pc.fill_null(va, 0), pa.float64()), null_value)
        pairs[num(k)] = numerator
        pairs[den(k)] = pc.if_else(ok, pc.cast(vb, pa.float64()), null_value)
        pairs[reporting(k)] = _flag(ok)
        pairs[present(k)] = _flag(pc.or_(pc.is_valid(va), pc.is_valid(vb)))
        keys[knum(k)] = pc.if_else(ok, pc.cast(pc.fill_null(ka, 0), pa.int64()), null_key)
        keys[kden(k)] = pc.if_else(ok, pc.cast(kb, pa.int64()), null_key)
    out.update(pairs)
    out.update(keys)
    return pa.table(out)
