"""The exact check's linear algebra (indicators/determined.py): peeling, splitting and
remembering give, for every asked unknown, what a rank test on the whole system gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.indicators.determined import Solver, peel


@st.composite
def systems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A small sparse matrix of -1/0/+1 (as margins give) and which unknowns are asked."""
    n_rows = draw(st.integers(1, 9))
    n_cols = draw(st.integers(1, 9))
    cells = draw(
        st.lists(
            st.sampled_from([0, 0, 0, 1, 1, -1]), min_size=n_rows * n_cols, max_size=n_rows * n_cols
        )
    )
    a = np.array(cells, float).reshape(n_rows, n_cols)
    asked = np.array(draw(st.lists(st.booleans(), min_size=n_cols, max_size=n_cols)))
    return a, asked


@st.composite
def hubs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Unknowns each tied by one equation to one of a few others (small counts and a margin
    they share), the few linked by equations of their own, and pairs alone together: what
    handing on reduces, with random rows added that may also hold the tied unknowns."""
    n_hubs = draw(st.integers(1, 4))
    n_leaves = draw(st.integers(0, 8))
    n_pairs = draw(st.integers(0, 2))
    n_cols = n_hubs + n_leaves + 2 * n_pairs
    rows: list[np.ndarray] = []
    for leaf in range(n_leaves):
        r = np.zeros(n_cols)
        r[n_hubs + leaf] = draw(st.sampled_from([1.0, -1.0]))
        r[draw(st.integers(0, n_hubs - 1))] = draw(st.sampled_from([1.0, -1.0]))
        rows.append(r)
    for k in range(n_pairs):
        r = np.zeros(n_cols)
        r[n_hubs + n_leaves + 2 * k : n_hubs + n_leaves + 2 * k + 2] = 1.0
        rows.append(r)
    for _ in range(draw(st.integers(0, 4))):
        r = np.zeros(n_cols)
        width = n_cols if draw(st.booleans()) else n_hubs
        for j in range(width):
            r[j] = draw(st.sampled_from([0.0, 0.0, 1.0, -1.0]))
        rows.append(r)
    a = np.array(rows) if rows else np.zeros((1, n_cols))
    asked = np.array(draw(st.lists(st.booleans(), min_size=n_cols, max_size=n_cols)))
    return a, asked


def _fixed_by_rank(a: np.ndarray) -> np.ndarray:
    """Per unknown: whether e_i is in the row space of ``a`` (the rank does not grow)."""
    rank = np.linalg.matrix_rank(a)
    eye = np.eye(a.shape[1])
    return np.array(
        [np.linalg.matrix_rank(np.vstack([a, eye[i]])) == rank for i in range(len(eye))]
    )


def _entries(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    row, col = np.nonzero(a)
    return row.astype(np.int64), col.astype(np.int64), a[row, col]


@settings(max_examples=400, deadline=None)
@given(systems())
def test_determined_is_the_rank_test(case: tuple[np.ndarray, np.ndarray]) -> None:
    a, asked = case
    got = Solver().determined(*_entries(a), a.shape[1], asked)
    assert (got == (asked & _fixed_by_rank(a))).all()


@settings(max_examples=400, deadline=None)
@given(hubs())
def test_handing_on_gives_the_rank_test(case: tuple[np.ndarray, np.ndarray]) -> None:
    a, asked = case
    got = Solver().determined(*_entries(a), a.shape[1], asked)
    assert (got == (asked & _fixed_by_rank(a))).all()


def test_a_count_tied_to_a_fixed_margin_is_fixed_and_to_a_free_one_free() -> None:
    # x0 - m = 0, x1 - m = 0, m = known: m, then x0 and x1 fixed; without m's own equation
    # (the last row) none is
    a = np.array([[1.0, 0, -1], [0, 1, -1], [0, 0, 1]])
    assert Solver().determined(*_entries(a), 3, np.array([1, 1, 0], bool)).tolist() == [
        True,
        True,
        False,
    ]
    b = a[:2]
    assert not Solver().determined(*_entries(b), 3, np.array([1, 1, 0], bool)).any()
    # two asked unknowns alone together in one equation: both free
    c = np.array([[1.0, 1]])
    assert not Solver().determined(*_entries(c), 2, np.ones(2, bool)).any()


def test_duplicate_entries_add_up() -> None:
    # x0 + x1 - x1 = known (the entries of x1 cancel): x0 fixed
    got = Solver().determined(
        np.array([0, 0, 0]), np.array([0, 1, 1]), np.array([1.0, 1, -1]), 2, np.ones(2, bool)
    )
    assert got.tolist() == [True, False]


@settings(max_examples=200, deadline=None)
@given(systems())
def test_peeling_keeps_every_asked_unknowns_equations_that_matter(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    """The equations left after peeling fix the asked unknowns exactly as all of them do."""
    a, asked = case
    row, col, _coef = _entries(a)
    live = peel(row, col, a.shape[1], asked)
    kept = np.zeros(a.shape[0], bool)
    kept[row[live]] = True
    left = a[kept] if kept.any() else np.zeros((0, a.shape[1]))
    fixed = _fixed_by_rank(left) if len(left) else np.zeros(a.shape[1], bool)
    assert (fixed[asked] == _fixed_by_rank(a)[asked]).all()


def test_an_unknown_margin_alone_in_its_equation_is_peeled() -> None:
    # x0 + x1 - m = 0 with the margin m unknown and not asked: nothing is learnt about x0, x1
    row = np.array([0, 0, 0])
    col = np.array([0, 1, 2])
    live = peel(row, col, 3, np.array([True, True, False]))
    assert not live.any()
    assert (
        not Solver()
        .determined(row, col, np.array([1.0, 1, -1]), 3, np.array([1, 1, 0], bool))
        .any()
    )


def test_a_known_margin_of_two_with_one_shown_fixes_the_other() -> None:
    # x0 + x1 = known, x0 - x2 = known, x2 = known: x0 and then x1 are fixed
    a = np.array([[1.0, 1, 0], [1, 0, -1], [0, 0, 1]])
    got = Solver().determined(*_entries(a), 3, np.ones(3, bool))
    assert got.tolist() == [True, True, True]


def test_the_same_system_is_solved_once() -> None:
    a = np.array([[1.0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]])
    solver = Solver()
    first = solver.determined(*_entries(a), 4, np.ones(4, bool))
    again = solver.determined(*_entries(a), 4, np.ones(4, bool))
    assert first.tolist() == again.tolist() == [False] * 4  # a cycle of four: one free direction
    assert len(solver._known) == 1
