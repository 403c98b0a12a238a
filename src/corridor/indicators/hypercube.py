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
checks its blocks exactly). Boxes that cannot move within the labels' ranges are ruled out
before they are built, from what the cells next to the small count allow
(:mod:`corridor.indicators.boxmoves`).
"""

from __future__ import annotations

from functools import cache
from itertools import product
from typing import Final

import numpy as np

from corridor.indicators.boxmoves import beside, movable, moves, step_moves, stuck
from corridor.indicators.suppressiongrid import PARTNERS, ZERO, Grid, Lines

#: combinations of partners tried for a small count whose cheapest box has a missing corner
_TRIES: Final = 16
#: boxes built in one pass by the search over combinations of partners
_BATCH: Final = 4096
#: cells whose boxes are built at once in the first pass (their corners' codes: about 1 MB)
_SLICE: Final = 4096


def protect_boxes(
    values: np.ndarray,
    bid: np.ndarray,
    coords: np.ndarray,
    own: np.ndarray,
    hidden: np.ndarray,
    todo: np.ndarray,
    threshold: int = 10,
    *,
    whole_above: int | None = None,
    margins: np.ndarray | None = None,
    loud: np.ndarray | None = None,
) -> np.ndarray:
    """Withhold (in ``hidden``) the corners of a box for each cell of ``todo``; returns the
    cells of ``todo`` for which no box was found.

    ``values``, ``bid`` (block), ``coords`` (per axis, 0: the margin) and ``own`` (how many of
    the axes the cell's block has; those are the first ones) per cell; every cell in one block.
    ``whole_above``: the caller withholds whole a block of more than this many withheld cells
    where a cell has no box; the cells of such a block are not searched (they are returned)
    where one of them can have none (see :func:`_boxless`). ``margins`` (per block and axis):
    axes taken to have a margin whether or not a cell of the block lies there (no box keeps
    such an axis as it is). ``loud`` (per cell): never taken as alone on a line (a cell that
    stands for several, see :mod:`corridor.indicators.corridorboxes`). ``threshold``: the
    counts from 1 to ``threshold - 1`` are shown as ``<threshold``, the others withheld as
    ``suppressed``; only boxes that can move within those ranges are taken (:func:`moves`).
    """
    if len(todo) == 0:
        return todo
    return Boxes(values, bid, coords, own, margins, loud, moves(values, threshold))(
        hidden, todo, whole_above
    )


class Boxes:
    """:func:`protect_boxes` over cells given once, asked about again and again: the grid of
    the cells and their lines (which do not depend on what is withheld) are built once
    (:mod:`corridor.indicators.corridorboxes` asks a few times over the same cells)."""

    def __init__(
        self,
        values: np.ndarray,
        bid: np.ndarray,
        coords: np.ndarray,
        own: np.ndarray,
        margins: np.ndarray | None = None,
        loud: np.ndarray | None = None,
        steps: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """``steps``: per cell, whether it can move up and down by 1 within the range of its
        label (:func:`moves`; by default with the threshold 10)."""
        self.values = values
        self.grid = Grid(bid, coords, own)
        usable = self.grid.fits and self.grid.unique  # (else no box: every cell left)
        if steps is None:
            steps = moves(values, 10)
        self.lines = Lines(self.grid, own, values, margins, loud, steps) if usable else None

    def __call__(
        self, hidden: np.ndarray, todo: np.ndarray, whole_above: int | None = None
    ) -> np.ndarray:
        """:func:`protect_boxes` of these cells with ``hidden``, ``todo``, ``whole_above``."""
        if self.lines is None or len(todo) == 0:
            return todo
        return _protect(self.grid, self.lines, self.values, hidden, todo, whole_above)


def _protect(
    grid: Grid,
    lines: Lines,
    values: np.ndarray,
    hidden: np.ndarray,
    todo: np.ndarray,
    whole_above: int | None,
) -> np.ndarray:
    bid = grid.bid
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
    if len(left):
        left = _linear_boxes(grid, lines, values, hidden, left)
    return np.concatenate([left, doomed]) if len(doomed) else left


def _linear_boxes(
    grid: Grid, lines: Lines, values: np.ndarray, hidden: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """The fallback for the small counts ``left`` without a box that can move within the
    labels' ranges: a box of withheld cells whatever the ranges (the search as it was before
    the ranges were checked). It protects them from the equations only, as the exact check
    would (which ignores the ranges too); returns the cells still without one."""
    steps = lines.up, lines.down
    every = np.ones(len(values), bool)
    lines.set_steps(every, every)
    try:
        return _search_boxes(grid, lines, values, hidden, left)
    finally:
        lines.set_steps(*steps)


def _boxless(grid: Grid, lines: Lines, cells: np.ndarray) -> np.ndarray:
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
        if lines.knows_alone(j) or grid.table is None:
            out[on] |= lines.alone(j)[cells[on]]
        else:  # the sizes of their lines only
            _members, of_members, mine, count = lines.few(j, cells[on])
            out[on] |= np.bincount(of_members, minlength=count)[mine] == 1
    return out


def _search_boxes(
    grid: Grid, lines: Lines, values: np.ndarray, hidden: np.ndarray, todo: np.ndarray
) -> np.ndarray:
    """The box search of :func:`protect_boxes` (the cells of ``todo`` left without a box)."""
    if len(todo) == 0:
        return todo
    # first the cheapest box of every small count, all at once (its cheapest partner on each
    # axis, else the margin: the other partners only for those that find no box this way)
    # (every small count's partners at once: a cell's partners do not depend on the cells
    # asked about with it, so those of the cells left are these, taken after)
    cost = _costs(values, hidden)
    options = lines.options(todo, cost)
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
    rest = ~boxed[todo]
    left, options = todo[rest], options[rest]  # with the same costs as the first partners
    # then the others, with what is withheld now: a box grown one axis at a time (then along
    # the axes in reverse), then other combinations of partners, then the margins
    cost = _costs(values, hidden)
    # (a cell none of whose boxes from its partners can move is not searched for one: it may
    # still be a corner of another's box, and the margins' box takes other partners)
    # (what each partner's corner next to the cell allows rules out, before they are built,
    # the boxes that cannot move)
    near = beside(grid, lines, left, options)
    search = ~stuck(lines, left, options, near)
    for axes in (None, list(range(grid.width))[::-1]):
        if search.any():
            sub = np.flatnonzero(search)
            _grow(grid, lines, left[sub], options[sub], cost, boxed, axes, near[sub])
            hidden |= boxed
            rest = ~boxed[left]
            left, options, search, near = left[rest], options[rest], search[rest], near[rest]
    if search.any():
        sub = np.flatnonzero(search)
        _search(grid, lines, left[sub], options[sub], boxed, near[sub])
        hidden |= boxed
        left = left[~boxed[left]]
    if len(left):
        _margins_box(grid, lines, left, _costs(values, hidden), boxed)
        hidden |= boxed
        left = left[~boxed[left]]
    return left


def _grow(
    grid: Grid,
    lines: Lines,
    cells: np.ndarray,
    options: np.ndarray,
    cost: np.ndarray,
    boxed: np.ndarray,
    axes: list[int] | None = None,
    near: np.ndarray | None = None,
) -> np.ndarray:
    """A box for each cell grown one axis at a time (in the order of ``axes``): on each axis
    the partner (of its ``options``) whose new corners all exist and cost least, given the
    corners so far; an axis is kept as it is where that says nothing (as in
    :func:`_corners`). Marks the corners of the boxes found in ``boxed``; returns whether each
    cell has one. ``near``: what the partners' corners next to the cells allow
    (:func:`corridor.indicators.boxmoves.beside`), where the caller has it."""
    if near is None:
        near = beside(grid, lines, cells, options)
    m, w = len(cells), grid.width
    # the corners so far, corner by corner (rows): codes, cells
    codes = np.empty((1 << w, m), np.int64)
    found = np.empty((1 << w, m), np.int64)
    codes[0] = grid.code[cells]
    found[0] = cells
    size = 1
    alive = np.ones(m, bool)
    as_is = np.zeros((m, w), bool)  # the axes kept as they are, per cell
    own = lines.own[cells]
    priced = np.append(np.inf, cost)  # none (0: see Grid.find1), then the cost of each cell
    # the moves of the box so far: per corner its sign (odd: -1), per cell whether the box
    # can move +1 (even corners up, odd ones down) and -1 (the reverse) within the labels'
    # ranges. A box grown from one that cannot move cannot either (its corners keep their
    # signs), so a partner whose box cannot move is never taken
    odd = np.zeros((1 << w, m), bool)
    flips = np.zeros((m, w), bool)
    bits1 = np.append(np.uint8(0), lines.step_bits)  # (as priced)
    plus, minus = lines.up[cells].copy(), lines.down[cells].copy()
    for j in range(w) if axes is None else axes:
        on = np.flatnonzero(alive & (own > j))
        opts = options[on, j, :]
        new = found[:size, on]  # the corners so far (kept: the same corners)
        keep = (opts < 0).all(axis=1)
        keep &= ~lines.block_margin[grid.bid[cells[on]], j]
        if keep.any():
            kept = new[:, keep]
            keep[keep] = lines.alone_of(j, kept.reshape(-1)).reshape(kept.shape).all(axis=0)
        best = np.full(len(on), np.inf)
        step = np.zeros(len(on), np.int64)
        flip_on = np.zeros(len(on), bool)
        plus_on, minus_on = plus[on], minus[on]
        mult = grid.mult(cells[on], j)
        mine = grid.axis[j][cells[on]]
        for s in range(PARTNERS + 1):
            v = opts[:, s]
            # (a partner that an earlier slot holds gives the same box: never better)
            fresh = (v >= 0) & ~keep
            for t in range(s):
                fresh &= v != opts[:, t]
            trying = np.flatnonzero(fresh)
            if len(trying) == 0:
                continue
            # a partner whose corner next to the cell allows no move the box so far allows
            # gives a box that cannot move
            allows = near[on[trying], j, s]
            go = (plus[on[trying]] & (allows & 1 != 0)) | (minus[on[trying]] & (allows & 2 != 0))
            trying = trying[go]
            if len(trying) == 0:
                continue
            d = (v[trying] - mine[trying]) * mult[trying]
            if s and size > 1:
                # a box costs at least its partner (the first of its new corners; costs are
                # not negative, and neither is a sum of them less than a term): one whose
                # partner costs as much as the best box so far is never better
                go = priced[grid.find1(codes[0, on[trying]] + d)] < best[trying]
                trying, d = trying[go], d[go]
                if len(trying) == 0:
                    continue
            at = grid.find1(codes[:size, on[trying]] + d)
            # a corner that does not exist (0) costs infinitely much: that box is never better
            price = _corner_sum(priced[at])
            # only a box cheaper than the best so far can be taken (asked first: the moves
            # below are checked for those alone)
            better = np.flatnonzero(price < best[trying])
            trying, at, price, d = trying[better], at[:, better], price[better], d[better]
            # the new corners' signs: those of the corners they copy, changed unless the pair
            # holds the margin; a box that cannot move is never taken
            flip = (v[trying] != 0) & (mine[trying] != 0)
            sign = odd[:size, on[trying]] ^ flip[None, :]
            both = step_moves(bits1[at], sign)
            can_plus = plus[on[trying]] & (both & 1 != 0)
            can_minus = minus[on[trying]] & (both & 2 != 0)
            can = can_plus | can_minus
            pick = trying[can]
            best[pick] = price[can]
            step[pick] = d[can]
            new[:, pick] = at[:, can] - 1
            flip_on[pick] = flip[can]
            plus_on[pick] = can_plus[can]
            minus_on[pick] = can_minus[can]
        alive[on[~keep & ~np.isfinite(best)]] = False
        as_is[on[keep], j] = True
        grown = on[~keep]
        flips[grown, j] = flip_on[~keep]
        plus[grown], minus[grown] = plus_on[~keep], minus_on[~keep]
        # the box doubles: the same corners with the partner on axis j (off it: themselves)
        codes[size : 2 * size] = codes[:size]
        found[size : 2 * size] = found[:size]
        odd[size : 2 * size] = odd[:size]
        codes[size : 2 * size, on] += step
        found[size : 2 * size, on] = new
        odd[size : 2 * size, grown] ^= flips[grown, j][None, :]
        size *= 2
    # an axis kept as it is must say nothing for every corner of the whole box, those that
    # later axes added included (a corner there with other cells on its line would move their
    # margin, which another output shows)
    for j in range(w):
        rows = np.flatnonzero(alive & as_is[:, j])
        if len(rows):
            at = found[:size, rows]
            alive[rows] = lines.alone_of(j, at.reshape(-1)).reshape(at.shape).all(axis=0)
    rows = np.flatnonzero(alive)
    if len(rows):  # (each step took only boxes that can move; checked again whole)
        alive[rows] = movable(lines, found[:size, rows], flips[rows])
    boxed[found[:size, alive]] = True
    return alive


def _margins_box(
    grid: Grid, lines: Lines, left: np.ndarray, cost: np.ndarray, boxed: np.ndarray
) -> np.ndarray:
    """The box of a finest cell ``y`` below each cell (``y`` itself where it is finest) and its
    margins: on every axis with margins in the block the pair (``y``'s value, the margin), on
    the others (the period) ``y``'s cheapest partner. Its corners are ``y``'s partial margins,
    which exist where the output has its totals, in two periods; the cell is one of them.
    Marks the corners in ``boxed``; returns the cells without such a box."""
    w = grid.width
    own = lines.own
    asked = np.zeros(len(cost), bool)
    asked[left] = True

    def allowed(cells: np.ndarray) -> np.ndarray:
        """Components that have partners along the axes without margins (another period),
        and the cells of ``left``: asked only about the cells of the lines looked at."""
        ok = np.ones(len(cells), bool)
        for j in range(w):
            bare = (own[cells] > j) & ~lines.block_margin[grid.bid[cells], j]
            if bare.any():
                ok[bare] &= ~lines.alone_of(j, cells[bare])
        return ok | asked[cells]

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
    grid: Grid,
    lines: Lines,
    left: np.ndarray,
    options: np.ndarray,
    boxed: np.ndarray,
    near: np.ndarray | None = None,
) -> np.ndarray:
    """Boxes from other combinations of partners, tried in order (their corners marked in
    ``boxed``); returns the cells still without one. The boxes of several combinations are
    built in one pass where the cells are few (``_BATCH`` boxes at a time). ``near``: as for
    :func:`_grow`."""
    w = grid.width
    combos = _combination_array(w)
    none: np.ndarray = np.asarray((options < 0).all(axis=2))  # nothing along j: keep its own
    if near is None:
        near = beside(grid, lines, left, options)
    bits = lines.step_bits[left]
    start = 0
    while start < len(combos) and len(left):
        part = combos[start : start + max(1, _BATCH // len(left))]
        start += len(part)
        # per cell and combination: the partners, and whether each axis has one
        choice = options[:, np.arange(w)[None, :], part]
        avail = (none[:, None, :] | (choice >= 0)).all(axis=2)
        # (a box whose corners next to the cell allow no common move with it cannot move)
        allows = np.where(none[:, None, :], np.uint8(3), near[:, np.arange(w)[None, :], part])
        avail &= bits[:, None] & np.bitwise_and.reduce(allows, axis=2) != 0
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
        near, bits = near[keep], bits[keep]
    return left


def _corner_sum(price: np.ndarray) -> np.ndarray:
    """The sum of each box's corners (``price``: corner by corner, one column per box), added
    in the order numpy adds a row of them (its pairwise sum: one at a time below 8, else 8
    running sums combined in a tree), so that equal boxes cost exactly the same as ever, with
    whole rows added at once instead of each short row on its own."""
    n = price.shape[0]
    if n < 8:
        out = price[0].copy()
        for k in range(1, n):
            out += price[k]
        return out
    run = price[:8].copy()
    for k in range(8, n, 8):
        run += price[k : k + 8]
    return ((run[0] + run[1]) + (run[2] + run[3])) + ((run[4] + run[5]) + (run[6] + run[7]))


def _costs(values: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    return np.where(hidden, 0.0, np.where(values > 0, values, ZERO))


@cache
def _combination_array(width: int) -> np.ndarray:
    """:func:`_combinations` as an array (one row each; read only: shared by every call)."""
    out = np.array(_combinations(width), np.int64).reshape(-1, width)
    out.flags.writeable = False
    return out


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


def _corners(
    grid: Grid, lines: Lines, cells: np.ndarray, choice: np.ndarray
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
        at = found[:, rows]
        alone = lines.alone_of(j, at.reshape(-1)).reshape(at.shape).all(axis=0)
        no_margin = ~lines.block_margin[grid.bid[cells[rows]], j]
        ok[kept] = False
        ok[rows[alone & no_margin]] = True
    # a box moves its corners by +1 and -1; it protects them only where one of its two moves
    # keeps every corner in the range its label gives it (an axis whose pair holds the margin
    # moves both alike: no change of sign along it)
    rows = np.flatnonzero(ok)
    if len(rows):
        flip = ~keep[rows] & (choice[rows] != 0)
        for j in range(w):
            flip[:, j] &= grid.axis[j][cells[rows]] != 0
        ok[rows] = movable(lines, found[:, rows], flip)
    return found.T, ok
