"""Secondary suppression by boxes of withheld cells (indicators/hypercube.py)."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicator_disclosure import AXES, MARGIN, T, _determined, grid, outputs, table_of

from corridor.indicators import disclosure, hypercube, suppress
from corridor.indicators.hypercube import Boxes, protect_boxes

Case = tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]]


def _shown(out: pa.Table, by: list[str], col: str) -> dict[tuple[str, ...], Any]:
    axes = [a for a in AXES if a in by]
    shown = {}
    for r in out.to_pylist():
        coords = {
            "place": r["place_code"],
            "sex": r["sex"],
            "population_group": r["population_group"],
        }
        shown[tuple("*" if coords[a] == MARGIN[a] else coords[a] for a in axes)] = r[col]
    return shown


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_with_totals_every_small_count_has_a_box(case: Case) -> None:
    """With the margins in the output (and no period axis, which has none) a box always
    exists, so the exact check is never needed;
    and no small count can be worked out even by an attacker who also knows every margin along
    one dimension that the output leaves out (published by the same query without it)."""
    by, _totals, finest = case
    cells = grid(finest, by, totals=True)
    with mock.patch.object(disclosure, "Protector", side_effect=AssertionError("exact check")):
        out = suppress(table_of(cells, by), T)
    axes = [a for a in AXES if a in by]
    for role, col in ((0, "numerator"), (1, "denominator")):
        true = {k: v[role] for k, v in finest.items()}
        assert _determined(true, _shown(out, by, col), axes, T, published=True) == []


def test_a_box_is_a_rectangle_of_withheld_cells() -> None:
    """A 3 x 3 table (no margins) with one small count: the cheapest rectangle through it."""
    values = np.array([[5.0, 40, 30], [20, 50, 60], [25, 70, 90]]).reshape(-1)
    coords = np.array([[r + 1, c + 1] for r, c in itertools.product(range(3), range(3))])
    hidden = (values > 0) & (values < T)
    left = protect_boxes(
        values, np.zeros(9, np.int64), coords, np.full(9, 2), hidden, np.flatnonzero(hidden)
    )
    assert len(left) == 0
    # the small count (0, 0), the cheapest in its row (30) and column (20), and their corner
    assert sorted(np.flatnonzero(hidden).tolist()) == [0, 2, 3, 5]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=12, max_size=12),
    st.sampled_from([(3, 4), (4, 3), (2, 6), (6, 2)]),
)
def test_every_small_count_is_a_corner_of_a_withheld_box(values: list[int], shape: Any) -> None:
    """Directly on a full two-way table with its margins: after protect_boxes, each small count
    lies on a rectangle (rows i, k x columns j, m; a margin may be one of the pair) of withheld
    cells, and zeros are withheld only where nothing else could be."""
    rows, cols = shape
    table = np.array(values, float).reshape(rows, cols)
    full = np.zeros((rows + 1, cols + 1))
    full[1:, 1:] = table
    full[0, 1:] = table.sum(axis=0)
    full[1:, 0] = table.sum(axis=1)
    full[0, 0] = table.sum()
    coords = np.array(list(itertools.product(range(rows + 1), range(cols + 1))))
    flat = full.reshape(-1)
    small = (flat > 0) & (flat < T)
    hidden = small.copy()
    n = len(flat)
    left = protect_boxes(
        flat, np.zeros(n, np.int64), coords, np.full(n, 2), hidden, np.flatnonzero(small)
    )
    assert len(left) == 0
    h = hidden.reshape(rows + 1, cols + 1)
    for i, j in zip(*np.nonzero(small.reshape(rows + 1, cols + 1)), strict=True):
        assert any(
            h[i, m] and h[k, j] and h[k, m]
            for k in range(rows + 1)
            for m in range(cols + 1)
            if k != i and m != j
        )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 25), min_size=27, max_size=27),
    st.lists(st.booleans(), min_size=27, max_size=27),
)
def test_sparse_three_way_tables_every_small_count_on_a_withheld_box(
    values: list[int], present: list[bool]
) -> None:
    """A three-way table (3 x 3 x 3) where some combinations were never reported, with its
    margins of every order: after protect_boxes, every small count (margins included) is a
    corner of a box of withheld cells (two values per axis, a margin allowed), whether the box
    was built for it or for another count."""
    finest = {
        c: float(v)
        for c, v, p in zip(itertools.product(range(1, 4), repeat=3), values, present, strict=True)
        if p
    }
    cells: dict[tuple[int, ...], float] = {}
    for c, v in finest.items():  # every margin that has a reported cell below it
        for mask in itertools.product((False, True), repeat=3):
            key = tuple(0 if m else x for x, m in zip(c, mask, strict=True))
            cells[key] = cells.get(key, 0.0) + v
    keys = list(cells)
    coords = np.array(keys, np.int64).reshape(-1, 3)
    flat = np.array([cells[k] for k in keys])
    small = (flat > 0) & (flat < T)
    hidden = small.copy()
    n = len(flat)
    left = protect_boxes(
        flat, np.zeros(n, np.int64), coords, np.full(n, 3), hidden, np.flatnonzero(small)
    )
    assert len(left) == 0
    withheld = {k for k, h in zip(keys, hidden, strict=True) if h}
    for p in (k for k, s in zip(keys, small, strict=True) if s):
        partners = [[v for v in range(4) if v != p[j]] for j in range(3)]
        assert any(
            all(
                tuple(q[j] if bit >> j & 1 else p[j] for j in range(3)) in withheld
                for bit in range(8)
            )
            for q in itertools.product(*partners)
        ), p


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([1, 2, 4, 8, 16, 32]),
    st.lists(
        st.one_of(
            st.integers(0, 60).map(float),
            st.sampled_from([0.0, 1e18, np.inf]),
            st.floats(0, 1e9, allow_nan=False),
        ),
        min_size=32 * 5,
        max_size=32 * 5,
    ),
)
def test_corner_sums_add_as_numpy_adds_a_row(size: int, costs: list[float]) -> None:
    """The price of a box (its corners' costs summed column by column) is the same float as
    numpy's sum of the row of those costs, huge costs (a zero's 1e18) and missing corners
    (infinite) included: boxes compare exactly as when each row was summed on its own."""
    price = np.array(costs[: size * 5]).reshape(size, 5)
    expect = np.ascontiguousarray(price.T).sum(axis=1)
    got = hypercube._corner_sum(price)
    assert got.tolist() == expect.tolist()


def test_boxes_asked_again_are_those_of_a_fresh_search() -> None:
    """:class:`Boxes` (the grid and lines built once, asked twice) withholds and leaves what
    two fresh :func:`protect_boxes` calls do."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        n_a, n_b = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        a, b = np.meshgrid(np.arange(n_a + 1), np.arange(n_b + 1), indexing="ij")
        coords = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
        values = rng.integers(0, 30, len(coords)).astype(float)
        n = len(values)
        bid, own = np.zeros(n, np.int64), np.full(n, 2, np.int64)
        small = np.flatnonzero((values > 0) & (values < 10))
        first, second = small[: len(small) // 2], small[len(small) // 2 :]
        fresh = (values > 0) & (values < 10)
        again = fresh.copy()
        left_fresh = [
            protect_boxes(values, bid, coords, own, fresh, part) for part in (first, second)
        ]
        search = Boxes(values, bid, coords, own)
        left_again = [search(again, part) for part in (first, second)]
        assert (fresh == again).all()
        for x, y in zip(left_fresh, left_again, strict=True):
            assert np.array_equal(x, y)
