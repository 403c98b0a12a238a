"""Boxes ruled out before they are built (indicators/boxmoves.py, ``beside`` and ``stuck``).

The box search skips, for its slower searches, the small counts that ``stuck`` says no box of
their partners can move, and, for the others, the boxes whose corners next to the cell allow no
common move (``beside``). That must only save time: each such count finds no box on its own
there, and the search withholds exactly what it withholds without these shortcuts."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.indicators import boxmoves, hypercube
from corridor.indicators.suppressiongrid import Grid, Lines

T = 10

# counts near the labels' edges and zeros: what leaves a small count without a box that moves
_count = st.sampled_from([0, 0, 0, 1, 1, 2, 5, 8, 9, 10, 11, 30])


@st.composite
def _cube(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A block of 2 or 3 axes (2-4 values each), with every margin or none: values,
    coordinates (0: the margin)."""
    sizes = draw(st.lists(st.integers(2, 4), min_size=2, max_size=3))
    totals = draw(st.booleans())
    finest = {
        key: float(draw(_count)) for key in itertools.product(*(range(1, n + 1) for n in sizes))
    }
    cells: dict[tuple[int, ...], float] = {}
    for key, value in finest.items():  # every margin: each subset of axes summed
        for mask in itertools.product((False, True) if totals else (False,), repeat=len(sizes)):
            at = tuple(0 if m else k for k, m in zip(key, mask, strict=True))
            cells[at] = cells.get(at, 0.0) + value
    coords = np.array(list(cells), np.int64)
    return np.array(list(cells.values())), coords


def _lines(values: np.ndarray, coords: np.ndarray) -> tuple[Grid, Lines]:
    own = np.full(len(values), coords.shape[1])
    grid = Grid(np.zeros(len(values), np.int64), coords, own)
    return grid, Lines(grid, own, values, steps=hypercube.moves(values, T))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cube())
def test_a_stuck_small_count_finds_no_box_on_its_own(case: tuple[np.ndarray, np.ndarray]) -> None:
    """Neither a box grown axis by axis (both orders) nor any other combination of its
    partners moves, for a small count ``stuck`` names (searched without ruling out boxes
    early: every neighbour taken to allow both moves)."""
    values, coords = case
    grid, lines = _lines(values, coords)
    hidden = (values > 0) & (values < T)
    todo = np.flatnonzero(hidden)
    cost = hypercube._costs(values, hidden)
    options = lines.options(todo, cost)
    stuck = boxmoves.stuck(lines, todo, options, boxmoves.beside(grid, lines, todo, options))
    for i in np.flatnonzero(stuck):
        one, opts = todo[i : i + 1], options[i : i + 1]
        anything = np.full(opts.shape, 3, np.uint8)
        for axes in (None, list(range(grid.width))[::-1]):
            boxed = np.zeros(len(values), bool)
            assert not hypercube._grow(grid, lines, one, opts, cost, boxed, axes, anything).any()
            assert not boxed.any()
        boxed = np.zeros(len(values), bool)
        assert len(hypercube._search(grid, lines, one, opts, boxed, anything)) == 1
        assert not boxed.any()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cube())
def test_skipping_stuck_counts_withholds_the_same(case: tuple[np.ndarray, np.ndarray]) -> None:
    """The whole box search withholds the same cells and leaves the same small counts without
    a box with the shortcuts as without them (no count stuck, every neighbour taken to allow
    both moves)."""
    values, coords = case
    hidden = (values > 0) & (values < T)
    todo = np.flatnonzero(hidden)
    with_it = hidden.copy()
    left = hypercube.protect_boxes(
        values,
        np.zeros(len(values), np.int64),
        coords,
        np.full(len(values), coords.shape[1]),
        with_it,
        todo,
        T,
    )
    without = hidden.copy()
    never = mock.patch.object(
        hypercube, "stuck", lambda _l, cells, _o, _n: np.zeros(len(cells), bool)
    )
    anything = mock.patch.object(
        hypercube, "beside", lambda _g, _l, cells, o: np.full(o.shape, 3, np.uint8)
    )
    with never, anything:
        left_without = hypercube.protect_boxes(
            values,
            np.zeros(len(values), np.int64),
            coords,
            np.full(len(values), coords.shape[1]),
            without,
            todo,
            T,
        )
    assert (with_it == without).all()
    assert sorted(left.tolist()) == sorted(left_without.tolist())


def test_a_one_beside_zeros_is_stuck_without_margins() -> None:
    """A 2 x 2 block whose small count 1 has zeros beside it on both axes: without margins
    every box holds a zero, which cannot move, so the count is stuck; with the margins the
    box of the margins moves it up (each margin pairs with it alike), so it is not."""
    for totals, expected in ((False, True), (True, False)):
        values, coords = _block([[1, 0], [0, 30]], totals)
        grid, lines = _lines(values, coords)
        cell = np.array([_at(coords, (1, 1))])
        options = lines.options(cell, hypercube._costs(values, values < 0))
        near = boxmoves.beside(grid, lines, cell, options)
        assert boxmoves.stuck(lines, cell, options, near).tolist() == [expected]


def _block(rows: list[list[int]], totals: bool) -> tuple[np.ndarray, np.ndarray]:
    cells: dict[tuple[int, int], float] = {}
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row, 1):
            for at in ((r, c), (0, c), (r, 0), (0, 0)) if totals else ((r, c),):
                cells[at] = cells.get(at, 0.0) + v
    return np.array(list(cells.values())), np.array(list(cells), np.int64)


def _at(coords: np.ndarray, key: tuple[int, int]) -> int:
    return int(np.flatnonzero((coords == np.array(key)).all(axis=1))[0])
