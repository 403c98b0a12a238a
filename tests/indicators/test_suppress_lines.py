"""The lines and partners behind the boxes (indicators/suppressiongrid.py, used by
indicators/hypercube.py): the same partners whichever cells are asked about, one order of
(cost, cell) for whole and fractional counts, and the grid's table left as it was found; blocks
withheld whole without a search; and suppression of fractional counts."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicator_disclosure import T, _check_withheld, grid, outputs, table_of

from corridor.indicators import complements, disclosure, suppress
from corridor.indicators.hypercube import _costs, protect_boxes
from corridor.indicators.suppressiongrid import PARTNERS, ZERO, Grid, Lines, order_keys


def _three_way(values: list[int], present: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """A sparse 3 x 3 x 3 table with its margins of every order: (coords, values)."""
    finest = {
        c: float(v)
        for c, v, p in zip(itertools.product(range(1, 4), repeat=3), values, present, strict=True)
        if p
    }
    cells: dict[tuple[int, ...], float] = {}
    for c, v in finest.items():
        for mask in itertools.product((False, True), repeat=3):
            key = tuple(0 if m else x for x, m in zip(c, mask, strict=True))
            cells[key] = cells.get(key, 0.0) + v
    keys = list(cells)
    return np.array(keys, np.int64).reshape(-1, 3), np.array([cells[k] for k in keys])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 25), min_size=27, max_size=27),
    st.lists(st.booleans(), min_size=27, max_size=27),
    st.data(),
)
def test_partners_do_not_depend_on_the_cells_asked_about(
    values: list[int], present: list[bool], data: Any
) -> None:
    """A cell's partners (and its margin) are the same when every cell is asked about (every
    line numbered), when a few are (their lines found through marks in the grid's table) and
    when only the first partner is asked for, their lines marked in the table or spelled out; the
    grid's table is as it was after."""
    coords, flat = _three_way(values, present)
    n = len(flat)
    if n == 0:
        return
    bid, own = np.zeros(n, np.int64), np.full(n, 3)
    hidden = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    cost = _costs(flat, hidden)
    everything = Lines(Grid(bid, coords, own), own, flat).options(np.arange(n), cost)
    lines = Lines(Grid(bid, coords, own), own, flat)
    few = np.array(sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=max(1, n // 5)))))
    if len(few):
        # their lines marked in the table, or spelled out value by value
        for spell in (0, 1 << 30):
            with mock.patch("corridor.indicators.suppressiongrid._SPELL", spell):
                fresh = Lines(Grid(bid, coords, own), own, flat)
                assert (fresh.options(few, cost) == everything[few]).all()
                first = fresh.options(few, cost, partners=1)
                assert (first[:, :, 0] == everything[few, :, 0]).all()
                assert (first[:, :, PARTNERS] == everything[few, :, PARTNERS]).all()
                assert (fresh.grid.find(fresh.grid.code) == np.arange(n)).all()
    assert (lines.options(np.arange(n), cost, partners=1)[:, :, 0] == everything[:, :, 0]).all()
    assert (lines.grid.find(lines.grid.code) == np.arange(n)).all()  # the table restored


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 40).map(float), st.just(ZERO), st.just(np.inf)),
        min_size=1,
        max_size=40,
    ),
    st.data(),
)
def test_one_order_of_cost_and_cell(costs: list[float], data: Any) -> None:
    """The order keys sort cells by (cost, cell), the cells set aside last (as a margin, by
    cell): the same for whole costs (their own rank) and ranked ones (fractions), and for
    fractions as for their doubles."""
    cost = np.array(costs)
    n = len(cost)
    cells = np.arange(n) * 3 + 1  # any increasing cell numbers
    last = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    whole = order_keys(cost, cells, last, whole=True)
    ranked = order_keys(cost, cells, last, whole=False)
    expected = np.lexsort((cells, np.where(last, np.inf, cost)))
    assert (np.argsort(whole, kind="stable") == expected).all()
    assert (np.argsort(ranked, kind="stable") == expected).all()
    halves = order_keys(np.where(cost < ZERO, cost / 2, cost), cells, last, whole=False)
    assert (np.argsort(halves, kind="stable") == expected).all()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_no_withheld_fractional_count_can_be_worked_out(
    case: tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]],
) -> None:
    """Counts that are not whole numbers (their costs ranked rather than taken as they are):
    the same guarantee as for whole counts."""
    by, totals, whole = case
    finest = {k: (v[0] / 2, v[1] / 4) for k, v in whole.items()}
    cells = grid(finest, by, totals)
    out = suppress(table_of(cells, by), T)
    _check_withheld(out, cells, finest, by, exactly_small=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_blocks_withheld_whole_need_no_search(
    case: tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]],
) -> None:
    """A block that will be withheld whole (more small counts than the exact check takes, one
    of which no box can hold) is not searched for boxes: the output is the same as with the
    search (here with the exact check's limit at 1, so that blocks of 5 small counts qualify)."""
    by, totals, finest = case
    table = table_of(grid(finest, by, totals), by)

    def searched(*args: Any, whole_above: int | None = None) -> np.ndarray:
        return protect_boxes(*args)

    with mock.patch.object(complements, "EXACT_CHECK_LIMIT", 1):
        quick = suppress(table, T)
        with mock.patch.object(disclosure, "protect_boxes", searched):
            slow = suppress(table, T)
    assert quick.equals(slow)


def test_a_count_alone_on_its_line_has_no_box() -> None:
    """A 3 x 3 table with its margins and one more count (row 4, column 1) reported without its
    row's margin: alone along the columns, whose other lines have margins, no box holds it.
    The search finds none; with ``whole_above`` its block is returned unsearched."""
    keys = [(r, c) for r in range(4) for c in range(4)] + [(4, 1)]
    smalls = {(1, 1): 4.0, (1, 2): 5.0, (2, 1): 6.0, (2, 2): 7.0, (4, 1): 2.0}
    values = np.array([smalls.get(k, float(20 + k[0] + k[1])) for k in keys])
    coords = np.array(keys, np.int64)
    n = len(keys)
    small = np.flatnonzero((values > 0) & (values < T))
    assert len(small) == 5
    hidden = (values > 0) & (values < T)
    left = protect_boxes(values, np.zeros(n, np.int64), coords, np.full(n, 2), hidden, small)
    assert n - 1 in left.tolist()
    hidden = (values > 0) & (values < T)
    quick = protect_boxes(
        values, np.zeros(n, np.int64), coords, np.full(n, 2), hidden, small, whole_above=4
    )
    assert sorted(quick.tolist()) == small.tolist()
    assert (hidden == ((values > 0) & (values < T))).all()  # nothing searched, nothing boxed


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 25), min_size=27, max_size=27),
    st.lists(st.booleans(), min_size=27, max_size=27),
    st.data(),
)
def test_alone_of_a_few_cells_as_of_every_cell(
    values: list[int], present: list[bool], data: Any
) -> None:
    """Whether a cell is alone on its line along an axis is the same asked about a few cells
    (their lines marked in the grid's table or spelled out) as when every line is numbered, also
    for cells of a block without that axis (alone, as for every cell); the table is restored."""
    coords, flat = _three_way(values, present)
    n = len(flat)
    if n == 0:
        return
    # a second block without the last axis: the cells of the first on its margin
    second = np.flatnonzero(coords[:, 2] == 0)
    coords = np.concatenate([coords, coords[second]])
    flat = np.concatenate([flat, flat[second]])
    bid = np.repeat(np.array([0, 1], np.int64), [n, len(second)])
    own = np.repeat(np.array([3, 2], np.int64), [n, len(second)])
    every = Lines(Grid(bid, coords, own), own, flat)
    cells = np.array(data.draw(st.lists(st.integers(0, len(flat) - 1), max_size=12)), np.int64)
    for spell in (0, 1 << 30):
        with (
            mock.patch("corridor.indicators.suppressiongrid._SPELL", spell),
            mock.patch("corridor.indicators.suppressiongrid._FEW", 0),
        ):
            lines = Lines(Grid(bid, coords, own), own, flat)
            for j in range(3):
                assert (lines.alone_of(j, cells) == every.alone(j)[cells]).all()
                assert not lines.knows_alone(j)  # not numbered for every cell
            assert (lines.grid.find(lines.grid.code) == np.arange(len(flat))).all()
