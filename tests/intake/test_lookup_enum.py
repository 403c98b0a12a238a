"""Column work per distinct value: an Enum column gives what its text gives, and coded outcomes
are the text outcomes as Enums."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.intake.lookup import ID, TYPED, by_value

CELLS = st.lists(st.one_of(st.none(), st.sampled_from(["a", " A", "b", "", "c "])), max_size=150)


def _steps(frame: pl.DataFrame) -> pl.DataFrame:
    c = pl.col("x").str.strip_chars().str.to_lowercase()
    return frame.with_columns(
        pl.when(c == "").then(None).otherwise(c).alias(TYPED),
        pl.when(c == "b").then(pl.lit("no b")).alias("_err"),
    )


@settings(max_examples=150, deadline=None)
@given(cells=CELLS, extra=st.lists(st.sampled_from(["z", "y"]), max_size=2, unique=True))
def test_an_enum_column_spreads_as_its_text(cells: list[str | None], extra: list[str]) -> None:
    text = pl.Series("x", cells, pl.Utf8)
    categories = [*dict.fromkeys(c for c in cells if c is not None), *extra]  # unused ones too
    coded = text.cast(pl.Enum(categories))
    a, b = by_value(text, (_steps,), ids=True), by_value(coded, (_steps,), ids=True)
    assert a.column(TYPED).to_list() == b.column(TYPED).to_list()
    assert a.coded(TYPED).cast(pl.Utf8).to_list() == a.column(TYPED).to_list()
    assert b.coded(TYPED).cast(pl.Utf8).to_list() == a.column(TYPED).to_list()
    assert a.mask(pl.col("_err").is_not_null()).to_list() == [c == "b" for c in cells]
    assert b.mask(pl.col("_err").is_not_null()).to_list() == [c == "b" for c in cells]
    # equal typed values, equal ids (and different ones, different ids)
    pairs_a = set(zip(a.column(TYPED).to_list(), a.column(ID).to_list(), strict=True))
    pairs_b = set(zip(b.column(TYPED).to_list(), b.column(ID).to_list(), strict=True))
    assert len({t for t, _ in pairs_a}) == len(pairs_a)
    assert len({t for t, _ in pairs_b}) == len(pairs_b)
