"""The exact check of complementary suppression built with numpy (indicators/linkedsystems.py,
indicators/slabs.py, the rule and the oversized branch of complements.Protector): each piece
gives what the plain construction (dictionaries, union-find, one cell at a time) gives."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from typing import Any
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_indicator_disclosure import T, grid, outputs, table_of
from test_suppress_corridors import corridor_tables, table_by_corridor

from corridor.indicators import complements, disclosure, suppress
from corridor.indicators.linkedsystems import components, first_appearance, systems
from corridor.indicators.slabs import _Projections, slab_arrays
from corridor.indicators.suppresscells import Cells, build_cells

Case = tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]]
FLAGS = ("numerator_flag", "denominator_flag", "value_flag")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _union_find(rows: list[int], cols: list[int], n: int) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_row: dict[int, list[int]] = defaultdict(list)
    for r, c in zip(rows, cols, strict=True):
        by_row[r].append(c)
    for members in by_row.values():
        for c in members[1:]:
            a, b = find(members[0]), find(c)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(c) for c in range(n)]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 40))
    edges = draw(st.lists(st.tuples(st.integers(0, 30), st.integers(0, n - 1)), max_size=80))
    rows = np.array([e[0] for e in edges], np.int64)
    cols = np.array([e[1] for e in edges], np.int64)
    return rows, cols, n


@FAST
@given(graphs())
def test_components_are_those_of_union_find(graph: tuple[np.ndarray, np.ndarray, int]) -> None:
    """Each column is labelled with the smallest column linked to it through shared rows."""
    rows, cols, n = graph
    assert components(rows, cols, n).tolist() == _union_find(rows.tolist(), cols.tolist(), n)


def test_components_of_a_long_chain() -> None:
    """A chain whose links come in reverse order (labels travel far): still one component."""
    n = 2000
    rows = np.repeat(np.arange(n - 1)[::-1], 2)
    cols = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)[::-1].reshape(-1)
    assert (components(rows, cols, n) == 0).all()


@given(st.lists(st.integers(0, 9), max_size=30))
def test_first_appearance(values: list[int]) -> None:
    uniq, ids = first_appearance(np.array(values, np.int64))
    expected = list(dict.fromkeys(values))
    assert uniq.tolist() == expected
    assert ids.tolist() == [expected.index(v) for v in values]


def _plain_systems(
    hidden: np.ndarray, members: np.ndarray, eq_of: np.ndarray, margin: np.ndarray, known: Any
) -> tuple[list[tuple[str, int]], list[tuple[int, int, float]], list[list[int]]] | None:
    """The construction the numpy one replaced: unknowns numbered as met, rows per equation,
    systems by union-find in the order of their first equation (each: its sorted unknowns)."""
    mh = hidden[members]
    active = np.zeros(len(margin), bool)
    active[eq_of[mh]] = True
    margin_hidden = (margin >= 0) & hidden[np.maximum(margin, 0)]
    active |= margin_hidden
    var_of: dict[tuple[str, int], int] = {}
    rows: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for e, c in zip(eq_of[mh].tolist(), members[mh].tolist(), strict=True):
        rows[e].append((var_of.setdefault(("c", c), len(var_of)), 1.0))
    for e in np.flatnonzero(active & margin_hidden).tolist():
        rows[e].append((var_of.setdefault(("c", int(margin[e])), len(var_of)), -1.0))
    for e in np.flatnonzero(active & (margin < 0) & ~known).tolist():
        rows[e].append((var_of.setdefault(("m", e), len(var_of)), -1.0))
    if not var_of:
        return None
    flat_rows = [r for r, row in rows.items() for _ in row]
    flat_vars = [v for row in rows.values() for v, _ in row]
    root = _union_find(flat_rows, flat_vars, len(var_of))
    comps: dict[int, list[int]] = {}
    for row in rows.values():
        comps.setdefault(root[row[0][0]], [])
    for v in range(len(var_of)):
        comps[root[v]].append(v)
    entries = [(e, v, coef) for e, row in rows.items() for v, coef in row]
    return list(var_of), entries, list(comps.values())


@st.composite
def equations(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n_cells = draw(st.integers(1, 25))
    n_eq = draw(st.integers(1, 12))
    entries = draw(
        st.lists(st.tuples(st.integers(0, n_eq - 1), st.integers(0, n_cells - 1)), max_size=60)
    )
    entries = sorted(set(entries))
    eq_of = np.array([e for e, _ in entries], np.int64)
    members = np.array([c for _, c in entries], np.int64)
    margin = np.array(draw(st.lists(st.integers(-1, n_cells - 1), min_size=n_eq, max_size=n_eq)))
    known = np.array(draw(st.lists(st.booleans(), min_size=n_eq, max_size=n_eq)))
    hidden = np.array(draw(st.lists(st.booleans(), min_size=n_cells, max_size=n_cells)))
    return hidden, members, eq_of, margin.astype(np.int64), known


@FAST
@given(equations())
def test_systems_number_unknowns_and_split_as_the_plain_construction(
    case: tuple[np.ndarray, ...],
) -> None:
    hidden, members, eq_of, margin, known = case
    plain = _plain_systems(hidden, members, eq_of, margin, known)
    found = systems(hidden, members, eq_of, margin, known)
    if plain is None:
        assert found is None
        return
    assert found is not None
    names, entries, comps = plain
    # the same unknowns, numbered alike: cells (-1: a margin not in the output)
    assert found.cell.tolist() == [c if kind == "c" else -1 for kind, c in names]
    # the same entries, and the same systems in the same order
    got_entries = zip(found.row.tolist(), found.var.tolist(), found.coef.tolist(), strict=True)
    assert sorted(got_entries) == sorted(entries)
    got = [np.flatnonzero(found.comp == j).tolist() for j in range(found.n_comps)]
    assert got == comps


def _plain_slab(
    cells: Cells, threshold: int, block: int
) -> tuple[list[int], list[int], list[int], list[bool]]:
    """The margins of a block with dictionaries (as the cell-by-cell construction made them)."""
    cids, codes = cells.block(block)
    n_axes = codes.shape[1]
    if len(cids) == 0 or n_axes == 0:
        return [], [], [], []
    at = {tuple(c): int(cid) for c, cid in zip(codes.tolist(), cids.tolist(), strict=True)}
    finest = [(tuple(c), int(cid)) for c, cid in at.items() if all(c)]
    members: list[int] = []
    eq_of: list[int] = []
    margins: list[int] = []
    known: list[bool] = []
    for k in range(1, n_axes + 1):
        for subset in itertools.combinations(range(n_axes), k):
            groups: dict[tuple[int, ...], list[int]] = {}
            for c, cid in finest:
                proj = tuple(0 if j in subset else v for j, v in enumerate(c))
                groups.setdefault(proj, []).append(cid)
            for proj, cs in groups.items():
                m = at.get(proj, -1)
                if k == 1:
                    total = sum(cells.values[c] for c in cs)
                    if m < 0 and len(cs) == 1:
                        continue
                    ok = m >= 0 or not (0 < total < threshold)
                elif m < 0:
                    continue
                else:
                    ok = True
                members += cs
                eq_of += [len(margins)] * len(cs)
                margins.append(m)
                known.append(ok)
    return members, eq_of, margins, known


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs(), st.sampled_from([3, 10, 40]))
def test_slab_arrays_are_those_of_dictionaries(case: Case, threshold: int) -> None:
    """Equations by integer tables, and by codes searched (a wide range): as with
    dictionaries."""
    by, totals, finest = case
    cells, _rows = build_cells(table_of(grid(finest, by, totals), by), threshold)
    for b in range(len(cells.block_keys)):
        expected = _plain_slab(cells, threshold, b)
        got = [a.tolist() for a in slab_arrays(cells, threshold, b)]
        assert got == [list(x) for x in expected]
        wide = [a.tolist() for a in _slab_without_tables(cells, threshold, b)]
        assert wide == got


def _slab_without_tables(cells: Cells, threshold: int, block: int) -> tuple[np.ndarray, ...]:
    init = _Projections.__init__

    def no_table(self: _Projections, *args: Any) -> None:
        init(self, *args)
        self.table = False

    with mock.patch.object(_Projections, "__init__", no_table):
        return slab_arrays(cells, threshold, block)


def _protector(case: Case) -> complements.Protector:
    by, totals, finest = case
    cells, _rows = build_cells(table_of(grid(finest, by, totals), by), T)
    return complements.Protector(cells, T)


@FAST
@given(outputs(), st.data())
def test_hide_all_is_hide_one_after_another(case: Case, data: st.DataObject) -> None:
    """Cells withheld at once: the same cells, counts per relation, block versions and queue
    as withheld one by one (a cell listed twice or withheld already: nothing more)."""
    one, many = _protector(case), _protector(case)
    n = len(one.values)
    cells = data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n)) if n else []
    q1: deque[int] = deque()
    q2: deque[int] = deque()
    for c in cells:
        one.hide(c, q1)
    many.hide_all(np.array(cells, np.int64), q2)
    assert (one.hidden == many.hidden).all()
    assert (one.count == many.count).all()
    assert (one.version == many.version).all()
    assert list(q1) == list(q2)


def _plain_rule(p: complements.Protector, queue: deque[int]) -> None:
    """The rule one queued relation at a time."""
    rels = p.cells.relations
    while queue:
        i = queue.popleft()
        if not p.positive[i] or p.count[i] != 1:
            continue
        shown = [c for c in rels.members(i) if not p.hidden[c]]
        if shown:
            p.hide(min(shown, key=lambda c: (p._opens(c, i), *p._order(c))), queue)


@FAST
@given(outputs(), st.sampled_from([1, 2, 256]))
def test_rule_in_windows_is_the_rule_one_relation_at_a_time(case: Case, window: int) -> None:
    windowed, plain = _protector(case), _protector(case)
    with mock.patch.object(complements, "_WINDOW", window):
        windowed.rule(deque(range(len(windowed.cells.relations))))
    _plain_rule(plain, deque(range(len(plain.cells.relations))))
    assert (windowed.hidden == plain.hidden).all()
    assert (windowed.count == plain.count).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs(), st.sampled_from([1, 3, 6, 10, 20]))
def test_a_block_too_large_from_its_first_margins_is_withheld_as_after_the_full_check(
    case: Case, limit: int
) -> None:
    """The shortcut (a system of the one-dimensional margins alone is too large) withholds
    exactly what the full check of every margin withholds (every block checked by the rule and
    the exact check: no boxes)."""
    by, totals, finest = case
    table = table_of(grid(finest, by, totals), by)
    with (
        mock.patch.object(complements, "EXACT_CHECK_LIMIT", limit),
        mock.patch.object(disclosure, "protect_boxes", _no_boxes),
    ):
        quick = suppress(table, T)
        with mock.patch.object(complements.Protector, "_too_large_alone", return_value=False):
            full = suppress(table, T)
    for flag in FLAGS:
        assert quick.column(flag).to_pylist() == full.column(flag).to_pylist()


def _no_boxes(*args: Any, whole_above: int | None = None) -> np.ndarray:
    """No box for any small count (the blocks left to the rule and the exact check)."""
    return np.asarray(args[5], np.int64)


@FAST
@given(outputs(), st.data())
def test_the_groups_found_first_are_the_groups_after_any_cells_withheld(
    case: Case, data: st.DataObject
) -> None:
    """The exact check's groups are found once: withholding more cells (the rule's and the
    check's complements) never changes them, since every small count is withheld from the
    start."""
    p = _protector(case)
    first = p._groups()
    n = len(p.values)
    cells = data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n)) if n else []
    p.hide_all(np.array(cells, np.int64), deque())
    p.rule(deque(range(len(p.cells.relations))))
    assert p._find_groups() == first
    assert p._groups() is first


#: places on one and two corridors where a complement is ruled out (found by Hypothesis)
RULED_OUT: Any = (
    {"p0": ("lake",), "p1": ("northern", "lake"), "p2": ("lake",)},
    {
        ("p0", "f"): (0.0, 38.0),
        ("p0", "m"): (2.0, 29.0),
        ("p1", "f"): (6.0, 0.0),
        ("p1", "m"): (11.0, 0.0),
        ("p2", "f"): (0.0, 1.0),
        ("p2", "m"): (4.0, 4.0),
    },
)


def _checked_touches(ruled_out: list[int]) -> Any:
    """:meth:`Protector._touches` that checks each cell it rules out: withheld, that cell
    leaves the count determined (and counts them in ``ruled_out``)."""
    plain = complements.Protector._touches

    def touches(p: complements.Protector, group: list[Any], cell: int) -> Any:
        near = plain(p, group, cell)

        def check(c: int) -> bool:
            if near(c):
                return True
            assert cell in p._determined(group, extra={c}, only=cell)
            ruled_out.append(c)
            return False

        return check

    return touches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corridor_tables())
@example(RULED_OUT)
def test_complements_outside_the_determined_system_are_skipped_without_changing_anything(
    case: Any,
) -> None:
    """A complement tried for a determined small count that sits in none of the equations of
    its system cannot free it: each one ruled out leaves the count determined, and skipping
    them withholds exactly what trying each does (tables by place and corridor, every block to
    the rule and the exact check: no boxes)."""
    table, _truth = table_by_corridor(case)
    ruled_out: list[int] = []
    with (
        mock.patch.object(disclosure, "protect_boxes", _no_boxes),
        mock.patch.object(disclosure, "boxes_across", lambda *args, **_: args[-1]),
    ):
        with mock.patch.object(complements.Protector, "_touches", _checked_touches(ruled_out)):
            quick = suppress(table, T)
        with mock.patch.object(
            complements.Protector, "_touches", lambda self, group, cell: lambda c: True
        ):
            every = suppress(table, T)
    for flag in FLAGS:
        assert quick.column(flag).to_pylist() == every.column(flag).to_pylist()
    if case is RULED_OUT:
        assert ruled_out  # (the example does rule some out)


@FAST
@given(outputs(), st.data())
def test_cells_in_order_are_sorted_by_the_order_key(case: Case, data: st.DataObject) -> None:
    """Candidates sorted as arrays: each once, as ``sorted(set(...), key=_order)`` gives them
    (non-zero first, then the smallest, then the key's rank)."""
    p = _protector(case)
    n = len(p.values)
    cells = data.draw(st.lists(st.integers(0, n - 1), max_size=3 * n)) if n else []
    assert p._in_order(np.array(cells, np.int64)) == sorted(set(cells), key=p._order)
