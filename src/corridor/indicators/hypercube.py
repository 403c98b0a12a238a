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

Work is done for all small counts at once with numpy: per axis one sort of the cells by (line,
cost) gives each small count the cheapest few partners along it (a withheld cell costs nothing, a
zero the most, otherwise its value); the box of the cheapest partners is taken where all its
corners exist; the others try other partners and the margins, with the costs of what the first
boxes withheld. What finds no box is left to the caller (:func:`corridor.indicators.disclosure`
checks its blocks exactly).
"""

from __future__ import annotations

from itertools import product
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: partners tried along each axis (besides the margin)
PARTNERS: Final = 3
#: the cost of withholding a zero (a zero total shows that its cells are zero): last resort
_ZERO: Final = 1e18
#: combinations of partners tried for a small count whose cheapest box has a missing corner
_TRIES: Final = 48
_LIMIT: Final = 1 << 62


class _Grid:
    """Cells of the blocks as integer codes (block and coordinates) for lookups."""

    def __init__(self, bid: np.ndarray, coords: np.ndarray, own: np.ndarray) -> None:
        self.width = coords.shape[1]
        c = coords.copy()
        c[np.arange(self.width)[None, :] >= own[:, None]] = 0
        self.coords = c
        card = [int(c[:, j].max()) + 1 if len(c) else 1 for j in range(self.width)]
        mult = [1] * self.width
        for j in range(self.width - 2, -1, -1):
            mult[j] = mult[j + 1] * card[j + 1]
        span = mult[0] * card[0] if self.width else 1
        self.span = span
        self.fits = (int(bid.max()) + 1 if len(bid) else 1) * span < _LIMIT
        self.mult = np.array(mult, np.int64)
        self.bid = bid
        if not self.fits:
            return
        self.code = bid * span + c @ self.mult
        self.order = np.argsort(self.code, kind="stable")
        self.sorted = self.code[self.order]
        self.unique = not bool((np.diff(self.sorted) == 0).any())

    def find(self, code: np.ndarray) -> np.ndarray:
        """The cell of each code, -1 where there is none."""
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
) -> np.ndarray:
    """Withhold (in ``hidden``) the corners of a box for each cell of ``todo``; returns the
    cells of ``todo`` for which no box was found.

    ``values``, ``bid`` (block), ``coords`` (per axis, 0: the margin) and ``own`` (how many of
    the axes the cell's block has; those are the first ones) per cell; every cell in one block.
    """
    grid = _Grid(bid, coords, own)
    if not grid.fits or not grid.unique or len(todo) == 0:
        return todo
    lines = _Lines(grid, own)
    todo = np.asarray(todo, np.int64)
    # first the cheapest box of every small count, all at once
    options = lines.options(todo, _costs(values, hidden))
    choice = np.where(options[:, :, 0] >= 0, options[:, :, 0], options[:, :, PARTNERS])
    corners, ok = _corners(grid, lines, todo, choice)
    hidden[corners[ok].reshape(-1)] = True
    left = todo[~ok]
    if len(left) == 0:
        return left
    # then the others, with what is withheld now, trying other partners and the margins
    options = lines.options(left, _costs(values, hidden))
    combos = _combinations(grid.width)
    for combo in combos:
        avail = np.ones(len(left), bool)
        choice = np.empty((len(left), grid.width), np.int64)
        for j, slot in enumerate(combo):
            choice[:, j] = options[:, j, slot]
            none = (options[:, j, :] < 0).all(axis=1)  # nothing along j: keep its own value
            choice[none, j] = -1
            avail &= none | (options[:, j, slot] >= 0)
        idx = np.flatnonzero(avail)
        if len(idx) == 0:
            continue
        corners, ok = _corners(grid, lines, left[idx], choice[idx])
        hidden[corners[ok].reshape(-1)] = True
        keep = np.ones(len(left), bool)
        keep[idx[ok]] = False
        left, options = left[keep], options[keep]
        if len(left) == 0:
            break
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
    margins = [tuple(PARTNERS if j in sub else 0 for j in range(width)) for sub in _subsets(width)]
    out: list[tuple[int, ...]] = []
    for c in [*tries, *margin_first, *margins]:
        if c not in out:
            out.append(c)
    return out


def _subsets(width: int) -> list[set[int]]:
    subs = [set(j for j in range(width) if m >> j & 1) for m in range(1, 1 << width)]
    return sorted(subs, key=lambda s: (len(s), sorted(s)))


class _Lines:
    """Per axis: each cell's line (the cells of its block with the same coordinates elsewhere)
    as a code, the line's size (looked up when needed), and per block whether it has any margin
    along the axis."""

    def __init__(self, grid: _Grid, own: np.ndarray) -> None:
        self.grid = grid
        self.own = own
        w = grid.width
        self.block_margin = np.zeros((int(grid.bid.max()) + 1 if len(own) else 0, w), bool)
        for j in range(w):
            margin = (own > j) & (grid.coords[:, j] == 0)
            self.block_margin[grid.bid[margin], j] = True
        self._sorted: dict[int, np.ndarray] = {}

    def code(self, cells: np.ndarray, j: int) -> np.ndarray:
        grid = self.grid
        return grid.code[cells] - grid.coords[cells, j] * grid.mult[j]

    def size(self, cells: np.ndarray, j: int) -> np.ndarray:
        """How many cells the line along ``j`` of each of ``cells`` holds."""
        if j not in self._sorted:
            on = np.flatnonzero(self.own > j)
            self._sorted[j] = np.sort(self.code(on, j))
        s = self._sorted[j]
        c = self.code(cells, j)
        return np.searchsorted(s, c, side="right") - np.searchsorted(s, c, side="left")

    def options(self, cells: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Per cell and axis, the coordinates of up to ``PARTNERS`` cheapest other cells on its
        line, then the margin (slot ``PARTNERS``); -1: none."""
        grid = self.grid
        w = grid.width
        n = len(cost)
        out = np.full((len(cells), w, PARTNERS + 1), -1, np.int64)
        rank = np.empty(n, np.int64)  # cheapest first, then by cell
        rank[np.argsort(cost, kind="stable")] = np.arange(n)
        for j in range(w):
            mine = np.flatnonzero(self.own[cells] > j)
            if len(mine) == 0:
                continue
            sel = cells[mine]
            wanted = np.unique(self.code(sel, j))
            # the cells on those lines only: each line a group, cheapest first
            on = np.flatnonzero(self.own > j)
            found = pc.index_in(pa.array(self.code(on, j)), value_set=pa.array(wanted))
            member = np.flatnonzero(found.is_valid())
            on = on[member]
            g = np.asarray(found.drop_null().to_numpy(), np.int64)
            order = np.argsort(g * n + rank[on])
            on, g = on[order], g[order]
            starts = np.searchsorted(g, np.arange(len(wanted)))
            pos = np.arange(len(g)) - starts[g]
            top = np.full((len(wanted), PARTNERS + 1), -1, np.int64)
            near = pos <= PARTNERS
            top[g[near], pos[near]] = on[near]
            rows = top[np.searchsorted(wanted, self.code(sel, j))]
            others = (rows >= 0) & (rows != sel[:, None]) & (grid.coords[rows, j] != 0)
            pick = np.argsort(~others, axis=1, kind="stable")[:, :PARTNERS]
            chosen = np.take_along_axis(rows, pick, 1)
            valid = np.take_along_axis(others, pick, 1)
            out[mine, j, :PARTNERS] = np.where(valid, grid.coords[np.maximum(chosen, 0), j], -1)
            # the margin of the line, when it is in the output and is not the cell itself
            margin = grid.find(self.code(sel, j))
            has = (margin >= 0) & (grid.coords[sel, j] != 0)
            out[mine, j, PARTNERS] = np.where(has, 0, -1)
        return out


def _corners(
    grid: _Grid, lines: _Lines, cells: np.ndarray, choice: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The corners of each cell's box (``choice``: the partner coordinate per axis, -1: keep
    the cell's own, an axis with nothing else on the line) and whether the box is sound."""
    w = grid.width
    base = grid.coords[cells]
    own = lines.own[cells]
    axis = np.arange(w)[None, :]
    keep = (choice < 0) | (axis >= own[:, None])
    partner = np.where(keep, base, choice)
    blocks = grid.bid[cells] * grid.span
    found = np.empty((len(cells), 1 << w), np.int64)
    for m in range(1 << w):
        pick = np.array([(m >> j) & 1 for j in range(w)], bool)
        at = np.where(pick[None, :], partner, base)
        found[:, m] = grid.find(blocks + at @ grid.mult)
    ok: np.ndarray = np.asarray((found >= 0).all(axis=1))
    # an axis kept as it is: every corner alone on its line along it, no margin along it
    for j in range(w):
        kept = keep[:, j] & (own > j)
        if not kept.any():
            continue
        sizes = lines.size(np.maximum(found, 0).reshape(-1), j).reshape(found.shape)
        alone = (sizes == 1).all(axis=1)
        no_margin = ~lines.block_margin[grid.bid[cells], j]
        ok &= ~kept | (alone & no_margin)
    return found, ok
