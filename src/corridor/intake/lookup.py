"""Column work done once per distinct value, then spread to the rows that need it.

A column of a million cells usually holds a few hundred distinct codes, periods or dates. Checking
and typing each distinct value once, and giving each row the position of its value (an ``Enum``
cast), costs two hash passes instead of one string operation per rule and row; an outcome is
copied out to the rows only when asked for (the typed column for every row, a reason only for the
rows that have one). Columns with mostly distinct values (counts, names) are evaluated directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

#: the column of the typed value, and of an integer standing for it (equal values, equal ids)
TYPED = "_typed"
ID = "_id"

Steps = Sequence[Callable[[pl.DataFrame], pl.DataFrame]]

#: below this share of distinct values per row, a column is evaluated per distinct value
DISTINCT_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Spread:
    """The outcome of steps over a column: ``table`` per distinct value and ``index`` giving each
    row its table row; or, with ``index`` None, ``table`` has one row per row."""

    table: pl.DataFrame
    index: pl.Series | None
    rows: int
    nulls: bool = False  # whether some row is null (the table's last row is then used)

    def column(self, name: str) -> pl.Series:
        """One outcome for every row (a constant outcome is not copied per row)."""
        if self.index is None:
            return self.table[name]
        present = self.table[name] if self.nulls else self.table[name][:-1]
        if present.n_unique() == 1:
            return pl.repeat(present[0], self.rows, dtype=present.dtype, eager=True).alias(name)
        return self.table[name].gather(self.index)

    def coded(self, name: str) -> pl.Series:
        """As :meth:`column`, text as an ``Enum`` of its distinct values: a small integer a row
        and the text once, where a text column holds every row's text (or a 16-byte view)."""
        values = self.table[name]
        if self.index is None or values.dtype != pl.Utf8:
            return self.column(name)
        categories = values.drop_nulls().unique(maintain_order=True)
        return values.cast(pl.Enum(categories)).gather(self.index).alias(name)

    def mask(self, condition: pl.Expr) -> pl.Series:
        """Which rows meet ``condition`` (an expression over the outcome columns)."""
        hit = self.table.select(condition.fill_null(False)).to_series()
        if self.index is None:
            return hit
        if not hit.any():
            return pl.repeat(False, self.rows, eager=True)
        return self.index.is_in(hit.arg_true().cast(pl.UInt32).implode())

    def at(self, mask: pl.Series, names: Sequence[str]) -> pl.DataFrame:
        """The outcome columns ``names`` of the rows where ``mask`` holds."""
        if self.index is None:
            return self.table.filter(mask).select(names)
        return self.table.select(names).select(pl.all().gather(self.index.filter(mask)))


def by_value(series: pl.Series, steps: Steps, *, ids: bool = False) -> Spread:
    """Apply ``steps`` (frame -> frame, row for row) to a one-column frame of ``series``.

    The outcome is what the steps give on the whole column, since each step computes a row from
    that row alone. With ``ids``, an ``_id`` column holds an integer per distinct ``_typed``
    value (or the typed value itself).
    """
    n = series.len()
    if isinstance(series.dtype, pl.Enum):  # already one integer a row: its categories are run
        return _by_category(series, steps, ids=ids)
    if isinstance(series.dtype, pl.Categorical):  # as read from a file: its values present
        return _by_categorical(series, steps, ids=ids)
    distinct = series.unique()
    if n < 64 or distinct.len() > DISTINCT_SHARE * n:
        out = _run(series.to_frame(), steps)
        return Spread(out.with_columns(pl.col(TYPED).alias(ID)) if ids else out, None, n)
    values = distinct.drop_nulls()
    # one row per distinct non-null value, then one for null (position len(values))
    small = pl.concat([values.to_frame(), pl.Series(series.name, [None], series.dtype).to_frame()])
    done = _run(small, steps)
    if ids:
        done = done.with_columns(pl.col(TYPED).rank("dense").cast(pl.UInt32).alias(ID))
    index = series.cast(pl.Enum(values)).to_physical().cast(pl.UInt32)
    nulls = index.null_count() > 0
    if nulls:
        index = index.fill_null(values.len())
    return Spread(done, index.rename(series.name), n, nulls)


def _by_category(series: pl.Series, steps: Steps, *, ids: bool) -> Spread:
    """:func:`by_value` of an ``Enum`` column: the steps run on its categories."""
    dtype = series.dtype
    assert isinstance(dtype, pl.Enum)
    values = pl.Series(series.name, dtype.categories, pl.Utf8)
    small = pl.concat([values.to_frame(), pl.Series(series.name, [None], pl.Utf8).to_frame()])
    done = _run(small, steps)
    if ids:
        done = done.with_columns(pl.col(TYPED).rank("dense").cast(pl.UInt32).alias(ID))
    index = series.to_physical().cast(pl.UInt32)
    nulls = index.null_count() > 0
    if nulls:
        index = index.fill_null(values.len())
    return Spread(done, index.rename(series.name), series.len(), nulls)


def _by_categorical(series: pl.Series, steps: Steps, *, ids: bool) -> Spread:
    """:func:`by_value` of a ``Categorical`` column (the tidy reader's): the steps run on the
    distinct values present, and each row's category number is mapped to its value's position."""
    n = series.len()
    distinct = series.unique().drop_nulls()
    if n < 64 or distinct.len() > DISTINCT_SHARE * n:
        return by_value(series.cast(pl.Utf8), steps, ids=ids)
    values = distinct.cast(pl.Utf8)
    small = pl.concat([values.to_frame(), pl.Series(series.name, [None], pl.Utf8).to_frame()])
    done = _run(small, steps)
    if ids:
        done = done.with_columns(pl.col(TYPED).rank("dense").cast(pl.UInt32).alias(ID))
    present = distinct.to_physical().to_numpy()
    position = np.zeros(int(present.max(initial=0)) + 1, np.uint32)
    position[present] = np.arange(present.size, dtype=np.uint32)
    codes = series.to_physical()
    nulls = codes.null_count() > 0
    index = position[codes.fill_null(0).to_numpy()] if nulls else position[codes.to_numpy()]
    if nulls:
        index[codes.is_null().to_numpy()] = values.len()
    return Spread(done, pl.Series(series.name, index), n, nulls)


def _run(frame: pl.DataFrame, steps: Steps) -> pl.DataFrame:
    for step in steps:
        frame = step(frame)
    return frame
