"""Whether a box of withheld cells can move within the ranges their labels give them
(:mod:`corridor.indicators.hypercube`): the box's pattern adds +1 and -1 to its corners, and
protects them only where one of its two moves keeps every corner in its range."""

from __future__ import annotations

import numpy as np

from corridor.indicators.suppressiongrid import MOVES, PARTNERS, Grid, Lines


def moves(values: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, whether it can move up by 1 and down by 1 and stay in the range its label
    gives it once withheld: a small count (``<threshold``) lies in 1..threshold-1, any other
    withheld count (``suppressed``) is 0 or at least ``threshold``. So a small count moves up
    below ``threshold - 1`` and down above 1; another moves up from ``threshold`` on and down
    above ``threshold``; a zero does not move at all (its neighbours 1 and -1 are out of its
    range). The same rule holds for counts that are not whole (a step of exactly 1 keeps each
    count's fraction, and the ranges are taken as real intervals: stricter than steps of any
    size an attacker could not rule out)."""
    small = (values > 0) & (values < threshold)
    up = np.where(small, values + 1 < threshold, values >= threshold)
    down = np.where(small, values - 1 > 0, values - 1 >= threshold)
    return up, down


def parity(size: int) -> np.ndarray:
    """Per corner number below ``size``: whether it has an odd number of bits."""
    k = np.arange(size)
    odd = np.zeros(size, bool)
    while k.any():
        odd ^= (k & 1).astype(bool)
        k = k >> 1
    return odd


def movable(lines: Lines, found: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Per box (``found``: its corners, corner by corner, one column per box; ``flip``: per
    box and axis, whether the sign changes along it): whether all its corners can move by the
    pattern one way or the other (+1 on corners of even sign and -1 on the others, or the
    reverse) and stay in their labels' ranges (``lines.up`` / ``lines.down``). Then each
    corner has two values consistent with every equation and every label."""
    size, w = found.shape[0], flip.shape[1]
    mask = flip.astype(np.int64) @ (np.int64(1) << np.arange(w, dtype=np.int64))
    odd = parity(size)[np.arange(size, dtype=np.int64)[:, None] & mask[None, :]]
    return np.asarray(step_moves(lines.step_bits[found], odd) != 0)


def step_moves(bits: np.ndarray, odd: np.ndarray) -> np.ndarray:
    """Per box (``bits``: its corners' ``Lines.step_bits``, corner by corner, one column per
    box; ``odd``: whether each corner's sign is odd): 1 where every corner allows the move +1,
    2 where every corner allows -1 (both: 3; neither: 0; see ``MOVES``)."""
    key = bits | (odd.view(np.uint8) << 2)
    return np.asarray(np.bitwise_and.reduce(MOVES[key], axis=0))


def beside(grid: Grid, lines: Lines, cells: np.ndarray, options: np.ndarray) -> np.ndarray:
    """Per cell, axis and slot of its ``options`` (see :meth:`Lines.options`): the moves of a
    box that the cell's neighbour there allows (the corner of every box taking that partner
    next to the cell), as :func:`step_moves` gives them (1: +1, 2: -1; the neighbour's sign is
    odd unless the pair holds the margin); 0 where there is no partner."""
    w = grid.width
    out = np.zeros((len(cells), w, PARTNERS + 1), np.uint8)
    code = grid.code[cells]
    on = lines.own[cells]
    for j in range(w):
        mine = grid.axis[j][cells]
        mult = grid.mult(cells, j)
        for s in range(PARTNERS + 1):
            v = options[:, j, s]
            has = np.flatnonzero((v >= 0) & (on > j))
            near = grid.find(code[has] + (v[has] - mine[has]) * mult[has])
            there = near >= 0
            has, near = has[there], near[there]
            flip = (v[has] != 0) & (mine[has] != 0)
            out[has, j, s] = MOVES[lines.step_bits[near] | (flip.view(np.uint8) << 2)]
    return out


def stuck(lines: Lines, cells: np.ndarray, options: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Per cell (with its ``options`` and what its neighbours there allow, ``near``, see
    :func:`beside`): whether no box built from those partners can move, judged on the corners
    next to the cell only. Every such box takes, on each axis with options, one of them: the
    corner there must allow the same move as the cell. Where, for both moves, some axis has no
    option whose neighbour allows it, no box of these partners can move (an axis without
    options is never held against a cell: a box may keep it as it is). A necessary condition
    only: a cell not stuck may still find no box."""
    free = (options < 0).all(axis=2)
    allows = np.bitwise_or.reduce(near, axis=2)
    allows[free] = 3
    return np.asarray(lines.step_bits[cells] & np.bitwise_and.reduce(allows, axis=1) == 0)
