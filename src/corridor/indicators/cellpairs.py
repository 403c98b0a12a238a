"""Steps 4-6 of the indicator query in Arrow, for plain cells (docs/indicators.md).

Where each cell is already one row per place, output period and disaggregation (one slot per
output period), and the output keeps places apart without place groups or margins, the steps
``paired`` and ``grouped`` of :mod:`corridor.indicators.margins` and the final SELECT only
rename and pick values row by row. Then the statement returns the cells themselves (a value and
a cell-key column per series) and the pairs are taken here, with the same rules:

* a pair where the place reports the denominator and the numerator in the cell's period (in
  any of its cells), or where the numerator is missing and the place's denominator source
  drops zeros (then the numerator is 0); within such a place a part with no value in a cell is
  0 where the source drops zeros and the part is broken down into the cells (for the
  numerator: or missing altogether), else empty, and the ``unallocated`` remainder of a part
  broken down into the cells is 0;
* ``r_k`` 1 where the cell has both parts, ``x_k`` 1 where it has either element.

An engine that evaluates expressions one row at a time (PostgreSQL) otherwise computes some
sixty ``CASE`` expressions per cell in one process after its parallel workers, and returns
seventy columns instead of thirty (``Dialect.client_pairs``; CHANGELOG, "PostgreSQL at 10M rows").
tests/indicators/test_indicator_shapes.py compares both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DISAGGREGATIONS, TOTAL
from corridor.indicators.cells import col, kcol
from corridor.indicators.margins import den, kden, knum, num, present, reporting
from corridor.indicators.order import UNALLOCATED
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


def _place_flags(cells: pa.Table, place: Any, columns: Sequence[str]) -> dict[str, Any]:
    """Per cell, for each series column: whether the cell's place reports the series in the
    cell's period (``h``) and whether it breaks it down into the cells (``g``: some cell
    besides the ``unallocated`` remainder), as in the steps ``ps`` of
    :func:`corridor.indicators.margins.paired_sql`."""
    allocated = pc.invert(_any_unallocated(cells))
    frame: dict[str, Any] = {"place_code": place, "period": cells.column("period")}
    for c in columns:
        valid = pc.is_valid(cells.column(c))
        frame[f"h_{c}"] = pc.cast(valid, pa.int8())
        frame[f"g_{c}"] = pc.cast(pc.and_(valid, allocated), pa.int8())
    flags = pa.table(frame)
    keys = ["place_code", "period"]
    names = [n for n in flags.column_names if n not in keys]
    per_place = flags.group_by(keys).aggregate([(n, "max") for n in names])
    row = pa.table({"place_code": place, "period": cells.column("period")}).append_column(
        "_row", pa.array(range(cells.num_rows), pa.int64())
    )
    joined = row.join(per_place, keys=keys).sort_by("_row")
    return {n: pc.equal(joined.column(f"{n}_max"), 1) for n in names}


def _any_unallocated(cells: pa.Table) -> Any:
    """Per cell: whether it is the ``unallocated`` remainder of a unit."""
    a, b, c = (pc.equal(pc.fill_null(cells.column(d), TOTAL), UNALLOCATED) for d in DISAGGREGATIONS)
    return pc.or_(pc.or_(a, b), c)


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
    series = sorted({col(s.key) for ind in indicators for s in ind.series})
    flags = _place_flags(cells, place, series) if cells.num_rows else {}
    rest = _any_unallocated(cells)
    pairs: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    null_value = pa.scalar(None, pa.float64())
    null_key = pa.scalar(None, pa.int64())
    for k, ind in enumerate(indicators):
        a, b = (s.key for s in ind.series)
        va, vb = cells.column(col(a)), cells.column(col(b))
        ka, kb = cells.column(kcol(a)), cells.column(kcol(b))
        if not cells.num_rows:
            ha = hb = ga = gb = pa.array([], pa.bool_())
        else:
            ha, hb = flags[f"h_{col(a)}"], flags[f"h_{col(b)}"]
            ga, gb = flags[f"g_{col(a)}"], flags[f"g_{col(b)}"]
        dropped = zeros.get(ind.denominator)
        if dropped:
            zero = pc.fill_null(
                pc.is_in(place, value_set=pa.array(sorted(dropped), pa.string())), False
            )
        else:
            zero = pa.array(np.zeros(cells.num_rows, dtype=bool))
        # the place reports both parts (or its source dropped a numerator of zero)
        ok = pc.and_(hb, pc.or_(ha, zero))
        ok = pc.and_(ok, pc.or_(pc.is_valid(va), pc.is_valid(vb)))
        # a part broken down into the cells has nothing left over: its remainder is 0
        fill_a = pc.or_(pc.and_(zero, pc.or_(ga, pc.invert(ha))), pc.and_(rest, ga))
        fill_b = pc.and_(pc.or_(zero, rest), gb)
        na = pc.fill_null(pc.and_(ok, pc.or_(pc.is_valid(va), fill_a)), False)
        nb = pc.fill_null(pc.and_(ok, pc.or_(pc.is_valid(vb), fill_b)), False)
        pairs[num(k)] = pc.if_else(na, pc.cast(pc.fill_null(va, 0), pa.float64()), null_value)
        pairs[den(k)] = pc.if_else(nb, pc.cast(pc.fill_null(vb, 0), pa.float64()), null_value)
        pairs[reporting(k)] = _flag(pc.and_(na, nb))
        pairs[present(k)] = _flag(pc.or_(pc.is_valid(va), pc.is_valid(vb)))
        keys[knum(k)] = pc.if_else(na, pc.cast(pc.fill_null(ka, 0), pa.int64()), null_key)
        keys[kden(k)] = pc.if_else(nb, pc.cast(pc.fill_null(kb, 0), pa.int64()), null_key)
    out.update(pairs)
    out.update(keys)
    return pa.table(out)
