"""Rows that share a key: the folded-integer sort gives what polars' struct hash gives."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.intake.validate import _shared_key

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
    assert _shared_key(keys, ["a", "b", "c"]).to_list() == expected.to_list()
