"""The cells of a suppression: distinct counts of an output and the relations between them.

Built column by column (integer codes from Arrow's dictionary encoding, grouped by numpy), so that
a table of a million rows costs a few passes over its columns instead of a Python loop per row.
What comes out is exactly what the row-by-row construction gave: the same cells in the same order
(first appearance, numerator before denominator), the same blocks and the same relations in the
same order, so that :mod:`corridor.indicators.disclosure` withholds the same cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.indicators.codes import combine, dense, first_order, ids_of
from corridor.indicators.relations import Relations, relations
from corridor.indicators.series import Later, one_series

ALL: Final = "all"
DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
PLACE_SET: Final = ("place_code", "country", "admin1", "place_type")
ROLES: Final = ("numerator", "denominator")
#: the axes of a block, in the order their coordinates are written
_ORDER: Final = ("sex", "age_band", "population_group", "place", "period")


@dataclass
class Cells:
    """Distinct counts of an output, the relations between them, and their coordinates.

    ``rank``: per cell, the place of its key (element, period, corridor, places, dimensions)
    among the keys in their sort order (ties are broken by it, so that what is withheld does
    not depend on the order of the rows).

    Blocks of cells that add up together (one element, the same values on the columns that are
    not axes): ``block_keys`` (element, corridor, the block's axes, the values of the other
    dimensions), ``block_number`` (the number of each key) and, per block ``b``, its cells
    ``block_cells[block_ptr[b]:block_ptr[b + 1]]`` with their integer coordinates on the
    block's axes (``block_codes``, one column per axis of the output; 0: the margin, else equal
    codes for equal values).
    """

    values: list[float] = field(default_factory=list)
    rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    relations: Relations = field(default_factory=Relations)
    block_keys: list[tuple[Any, ...]] = field(default_factory=list)
    block_number: dict[tuple[Any, ...], int] = field(default_factory=dict)
    block_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    block_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    block_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))

    def block(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """(cells, integer coordinates on its axes) of block number ``b``."""
        s, e = int(self.block_ptr[b]), int(self.block_ptr[b + 1])
        return self.block_cells[s:e], self.block_codes[s:e, : len(self.block_keys[b][2])]


def table_by(table: pa.Table) -> list[str] | None:
    """The ``by`` dimensions the table says it was grouped by (None: not said)."""
    meta = table.schema.metadata or {}
    raw = meta.get(b"corridor.by")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def _strings(table: pa.Table, name: str, default: str | None) -> pa.ChunkedArray:
    """A column as strings, in its chunks (not copied into one array)."""
    if name in table.column_names:
        col = table.column(name)
        return col.cast(pa.string()) if col.type != pa.string() else col
    if default is None:
        return pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
    return pa.chunked_array([pa.repeat(pa.scalar(default, pa.string()), table.num_rows)])


def _codes(arr: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of an array's values (null is a value of its own)."""
    return _encode(arr)[0]


def _encode(arr: pa.ChunkedArray, value: str | None = None) -> tuple[np.ndarray, int, pa.Array]:
    """Integer codes of an array's values (null is a value of its own), the code of ``value``
    (-1: absent) and the values of the codes."""
    enc = arr.dictionary_encode(null_encoding="encode")
    chunks = [c for c in enc.chunks if len(c)]
    if not chunks:
        return np.zeros(0, np.int64), -1, pa.array([], pa.string())
    dictionary = chunks[-1].dictionary
    if not all(c.dictionary.equals(dictionary) for c in chunks):
        one = pa.concat_arrays([c.dictionary_decode() for c in chunks])
        return _encode(pa.chunked_array([one]), value)
    codes = np.empty(sum(len(c) for c in chunks), np.int64)  # (each chunk's codes cast once)
    at = 0
    for c in chunks:
        codes[at : at + len(c)] = np.asarray(c.indices)
        at += len(c)
    where = None if value is None else pc.index(dictionary, value).as_py()
    return codes, -1 if where is None else int(where), dictionary


def axes_of(
    table: pa.Table, place_cols: list[str], by: list[str] | None, periods: int | None = None
) -> list[str]:
    """The dimensions along which the cells of the output add up to margins (``periods``: how
    many distinct periods, null included, where the caller knows)."""
    if by is not None:  # the table says how it was grouped (compute_indicators does)
        dims = [d for d in DISAGGREGATIONS if d in by]
        places = any(d in by for d in ("place", "admin1", "country", "place_type"))
        trend = "period" in by
    else:  # else: whatever varies
        dims = [d for d in DISAGGREGATIONS if _any_not(table.column(d), TOTAL)]
        places = any(_any_not(table.column(c), ALL) for c in place_cols)
        trend = True
    # over time, sums add up to the total of the whole range; with one period there is nothing
    # to add (the "margin" would be the same count)
    if trend and periods is None:
        periods = pc.count_distinct(table.column("period"), mode="all").as_py()
    trend = trend and periods is not None and periods > 1
    return [*dims, *(["place"] if places else []), *(["period"] if trend else [])]


def _any_not(col: Any, value: str) -> bool:
    if len(col) == 0:
        return False
    ne = pc.fill_null(pc.not_equal(col, value), True)
    return bool(pc.any(ne).as_py())


@dataclass
class Layout:
    """The cells of an output as arrays, built column by column (nothing per row in Python).

    Per cell (numbered by first appearance, numerator before denominator): ``values`` and
    ``cell_pos`` (its first position ``2 * row + role``). Per placement of a cell in a block
    (a cell lies in two blocks where a place lies on two corridors): ``ppos`` (first position),
    ``pcid`` (cell), ``bid`` (block), ``coords`` (one integer per axis, 0: the margin) and
    ``own`` (how many of the axes its block has: the period only for sums, and it is last).
    ``row_cells``: per row, the cell of each role (-1: none); ``apart``: the positions of
    counts that are no cell (an element counted under another pairing, where it differs or can
    differ from the element's main count: see :mod:`corridor.indicators.series`; withheld);
    ``later``: the counts of such a series to withhold once the cells withheld are known.
    The rest is what
    :meth:`cells` needs to give the Python objects of some blocks."""

    values: np.ndarray
    cell_pos: np.ndarray
    ppos: np.ndarray
    pcid: np.ndarray
    bid: np.ndarray
    coords: np.ndarray
    own: np.ndarray
    row_cells: np.ndarray
    apart: np.ndarray
    apart_values: np.ndarray
    later: Later | None
    table: pa.Table
    axes: list[str]
    place_cols: list[str]
    elem_both: pa.ChunkedArray  # the elements of the numerators, then of the denominators
    period: pa.ChunkedArray
    corridor: pa.ChunkedArray
    columns: list[pa.ChunkedArray]  # per cell key: period, (corridor), places, dims

    def elements(self, pos: np.ndarray) -> pa.ChunkedArray:
        """The element at each position ``2 * row + role``."""
        n = len(self.row_cells)
        return self.elem_both.take(pa.array((pos % 2) * n + pos // 2, pa.int64()))

    def cells(
        self, threshold: int, placements: np.ndarray | None = None
    ) -> tuple[Cells, np.ndarray]:
        """The :class:`Cells` (keys, blocks, relations) of the cells placed at ``placements``
        (all when None; the blocks must be whole), and the ids of those cells in this layout
        (``Cells`` numbers them 0.. in the same order)."""
        if placements is None:
            placements = np.arange(len(self.pcid), dtype=np.int64)
        ids = np.unique(self.pcid[placements])
        local = np.full(len(self.values), -1, np.int64)
        local[ids] = np.arange(len(ids))
        pcid = local[self.pcid[placements]]
        ppos = self.ppos[placements]
        cells = Cells()
        cells.values = self.values[ids].tolist()
        pos = self.cell_pos[ids]
        rows = pa.array(pos // 2, pa.int64())
        keys = [self.elements(pos), *(col.take(rows) for col in self.columns)]
        cells.rank = key_ranks(keys)
        bid = _place_blocks(
            cells,
            self.table,
            self.axes,
            self.place_cols,
            ppos,
            pcid,
            self.bid[placements],
            self.elements(ppos),
            self.period,
            self.corridor,
        )
        coords = self.coords[placements]
        cells.relations = relations(
            cells.values, threshold, bid, pcid, coords, self.own[placements]
        )
        return cells, ids


def key_ranks(columns: list[pa.ChunkedArray]) -> np.ndarray:
    """Per position, the place of its key (the values of ``columns`` there, compared as tuples;
    a column with no value, such as the corridor of an output not by corridor, left out; a
    missing value last) in the sorted keys: text compared by code point as Python compares it
    (UTF-8 bytes sort in code point order), without building a tuple per key."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return np.zeros(0, np.int64)
    some = [c for c in columns if c.null_count < n]
    if not some:
        return np.arange(n, dtype=np.int64)
    names = [f"k{i}" for i in range(len(some))]
    order = pc.sort_indices(
        pa.table(dict(zip(names, some, strict=True))),
        sort_keys=[(c, "ascending") for c in names],
    ).to_numpy()
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return rank


def build_cells(table: pa.Table, threshold: int) -> tuple[Cells, np.ndarray]:
    """Cells (distinct counts), relations, and for each row the cell of each role: an
    ``(rows, 2)`` array, -1 where the row has no such count."""
    lay = layout(table)
    cells, _ids = lay.cells(threshold)
    return cells, lay.row_cells


@dataclass
class _Placer:
    """Where the count at a position ``2 * row + role`` lies: its integer coordinates on each
    axis (0: the margin), how many of the axes its block has (the period only for sums, and it
    is last) and its block's code (the element, the corridor, its axes and the coordinates on
    the other dimensions)."""

    axes: list[str]
    elem_c: np.ndarray
    sums: np.ndarray
    corridor_c: np.ndarray
    period_c: np.ndarray
    place_enc: list[tuple[np.ndarray, int, pa.Array]]
    place_code: np.ndarray
    dim_c: list[np.ndarray]
    dim_enc: list[tuple[np.ndarray, int, pa.Array]]

    def _coords(self, rows: np.ndarray) -> np.ndarray:
        """Per row of ``rows``: the integer coordinates on each axis (0: the margin). Each
        column is gathered into place and its margin set there (a temporary array per step,
        on a million rows, took fresh pages each run: 13.4 ms here against 9.4 ms). ``rows``
        are rows of the table: ``mode="clip"`` only spares numpy's buffered bounds check."""
        if not self.axes:
            return np.zeros((len(rows), 1), np.int64)
        coords = np.empty((len(rows), len(self.axes)), np.int64, order="F")  # by axis
        for j, a in enumerate(self.axes):
            col = coords[:, j]
            if a in DISAGGREGATIONS:
                k = DISAGGREGATIONS.index(a)
                np.take(self.dim_c[k], rows, out=col, mode="clip")
                margin = col == self.dim_enc[k][1]
                col += 1
                col[margin] = 0
            elif a == "place":
                everywhere = np.ones(len(rows), dtype=bool)
                for codes, where, _ in self.place_enc:
                    everywhere &= codes[rows] == where
                np.take(self.place_code, rows, out=col, mode="clip")
                col += 1
                col[everywhere] = 0
            else:
                np.take(self.period_c, rows, out=col, mode="clip")
                col += 1
        return coords

    def _fixed(self, rows: np.ndarray) -> list[np.ndarray]:
        """Per row of ``rows``: the corridor and the coordinates on the dimensions that are
        not axes."""
        parts = [self.corridor_c[rows]]
        parts += [self.dim_c[k][rows] for k, d in enumerate(DISAGGREGATIONS) if d not in self.axes]
        if "place" not in self.axes:
            parts.append(self.place_code[rows])
        return parts

    def over_periods(self, elem: np.ndarray) -> np.ndarray:
        """Per element code: whether its counts add over the periods (an axis of its block)."""
        if "period" not in self.axes or len(self.sums) == 0:
            return np.zeros(len(elem), bool)
        return np.asarray(self.sums[elem], bool)

    def place(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coordinates, axes of its block, block code) of the counts at ``pos``."""
        prow = pos // 2
        # the period is an axis of sums only (the last axis); other elements are one per period
        adds = self.over_periods(self.elem_c[pos])
        own = np.full(len(pos), len(self.axes), np.int64)
        if "period" in self.axes:
            own -= (~adds).astype(np.int64)
        fixed = self._fixed(prow)
        parts = [self.elem_c[pos], fixed[0], own, *fixed[1:]]
        parts.append(np.where(adds, 0, self.period_c[prow] + 1))
        return self._coords(prow), own, combine(parts, len(pos))

    def rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row of ``rows``: its coordinates, the code of its corridor and of its
        coordinates on the dimensions that are not axes (0..), and its period's code (for
        blocks within one element)."""
        return self._coords(rows), dense(combine(self._fixed(rows), len(rows))), self.period_c[rows]


def layout(table: pa.Table) -> Layout:
    """The cells of ``table`` as arrays (see :class:`Layout`)."""
    n = table.num_rows
    by = table_by(table)
    cols = table.column_names
    place_cols = [c for c in PLACE_SET if c in cols]
    # a place that lies on two corridors appears in both with the same count: one cell; but
    # a total over places (place "all") is the corridor's own count: a cell per corridor
    corridor_in_identity = "corridor" in cols and not (by is not None and "place" in by)
    per_corridor = None
    if "corridor" in cols and not corridor_in_identity:
        over = pc.fill_null(pc.equal(_strings(table, "place_code", None), ALL), True)
        per_corridor = over.to_numpy(zero_copy_only=False)
    period = _strings(table, "period", None)
    period_c, _none, period_names = _encode(period)
    axes = axes_of(table, place_cols, by, len(period_names))
    indicator = _strings(table, "indicator", "")
    elems = []
    for role in ROLES:
        name = f"{role}_element"
        if name in cols:
            elems.append(_strings(table, name, None))
        else:
            elems.append(pc.binary_join_element_wise(indicator, f":{role}", ""))
    # position 2r + k: row r, role k (numerator first), the order cells were met row by row;
    # the elements of both roles one after the other (position 2r + k is at k * n + r)
    elem_both = pa.chunked_array([*elems[0].chunks, *elems[1].chunks], pa.string())
    values = np.empty(2 * n, dtype=float)
    valid = np.zeros(2 * n, dtype=bool)
    for k, role in enumerate(ROLES):
        col = table.column(role).combine_chunks()
        values[k::2] = pc.fill_null(col.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        valid[k::2] = col.is_valid().to_numpy(zero_copy_only=False)
    corridor = _strings(table, "corridor", None)
    places = [_strings(table, c, None) for c in place_cols]
    dims = [_strings(table, d, None) for d in DISAGGREGATIONS]
    # (no corridor column: one code, null, without hashing a column of nulls)
    corridor_c = _codes(corridor) if "corridor" in cols else np.zeros(n, np.int64)
    place_enc = [_encode(p, ALL) for p in places]
    place_c = [c for c, _, _ in place_enc]
    dim_enc = [_encode(d, TOTAL) for d in dims]
    dim_c = [c for c, _, _ in dim_enc]
    both_c, _none, elem_names = _encode(elem_both)
    elem_c = both_c.reshape(2, n).T.reshape(-1) if n else both_c
    row_parts = [period_c, *(place_c), *dim_c]
    if corridor_in_identity:
        row_parts.append(corridor_c)
    elif per_corridor is not None:
        row_parts.append(np.where(per_corridor, corridor_c + 1, 0))
    row_key = ids_of(combine(row_parts, n))  # few distinct rows of counts: a small range
    names = elem_names.to_pylist()
    placer = _Placer(
        axes=axes,
        elem_c=elem_c,
        sums=np.array([DATA_ELEMENTS.get(e or "", "sum") == "sum" for e in names], bool),
        corridor_c=corridor_c,
        period_c=period_c,
        place_enc=place_enc,
        place_code=combine(place_c, n),
        dim_c=dim_c,
        dim_enc=dim_enc,
    )
    sel = np.flatnonzero(valid)
    cid_sel, first = first_order(combine([elem_c[sel], row_key[sel // 2]], len(sel)))
    # an element counted under another pairing than its main one (another count with the
    # same name and row): the same cell where it cannot differ, else a count apart, withheld
    keep, later = one_series(sel, elem_c, cid_sel, values, placer)
    apart = sel[~keep]
    if len(apart):
        sel = sel[keep]
        cid_sel, first = first_order(cid_sel[keep])
    rows_sel = sel // 2
    cell_pos = sel[first]
    cell_values = values[cell_pos]
    row_cells = np.full(2 * n, -1, dtype=np.int64)
    row_cells[sel] = cid_sel
    # (block, coordinates) of a cell is a function of (cell, corridor): each pair placed once
    if corridor_in_identity or len(corridor_c) == 0 or int(corridor_c.max()) == 0:
        ppos, pcid = cell_pos, np.arange(len(cell_pos), dtype=np.int64)  # each cell placed once
    else:
        pair = combine([cid_sel, corridor_c[rows_sel]], len(sel))
        _pid, pfirst = first_order(pair)
        ppos = sel[pfirst]  # the first position of each placement, in the order they were met
        pcid = cid_sel[pfirst]
    coords, own, block = placer.place(ppos)
    bid = dense(block)
    columns = [period]
    if corridor_in_identity:
        corr_col = corridor
    elif per_corridor is not None:
        # ("" for a place's count: keys are compared, and None does not compare with text)
        corr_col = pc.if_else(per_corridor, pc.fill_null(corridor, ""), "")
    else:
        corr_col = pa.nulls(n, pa.string())
    columns += [corr_col, *places, *dims]
    return Layout(
        values=cell_values,
        cell_pos=cell_pos,
        ppos=ppos,
        pcid=pcid,
        bid=bid,
        coords=coords,
        own=own,
        row_cells=row_cells.reshape(n, 2),
        apart=apart,
        apart_values=values[apart],
        later=later,
        table=table,
        axes=axes,
        place_cols=place_cols,
        elem_both=elem_both,
        period=period,
        corridor=corridor,
        columns=columns,
    )


def _place_blocks(
    cells: Cells,
    table: pa.Table,
    axes: list[str],
    place_cols: list[str],
    ppos: np.ndarray,
    pcid: np.ndarray,
    layout_bid: np.ndarray,
    elements_at: pa.ChunkedArray,
    period: pa.ChunkedArray,
    corridor: pa.ChunkedArray,
) -> np.ndarray:
    """The blocks of ``cells`` from the placements (first position, cell, block in the layout
    and element of each); returns the block (numbered in order of appearance) of each placement.

    A block's key and a cell's coordinates are those of its first placement; where two
    placements of a block have the same coordinates, the later cell stands there (as a
    dictionary keyed by coordinates would keep it)."""
    bid, first = first_order(layout_bid)
    # the key of each block, from its first placement
    rows = pa.array(ppos[first] // 2, pa.int64())
    elements = elements_at.take(pa.array(first, pa.int64())).to_pylist()
    fixed: dict[str, list[Any]] = {
        d: _strings(table, d, None).take(rows).to_pylist() for d in DISAGGREGATIONS
    }
    place_lists = [_strings(table, c, None).take(rows).to_pylist() for c in place_cols]
    fixed["place"] = list(zip(*place_lists, strict=True)) if place_cols else [()] * len(first)
    fixed["period"] = period.take(rows).to_pylist()
    own_of: dict[str, tuple[str, ...]] = {}
    for e in set(elements):
        own_of[e] = tuple(a for a in axes if a != "period" or DATA_ELEMENTS.get(e, "sum") == "sum")
    keys = cells.block_keys = []
    for i, (e, corr) in enumerate(zip(elements, corridor.take(rows).to_pylist(), strict=True)):
        own = own_of[e]
        keys.append((e, corr, own, *(fixed[a][i] for a in _ORDER if a not in own)))
    cells.block_number = {k: b for b, k in enumerate(keys)}
    # the coordinates of each placement on the axes of the output (0: the margin; on the
    # axes its block does not have, 0 too)
    rows = pa.array(ppos // 2, pa.int64())
    codes = np.zeros((len(ppos), len(axes)), np.int64)
    for j, a in enumerate(axes):
        if a in DISAGGREGATIONS:
            col = _strings(table, a, None).take(rows)
            none = pa.scalar(None, pa.string())
            codes[:, j] = _codes_or_zero(pc.if_else(pc.equal(col, TOTAL), none, col))
        elif a == "place":
            everywhere = np.ones(len(ppos), bool)
            parts = []
            for c in place_cols:
                col = _strings(table, c, None).take(rows)
                everywhere &= pc.fill_null(pc.equal(col, ALL), False).to_numpy(False)
                parts.append(_codes(col))
            code = dense(combine(parts, len(ppos))) + 1
            codes[:, j] = np.where(everywhere, 0, code)
        else:
            codes[:, j] = _codes_or_zero(period.take(rows))
    n_own = np.array([len(k[2]) for k in keys], np.int64)[bid]
    codes[np.arange(len(axes)) >= n_own[:, None]] = 0
    # one entry per block and coordinates: where first met, the cell placed there last
    key, kfirst = first_order(combine([bid, *codes.T], len(ppos)))
    last = np.zeros(len(kfirst), np.int64)
    np.maximum.at(last, key, np.arange(len(ppos), dtype=np.int64))
    order = np.argsort(bid[kfirst], kind="stable")
    cells.block_cells = pcid[last[order]]
    cells.block_codes = codes[kfirst[order]]
    sizes = np.bincount(bid[kfirst], minlength=len(keys))
    cells.block_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return bid


def _codes_or_zero(arr: pa.ChunkedArray) -> np.ndarray:
    """Integer codes 1.. of an array's values, 0 where null."""
    one = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    indices = one.dictionary_encode().indices.fill_null(-1)
    return np.asarray(indices, dtype=np.int64) + 1
