"""Column work done once per distinct value, then spread to every row.

A column of a million cells usually holds a few hundred distinct codes, periods or dates. Checking
and typing each distinct value once and spreading the outcome by position (an ``Enum`` cast gives
each row the index of its value) costs two hash passes instead of one string operation per rule
and row. Columns with mostly distinct values (counts, names) are evaluated directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

#: the column of the typed value, and of an integer standing for it (equal values, equal ids)
TYPED = "_typed"
ID = "_id"

Steps = Sequence[Callable[[pl.DataFrame], pl.DataFrame]]

#: below this share of distinct values per row, a column is evaluated per distinct value
DISTINCT_SHARE = 0.5


def by_value(series: pl.Series, steps: Steps, *, ids: bool = False) -> pl.DataFrame:
    """Apply ``steps`` (frame -> frame, row for row) to a one-column frame of ``series``.

    The result has one row per row of ``series``, exactly as if the steps had run on the whole
    column, since each step computes a row from that row alone. With ``ids``, an ``_id`` column
    holds an integer per distinct ``_typed`` value (or the typed value itself).
    """
    distinct = series.unique()
    if series.len() < 64 or distinct.len() > DISTINCT_SHARE * series.len():
        out = _run(series.to_frame(), steps)
        return out.with_columns(pl.col(TYPED).alias(ID)) if ids else out
    values = distinct.drop_nulls()
    # one row per distinct non-null value, then one for null (position len(values))
    small = pl.concat([values.to_frame(), pl.Series(series.name, [None], series.dtype).to_frame()])
    done = _run(small, steps)
    if ids:
        done = done.with_columns(pl.col(TYPED).rank("dense").cast(pl.UInt32).alias(ID))
    index = series.cast(pl.Enum(values)).to_physical().cast(pl.UInt32).fill_null(values.len())
    # a column with one outcome for every value (no problem at all, say) is not copied per row
    present = done.select(pl.all().gather(index.unique()))
    same = [c for c in done.columns if present[c].n_unique() == 1]
    varied = [c for c in done.columns if c not in same]
    out = done.select(varied).select(pl.all().gather(index)) if varied else pl.DataFrame()
    if same:
        width = pl.DataFrame({"_n": pl.repeat(0, series.len(), dtype=pl.Int8, eager=True)})
        out = pl.concat([width, out], how="horizontal") if varied else width
        out = out.with_columns(pl.lit(present[c][0], present[c].dtype).alias(c) for c in same)
        out = out.drop("_n")
    return out.select(done.columns)


def _run(frame: pl.DataFrame, steps: Steps) -> pl.DataFrame:
    for step in steps:
        frame = step(frame)
    return frame
