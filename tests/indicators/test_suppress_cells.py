"""The cells and relations of suppression, built column by column (indicators/suppresscells.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicator_disclosure import T, grid, outputs, table_of
from test_suppress_corridors import corridor_tables, table_by_corridor

from corridor.indicators import suppress
from corridor.indicators.relations import _first_of_each
from corridor.indicators.suppresscells import _encode, build_cells

Case = tuple[list[str], bool, dict[tuple[str, ...], tuple[float, float]]]
FLAGS = ("numerator_flag", "denominator_flag", "value_flag")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_relations_add_up_and_rows_point_at_their_counts(case: Case) -> None:
    """Every relation whose margin is in the output adds up to it; every row's cell holds the
    row's count; relations read as objects and as arrays agree."""
    by, totals, finest = case
    table = table_of(grid(finest, by, totals), by)
    cells, rows = build_cells(table, T)
    assert rows.shape == (table.num_rows, 2)
    for role, k in (("numerator", 0), ("denominator", 1)):
        for r, v in enumerate(table.column(role).to_pylist()):
            assert (rows[r, k] < 0) == (v is None)
            if v is not None:
                assert cells.values[rows[r, k]] == v
    for i, rel in enumerate(cells.relations):
        assert rel.members() == cells.relations.members(i)
        assert len(set(rel.members())) == len(rel.members())
        if rel.margin is not None:
            parts = sum(cells.values[c] for c in rel.components)
            assert parts == cells.values[rel.margin]
        else:
            total = sum(cells.values[c] for c in rel.components)
            assert rel.virtual_unknown == (0 < total < T)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs())
def test_a_count_shown_twice_is_one_cell(case: Case) -> None:
    """Every row twice (a count in two rows, as one element in two indicators): the same
    cells, and each copy withheld exactly as the row of the table once."""
    by, totals, finest = case
    once = table_of(grid(finest, by, totals), by)
    twice = pa.concat_tables([once, once]).replace_schema_metadata(once.schema.metadata)
    cells_once, _ = build_cells(once, T)
    cells_twice, rows = build_cells(twice, T)
    assert cells_twice.values == cells_once.values
    assert (rows[: once.num_rows] == rows[once.num_rows :]).all()
    a, b = suppress(once, T), suppress(twice, T)
    for flag in FLAGS:
        single = a.column(flag).to_pylist()
        assert b.column(flag).to_pylist() == single + single


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(0, 4), min_size=1, max_size=4), st.booleans()),
        max_size=40,
    )
)
def test_the_first_of_each_relation_is_that_of_a_set(rels: list[tuple[list[int], bool]]) -> None:
    """Relations listed twice (a place on two corridors) are kept once, the first: as a set of
    (members, margin flag) met in order would keep them."""
    every = np.array([c for members, _m in rels for c in members], np.int64)
    size = np.array([len(members) for members, _m in rels], np.int64)
    start = np.cumsum(size) - size
    has_margin = np.array([m for _members, m in rels], bool)
    seen: set[tuple[tuple[int, ...], bool]] = set()
    plain = []
    for members, m in rels:
        plain.append((tuple(members), m) not in seen)
        seen.add((tuple(members), m))
    assert _first_of_each(every, start, size, has_margin).tolist() == plain


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corridor_tables())
def test_a_table_by_place_and_corridor_lists_each_relation_once(case: Any) -> None:
    """A place on two corridors puts its relations in two blocks; each is kept once (only the
    relations of cells placed twice are compared: the others cannot be listed twice)."""
    table, _truth = table_by_corridor(case)
    cells, _rows = build_cells(table, T)
    rels = cells.relations
    listed = [(tuple(rels.members(i)), bool(rels.has_margin[i])) for i in range(len(rels))]
    assert len(set(listed)) == len(listed)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["f", "m", "total", None]), max_size=20), min_size=1, max_size=5
    )
)
def test_codes_of_a_column_in_chunks_name_its_values(chunks: list[list[str | None]]) -> None:
    """A column in several chunks (as a query returns it) gets one code per value, nulls
    included, whichever chunk a row is in; the code of ``total`` is found where it occurs."""
    col = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], pa.string())
    codes, where, names = _encode(col, "total")
    assert codes.dtype == np.int64 and len(codes) == len(col)
    assert [names[int(c)].as_py() for c in codes] == col.to_pylist()
    assert (where >= 0) == ("total" in col.to_pylist())
    if where >= 0:
        assert names[where].as_py() == "total"
