"""Rows that share a key: the folded integers give what polars' struct hash gives."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.intake.lookup import ID, TYPED, Spread, by_value
from corridor.intake.rawtable import ROW
from corridor.intake.validate import _shared_rows

IDS = st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=0, max_size=40)


@settings(max_examples=200, deadline=None)
@given(a=IDS, b=IDS, c=IDS, big=st.booleans(), text=st.booleans())
def test_shared_keys_match_the_struct_hash(
    a: list[int | None], b: list[int | None], c: list[int | None], big: bool, text: bool
) -> None:
    n = min(len(a), len(b), len(c))
    cols = {"a": a[:n], "b": b[:n], "c": c[:n]}
    keys = pl.DataFrame(cols, schema={k: pl.UInt32 for k in cols})
    if big:  # ids so large that their product overflows: the struct path
        big_ids = [(pl.col(k).cast(pl.UInt64) * 700_000_000).cast(pl.UInt32) for k in "abc"]
        keys = keys.with_columns(big_ids)
    if text:  # a column kept as its typed value (mostly distinct values)
        keys = keys.with_columns(pl.col("c").cast(pl.Utf8))
    expected = keys.select(pl.struct("a", "b", "c").is_duplicated()).to_series()
    # each column's ids one per row (a Spread without index)
    parts = {k: Spread(pl.DataFrame([keys[k].alias(ID)]), None, n) for k in "abc"}
    rows = pl.Series(ROW, range(1, n + 1), pl.Int64)
    got = _shared_rows(parts, ["a", "b", "c"], rows, ())
    assert got.to_list() == rows.filter(expected).to_list()


CODES = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "A ", "c"])), max_size=80)


@settings(max_examples=150, deadline=None)
@given(
    x=CODES,
    y=CODES,
    dropped=st.sets(st.integers(1, 80), max_size=10),
    categorical=st.booleans(),
)
def test_shared_rows_of_spread_columns_match_the_struct_hash(
    x: list[str | None], y: list[str | None], dropped: set[int], categorical: bool
) -> None:
    """The key ids spread from each column's distinct values, without the invalid rows."""
    n = min(len(x), len(y))
    rows = pl.Series(ROW, range(1, n + 1), pl.Int64)
    steps = (
        lambda f: f.with_columns(
            pl.col(f.columns[0]).cast(pl.Utf8).str.strip_chars().str.to_lowercase().alias(TYPED)
        ),
    )
    parts = {}
    for name, cells in (("x", x[:n]), ("y", y[:n])):
        series = pl.Series(name, cells, pl.Utf8)
        if categorical:
            series = series.cast(pl.Categorical(pl.Categories.random()))
        parts[name] = by_value(series, steps, ids=True)
    keys = pl.DataFrame(
        [parts["x"].column(TYPED).alias("x"), parts["y"].column(TYPED).alias("y"), rows]
    )
    keys = keys.filter(~pl.col(ROW).is_in(list(dropped)))
    expected = keys.filter(keys.select(pl.struct("x", "y").is_duplicated()).to_series())[ROW]
    got = _shared_rows(parts, ["x", "y"], rows, dropped)
    assert got.to_list() == expected.to_list()
