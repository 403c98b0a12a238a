"""The cell-key method of disclosure control (ABS TableBuilder, ONS Cantabular; docs/disclosure.md).

Every stored row has a permanent random record key (corridor.storage.recordkeys); a count's cell
key is the sum of the keys of the rows that make it, mod 2^32 (``compute_indicators`` gives it
beside each count: ``numerator_key``, ``denominator_key``). The perturbation table
(:mod:`corridor.indicators.ptable`) maps the count and its key, as a fraction of [0, 1), to the
published count. So the same cell (the same rows) publishes the same value in every output,
whatever else the query asks for; a margin is a cell of its own, perturbed by its own key, and
totals need not equal the sum of their parts. Rates are computed from the published counts.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corridor.indicators.ptable import PerturbationTable
from corridor.storage.recordkeys import KEY_MODULUS

ROLES: Final = ("numerator", "denominator")
KEY_COLUMNS: Final = ("numerator_key", "denominator_key")
METHOD: Final = "cellkey"
#: rows perturbed at a time (their temporaries stay in the processor's cache)
BLOCK: Final = 1 << 15
#: table metadata: ``reported`` where the table has a row only where data were reported (true
#: zeros are not stored: ``compute_indicators``), so that a row's presence says something
ROWS_KEY: Final = "corridor.rows"
REPORTED_ROWS: Final = "reported"


def totals_note() -> str:
    """The one line every cell-key output carries."""
    return (
        "Counts are perturbed by the cell-key method: each is changed by a little noise, the "
        "same cell the same in every output, so totals need not equal the sum of their parts."
    )


def has_keys(table: pa.Table) -> bool:
    return all(c in table.column_names for c in KEY_COLUMNS)


def lists_reported_rows(table: pa.Table) -> bool:
    """Whether the table has a row only where data were reported (``compute_indicators``
    marks its tables so): then a row published with every count 0 would show by its presence
    that a count of 1 to threshold - 1 is behind it, and :func:`perturb_table` leaves it out.
    A table whose rows are fixed by its caller (a site of the ranking, a week of a curve, the
    lone counts of ``publish_counts``) keeps every row."""
    meta = table.schema.metadata or {}
    return meta.get(ROWS_KEY.encode()) == REPORTED_ROWS.encode()


def _floats(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.float64]:
    """The column as float64 (null as NaN) in one contiguous array. A query's output can come
    in many small chunks: ``ChunkedArray.to_numpy`` joins them far faster than combining the
    chunks (50,000 chunks: 0.03 s against 0.3 s), so time stays linear in the rows."""
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        col = pc.cast(col, pa.float64())
    # integers with nulls come out as float64 with NaN where null
    data = col.to_numpy() if isinstance(col, pa.ChunkedArray) else col.to_numpy(False)
    out: npt.NDArray[np.float64] = np.asarray(data, np.float64)
    return out


def perturb_counts(
    values: npt.NDArray[np.float64], keys: npt.NDArray[np.float64], ptable: PerturbationTable
) -> npt.NDArray[np.float64]:
    """Published counts (NaN stays NaN).

    A key is reduced mod 2^32 first: an unreduced difference of sums (negative, or 2^32 and
    more) would otherwise be read off the intervals of another count's row of the table (a
    count of 5 with a negative key could be published as 1). A count above 0 without a key is
    refused (ValueError): perturbed with one stand-in key, every such count would carry the
    same noise, which a few known counts reveal."""
    ok = np.isfinite(values)
    counts = np.maximum(np.rint(np.where(ok, values, 0.0)), 0).astype(np.int64)
    keyed = np.isfinite(keys)
    if (ok & ~keyed & (counts > 0)).any():
        raise ValueError("perturb_counts: a count without a cell key cannot be published")
    u = np.mod(np.where(keyed, keys, 0.0), KEY_MODULUS) / KEY_MODULUS
    out = ptable.perturb(counts, u)
    out[~ok] = np.nan
    return out


def without_keys(table: pa.Table) -> pa.Table:
    """The table without its cell-key columns: keys never leave, not even unsuppressed."""
    return table.drop_columns([c for c in KEY_COLUMNS if c in table.column_names])


def perturb_table(
    table: pa.Table, ptable: PerturbationTable, *, drop_zero_rows: bool = False
) -> pa.Table:
    """The table with its counts perturbed and its rates recomputed from them.

    Keeps the rows (but see ``drop_zero_rows``) and their order; drops the key columns (keys
    never leave); sets
    ``numerator_flag``, ``denominator_flag`` and ``value_flag`` to null (nothing is withheld).
    ``value`` is recomputed as ``scale * numerator / denominator`` from the published counts,
    with each row's scale taken from the original (value = scale * numerator / denominator), and
    ``gap = target - value``.

    ``drop_zero_rows`` (``publish`` sets it for a table that lists only the rows where data were
    reported, :func:`lists_reported_rows`): a row whose counts are all published 0 is left out,
    as a true zero is (a count of 1 to threshold - 1 is published as 0 most often, and true
    zeros are not stored: listed, such a row would say that one is behind it). A row without
    any count is kept.
    """
    if not has_keys(table):
        raise ValueError("perturb_table: the table has no cell keys (numerator_key)")
    n = table.num_rows
    orig = {r: _floats(table.column(r)) for r in ROLES}
    keys = {r: _floats(table.column(f"{r}_key")) for r in ROLES}
    has_value = "value" in table.column_names
    value = _floats(table.column("value")) if has_value else None
    pub = {r: np.empty(n) for r in ROLES}
    new = np.empty(n)
    empty = np.zeros(n, bool) if drop_zero_rows else None
    # in blocks that stay in the processor's cache: time linear in the rows (benchmarks/
    # disclosure.py; one pass over a million rows of several temporaries was ~3x slower per row)
    for lo in range(0, n, BLOCK):
        b = slice(lo, min(n, lo + BLOCK))
        for r in ROLES:
            pub[r][b] = perturb_counts(orig[r][b], keys[r][b], ptable)
        if value is not None:
            new[b] = _rates(
                value[b], orig["numerator"][b], orig["denominator"][b], pub["numerator"][b],
                pub["denominator"][b],
            )  # fmt: skip
        if empty is not None:
            # every count published 0 (NaN: no such count), and at least one count
            num, den = pub["numerator"][b], pub["denominator"][b]
            empty[b] = ~(num > 0) & ~(den > 0) & ~(np.isnan(num) & np.isnan(den))
    out = table.drop_columns(list(KEY_COLUMNS))
    for r in ROLES:
        out = _set(out, r, pa.array(pub[r], pa.float64(), from_pandas=True))
    if has_value:
        out = _set(out, "value", pa.array(new, pa.float64(), from_pandas=True))
        if "gap" in table.column_names and "target" in table.column_names:
            target = _floats(table.column("target"))
            out = _set(out, "gap", pa.array(target - new, pa.float64(), from_pandas=True))
    nulls = pa.nulls(n, pa.string())
    for name in ("numerator_flag", "denominator_flag", "value_flag"):
        out = _set(out, name, nulls)
    if empty is not None and empty.any():
        out = _rows_kept(out, empty)
    meta = dict(table.schema.metadata or {})
    meta.update(
        {
            b"corridor.suppressed": b"true",
            b"corridor.method": METHOD.encode(),
            b"corridor.threshold": str(ptable.threshold).encode(),
            b"corridor.max_noise": str(ptable.max_noise).encode(),
            b"corridor.variance": repr(ptable.variance).encode(),
        }
    )
    return out.replace_schema_metadata(meta)


def _rows_kept(table: pa.Table, drop: npt.NDArray[np.bool_]) -> pa.Table:
    """The table without the rows flagged in ``drop``. A few (at most one row in 256, as in
    the benchmark's large tables): the runs of rows between them, sliced without copying (1.5M
    rows, 2,200 left out: 0.03 s, against 0.08 s for a copy of every column); more: one copy
    (``filter``) rather than columns of many small chunks."""
    n = table.num_rows
    rows = np.flatnonzero(drop)
    if len(rows) > n >> 8:
        return table.filter(pa.array(~drop))
    starts = np.concatenate(([0], rows + 1)).tolist()
    ends = np.concatenate((rows, [n])).tolist()
    parts = [table.slice(a, b - a) for a, b in zip(starts, ends, strict=True) if b > a]
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def _rates(
    value: npt.NDArray[np.float64],
    num: npt.NDArray[np.float64],
    den: npt.NDArray[np.float64],
    pnum: npt.NDArray[np.float64],
    pden: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``scale * published numerator / published denominator``, each row's scale from its
    original (value = scale * numerator / denominator); 0 for a published zero numerator."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where((num > 0) & (den > 0), value * den / num, np.nan)
        new = np.where(pden > 0, scale * pnum / pden, np.nan)
        out: npt.NDArray[np.float64] = np.where((pnum == 0) & (pden > 0), 0.0, new)
    return out


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)
