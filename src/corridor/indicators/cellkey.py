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

import json
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DISAGGREGATIONS
from corridor.indicators.places import ALL, PLACE_COLUMNS
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
#: table metadata of a table whose rows sum places that have no row of their own in it (not
#: by place): each such place's own cell at the coordinates of each row that sums it, as an
#: Arrow IPC stream (:func:`with_place_cells`). Read by ``publish``, never published
PLACE_CELLS_KEY: Final = "corridor.place_cells"
#: table metadata: ``reporting`` where ``places_expected`` is ``places_reporting`` (the values
#: of data elements, ``element_totals``: nothing is expected of a place)
EXPECTED_KEY: Final = "corridor.places_expected"
EXPECTED_IS_REPORTING: Final = "reporting"
#: the columns of a row's key besides indicator, period and place_code, in this order
_KEY_PLACES: Final = tuple(PLACE_COLUMNS.values())
#: separates the parts of a row's key
_SEP: Final = "\x1f"


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
    """The table without its cell-key columns and its places' own cells (:data:`PLACE_CELLS_KEY`):
    keys never leave, not even unsuppressed."""
    out = table.drop_columns([c for c in KEY_COLUMNS if c in table.column_names])
    return _without_place_cells(out)


def _without_place_cells(table: pa.Table) -> pa.Table:
    meta = table.schema.metadata
    if not meta or PLACE_CELLS_KEY.encode() not in meta:
        return table
    rest = {k: v for k, v in meta.items() if k != PLACE_CELLS_KEY.encode()}
    return table.replace_schema_metadata(rest)


def row_keys(table: pa.Table, *, margin: bool = False, indicator: str | None = None) -> Any:
    """Each row's key (indicator, period, place_code, the place columns, the disaggregations;
    one text): the same for the same row of an indicator table and of its places' own cells.
    ``margin``: the key of the margin over places that sums the row (place_code and the place
    columns but ``corridor`` read ``all``: the rows of the output by place sum into it, and the
    rows of each place group, as ``grouped_sql`` takes them). ``indicator``: the indicator of
    every row, where the table has no such column."""
    names = table.column_names
    parts: list[Any] = [
        pa.scalar(indicator) if indicator is not None else table.column("indicator"),
        table.column("period"),
    ]
    for c in ("place_code", *_KEY_PLACES):
        if c in names:
            parts.append(pa.scalar(ALL) if margin and c != "corridor" else table.column(c))
    parts += [table.column(d) for d in DISAGGREGATIONS]
    parts = [p if isinstance(p, pa.Scalar) else pc.cast(p, pa.string()) for p in parts]
    return pc.binary_join_element_wise(*parts, _SEP)


def with_place_cells(table: pa.Table, cells: pa.Table) -> pa.Table:
    """``table`` carrying ``cells`` (its places' own cells, from ``compute_indicators``:
    columns ``row`` and ``margin``, the keys (:func:`row_keys`) of the rows that sum the cell,
    ``margin`` null where there is no margin over places; ``numerator``, ``denominator`` and
    their cell keys) in its metadata, where slicing, taking or filtering its rows keeps them."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, cells.schema) as writer:
        writer.write_table(cells)
    meta = dict(table.schema.metadata or {})
    meta[PLACE_CELLS_KEY.encode()] = sink.getvalue().to_pybytes()
    return table.replace_schema_metadata(meta)


def place_cells_of(table: pa.Table) -> pa.Table | None:
    """The places' own cells that ``table`` carries (:func:`with_place_cells`), or None."""
    raw = (table.schema.metadata or {}).get(PLACE_CELLS_KEY.encode())
    if raw is None:
        return None
    with pa.ipc.open_stream(pa.py_buffer(raw)) as reader:
        return reader.read_all()


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
    any count is kept. And a row that sums places (a margin over places, a place group) counts
    in ``places_reporting`` only the places whose own row at its coordinates is listed, with
    ``incomplete`` from that count (:func:`count_listed_places`): counted, a place whose row
    is left out would show that it reported.
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
    if empty is not None:
        out = count_listed_places(table, out, empty, ptable)
        if empty.any():
            out = _rows_kept(out, empty)
    meta = dict(table.schema.metadata or {})
    meta.pop(PLACE_CELLS_KEY.encode(), None)
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


def count_listed_places(
    table: pa.Table, out: pa.Table, empty: npt.NDArray[np.bool_], ptable: PerturbationTable
) -> pa.Table:
    """``out`` (``table`` perturbed, every row still there) with ``places_reporting`` of each
    row that sums places counting only the places whose own row at its coordinates is listed
    (``empty``: the rows left out), and ``incomplete`` (and, where it is ``places_reporting``,
    ``places_expected``) from that count; the rows where no place's row is left out unchanged.

    A place reports a row that sums places where it reports a pair in its own cell there, and
    its own cell is its row of the output by place (the same cell, published the same, listed
    or left out alike). So the count is what the outputs by place list: a margin that counted
    a place whose row is left out would say that the place reported (its counts 0 or 1 to
    threshold - 1), which the left-out row is there to keep unsaid. The places' rows are
    ``table``'s own where it is by place (``corridor.by``): each sums into its margin over
    places; otherwise the places' own cells that ``compute_indicators`` gives with the table
    (:func:`place_cells_of`), each summing into its place group's row and that group's margin.
    """
    if "places_reporting" not in table.column_names:
        return out
    meta = table.schema.metadata or {}
    keys: list[Any] = []  # the keys of the rows that count a place whose row is left out
    weights: list[npt.NDArray[np.float64]] = []
    where: npt.NDArray[np.int64] | None = None  # the rows that may count such places
    by = json.loads(meta.get(b"corridor.by", b"[]"))
    if "place" in by and table.num_rows:
        margin = pc.fill_null(pc.equal(table.column("place_code"), ALL), False)
        is_margin = np.asarray(margin.to_numpy(zero_copy_only=False), bool)
        where = np.flatnonzero(is_margin)
        gone = np.flatnonzero(empty & ~is_margin)
        if len(where) and len(gone):
            reporting = _floats(table.column("places_reporting").take(gone))
            gone, reporting = gone[reporting > 0], reporting[reporting > 0]
            if len(gone):
                keys.append(row_keys(table.select(_key_columns(table)).take(gone), margin=True))
                weights.append(reporting)
    cells = place_cells_of(table)
    if cells is not None and cells.num_rows:
        pub = [
            perturb_counts(_floats(cells.column(r)), _floats(cells.column(f"{r}_key")), ptable)
            for r in ROLES
        ]
        left = ~(pub[0] > 0) & ~(pub[1] > 0)
        if left.any():
            mask = pa.array(left)
            for c in ("row", "margin"):
                found = pc.drop_null(pc.cast(cells.column(c).filter(mask), pa.string()))
                keys.append(found)
                weights.append(np.ones(len(found)))
    if not any(len(k) for k in keys):
        return out
    rows = table.select(_key_columns(table))
    if where is not None:
        rows = rows.take(where)
    known = row_keys(rows)
    if isinstance(known, pa.ChunkedArray):
        known = known.combine_chunks()
    chunks = [c for k in keys for c in (k.chunks if isinstance(k, pa.ChunkedArray) else [k])]
    at = pc.index_in(pa.chunked_array(chunks, pa.string()), value_set=known)
    found = np.asarray(pc.is_valid(at).to_numpy(zero_copy_only=False), bool)
    idx = np.asarray(pc.fill_null(at, 0).to_numpy(zero_copy_only=False), np.int64)[found]
    weight = np.concatenate([w for k, w in zip(keys, weights, strict=True) if len(k)])[found]
    fewer = np.bincount(idx, weight, minlength=len(rows))
    hit = np.flatnonzero(fewer > 0)
    if not len(hit):
        return out
    # only the rows that count fewer places change: their values replaced, the others kept
    changed = hit if where is None else where[hit]
    mask = np.zeros(table.num_rows, bool)
    mask[changed] = True
    now = _floats(table.column("places_reporting").take(changed)) - fewer[hit]
    out = _set(out, "places_reporting", _replaced(table.column("places_reporting"), mask, now))
    if "places_expected" in table.column_names:
        expected = _floats(table.column("places_expected").take(changed))
        if meta.get(EXPECTED_KEY.encode()) == EXPECTED_IS_REPORTING.encode():
            expected = now
            column = table.column("places_expected")
            out = _set(out, "places_expected", _replaced(column, mask, expected))
        if "incomplete" in table.column_names:
            share = float(json.loads(meta.get(b"corridor.completeness_threshold", b"0")))
            flag = pa.array(now * 100.0 < expected * share, pa.bool_())
            out = _set(out, "incomplete", _replaced(table.column("incomplete"), mask, flag))
    return out


def _replaced(column: Any, mask: npt.NDArray[np.bool_], values: Any) -> pa.Array:
    """``column`` with the rows flagged in ``mask`` replaced by ``values`` (in row order; whole
    numbers from floats where the column holds integers)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values).astype(np.int64), pa.int64())
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))


def _key_columns(table: pa.Table) -> list[str]:
    names = table.column_names
    keys = ["indicator", "period", "place_code", *_KEY_PLACES, *DISAGGREGATIONS]
    return [c for c in keys if c in names]


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
