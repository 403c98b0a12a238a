"""Boxes that move within their labels' ranges (indicators/hypercube.py, ``moves``).

A count shown as ``<10`` lies in 1..9 and one shown as ``suppressed`` is 0 or at least 10. An
attacker who knows that as well as every equation of the output (and every margin along one
dimension that the output leaves out, as the exact check assumes) must not be able to work out a small count wherever the box
search gave every small count a box: each such box can move by +1 / -1 within those ranges.
The attacker is exact: a branch-and-bound search over the whole counts that fit everything
published (the ranges, every equation), asking whether the small count can take another value.
"""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicator_disclosure import AXES, MARGIN, T, grid, table_of

from corridor.indicators import disclosure, hypercube, suppress

Equation = tuple[list[int], list[int], int]


def _published(
    out: pa.Table, by: list[str], col: str
) -> tuple[dict[tuple[str, ...], float | None], dict[tuple[str, ...], str | None]]:
    """What ``out`` shows per cell (None: withheld) and the flag it carries, keyed by the
    coordinates on the axes of ``by`` ("*": the margin)."""
    axes = [a for a in AXES if a in by]
    shown: dict[tuple[str, ...], float | None] = {}
    flag: dict[tuple[str, ...], str | None] = {}
    for r in out.to_pylist():
        coords = {
            "place": r["place_code"],
            "sex": r["sex"],
            "population_group": r["population_group"],
        }
        key = tuple("*" if coords[a] == MARGIN[a] else coords[a] for a in axes)
        shown[key] = r[col]
        flag[key] = r[f"{col}_flag"]
    return shown, flag


def _tighten(lo: list[int], hi: list[int], holed: list[bool], eqs: list[Equation]) -> bool:
    """Bounds made consistent with every equation (coefficients +1 / -1) and every hole (a
    ``suppressed`` count is never 1..T-1); False where nothing fits."""
    changed = True
    while changed:
        changed = False
        for i, h in enumerate(holed):
            if h and 0 < lo[i] < T:
                lo[i] = T
            if h and 0 < hi[i] < T:
                hi[i] = 0
            if lo[i] > hi[i]:
                return False
        for cols, coefs, rhs in eqs:
            low = sum(lo[v] if c > 0 else -hi[v] for v, c in zip(cols, coefs, strict=True))
            high = sum(hi[v] if c > 0 else -lo[v] for v, c in zip(cols, coefs, strict=True))
            if low > rhs or high < rhs:
                return False
            for v, c in zip(cols, coefs, strict=True):
                mine_low, mine_high = (lo[v], hi[v]) if c > 0 else (-hi[v], -lo[v])
                # c * x = rhs - the others, which lie in [low - mine_low, high - mine_high]
                a, b = rhs - (high - mine_high), rhs - (low - mine_low)
                new_lo, new_hi = (a, b) if c > 0 else (-b, -a)
                if new_lo > lo[v] or new_hi < hi[v]:
                    lo[v], hi[v] = max(lo[v], new_lo), min(hi[v], new_hi)
                    changed = True
                    if lo[v] > hi[v]:
                        return False
    return True


def _feasible(lo: list[int], hi: list[int], holed: list[bool], eqs: list[Equation]) -> bool:
    """Whether whole counts within the bounds (and out of the holes) satisfy every equation."""
    lo, hi = lo[:], hi[:]
    if not _tighten(lo, hi, holed, eqs):
        return False
    free = [i for i in range(len(lo)) if lo[i] < hi[i]]
    if not free:
        return True
    i = min(free, key=lambda k: hi[k] - lo[k])
    if holed[i] and lo[i] == 0:
        parts = [(0, 0), (T, hi[i])]
    else:
        mid = (lo[i] + hi[i]) // 2
        parts = [(lo[i], mid), (mid + 1, hi[i])]
    for a, b in parts:
        lo2, hi2 = lo[:], hi[:]
        lo2[i], hi2[i] = a, b
        if _feasible(lo2, hi2, holed, eqs):
            return True
    return False


def _pinned(
    finest: dict[tuple[str, ...], float],
    shown: dict[tuple[str, ...], float | None],
    flag: dict[tuple[str, ...], str | None],
    n_axes: int,
) -> list[tuple[str, ...]]:
    """The withheld small counts that take one value only among the whole counts consistent
    with every equation and every label. The margins outside the output along one dimension
    are known exactly (the same query without it publishes them), as the exact check takes
    them; but a small one is known to be 1..T-1 only."""
    unknown: dict[tuple[str, ...], int] = {}
    truth: dict[tuple[str, ...], int] = {}
    eqs: list[Equation] = []
    grand = int(sum(finest.values()))
    for k in range(1, n_axes + 1):
        for subset in itertools.combinations(range(n_axes), k):
            slabs: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
            for key in finest:
                proj = tuple("*" if i in subset else v for i, v in enumerate(key))
                slabs.setdefault(proj, []).append(key)
            for proj, members in slabs.items():
                total = int(sum(finest[m] for m in members))
                cols, coefs, rhs = [], [], 0
                for m in members:
                    if shown.get(m) is None:
                        cols.append(unknown.setdefault(m, len(unknown)))
                        truth[m] = int(finest[m])
                        coefs.append(1)
                    else:
                        rhs -= int(finest[m])
                if proj in shown and shown[proj] is None:
                    cols.append(unknown.setdefault(proj, len(unknown)))
                    truth[proj] = total
                    coefs.append(-1)
                elif proj not in shown and (0 < total < T or k > 1 or len(members) == 1):
                    # outside the output, as the exact check takes it: unknown where it is
                    # small (then shown as <10 by the query without that dimension: 1..T-1),
                    # a margin along two dimensions or more, or that of one cell (the cell,
                    # withheld there by the same rules)
                    cols.append(unknown.setdefault(("m", *proj), len(unknown)))
                    flag[("m", *proj)] = f"<{T}" if 0 < total < T else "any"
                    coefs.append(-1)
                else:  # shown, or published by that query: the attacker knows it exactly
                    rhs += total
                if cols:
                    eqs.append((cols, coefs, rhs))
    n = len(unknown)
    lo, hi, holed = [0] * n, [grand + T] * n, [True] * n
    for key, i in unknown.items():
        if flag[key] == f"<{T}":
            lo[i], hi[i], holed[i] = 1, T - 1, False
        elif flag[key] == "any":
            holed[i] = False
    out = []
    for key, i in unknown.items():
        if holed[i] or key[0] == "m":
            continue
        t = truth[key]
        other = False
        for a, b in ((1, t - 1), (t + 1, T - 1)):
            if a <= b:
                lo2, hi2 = lo[:], hi[:]
                lo2[i], hi2[i] = a, b
                if _feasible(lo2, hi2, holed, eqs):
                    other = True
                    break
        if not other:
            out.append(key)
    return out


def _attack(
    finest: dict[tuple[str, ...], tuple[float, float]], by: list[str], totals: bool
) -> tuple[list[tuple[str, ...]], bool]:
    """(small counts pinned down, whether a small count went without a box that moves within
    the ranges: to the boxes that ignore them or to the exact check) for the output."""
    checked: list[bool] = []
    real, linear = disclosure.Protector, hypercube._linear_boxes

    def spy(*args: Any, **kwargs: Any) -> Any:
        checked.append(True)
        return real(*args, **kwargs)

    def spy_linear(*args: Any) -> Any:
        checked.append(True)
        return linear(*args)

    with (
        mock.patch.object(disclosure, "Protector", spy),
        mock.patch.object(hypercube, "_linear_boxes", spy_linear),
    ):
        out = suppress(table_of(grid(finest, by, totals), by), T)
    axes = [a for a in AXES if a in by]
    pinned = []
    for role, col in ((0, "numerator"), (1, "denominator")):
        true = {k: v[role] for k, v in finest.items()}
        shown, flag = _published(out, by, col)
        pinned += _pinned(true, shown, flag, len(axes))
    return pinned, bool(checked)


# tight ranges are what the labels give away: counts near 1, 9 and 10, zeros
_count = st.one_of(
    st.sampled_from([0, 1, 1, 2, 8, 9, 9, 10, 10, 11]), st.integers(0, 14), st.integers(0, 40)
)


@st.composite
def _tiny(draw: st.DrawFn) -> tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]]:
    by = draw(st.sampled_from([["place", "sex"], ["place", "population_group"], list(AXES)]))
    sizes = {a: draw(st.integers(2, 3 if len(by) == 2 else 2)) for a in by}
    finest = {
        key: (float(draw(_count)), float(draw(_count)))
        for key in itertools.product(*(AXES[a][: sizes[a]] for a in by))
        if draw(st.integers(0, 7))
    }
    return by, draw(st.booleans()), finest


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tiny())
def test_no_small_count_is_pinned_by_the_ranges_where_every_one_has_a_box(case: Any) -> None:
    """Where the box search gave every small count a box that moves within the ranges (neither
    the boxes that ignore them nor the exact check ran), no withheld small count can be worked out by an attacker who knows
    every equation, every margin, and the range of every label."""
    by, totals, finest = case
    pinned, checked = _attack(finest, by, totals)
    if not checked:
        assert pinned == []


def test_every_corner_of_a_box_can_move_within_its_range() -> None:
    """``moves``: a small count moves up below 9 and down above 1; another withheld count
    moves up from 10 and down above 10; a zero cannot move."""
    values = np.array([0.0, 1, 2, 8, 9, 10, 11, 30])
    up, down = hypercube.moves(values, T)
    assert up.tolist() == [False, True, True, True, False, True, True, True]
    assert down.tolist() == [False, False, True, True, True, False, True, True]


# Kasensero landing site, 2024Q1 by population group (the demonstration world): host 0,
# migrant <10, sex worker <10, fisherfolk 23, total 25: both small counts are 1
KASENSERO: dict[tuple[str, ...], tuple[float, float]] = {
    ("p1", "host"): (0.0, 40.0),
    ("p1", "migrant"): (1.0, 30.0),
    ("p1", "sex_worker"): (1.0, 35.0),
    ("p1", "fisherfolk"): (23.0, 50.0),
    ("p2", "host"): (40.0, 90.0),
    ("p2", "migrant"): (31.0, 80.0),
    ("p2", "sex_worker"): (27.0, 70.0),
    ("p2", "fisherfolk"): (52.0, 95.0),
    ("p3", "host"): (12.0, 60.0),
    ("p3", "migrant"): (44.0, 75.0),
    ("p3", "sex_worker"): (18.0, 66.0),
    ("p3", "fisherfolk"): (37.0, 88.0),
}


def test_kasensero_two_ones_beside_a_zero_are_not_pinned() -> None:
    """The shape the tester found: the two ones are no longer worked out; a box search that
    ignores the ranges (every cell taken as movable) gives them away to the same attacker."""
    by = ["place", "population_group"]
    pinned, checked = _attack(KASENSERO, by, totals=True)
    assert pinned == [] and not checked

    def anything(values: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        every = np.ones(len(values), bool)
        return every, every

    with mock.patch.object(hypercube, "moves", anything):
        before, _ = _attack(KASENSERO, by, totals=True)
    assert sorted(before) == [("p1", "migrant"), ("p1", "sex_worker")]
