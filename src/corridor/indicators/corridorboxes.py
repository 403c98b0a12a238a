"""Boxes for the cells of blocks linked by a place on two corridors.

In a table by place and corridor, a place on corridors A and B is one count shown in A's block
and in B's; the blocks are linked, and the plain boxes of :mod:`corridor.indicators.hypercube`
(which take each cell in one block) do not hold there: a pattern that moves such a place within
A moves B's total too. Here each cell is placed once, in a *pseudo-block* of the cells that lie
in the same blocks (a place on A alone with A's total over its places, A's margin; the places on
A and B together; ...), and a box is sound across every block:

* along the place axis, a pair of places in one pseudo-block lies on the same corridors, so
  every corridor's total (in the output or outside it) gets both or neither of them;
* a place on A alone may pair with A's total (its margin), which lies in A's block only;
* a place on A and B may pair with its *margin* there, the totals of A and of B together (one
  virtual cell: withheld, it withholds both). The pattern moves the place and both totals alike.

Along the other axes a pseudo-block's lines are those of its blocks (the cells of a place lie in
the same blocks). So every equation of every linked block holds for the counts moved along a
box: no corner can be worked out, whatever else is withheld.

The place axis always has a margin here (each corridor's total, in the output or assumed
published), so no box keeps it as it is. A *family* (blocks linked through shared cells) where
any small count finds no box goes to the exact check whole, with its boxes taken back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from corridor.indicators.codes import combine, dense
from corridor.indicators.hypercube import Boxes, moves
from corridor.indicators.linkedsystems import components


def families(bid: np.ndarray, cid: np.ndarray, blocks: int) -> np.ndarray:
    """Per block, the smallest block number linked to it through cells placed in both
    (placements ``bid`` / ``cid``): the components of blocks joined by their cells."""
    return components(cid, bid, blocks)


@dataclass
class _Margins:
    """The margins of the pseudo-blocks of shared cells, one per (pseudo-block, coordinates off
    the place axis): per margin a cell of it (``cell``, among the cells in order) and its
    coordinates (``coords``); per (margin, block of the pseudo-block): the margin (``row``) and
    that block's total there (``total``: a cell, -1 where the output has none)."""

    cell: np.ndarray
    coords: np.ndarray
    row: np.ndarray
    total: np.ndarray

    def whole(self) -> np.ndarray:
        """Per margin: whether the output has every total of it."""
        out = np.ones(len(self.cell), bool)
        np.logical_and.at(out, self.row, self.total >= 0)
        return out

    def every(self, flags: np.ndarray) -> np.ndarray:
        """Per margin: whether ``flags`` (per cell) holds for each of its totals."""
        out = np.ones(len(self.cell), bool)
        np.logical_and.at(out, self.row, np.where(self.total >= 0, flags[self.total], False))
        return out


def boxes_across(
    values: np.ndarray,
    bid: np.ndarray,
    pcid: np.ndarray,
    coords: np.ndarray,
    own: np.ndarray,
    place: int,
    primary: np.ndarray,
    hidden: np.ndarray,
    linked: np.ndarray,
    threshold: int = 10,
) -> np.ndarray:
    """Withhold (in ``hidden``, per cell) a box around every small count of the ``linked``
    blocks (per block) where each small count of their family has one; returns, per block,
    whether it is left to the exact check (its family, with its boxes taken back).

    ``values``, ``primary`` (the small counts) per cell; ``bid``, ``pcid``, ``coords``, ``own``
    per placement of a cell in a block (as in :class:`corridor.indicators.suppresscells.Layout`);
    ``place``: the place axis; ``threshold``: that of the labels (only boxes that can move
    within their ranges are taken, see :func:`corridor.indicators.boxmoves.moves`)."""
    blocks = len(linked)
    sel = np.flatnonzero(linked[bid])
    pb, pc = bid[sel], pcid[sel]
    family = families(pb, pc, blocks)
    found = _pseudo_blocks(pb, pc, coords[sel, place])
    if found is None:  # (a place's counts in a block lie in different blocks: not a layout)
        return linked
    cells, pseudo, lists, first = found
    ccoords, cown = coords[sel[first]], own[sel[first]]
    m = _margins_of(pb, pc, coords[sel], cells, pseudo, lists, ccoords, place)
    keep = np.flatnonzero(m.whole())
    # the entries: each cell once, then the margins of shared pseudo-blocks (as many cells)
    totals = np.where(m.total >= 0, values[np.maximum(m.total, 0)], 0.0)
    summed = np.where(m.every(values > 0), np.bincount(m.row, totals, len(m.cell)), 0.0)
    e_values = np.concatenate([values[cells], summed[keep]])
    e_bid = np.concatenate([pseudo, pseudo[m.cell[keep]]])
    e_coords = np.concatenate([ccoords, m.coords[keep]])
    e_own = np.concatenate([cown, cown[m.cell[keep]]])
    e_hidden = np.concatenate([hidden[cells], m.every(hidden)[keep]])
    margins = np.zeros((int(pseudo.max()) + 1, coords.shape[1]), bool)
    margins[:, place] = True
    # (a margin of shared places stands for several totals: never taken as alone on a line,
    # as if that line's total said nothing of it)
    loud = np.zeros(len(e_values), bool)
    loud[len(cells) :] = True

    # the moves of each entry within its label's range; a margin of shared places moves its
    # totals alike: it can move where each of them can
    up, down = moves(values, threshold)
    e_up = np.concatenate([up[cells], m.every(up)[keep]])
    e_down = np.concatenate([down[cells], m.every(down)[keep]])
    search = Boxes(e_values, e_bid, e_coords, e_own, margins, loud, (e_up, e_down))

    def boxes(asked: np.ndarray) -> np.ndarray:
        return search(e_hidden, asked)

    left = boxes(np.flatnonzero(primary[cells]))
    if len(left):
        left = _through_margins(left, cells, m, keep, boxes)
    back = hidden.copy()
    hidden[cells] = e_hidden[: len(cells)]
    withheld = keep[np.flatnonzero(e_hidden[len(cells) :])]
    hidden[m.total[np.isin(m.row, withheld)]] = True
    # a family with a small count left without a box: to the exact check, boxes taken back
    hard = np.zeros(blocks, bool)
    if len(left):
        out = np.zeros(blocks, bool)
        out[family[pb[np.isin(pc, cells[left])]]] = True
        hard = linked & out[family]
        undo = np.unique(pcid[np.flatnonzero(hard[bid])])
        hidden[undo] = back[undo]
    return hard


def _pseudo_blocks(
    pb: np.ndarray, pc: np.ndarray, at_place: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per placement ``pb`` (block), ``pc`` (cell), ``at_place`` (place coordinate): the cells
    (each once, in order), the pseudo-block of each (the blocks it lies in, numbered), those
    blocks (one row per cell, -1 after the last) and the placement of each in its first block.
    None where the counts of one place in one block do not all lie in the same blocks."""
    order = np.lexsort((pb, pc))
    pb_s, pc_s = pb[order], pc[order]
    # the cells in order, each once (pc_s is sorted: where it changes, no sort again)
    new = np.empty(len(pc_s), bool)
    new[:1] = True
    np.not_equal(pc_s[1:], pc_s[:-1], out=new[1:])
    start = np.flatnonzero(new)
    cells = pc_s[start]
    count = np.diff(np.append(start, len(pc_s)))
    of_sorted = np.cumsum(new) - 1  # per sorted placement, its cell's position in ``cells``
    width = int(count.max())
    lists = np.full((len(cells), width), -1, np.int64)
    lists[of_sorted, np.arange(len(pc_s)) - start[of_sorted]] = pb_s
    pseudo = dense(combine([lists[:, k] + 1 for k in range(width)], len(cells)))
    spot = dense(combine([pb, at_place], len(pb)))
    mine = np.empty(len(pc), np.int64)
    mine[order] = pseudo[of_sorted]
    lo = np.full(int(spot.max()) + 1, len(cells), np.int64)
    hi = np.full(int(spot.max()) + 1, -1, np.int64)
    np.minimum.at(lo, spot, mine)
    np.maximum.at(hi, spot, mine)
    if (lo[spot] != hi[spot]).any():
        return None
    return cells, pseudo, lists, order[start]


def _margins_of(
    pb: np.ndarray,
    pc: np.ndarray,
    pcoords: np.ndarray,
    cells: np.ndarray,
    pseudo: np.ndarray,
    lists: np.ndarray,
    ccoords: np.ndarray,
    place: int,
) -> _Margins:
    """The margins of the pseudo-blocks of cells in two blocks or more (placements ``pb``,
    ``pc``, ``pcoords``; cells as :func:`_pseudo_blocks` gives them, with their coordinates):
    each block's total is looked up among the placements (its block, the coordinates with the
    place axis at its margin)."""
    # (each row of ``lists`` is filled from the left: in two blocks or more, a second one)
    shared = np.flatnonzero(lists[:, 1] >= 0) if lists.shape[1] > 1 else np.zeros(0, np.int64)
    x = ccoords[shared].copy()
    x[:, place] = 0
    key = combine([pseudo[shared]] + [x[:, k] for k in range(x.shape[1])], len(shared))
    _u, rep = np.unique(key, return_index=True)
    cell, mcoords = shared[rep], x[rep]
    of = lists[cell]
    row = np.repeat(np.arange(len(cell)), (of >= 0).sum(axis=1))
    block = of[of >= 0]  # (row by row, its blocks in order)
    n, q = len(pb), len(row)
    both = combine(
        [np.concatenate([pb, block])]
        + [np.concatenate([pcoords[:, k], mcoords[row, k]]) for k in range(pcoords.shape[1])],
        n + q,
    )
    by = np.argsort(both[:n], kind="stable")
    known = both[:n][by]
    i = np.minimum(np.searchsorted(known, both[n:]), max(n - 1, 0))
    hit = known[i] == both[n:] if n else np.zeros(q, bool)
    return _Margins(cell, mcoords, row, np.where(hit, pc[by][i], -1))


def _through_margins(
    left: np.ndarray,
    cells: np.ndarray,
    m: _Margins,
    keep: np.ndarray,
    boxes: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The small counts ``left`` without a box (positions in ``cells``) that are a corridor's
    total there whose count lies at places on other corridors too: the box of a margin of
    such places (entry ``len(cells) + k`` for margin ``keep[k]``) moves the total with them.
    Tries each such margin in turn; returns the counts still without a box."""
    entry = np.full(len(m.cell), -1, np.int64)
    entry[keep] = len(cells) + np.arange(len(keep))
    ok = m.total >= 0
    c_cell = np.searchsorted(cells, m.total[ok])
    c_entry = entry[m.row[ok]]
    asked = np.zeros(len(cells), bool)
    asked[left] = True
    ok = (c_entry >= 0) & asked[c_cell]
    c_cell, c_entry = c_cell[ok], c_entry[ok]
    by = np.lexsort((c_entry, c_cell))
    c_cell, c_entry = c_cell[by], c_entry[by]
    nth = np.arange(len(c_cell)) - np.searchsorted(c_cell, c_cell, side="left")
    done = np.zeros(len(cells), bool)
    for k in range(int(nth.max(initial=-1)) + 1):
        pick = np.flatnonzero((nth == k) & ~done[c_cell])
        if len(pick) == 0:
            break
        failed = np.zeros(len(cells) + len(keep), bool)
        failed[boxes(np.unique(c_entry[pick]))] = True
        done[c_cell[pick[~failed[c_entry[pick]]]]] = True
    return left[~done[left]]
