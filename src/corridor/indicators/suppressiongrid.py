"""The grid of a suppression's cells and their lines, for the boxes of
:mod:`corridor.indicators.hypercube`.

Cells are integer codes: per block, the coordinates on its axes in a mixed radix, each block
with its own span of codes; a cell is found by indexing a table of the codes (a sort and a
binary search where they are too many). A cell's *line* along an axis is the cells of its block
with the same coordinates on the other axes; its code is the code of the line's margin. Lines
are numbered in the same table (then restored), and per line the cheapest partners of a cell
come from one integer per cell that orders (cost, cell).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pyarrow as pa

from corridor.indicators.codes import CODE_LIMIT

#: partners tried along each axis (besides the margin)
PARTNERS: Final = 3
#: the cost of withholding a zero (a zero total shows that its cells are zero): last resort
ZERO: Final = 1e18
#: per cell's ``Lines.step_bits`` (1: it can move up, 2: down) + 4 where its sign in a box is
#: odd: 1 where it allows the box's move +1 (up on even corners, down on odd ones), 2 where it
#: allows the move -1 (the reverse)
MOVES: Final = np.array([0, 1, 2, 3, 0, 2, 1, 3], np.uint8)
#: a few cells (their lines found by marks): fewer than the cells on the axis over this
_FEW: Final = 4
#: codes looked up in a table (beyond: by binary search) up to this many, or 16 per cell
_TABLE: Final = 1 << 22
#: the lines of a few cells spelled out (see Lines.few) where they hold this many times fewer
#: values than the cells on the axis
_SPELL: Final = 8


class Grid:
    """Cells of the blocks as integer codes (block and coordinates) for lookups.

    Each block has its own span of codes, the product of its largest coordinate (+1) on each of
    its axes, so that the codes of an output are few; then a cell is found by indexing a table
    of them (a sort and a binary search where the codes are too many for a table)."""

    def __init__(self, bid: np.ndarray, coords: np.ndarray, own: np.ndarray) -> None:
        self.width = w = coords.shape[1]
        n = len(bid)
        # per axis, each cell's coordinate (contiguous; 0 off its block's axes)
        self.axis = [coords[:, j].copy() for j in range(w)]
        for j in range(w):
            off = own <= j
            if off.any():
                self.axis[j][off] = 0
        self.bid = bid
        blocks = int(bid.max()) + 1 if n else 0
        self.card = card = np.ones((blocks, w), np.int64)  # per block, the values per axis
        for j in range(w):
            top = np.ones(blocks, np.int64)
            np.maximum.at(top, bid, self.axis[j] + 1)
            card[:, j] = top
        self.fits = bool(np.prod(card.astype(float), axis=1).sum() < CODE_LIMIT)
        if not self.fits:
            return
        mult = np.ones((blocks, w), np.int64)
        for j in range(1, w):
            mult[:, j] = mult[:, j - 1] * card[:, j - 1]
        span = mult[:, -1] * card[:, -1] if w else np.ones(blocks, np.int64)
        offset = np.concatenate([[0], np.cumsum(span)[:-1]]).astype(np.int64)
        # per axis, the step of the code along it in each cell's block
        self.steps = [mult[bid, j] for j in range(w)]
        self.code = offset[bid]
        for j in range(w):
            self.code += self.axis[j] * self.steps[j]
        total = int(span.sum())
        self.table: np.ndarray | None = None
        if total <= max(_TABLE, 16 * n):
            # each cell + 1 at its code, 0 elsewhere (zeroed memory: pages untouched are free)
            self.table = np.zeros(total, np.int32 if n < (1 << 31) - 1 else np.int64)
            self.table[self.code] = np.arange(1, n + 1)
            self.unique = bool((self.table[self.code] == np.arange(1, n + 1)).all())
        else:
            self.order = np.argsort(self.code, kind="stable")
            self.sorted = self.code[self.order]
            self.unique = not bool((np.diff(self.sorted) == 0).any())

    def mult(self, cells: np.ndarray, j: int) -> np.ndarray:
        """The step of the code along axis ``j`` in each cell's block."""
        return self.steps[j][cells]

    def find1(self, code: np.ndarray) -> np.ndarray:
        """The cell + 1 of each code (of a cell's block), 0 where there is none."""
        if self.table is not None:
            return self.table[code]
        return self.find(code) + 1

    def find(self, code: np.ndarray) -> np.ndarray:
        """The cell of each code (of a cell's block), -1 where there is none."""
        if self.table is not None:
            return self.table[code] - 1
        if len(self.sorted) == 0:
            return np.full(code.shape, -1, np.int64)
        i = np.minimum(np.searchsorted(self.sorted, code), len(self.sorted) - 1)
        return np.where(self.sorted[i] == code, self.order[i], -1)


class Lines:
    """Per axis: each cell's line (the cells of its block with the same coordinates elsewhere),
    numbered once for all cells, whether a cell is alone on its line, and per block whether it
    has any margin along the axis."""

    def __init__(
        self,
        grid: Grid,
        own: np.ndarray,
        values: np.ndarray,
        margins: np.ndarray | None = None,
        loud: np.ndarray | None = None,
        steps: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.grid = grid
        self.own = own
        self.loud = loud
        # per cell, whether it can move up / down by 1 within its label's range (see
        # corridor.indicators.boxmoves.moves; by default every cell can)
        every = np.ones(len(own), bool)
        self.set_steps(*(steps if steps is not None else (every, every)))
        counts = values[(values > 0) & (values < ZERO)]
        # the counts are whole numbers (so are their costs: their ranks, see order_keys)
        self.whole = bool(
            len(counts) == 0 or (counts.max() < (1 << 30) and (counts == np.floor(counts)).all())
        )
        w = grid.width
        self.block_margin = np.zeros((int(grid.bid.max()) + 1 if len(own) else 0, w), bool)
        for j in range(w):
            margin = (own > j) & (grid.axis[j] == 0)
            self.block_margin[grid.bid[margin], j] = True
        if margins is not None:  # (axes with a margin wherever the caller says so)
            self.block_margin |= margins[: len(self.block_margin)]
        self._on: dict[int, np.ndarray] = {}
        self._ids: dict[int, tuple[np.ndarray, int]] = {}
        self._alone: dict[int, np.ndarray] = {}
        self._margins: dict[int, np.ndarray] = {}
        self._line: dict[int, np.ndarray] = {}

    def set_steps(self, up: np.ndarray, down: np.ndarray) -> None:
        """Per cell, whether it can move up / down by 1 within its label's range; also as
        ``step_bits`` (1: up, 2: down), for :data:`MOVES`."""
        self.up, self.down = up, down
        self.step_bits = up.astype(np.uint8) | (down.astype(np.uint8) << 1)

    def code(self, cells: np.ndarray | None, j: int) -> np.ndarray:
        """The code of each cell's line along ``j`` (the code its margin has); of every cell
        where ``cells`` is None."""
        grid = self.grid
        if cells is None:
            return grid.code - grid.axis[j] * grid.steps[j]
        return grid.code[cells] - grid.axis[j][cells] * grid.steps[j][cells]

    def on(self, j: int) -> np.ndarray:
        """The cells that have axis ``j``, in cell order."""
        if j not in self._on:
            self._on[j] = np.flatnonzero(self.own > j)
        return self._on[j]

    def line(self, j: int) -> np.ndarray:
        """The line codes of the cells on axis ``j`` (of :meth:`on`)."""
        if j not in self._line:
            on = self.on(j)
            self._line[j] = self.code(None if len(on) == len(self.own) else on, j)
        return self._line[j]

    def few(
        self, j: int, sel: np.ndarray, mine: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """For a few cells ``sel`` (the grid has a table): the cells on their lines along ``j``
        (in cell order), the line of each of those and of each of ``sel`` (numbered from 0
        among these lines), and how many lines, without numbering every line: the lines are
        marked in the grid's table (negative numbers: no cell has one), then it is restored.
        ``mine``: the line codes of ``sel`` where the caller has them."""
        table = self.grid.table
        assert table is not None
        if mine is None:
            mine = self.code(sel, j)
        card = self.grid.card[self.grid.bid[sel], j]
        if len(sel) * int(card.max(initial=1)) * _SPELL < len(self.on(j)):
            return self._spelled(j, sel, mine)
        line = self.line(j)
        saved = table[mine]
        pos = -np.arange(1, len(mine) + 1, dtype=table.dtype)
        table[mine] = pos
        first = mine[table[mine] == pos]
        table[first] = -np.arange(1, len(first) + 1, dtype=table.dtype)
        hit = np.flatnonzero(table[line] < 0)
        of_hit = -1 - table[line[hit]].astype(np.int64)
        of_mine = -1 - table[mine].astype(np.int64)
        table[mine] = saved
        return self.on(j)[hit], of_hit, of_mine, len(first)

    def _spelled(
        self, j: int, sel: np.ndarray, mine: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """:meth:`few` for very few cells: their lines spelled out value by value (codes
        looked up) instead of marked among all the lines."""
        grid = self.grid
        lines, first, of_mine = np.unique(mine, return_index=True, return_inverse=True)
        at = sel[first]
        card = grid.card[grid.bid[at], j]
        values = np.arange(int(card.max(initial=1)))
        codes = lines[:, None] + values[None, :] * grid.steps[j][at][:, None]
        found = np.where(
            values[None, :] < card[:, None],
            grid.find(np.where(values[None, :] < card[:, None], codes, lines[:, None])),
            -1,
        )
        g, _v = np.nonzero(found >= 0)
        members = found[g, _v]
        order = np.argsort(members, kind="stable")
        return (
            members[order],
            g[order].astype(np.int64),
            of_mine.reshape(-1).astype(np.int64),
            len(lines),
        )

    def ids(self, j: int) -> tuple[np.ndarray, int]:
        """Per cell its line along ``j``, numbered from 0 (-1: ``j`` is not one of its axes), and
        how many lines there are: computed once per axis for every cell."""
        if j not in self._ids:
            on = self.on(j)
            every = len(on) == len(self.own)
            line = self.line(j)
            table = self.grid.table
            if table is None:  # codes too many for a table: Arrow's hash
                enc = pa.array(line, pa.int64()).dictionary_encode()
                found, count = np.asarray(enc.indices, np.int64), len(enc.dictionary)
            else:
                # the lines numbered in the grid's table (negative numbers: no cell has one),
                # which is then restored: one cell of each line marks it, the lines are
                # numbered, the numbers read back
                saved = table[line]
                pos = -np.arange(1, len(line) + 1, dtype=table.dtype)
                table[line] = pos
                first = line[table[line] == pos]
                count = len(first)
                table[first] = -np.arange(1, count + 1, dtype=table.dtype)
                found = -1 - table[line].astype(np.int64)
                table[line] = saved
            if every:
                ids = found
            else:
                ids = np.full(len(self.own), -1, np.int64)
                ids[on] = found
            self._ids[j] = ids, count
        return self._ids[j]

    def alone_of(self, j: int, cells: np.ndarray) -> np.ndarray:
        """:meth:`alone` of a few ``cells`` on axis ``j`` (from the sizes of their own lines,
        where every line has not been numbered already)."""
        if self.knows_alone(j) or self.grid.table is None or _FEW * len(cells) >= len(self.on(j)):
            return self.alone(j)[cells]
        out = np.ones(len(cells), bool)  # (j not one of its axes: alone, as in alone)
        on = np.flatnonzero(self.own[cells] > j)
        if len(on):
            _members, of_members, mine, count = self.few(j, cells[on])
            out[on] = np.bincount(of_members, minlength=count)[mine] == 1
            if self.loud is not None:
                out[on] &= ~self.loud[cells[on]]
        return out

    def knows_alone(self, j: int) -> bool:
        """Whether :meth:`alone` has numbered every line along ``j`` already."""
        return j in self._alone

    def alone(self, j: int) -> np.ndarray:
        """Per cell: the only one on its line along ``j`` (or ``j`` not one of its axes)."""
        if j not in self._alone:
            ids, count = self.ids(j)
            on = self.on(j)
            flag = np.ones(len(self.own), bool)
            flag[on] = np.bincount(ids[on], minlength=count)[ids[on]] == 1
            if self.loud is not None:  # (cells never taken as alone: see protect_boxes)
                flag[on] &= ~self.loud[on]
            self._alone[j] = flag
        return self._alone[j]

    def margins(self, j: int) -> np.ndarray:
        """Per line along ``j`` (as numbered by :meth:`ids`), its margin cell; -1: not in the
        output."""
        if j not in self._margins:
            ids, count = self.ids(j)
            on = self.on(j)
            at = on[self.grid.axis[j][on] == 0]
            margin = np.full(count, -1, np.int64)
            margin[ids[at]] = at
            self._margins[j] = margin
        return self._margins[j]

    def options(
        self,
        cells: np.ndarray,
        cost: np.ndarray,
        allowed: Callable[[np.ndarray], np.ndarray] | None = None,
        axes: range | None = None,
        partners: int = PARTNERS,
    ) -> np.ndarray:
        """Per cell and axis (of ``axes``, all by default), the coordinates of up to
        ``partners`` cheapest other cells on its line, margins aside (of the ``allowed`` ones:
        ``allowed(cells)`` says which of those cells are, asked only about the cells looked
        at; equal costs: the first cell), then the margin (slot ``PARTNERS``); -1: none.

        A cell's partners are the same whichever other cells are asked about with it."""
        grid = self.grid
        w = grid.width
        out = np.full((len(cells), w, PARTNERS + 1), -1, np.int32)
        every: tuple[np.ndarray, np.ndarray] | None = None  # the keys of all cells (see below)
        for j in range(w) if axes is None else axes:
            mine = np.flatnonzero(self.own[cells] > j)
            if len(mine) == 0:
                continue
            sel = cells[mine]
            on = self.on(j)
            # (cost, cell) as one integer per member of the lines; margins (and cells not
            # allowed) cost the most; where: each member's position
            if _FEW * len(sel) < len(on) and grid.table is not None:  # a few lines
                codes = self.code(sel, j)
                members, g, mine_line, count = self.few(j, sel, codes)
                margin = grid.find(codes)
            else:  # most lines: numbered once for every cell
                ids, count = self.ids(j)
                mine_line = ids[sel]
                margin = self.margins(j)[mine_line]
                members, g = on, ids[on] if len(on) < len(cost) else ids
            if len(members) == len(cost):  # every cell
                if every is None:
                    all_cells = np.arange(len(cost))
                    nothing = np.zeros(len(cost), bool)
                    every = order_keys(cost, all_cells, nothing, self.whole), _LAST | all_cells
                aside = grid.axis[j] == 0
                if allowed is not None:
                    aside |= ~allowed(np.arange(len(cost)))
                key = np.where(aside, every[1], every[0])
            else:
                aside = grid.axis[j][members] == 0
                if allowed is not None:
                    aside |= ~allowed(members)
                # (members in cell order: their positions order them as the cells do)
                key = order_keys(cost[members], np.arange(len(members)), aside, self.whole)
            # the cheapest partners + 1 of each line (equal costs: the first cell), in turn;
            # each cell's first partners of them, the cell itself aside; a cell taken costs the
            # most from then on (as a margin does). Keys hold the member's position (its cell
            # where every cell is a member).
            low = np.full(count, _NONE, np.int64)
            np.minimum.at(low, g, key)
            found = members[low[mine_line] & _CELL]  # every asked line has a member
            if partners == 1:  # the cheapest, or the next where that is the cell itself
                taken = low[low != _NONE] & _CELL
                key[taken] = _LAST | taken
                low = np.full(count, _NONE, np.int64)
                np.minimum.at(low, g, key)
                found = np.where(found != sel, found, members[low[mine_line] & _CELL])
                chosen = np.where(found != sel, grid.axis[j][found], -1)
            else:
                # the first partner: the cheapest other than the cell (all slots free)
                put = np.flatnonzero(found != sel)
                slot = np.zeros(len(sel), np.int64)
                slot[put] = 1
                chosen = np.full(len(sel) * partners, -1, np.int64)
                chosen[put * partners] = grid.axis[j][found[put]]
                for _ in range(partners):  # the next ones, in turn
                    taken = low[low != _NONE] & _CELL
                    key[taken] = _LAST | taken
                    low = np.full(count, _NONE, np.int64)
                    np.minimum.at(low, g, key)
                    found = members[low[mine_line] & _CELL]
                    put = np.flatnonzero((found != sel) & (slot < partners))
                    chosen[put * partners + slot[put]] = grid.axis[j][found[put]]
                    slot[put] += 1
            # the margin of the line, when it is in the output and is not the cell itself
            has = (margin >= 0) & (grid.axis[j][sel] != 0)
            if allowed is not None and has.any():
                has[has] = allowed(margin[has])
            rows = slice(None) if len(mine) == len(cells) else mine
            out[rows, j, :partners] = chosen.reshape(len(sel), partners)
            out[rows, j, PARTNERS] = np.where(has, 0, -1)
        return out


_CELL: Final = (1 << 32) - 1
#: the order key of a cell that costs the most (a margin, a cell taken), and of none
_LAST: Final = ((1 << 31) - 1) << 32
_NONE: Final = np.iinfo(np.int64).max


def order_keys(cost: np.ndarray, cells: np.ndarray, last: np.ndarray, whole: bool) -> np.ndarray:
    """Per cell (of ``cells``, with its ``cost``) an integer that orders them as (cost, cell)
    do, ``last`` ones as costing the most (as a margin does): the cost's rank in the high 31
    bits (``whole``: the costs are whole numbers below 2^30, their own rank; a zero's cost next
    to last), the cell in the low 32."""
    if whole:
        rank = np.minimum(cost, (1 << 31) - 2).astype(np.int64)
        rank += np.isinf(cost)
    else:  # fractions or huge counts: their ranks (infinite last)
        _distinct, inverse = np.unique(cost, return_inverse=True)
        rank = inverse.reshape(-1).astype(np.int64)
        rank[np.isinf(cost)] = (1 << 31) - 1
    rank[last] = (1 << 31) - 1
    return (rank << 32) | cells
