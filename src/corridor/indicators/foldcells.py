"""The cells of fully disaggregated data in one aggregation over services, where the engine's
dialect says ``folded_cells`` (both engines: docs/indicators.md, "How values are added up";
CHANGELOG "PostgreSQL query speed", "DuckDB adds up fully disaggregated cells in one
aggregation too").

Where every row that feeds the output gives sex, age band and population group (``uniform``),
the period types are not mixed and the output asks for all three, a unit (a place's series in
one output period and disaggregation) is one series of one cell. Then the steps ``units`` ...
``cells`` of :mod:`corridor.indicators.cells` come to one ``GROUP BY`` over services joined to
one list of feeds:

* a sum series adds its rows, as there;
* a stock or lookback series takes the value of its lowest-ranked row in the cell (its latest
  period, the unit's ``ROW_NUMBER() = 1`` there): a cell has one row per rank (one per period:
  the natural key; :func:`can_fold` checks that no rank has two period texts), so the least of
  the arrays ``[rank, value, record key]`` is that row, in one aggregate (per-rank sums and the
  lowest rank present took seven aggregates for three ranks, each a filter test per joined row:
  about 1 s of PostgreSQL's 7 s of CPU at 2M rows).

The same numbers as the steps it replaces (tests/indicators compare both shapes on both
engines); a row-at-a-time engine runs it as a parallel aggregation without sorting (PostgreSQL
at 2M rows: about half the server's CPU time of those steps), and DuckDB groups the joined rows
once, with no window over the stocks' rows (10M rows: about 30% less CPU for the whole query).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final

from corridor.indicators.buckets import PeriodPlan
from corridor.indicators.cells import StockFeed, col, in_list, kcol, lit
from corridor.storage.recordkeys import KEY_MODULUS

#: the most ranks a stock series may be chosen from here
MAX_FOLDED_RANKS: Final = 8
#: a row's record key (0 for a zero value, as in :mod:`corridor.indicators.cells`) as a
#: double: each sum here adds the rows of one series in one cell, one per reported period
#: inside a quarter (or one, for a stock), far fewer than the 2^21 keys below 2^32 that a
#: double adds exactly; summed as BIGINT, PostgreSQL accumulates 128-bit integers and hands
#: NUMERIC states between its parallel workers (a fifth of the query's CPU time at 2M rows)
_RKEY: Final = "CAST(CASE WHEN s.value = 0 THEN 0 ELSE s.record_key END AS DOUBLE PRECISION)"


def series_ranks(stock_rows: Sequence[StockFeed]) -> dict[str, list[int]]:
    """Stock and lookback series key -> the ranks of the periods that feed it (any bucket)."""
    ranks: dict[str, set[int]] = {}
    for sf in stock_rows:
        ranks.setdefault(sf.series.key, set()).add(sf.feed.rank)
    return {k: sorted(v) for k, v in ranks.items()}


def can_fold(stock_rows: Sequence[StockFeed]) -> bool:
    """Whether no stock series is chosen from more than :data:`MAX_FOLDED_RANKS` ranks, and
    no rank of a series in an output period is fed by two period texts (two rows of a cell
    could then share the lowest rank: the steps of :mod:`corridor.indicators.cells` add them)."""
    seen = {(sf.series.key, sf.feed.bucket, sf.feed.rank) for sf in stock_rows}
    return len(seen) == len(stock_rows) and all(
        len(r) <= MAX_FOLDED_RANKS for r in series_ranks(stock_rows).values()
    )


def _feed_rows(
    plan: PeriodPlan,
    sums: Sequence[str],
    stock_rows: Sequence[StockFeed],
    sid: dict[str, int],
    reported: Collection[tuple[str, str]] | None,
) -> tuple[list[str], set[str]]:
    """(the ``uf`` rows, the series that have one)."""
    fed = [
        (e, f)
        for e in sums
        for f in plan.feeds
        if f.inside and (reported is None or (e, f.period) in reported)
    ]
    rows = [
        f"({lit(e)}, 0, {lit(f.period)}, {lit(f.bucket)}, {lit(f.slot or f.period)}, {sid[e]}, 0)"
        for e, f in fed
    ]
    rows += [
        f"({lit(sf.series.element)}, {int(sf.series.offered_ages)}, {lit(sf.feed.period)}, "
        f"{lit(sf.feed.bucket)}, {lit(sf.feed.bucket)}, {sid[sf.series.key]}, {sf.feed.rank})"
        for sf in stock_rows
    ]
    return rows, {e for e, _f in fed} | {sf.series.key for sf in stock_rows}


def _sums(key: str, k: int, ranks: Sequence[int], fed: bool = True) -> tuple[str, str]:
    """(value column, cell-key column) of series ``key`` (number ``k``); nulls of the same
    types where no feed row has the series (``fed`` False: no aggregate to compute)."""
    mod = KEY_MODULUS
    if not fed:
        return (
            f"CAST(NULL AS DOUBLE PRECISION) AS {col(key)}",
            f"CAST(NULL AS BIGINT) AS {kcol(key)}",
        )
    if len(ranks) <= 1:  # one row per cell: its sum
        return (
            f"SUM(s.value) FILTER (WHERE f.sid = {k}) AS {col(key)}",
            f"CAST(SUM({_RKEY}) FILTER (WHERE f.sid = {k}) AS BIGINT) % {mod} AS {kcol(key)}",
        )
    # one row per rank (the natural key): the least array is the lowest rank's value and key
    latest = (
        f"MIN(ARRAY[CAST(f.rnk AS DOUBLE PRECISION), s.value, {_RKEY}]) FILTER (WHERE f.sid = {k})"
    )
    return (
        f"({latest})[2] AS {col(key)}",
        f"CAST(({latest})[3] AS BIGINT) % {mod} AS {kcol(key)}",
    )


def folded_cells_sql(
    plan: PeriodPlan,
    sums: Sequence[str],
    stock_rows: Sequence[StockFeed],
    series: Sequence[str],
    offered: Sequence[str],
    reported: Collection[tuple[str, str]] | None = None,
) -> list[str]:
    """Steps ``uf`` (every feed: element, offered ages only, period, bucket, slot, series
    number, rank) and ``cells`` (place_code, bucket, slot, sex, age_band, population_group,
    ``e_*`` and ``k_*`` of each of ``series``), or [] where nothing feeds the output.

    ``reported``: the (element, period) pairs in services (None: any); a sum element's feeds
    are only those, and a series with none is a null column, not aggregates that every row
    would evaluate (each aggregate costs PostgreSQL a filter test per joined row)."""
    sid = {key: k for k, key in enumerate(series)}
    rows, fed = _feed_rows(plan, sums, stock_rows, sid, reported)
    if not rows:
        return []
    ranks = series_ranks(stock_rows)
    values, keys = zip(
        *(_sums(key, sid[key], ranks.get(key, []), key in fed) for key in series), strict=True
    )
    elements = sorted({*sums, *(sf.series.element for sf in stock_rows)})
    ages = f"s.age_band IN {in_list(offered)}" if offered else "1 = 0"
    group = "s.place_code, f.bucket, f.slot, s.sex, s.age_band, s.population_group"
    return [
        f"uf (data_element, offered, period, bucket, slot, sid, rnk) AS (VALUES {', '.join(rows)})",
        f"cells AS (SELECT {group}, {', '.join([*values, *keys])} FROM services s "
        "JOIN uf f ON f.data_element = s.data_element AND f.period = s.period "
        f"WHERE s.data_element IN {in_list(elements)} AND (f.offered = 0 OR {ages}) "
        f"GROUP BY {group})",
    ]
