"""Secondary suppression by hypercubes: every small count in a box of withheld counts.

Within one block (one element; the cells that add up together along its axes: sex, age band,
population group, place and, for sums, period; 0 is an axis' margin), a *box* of a cell ``p`` takes
two coordinates on every axis, ``p``'s own and a partner (another value along that axis, the
margin included), and holds the ``2^w`` cells with those coordinates (its corners). When every
corner is withheld, the signed pattern that adds +1 and -1 alternately around the box (on an axis
where one of the pair is the margin, both get the same sign) changes no margin of any order along
any axis, in the output or outside it, and no cell outside the box: every equation an attacker
can write from the output holds for the true counts and for the counts moved along that pattern.
So no corner, ``p`` included, can be worked out by adding and subtracting what is shown, whatever
else is withheld (this is the hypercube method of Repsilber, as in tau-Argus and sdcTable).

An axis on which ``p``'s line holds no other cell is left as it is (a box of one value on it)
where that says nothing: every corner is alone on its line along that axis and the block has no
margin along it.

The same pattern moves every corner, so every corner of a box of withheld cells is protected by
it: a small count that is a corner of a box already withheld needs no box of its own.

Work is done for all small counts at once with numpy, on integer codes of the cells (per block,
the coordinates in a mixed radix; a cell is found by indexing a table of the codes): per axis,
each small count's cheapest few partners along its line (a withheld cell costs nothing, a zero
the most, otherwise its value; the margins aside); the box of the cheapest partners is taken
where all its corners exist; for the others (that are not corners of those boxes) a box is grown
one axis at a time, taking on each axis the partner whose new corners all exist and cost least
(then again along the axes in reverse order); then other combinations of partners and the
margins. What finds no box is left to the caller (:func:`corridor.indicators.disclosure`
checks its blocks exactly).
"""

from __future__ import annotations

from itertools import product
from typing import Final

import numpy as np
import pyarrow as pa

#: partners tried along each axis (besides the margin)
PARTNERS: Final = 3
#: the cost of withholding a zero (a zero total shows that its cells are zero): last resort
_ZERO: Final = 1e18
#: combinations of partners tried for a small count whose cheapest box has a missing corner
_TRIES: Final = 16
_LIMIT: Final = 1 << 62
#: boxes built in one pass by the search over combinations of partners
_BATCH: Final = 4096
#: a few cells (their lines found by marks): fewer than the cells on the axis over this
_FEW: Final = 4
#: cells whose boxes are built at once in the first pass (their corners' codes: about 1 MB)
_SLICE: Final = 4096
#: codes looked up in a table (beyond: by binary search) up to this many, or 16 per cell
_TABLE: Final = 1 << 22


class _Grid:
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
        card = np.ones((blocks, w), np.int64)
        for j in range(w):
            top = np.ones(blocks, np.int64)
            np.maximum.at(top, bid, self.axis[j] + 1)
            card[:, j] = top
        self.fits = bool(np.prod(card.astype(float), axis=1).sum() < _LIMIT)
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

    def find(self, code: np.ndarray) -> np.ndarray:
        """The cell of each code (of a cell's block), -1 where there is none."""
        if self.table is not None:
            return self.table[code] - 1
        if len(self.sorted) == 0:
            return np.full(code.shape, -1, np.int64)
        i = np.minimum(np.searchsorted(self.sorted, code), len(self.sorted) - 1)
        return np.where(self.sorted[i] == code, self.order[i], -1)


def protect_boxes(
    values: np.ndarray,
    bid: np.ndarray,
    coords: np.ndarray,
    own: np.ndarray,
    hidden: np.ndarray,
    todo: np.ndarray,
    whole_above: int | None = None,
) -> np.ndarray:
    """Withhold (in ``hidden``) the corners of a box for each cell of ``todo``; returns the
    cells of ``todo`` for which no box was found.

    ``values``, ``bid`` (block), ``coords`` (per axis, 0: the margin) and ``own`` (how many of
    the axes the cell's block has; those are the first ones) per cell; every cell in one block.
    ``whole_above``: the caller withholds whole a block of more than this many withheld cells
    where a cell has no box; the cells of such a block are not searched (they are returned)
    where one of them can have none (see :func:`_boxless`).
    """
    grid = _Grid(bid, coords, own)
    if not grid.fits or not grid.unique or len(todo) == 0:
        return todo
    lines = _Lines(grid, own, values)
    todo = np.asarray(todo, np.int64)
    doomed = np.zeros(0, np.int64)
    if whole_above is not None:
        many = np.bincount(bid[todo]) > whole_above
        if many.any():
            some = todo[many[bid[todo]]]
            blocks = np.zeros(len(many), bool)
            blocks[bid[some[_boxless(grid, lines, some)]]] = True
            skip = blocks[bid[todo]]
            doomed, todo = todo[skip], todo[~skip]
    left = _search_boxes(grid, lines, values, hidden, todo)
    return np.concatenate([left, doomed]) if len(doomed) else left


def _boxless(grid: _Grid, lines: _Lines, cells: np.ndarray) -> np.ndarray:
    """Per cell: whether no box can hold it: along some axis it is alone on its line (no
    other cell, no margin) while its block has margins along that axis (so that the axis
    cannot be kept as it is). Every box needs a second corner along each such axis."""
    out = np.zeros(len(cells), bool)
    own = lines.own[cells]
    for j in range(grid.width):
        on = np.flatnonzero((own > j) & lines.block_margin[grid.bid[cells], j])
        # alone on its line: first of all, the line has no margin
        on = on[grid.find(lines.code(cells[on], j)) < 0]
        if len(on) == 0:
            continue
        if j in lines._alone or grid.table is None:
            out[on] |= lines.alone(j)[cells[on]]
        else:  # the sizes of their lines only
            _members, of_members, mine, count = lines.few(j, cells[on])
            out[on] |= np.bincount(of_members, minlength=count)[mine] == 1
    return out


def _search_boxes(
    grid: _Grid, lines: _Lines, values: np.ndarray, hidden: np.ndarray, todo: np.ndarray
) -> np.ndarray:
    """The box search of :func:`protect_boxes` (the cells of ``todo`` left without a box)."""
    if len(todo) == 0:
        return todo
    # first the cheapest box of every small count, all at once (its cheapest partner on each
    # axis, else the margin: the other partners only for those that find no box this way)
    cost = _costs(values, hidden)
    options = lines.options(todo, cost, partners=1)
    choice = np.where(options[:, :, 0] >= 0, options[:, :, 0], options[:, :, PARTNERS])
    # every corner of a box of withheld cells is protected by it, not only the cell it was
    # built for: a small count that is a corner of one needs no box of its own. (Built in
    # slices of the cells: fresh memory is slow to touch on a shared machine, and these boxes
    # do not depend on each other.)
    boxed = np.zeros(len(values), bool)
    for at in range(0, len(todo), _SLICE):
        corners, ok = _corners(grid, lines, todo[at : at + _SLICE], choice[at : at + _SLICE])
        boxed[corners.T[:, ok]] = True
    hidden |= boxed
    left = todo[~boxed[todo]]
    options = lines.options(left, cost)  # the same costs as the first partners
    # then the others, with what is withheld now: a box grown one axis at a time (then along
    # the axes in reverse), then other combinations of partners, then the margins
    cost = _costs(values, hidden)
    for axes in (None, list(range(grid.width))[::-1]):
        if len(left):
            _grow(grid, lines, left, options, cost, boxed, axes)
            hidden |= boxed
            rest = ~boxed[left]
            left, options = left[rest], options[rest]
    if len(left):
        _search(grid, lines, left, options, boxed)
        hidden |= boxed
        left = left[~boxed[left]]
    if len(left):
        _margins_box(grid, lines, left, _costs(values, hidden), boxed)
        hidden |= boxed
        left = left[~boxed[left]]
    return left


def _grow(
    grid: _Grid,
    lines: _Lines,
    cells: np.ndarray,
    options: np.ndarray,
    cost: np.ndarray,
    boxed: np.ndarray,
    axes: list[int] | None = None,
) -> np.ndarray:
    """A box for each cell grown one axis at a time (in the order of ``axes``): on each axis
    the partner (of its ``options``) whose new corners all exist and cost least, given the
    corners so far; an axis is kept as it is where that says nothing (as in
    :func:`_corners`). Marks the corners of the boxes found in ``boxed``; returns whether each
    cell has one."""
    m, w = len(cells), grid.width
    # the corners so far, corner by corner (rows): codes, cells
    codes = np.empty((1 << w, m), np.int64)
    found = np.empty((1 << w, m), np.int64)
    codes[0] = grid.code[cells]
    found[0] = cells
    size = 1
    alive = np.ones(m, bool)
    own = lines.own[cells]
    for j in range(w) if axes is None else axes:
        on = np.flatnonzero(alive & (own > j))
        here, got = codes[:size, on], found[:size, on]
        keep = (options[on, j, :] < 0).all(axis=1)
        keep &= ~lines.block_margin[grid.bid[cells[on]], j]
        if keep.any():
            keep[keep] = lines.alone(j)[got[:, keep]].all(axis=0)
        best = np.full(len(on), np.inf)
        step = np.zeros(len(on), np.int64)
        new = got.copy()  # kept: the same corners
        mult = grid.mult(cells[on], j)
        for s in range(PARTNERS + 1):
            v = options[on, j, s]
            trying = np.flatnonzero((v >= 0) & ~keep)
            if len(trying) == 0:
                continue
            d = (v[trying] - grid.axis[j][cells[on[trying]]]) * mult[trying]
            at = grid.find(here[:, trying] + d)
            exists = (at >= 0).all(axis=0)
            trying, d, at = trying[exists], d[exists], at[:, exists]
            # the sum over each box's corners as a row (the order of the additions as ever)
            price = np.ascontiguousarray(cost[at].T).sum(axis=1)
            better = price < best[trying]
            pick = trying[better]
            best[pick] = price[better]
            step[pick] = d[better]
            new[:, pick] = at[:, better]
        alive[on[~keep & ~np.isfinite(best)]] = False
        # the box doubles: the same corners with the partner on axis j (off it: themselves)
        codes[size : 2 * size] = codes[:size]
        found[size : 2 * size] = found[:size]
        codes[size : 2 * size, on] += step
        found[size : 2 * size, on] = new
        size *= 2
    boxed[found[:size, alive]] = True
    return alive


def _margins_box(
    grid: _Grid, lines: _Lines, left: np.ndarray, cost: np.ndarray, boxed: np.ndarray
) -> np.ndarray:
    """The box of a finest cell ``y`` below each cell (``y`` itself where it is finest) and its
    margins: on every axis with margins in the block the pair (``y``'s value, the margin), on
    the others (the period) ``y``'s cheapest partner. Its corners are ``y``'s partial margins,
    which exist where the output has its totals, in two periods; the cell is one of them.
    Marks the corners in ``boxed``; returns the cells without such a box."""
    w = grid.width
    own = lines.own
    # components that have partners along the axes without margins (another period)
    allowed = np.ones(len(cost), bool)
    for j in range(w):
        bare = (own > j) & ~lines.block_margin[grid.bid, j]
        if bare.any():
            allowed &= ~bare | ~lines.alone(j)
    allowed[left] = True
    y = left.copy()
    ok = np.ones(len(left), bool)
    for j in range(w):  # down to a finest cell, one axis at a time (the cheapest component)
        need = np.flatnonzero((own[y] > j) & (grid.axis[j][y] == 0))
        if len(need) == 0:
            continue
        part = lines.options(y[need], cost, allowed, range(j, j + 1))[:, j, 0]
        found = grid.find(grid.code[y[need]] + np.maximum(part, 0) * grid.mult(y[need], j))
        found[part < 0] = -1
        ok[need] &= found >= 0
        y[need] = np.where(found >= 0, found, y[need])
    options = lines.options(y, cost, partners=1)
    choice = np.empty((len(y), w), np.int64)
    for j in range(w):
        margin = lines.block_margin[grid.bid[y], j] & (grid.axis[j][y] != 0)
        choice[:, j] = np.where(margin, 0, options[:, j, 0])
    corners, sound = _corners(grid, lines, y, choice)
    ok &= sound & (corners == left[:, None]).any(axis=1)
    boxed[corners[ok].reshape(-1)] = True
    return left[~ok]


def _search(
    grid: _Grid, lines: _Lines, left: np.ndarray, options: np.ndarray, boxed: np.ndarray
) -> np.ndarray:
    """Boxes from other combinations of partners, tried in order (their corners marked in
    ``boxed``); returns the cells still without one. The boxes of several combinations are
    built in one pass where the cells are few (``_BATCH`` boxes at a time)."""
    w = grid.width
    combos = np.array(_combinations(w), np.int64).reshape(-1, w)
    none: np.ndarray = np.asarray((options < 0).all(axis=2))  # nothing along j: keep its own
    start = 0
    while start < len(combos) and len(left):
        part = combos[start : start + max(1, _BATCH // len(left))]
        start += len(part)
        # per cell and combination: the partners, and whether each axis has one
        choice = options[:, np.arange(w)[None, :], part]
        avail = (none[:, None, :] | (choice >= 0)).all(axis=2)
        choice[np.broadcast_to(none[:, None, :], choice.shape)] = -1
        pairs = np.flatnonzero(avail.T)  # combination by combination
        k, i = np.divmod(pairs, len(left))
        corners, ok = _corners(grid, lines, left[i], choice[i, k])
        bounds = np.searchsorted(k, np.arange(len(part) + 1))
        for s in range(len(part)):  # in order: a cell boxed already takes no other box
            rows = np.arange(bounds[s], bounds[s + 1])
            rows = rows[ok[rows] & ~boxed[left[i[rows]]]]
            boxed[corners[rows].reshape(-1)] = True
        keep = ~boxed[left]
        left, options, none = left[keep], options[keep], none[keep]
    return left


def _costs(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    return np.where(hidden, 0.0, np.where(values > 0, values, _ZERO))


def _combinations(width: int) -> list[tuple[int, ...]]:
    """Partner slots per axis to try, cheapest first: slot ``PARTNERS`` is the margin; the
    margins on every axis last (with totals in the output that box always exists)."""
    slots = range(PARTNERS + 1)
    combos = sorted(product(slots, repeat=width), key=lambda c: (sum(c), c))
    tries = [c for c in combos if sum(1 for s in c if s == PARTNERS) <= 1][:_TRIES]
    margin_first = [
        tuple(PARTNERS if k < m else 0 for k in range(width)) for m in range(1, width + 1)
    ]
    out: list[tuple[int, ...]] = []
    for c in [*tries, *margin_first]:
        if c not in out:
            out.append(c)
    return out


class _Lines:
    """Per axis: each cell's line (the cells of its block with the same coordinates elsewhere),
    numbered once for all cells, whether a cell is alone on its line, and per block whether it
    has any margin along the axis."""

    def __init__(self, grid: _Grid, own: np.ndarray, values: np.ndarray) -> None:
        self.grid = grid
        self.own = own
        counts = values[(values > 0) & (values < _ZERO)]
        # the counts are whole numbers (so are their costs: their ranks, see _order_keys)
        self.whole = bool(
            len(counts) == 0 or (counts.max() < (1 << 30) and (counts == np.floor(counts)).all())
        )
        w = grid.width
        self.block_margin = np.zeros((int(grid.bid.max()) + 1 if len(own) else 0, w), bool)
        for j in range(w):
            margin = (own > j) & (grid.axis[j] == 0)
            self.block_margin[grid.bid[margin], j] = True
        self._on: dict[int, np.ndarray] = {}
        self._ids: dict[int, tuple[np.ndarray, int]] = {}
        self._alone: dict[int, np.ndarray] = {}
        self._margins: dict[int, np.ndarray] = {}
        self._line: dict[int, np.ndarray] = {}

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

    def few(self, j: int, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """For a few cells ``sel`` (the grid has a table): the cells on their lines along ``j``
        (in cell order), the line of each of those and of each of ``sel`` (numbered from 0
        among these lines), and how many lines, without numbering every line: the lines are
        marked in the grid's table (negative numbers: no cell has one), then it is restored."""
        table = self.grid.table
        assert table is not None
        line, mine = self.line(j), self.code(sel, j)
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

    def alone(self, j: int) -> np.ndarray:
        """Per cell: the only one on its line along ``j`` (or ``j`` not one of its axes)."""
        if j not in self._alone:
            ids, count = self.ids(j)
            on = self.on(j)
            flag = np.ones(len(self.own), bool)
            flag[on] = np.bincount(ids[on], minlength=count)[ids[on]] == 1
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
        allowed: np.ndarray | None = None,
        axes: range | None = None,
        partners: int = PARTNERS,
    ) -> np.ndarray:
        """Per cell and axis (of ``axes``, all by default), the coordinates of up to
        ``partners`` cheapest other cells on its line, margins aside (of the ``allowed`` ones;
        equal costs: the first cell), then the margin (slot ``PARTNERS``); -1: none.

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
                members, g, mine_line, count = self.few(j, sel)
                margin = grid.find(self.code(sel, j))
            else:  # most lines: numbered once for every cell
                ids, count = self.ids(j)
                mine_line = ids[sel]
                margin = self.margins(j)[mine_line]
                members, g = on, ids[on] if len(on) < len(cost) else ids
            if len(members) == len(cost):  # every cell
                if every is None:
                    all_cells = np.arange(len(cost))
                    nothing = np.zeros(len(cost), bool)
                    every = _order_keys(cost, all_cells, nothing, self.whole), _LAST | all_cells
                aside = grid.axis[j] == 0
                if allowed is not None:
                    aside |= ~allowed
                key = np.where(aside, every[1], every[0])
                where = members
            else:
                aside = grid.axis[j][members] == 0
                if allowed is not None:
                    aside |= ~allowed[members]
                key = _order_keys(cost[members], members, aside, self.whole)
                where = np.empty(len(cost), np.int64)
                where[members] = np.arange(len(members))
            # the cheapest partners + 1 of each line (equal costs: the first cell), in turn;
            # each cell's first partners of them, the cell itself aside; a cell taken costs the
            # most from then on (as a margin does)
            low = np.full(count, _NONE, np.int64)
            np.minimum.at(low, g, key)
            found = low[mine_line] & _CELL  # every asked line has a member
            if partners == 1:  # the cheapest, or the next where that is the cell itself
                taken = low[low != _NONE] & _CELL
                key[where[taken]] = _LAST | taken
                low = np.full(count, _NONE, np.int64)
                np.minimum.at(low, g, key)
                found = np.where(found != sel, found, low[mine_line] & _CELL)
                chosen = np.where(found != sel, grid.axis[j][found], -1)
            else:
                slot = np.zeros(len(sel), np.int64)
                chosen = np.full(len(sel) * partners, -1, np.int64)
                for k in range(partners + 1):
                    if k:
                        low = np.full(count, _NONE, np.int64)
                        np.minimum.at(low, g, key)
                        found = low[mine_line] & _CELL
                    put = np.flatnonzero((found != sel) & (slot < partners))
                    chosen[put * partners + slot[put]] = grid.axis[j][found[put]]
                    slot[put] += 1
                    if k < partners:
                        taken = low[low != _NONE] & _CELL
                        key[where[taken]] = _LAST | taken
            out[mine, j, :partners] = chosen.reshape(len(sel), partners)
            # the margin of the line, when it is in the output and is not the cell itself
            has = (margin >= 0) & (grid.axis[j][sel] != 0)
            if allowed is not None:
                has &= allowed[np.maximum(margin, 0)]
            out[mine, j, PARTNERS] = np.where(has, 0, -1)
        return out


_CELL: Final = (1 << 32) - 1
#: the order key of a cell that costs the most (a margin, a cell taken), and of none
_LAST: Final = ((1 << 31) - 1) << 32
_NONE: Final = np.iinfo(np.int64).max


def _order_keys(cost: np.ndarray, cells: np.ndarray, last: np.ndarray, whole: bool) -> np.ndarray:
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


def _corners(
    grid: _Grid, lines: _Lines, cells: np.ndarray, choice: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The corners of each cell's box (``choice``: the partner coordinate per axis, -1: keep
    the cell's own, an axis with nothing else on the line) and whether the box is sound.

    Corner ``k`` takes the partner on the axes of the bits of ``k``: the codes of the ``2^w``
    corners come by doubling, one axis at a time (corner by corner: ``found.T`` is contiguous)."""
    w = grid.width
    own = lines.own[cells]
    keep = (choice < 0) | (np.arange(w)[None, :] >= own[:, None])
    codes = np.empty((1 << w, len(cells)), np.int64)
    codes[0] = grid.code[cells]
    for j in range(w):
        step = np.where(keep[:, j], 0, (choice[:, j] - grid.axis[j][cells]) * grid.mult(cells, j))
        np.add(codes[: 1 << j], step, out=codes[1 << j : 2 << j])
    found = grid.find(codes)
    ok: np.ndarray = np.asarray((found >= 0).all(axis=0))
    # an axis kept as it is: every corner alone on its line along it, no margin along it
    for j in range(w):
        kept = keep[:, j] & (own > j)
        if not kept.any():
            continue
        rows = np.flatnonzero(kept & ok)
        alone = lines.alone(j)[found[:, rows]].all(axis=0)
        no_margin = ~lines.block_margin[grid.bid[cells[rows]], j]
        ok[kept] = False
        ok[rows[alone & no_margin]] = True
    return found.T, ok
