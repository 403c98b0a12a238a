"""The code-level helpers of the DHIS2/ADX exports agree with plain Python, on every path.

``formatted`` and ``first_of_each`` take a table addressed by the key when the keys are few and a
sort otherwise; ``combined`` renumbers its keys when they would outgrow int64. Wide code lists
force the other paths on small inputs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.indicators.exchangevalues import (
    Coded,
    combined,
    encode,
    first_of_each,
    formatted,
    numbered,
)


@st.composite
def columns(draw: st.DrawFn) -> list[Coded]:
    n = draw(st.integers(1, 30))
    width = draw(st.sampled_from([2, 7, 300, 5000]))  # 300 and 5000: spans past the table
    cols = []
    for k in range(draw(st.integers(1, 8))):
        codes = draw(st.lists(st.integers(0, width - 1), min_size=n, max_size=n))
        cols.append(Coded(np.array(codes, dtype=np.int32), [f"c{k}-{i}" for i in range(width)]))
    return cols


@settings(max_examples=100, deadline=None)
@given(columns())
def test_formatted_texts_are_each_rows_values_formatted(cols: list[Coded]) -> None:
    n = len(cols[0].codes)
    rows = np.arange(n)[::2]
    texts = formatted(cols, lambda *v: "|".join(v), rows)
    expected = ["|".join(c.texts[int(c.codes[r])] for c in cols) for r in rows]
    assert texts.at(rows).to_pylist() == expected


@settings(max_examples=100, deadline=None)
@given(columns())
def test_combined_keys_are_equal_exactly_for_equal_rows(cols: list[Coded]) -> None:
    key = combined([(c.codes, len(c.texts)) for c in cols])
    assert key.dtype == np.int64 and (key >= 0).all()  # never wrapped past int64
    rows = [tuple(int(c.codes[r]) for c in cols) for r in range(len(key))]
    for i in range(len(key)):
        for j in range(len(key)):
            assert (key[i] == key[j]) == (rows[i] == rows[j])
    first = first_of_each(key)
    seen: set[tuple[int, ...]] = set()
    for i, r in enumerate(rows):
        assert first[i] == (r not in seen)
        seen.add(r)


@settings(deadline=None)  # (a shared machine: the first call may take a while)
@given(st.lists(st.sampled_from(["a", "b", "", None]), max_size=30))
def test_encode_gives_nulls_a_code_whose_text_is_none(values: list[str | None]) -> None:
    c = encode(pa.array(values, pa.string()))
    assert [c.texts[int(i)] for i in c.codes] == values


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "", None, "é"]), st.integers(1, 400)),
        min_size=1,
        max_size=60,
    )
)
def test_encode_by_runs_gives_the_codes_of_hashing(runs: list[tuple[str | None, int]]) -> None:
    """Long columns in runs (as a sorted output is) are encoded by their runs: the same texts,
    in order of first appearance, and the same code for each value."""
    values = [v for v, k in runs for _ in range(k)]
    values += [values[-1]] * max(0, 4096 - len(values))  # long enough to look for runs
    c = encode(pa.array(values, pa.string()))
    assert [c.texts[int(i)] for i in c.codes] == values
    seen = list(dict.fromkeys(v for v in values if v is not None))
    assert [t for t in c.texts if t is not None] == seen


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=40), st.sampled_from([1, 10**9]))
def test_numbered_counts_keys_in_order_of_first_appearance(keys: list[int], scale: int) -> None:
    key = np.array(keys, dtype=np.int64) * scale  # wide keys: numbered by a sort
    number, heads = numbered(key)
    order = list(dict.fromkeys(keys))
    assert number.tolist() == [order.index(k) for k in keys]
    assert heads.tolist() == [keys.index(k) for k in order]
