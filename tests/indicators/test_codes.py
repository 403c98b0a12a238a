"""Integer codes of suppression's keys (indicators/codes.py): what numpy's sort-based
``np.unique`` gives, on narrow and wide ranges of codes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.indicators.codes import CODE_LIMIT, combine, dense, first_order, ids_of

CODES = st.lists(
    st.one_of(st.integers(0, 50), st.integers(0, 1 << 40), st.integers(0, CODE_LIMIT - 1)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(CODES)
def test_dense_is_the_rank_among_distinct_codes(values: list[int]) -> None:
    for code in (np.array(values, np.int64), np.sort(np.array(values, np.int64))):
        # (codes in order are counted along, the others ranked through a hash)
        expected = np.unique(code, return_inverse=True)[1].reshape(-1) if len(code) else code
        assert dense(code).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(CODES)
def test_ids_and_first_order_keep_equal_codes_equal(values: list[int]) -> None:
    code = np.array(values, np.int64)
    for ids in (ids_of(code), first_order(code)[0]):
        for i in range(len(code)):
            assert ((ids == ids[i]) == (code == code[i])).all()
    ids, first = first_order(code)
    assert [values.index(v) for v in dict.fromkeys(values)] == first.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 40), st.integers(0, 1 << 40))))
def test_combine_gives_equal_codes_to_equal_tuples_only(rows: list[tuple[int, int, int]]) -> None:
    """Columns whose cardinalities multiply past CODE_LIMIT are renumbered on the way."""
    n = len(rows)
    parts = [np.array([r[k] for r in rows], np.int64) for k in range(3)]
    code = combine(parts, n)
    assert (code < CODE_LIMIT).all()
    for i in range(n):
        assert ((code == code[i]) == np.array([r == rows[i] for r in rows], bool)).all()
