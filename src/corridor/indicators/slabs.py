"""The margins of a block of cells as equations over its finest cells (for the exact check of
:mod:`corridor.indicators.disclosure`), built with numpy: one pass per set of dimensions added
up, over integer coordinates (no Python loop per cell or per margin)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np

from corridor.indicators.codes import CODE_LIMIT, combine, dense, first_order
from corridor.indicators.suppresscells import Cells


def slab_arrays(
    cells: Cells, threshold: int, block: int, orders: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The margins of block number ``block`` as arrays: (member cells, the equation of each
    member, margin cell of each equation or -1, margin known?).

    Every margin in the output, of any order, is an equation over the finest cells; so is each
    margin along one dimension that is not in the output, taken as published (by the same query
    without that dimension) unless small. Equations come by the number of dimensions added
    up, then those dimensions, then the first finest cell of each; members in the block's order.
    With ``orders``, only the margins along at most that many dimensions (the first equations).
    """
    cids, codes = cells.block(block)  # codes: 0 the margin
    values = cells.values

    def values_of(finest_cid: np.ndarray) -> np.ndarray:
        # (the block's values only: the whole table's list as an array cost 2 ms per block)
        return np.fromiter((values[c] for c in finest_cid.tolist()), float, len(finest_cid))

    return margin_equations(cids, codes, values_of, threshold, orders)


def margin_equations(
    cids: np.ndarray,
    codes: np.ndarray,
    values_of: Callable[[np.ndarray], np.ndarray],
    threshold: int,
    orders: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`slab_arrays` of one block given as its cells ``cids``, their integer coordinates
    ``codes`` on the block's axes (0: the margin; equal codes for equal values) and
    ``values_of`` (the values of some of the cells)."""
    n_axes = codes.shape[1]
    empty = np.zeros(0, np.int64)
    if len(cids) == 0 or n_axes == 0:
        return empty, empty, empty, np.zeros(0, bool)
    codes = np.stack([dense(np.append(0, codes[:, j]))[1:] for j in range(n_axes)], axis=1)
    is_finest = (codes != 0).all(axis=1)
    finest = codes[is_finest]
    finest_cid = cids[is_finest]
    finest_values = values_of(finest_cid)
    project = _Projections(codes, finest, cids)
    members: list[np.ndarray] = []
    eqs: list[np.ndarray] = []
    margins: list[np.ndarray] = []
    known: list[np.ndarray] = []
    n_eq = 0
    for k in range(1, min(n_axes, orders or n_axes) + 1):
        for subset in combinations(range(n_axes), k):
            # the groups of finest cells with the same coordinates off ``subset`` (numbered by
            # their first cell) and the cell of the block at those coordinates (-1: none)
            gid, margin = project(list(subset))
            size = np.bincount(gid, minlength=len(margin))
            if k == 1:
                total = np.bincount(gid, finest_values, minlength=len(margin))
                use = (margin >= 0) | (size > 1)
                ok = (margin >= 0) | ~((total > 0) & (total < threshold))
            else:
                use = margin >= 0
                ok = np.ones(len(margin), bool)
            order = np.argsort(gid, kind="stable")
            g = gid[order]
            take = use[g]
            # equation numbers: group ids -> running numbers of the kept groups
            renumber = np.cumsum(use) - 1 + n_eq
            eqs.append(renumber[g[take]])
            members.append(finest_cid[order][take])
            margins.append(margin[use])
            known.append(ok[use])
            n_eq += int(use.sum())
    return (
        np.concatenate(members),
        np.concatenate(eqs),
        np.concatenate(margins),
        np.concatenate(known),
    )


class _Projections:
    """The finest cells of a block grouped by their coordinates off some dimensions."""

    def __init__(self, codes: np.ndarray, finest: np.ndarray, cids: np.ndarray) -> None:
        self.codes, self.finest, self.cids = codes, finest, cids
        n_axes = codes.shape[1]
        cards = codes.max(axis=0) + 1
        weight = np.ones(n_axes, np.int64)
        top = 1
        for j in range(n_axes - 1, -1, -1):
            weight[j] = top
            top *= int(cards[j])
        # one integer per coordinates (mixed radix), looked up in tables where the range is
        # not much wider than the block; else codes combined per projection and searched
        self.table = top < CODE_LIMIT and top <= 16 * len(codes) + (1 << 16)
        if self.table:
            self.weight = weight
            self.cell_at = np.full(top, -1, np.int64)
            self.cell_at[codes @ weight] = cids  # coordinates are unique within a block
            # per axis, what zeroing it takes off a finest cell's code
            self.digit = [finest[:, j] * weight[j] for j in range(n_axes)]
            self.finest_code = sum(self.digit, np.zeros(len(finest), np.int64))
            self.at = np.empty(top, np.int64)
            self.positions = np.arange(len(finest), dtype=np.int64)

    def __call__(self, dims: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(group of each finest cell, numbered by first cell; the cell of each group or -1)"""
        if self.table:
            proj = self.finest_code - sum(self.digit[j] for j in dims)
            at, positions = self.at, self.positions
            at[proj] = len(positions)
            np.minimum.at(at, proj, positions)
            first_at = at[proj]
            is_first = first_at == positions
            rank = np.cumsum(is_first) - 1
            return rank[first_at], self.cell_at[proj[is_first]]
        finest = self.finest.copy()
        finest[:, dims] = 0
        both = np.concatenate([finest, self.codes])
        code = combine([both[:, j] for j in range(both.shape[1])], len(both))
        nf = len(finest)
        gid, first = first_order(code[:nf])
        cell_code = code[nf:]
        sort = np.argsort(cell_code)
        wanted = code[:nf][first]
        at = np.minimum(np.searchsorted(cell_code[sort], wanted), len(sort) - 1)
        found = cell_code[sort][at] == wanted
        return gid, np.where(found, self.cids[sort[at]], -1)
