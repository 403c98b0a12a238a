"""The output table, laid out in Arrow from the grouped cells: one block of rows per indicator.

Each indicator has the cells (in their order) where some place reports its numerator or
denominator. The columns of the cells are shared, not copied, wherever an indicator keeps every
cell or all but a few (then it takes slices of them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.indicators.completeness import SEP
from corridor.indicators.margins import den, kden, knum, num, present, reporting
from corridor.indicators.order import lookup
from corridor.indicators.places import PLACE_COLUMNS
from corridor.indicators.registry import Indicator
from corridor.storage.recordkeys import KEY_MODULUS

OUTPUT_SCHEMA_TAIL: Final = (
    ("sex", pa.string()),
    ("age_band", pa.string()),
    ("population_group", pa.string()),
    ("numerator", pa.float64()),
    ("denominator", pa.float64()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    ("target", pa.float64()),
    ("gap", pa.float64()),
    ("places_reporting", pa.int64()),
    ("places_expected", pa.int64()),
    ("incomplete", pa.bool_()),
    ("numerator_element", pa.string()),
    ("denominator_element", pa.string()),
    # the cell keys of the counts (sum of their rows' record keys mod 2^32): read by publish()
    ("numerator_key", pa.int64()),
    ("denominator_key", pa.int64()),
)


def output_schema(place_cols: Sequence[str]) -> pa.Schema:
    fields = [("indicator", pa.string()), ("period", pa.string()), ("place_code", pa.string())]
    fields += [("place_name", pa.string())]
    fields += [(c, pa.string()) for c in place_cols]
    fields += list(OUTPUT_SCHEMA_TAIL)
    return pa.schema(fields)


def _constant(text: str, n: int) -> pa.Array | pa.ChunkedArray:
    """A string array of ``n`` times ``text``, built from its buffers (pa.repeat is slow);
    chunked where it would pass the 2 GiB of one string array."""
    data = text.encode()
    per_chunk = (2**31 - 1) // max(1, len(data))
    if n > per_chunk:
        sizes = [min(per_chunk, n - i) for i in range(0, n, per_chunk)]
        return pa.chunked_array([_constant(text, k) for k in sizes], pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


_MAX_RUNS: Final = 64


def _runs(keep: Any, n: int) -> list[tuple[int, int]] | None:
    """(offset, length) of the runs of kept rows, when there are few (None: many)."""
    drop = pc.indices_nonzero(pc.invert(keep))
    if len(drop) >= _MAX_RUNS:
        return None
    runs, start = [], 0
    for d in drop.to_pylist():
        if d > start:
            runs.append((start, d - start))
        start = d + 1
    if start < n:
        runs.append((start, n - start))
    return runs


def _row_keys(cells: pa.Table, key_cols: Sequence[str]) -> Any:
    """period + place keys of each cell, joined by SEP (the keys of expected_counts)."""
    parts = [pc.cast(cells.column(c), pa.string()) for c in ["period", *key_cols]]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, SEP)


def pivot(
    cells: pa.Table,
    indicators: Sequence[Indicator],
    targets: Mapping[str, float | None],
    schema: pa.Schema,
    names: Mapping[str, str],
    expected: Mapping[str, Mapping[str, int]],
    threshold: float,
) -> pa.Table:
    """Numerator, denominator, value, target, gap and completeness of each indicator from the
    cells, in registry order. ``value = scale * numerator / denominator`` where the denominator
    is above zero; ``gap = target - value``; ``place_name`` from ``names``; ``places_expected``
    from ``expected`` (indicator -> row key -> count); ``incomplete`` where fewer than
    ``threshold`` percent of the expected places reported."""
    n = cells.num_rows
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    made: dict[object, pa.Array | pa.ChunkedArray] = {}

    def constant(v: str | float | None) -> pa.Array | pa.ChunkedArray:
        """The same value for every cell (each array is made once and shared)."""
        if v not in made:
            if isinstance(v, str):
                made[v] = _constant(v, n)
            elif v is None:
                made[v] = pa.nulls(n, pa.float64())
            else:
                made[v] = pa.repeat(pa.scalar(float(v), pa.float64()), n)
        return made[v]

    shared = [f.name for f in schema if f.name in cells.column_names]
    base: dict[str, Any] = {c: pc.cast(cells.column(c), pa.string()) for c in shared}
    base["place_name"] = lookup(cells.column("place_code"), names, pa.string())
    key_cols = ["place_code", *(c for c in PLACE_COLUMNS.values() if c in cells.column_names)]
    keys = _row_keys(cells, key_cols) if n else pa.array([], pa.string())
    for k, ind in enumerate(indicators):
        numerator = pc.cast(cells.column(num(k)), pa.float64())
        denominator = pc.cast(cells.column(den(k)), pa.float64())
        value = pc.if_else(
            pc.greater(denominator, 0.0),
            pc.divide(pc.multiply(numerator, ind.scale), denominator),
            pa.scalar(None, pa.float64()),
        )
        target = targets.get(ind.id, ind.target)
        gap = (
            constant(None)
            if target is None
            else pc.subtract(pa.scalar(float(target), pa.float64()), value)
        )
        got = pc.cast(cells.column(reporting(k)), pa.int64())
        wanted = pc.fill_null(lookup(keys, expected.get(ind.id, {}), pa.int64()), 0)
        wanted = pc.max_element_wise(wanted, got)
        incomplete = pc.less(
            pc.multiply(pc.cast(got, pa.float64()), 100.0),
            pc.multiply(pc.cast(wanted, pa.float64()), float(threshold)),
        )
        num_el, den_el = (s.key for s in ind.series)
        row = dict(base)
        row.update(
            indicator=constant(ind.id),
            numerator=numerator,
            denominator=denominator,
            value=value,
            unit=constant(ind.unit),
            target=constant(target),
            gap=gap,
            places_reporting=got,
            places_expected=wanted,
            incomplete=incomplete,
            numerator_element=constant(num_el),
            denominator_element=constant(den_el),
            numerator_key=_keys(cells, knum(k)),
            denominator_key=_keys(cells, kden(k)),
        )
        keep = pc.equal(pc.cast(cells.column(present(k)), pa.int64()), 1)
        keep = pc.fill_null(keep, False)
        m = pc.sum(keep).as_py() or 0
        if m == 0:
            continue
        runs = [(0, n)] if m == n else _runs(keep, n)
        for c, v in row.items():
            if runs is None:
                cols[c].append(pc.filter(v, keep))
            else:
                cols[c] += [v.slice(offset, length) for offset, length in runs]
    arrays = []
    for f in schema:
        chunks = [c for v in cols[f.name] for c in _chunks(v)]
        arrays.append(pa.chunked_array(chunks, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _keys(cells: pa.Table, name: str) -> pa.Array:
    """Cell keys in [0, 2^32) (the SQL leaves differences of keys unreduced)."""
    if name not in cells.column_names:
        return pa.nulls(cells.num_rows, pa.int64())
    column = cells.column(name)
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    raw = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return pa.array(np.mod(raw, KEY_MODULUS), pa.int64(), mask=~valid)


def _chunks(v: Any) -> list[pa.Array]:
    return [c for c in v.chunks if len(c)] if isinstance(v, pa.ChunkedArray) else [v]
