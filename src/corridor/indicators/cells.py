"""The cell SQL: reported values -> one row per place x output period x slot x disaggregation,
with one column per series (docs/indicators.md, "How values are added up").

Steps, in portable SQL (DuckDB and PostgreSQL):

1. **units** (:func:`units_sql`) - each reported value joins the output period it feeds. Sum
   elements keep each reported period as its own unit; stock and lookback elements keep, per
   place x series x sex x age band x population group, only the latest value feeding the output
   period, and that snapshot is the unit. Where an element has a single reported period feeding
   an output period, each of its rows is already the latest of its disaggregation and no ranking
   is needed.
2. **choice** (:func:`choice_sql`) - within a unit (place x series x reported period), rows may
   repeat the same count at several levels of disaggregation: a total row, rows by sex, rows by
   sex x age band x population group... Each level is a *pattern* (which of sex / age band /
   population group are given). The unit's total is the largest pattern sum (the total row when
   it is complete). The output by dimensions D uses the one pattern that gives every dimension
   of D with the largest sum; what it leaves of the total is an ``unallocated`` remainder.
   Nothing is counted twice and the cells of a unit always add up to its total. Where no row
   feeding the output has a ``total`` disaggregation (fully disaggregated data), every unit has
   one pattern and there is nothing to choose: this step is left out.
3. **cells** (:func:`cells_sql`) - the chosen rows summed per place x output period x slot x D,
   one column per series (``e_<series>``), plus the remainders. The rows are read once.

Every value sum of a cell is written by :func:`value_sums` (one ``SUM(CASE ...)`` per series):
a per-cell sum of another column (a record key) is added beside it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from corridor.contract.dimensions import DISAGGREGATIONS, TOTAL
from corridor.indicators.buckets import Feed, PeriodPlan
from corridor.indicators.order import UNALLOCATED
from corridor.indicators.registry import Series
from corridor.storage.dialect import DUCKDB, Dialect
from corridor.storage.recordkeys import KEY_MODULUS

_BIT: Final = {"sex": 1, "age_band": 2, "population_group": 4}
_PTYPE_ORDER: Final = ("week", "month", "quarter", "year")
UNIT_KEY: Final = ("place_code", "data_element", "bucket", "slot", "unit")
_TYPE_KEY: Final = ("place_code", "data_element", "bucket", "ptype")
#: the most ranks that :func:`latest_sql` picks from by aggregation (two columns each)
MAX_RANK_COLUMNS: Final = 16
#: a ``feeds`` row that no reported period matches (periods are never empty)
_NO_FEED: Final = "('', '', 1, 0, '', '')"
#: the columns that name a cell
CELL_KEY: Final = ("place_code", "bucket", "slot", *DISAGGREGATIONS)


def lit(text: str) -> str:
    """A SQL string literal (standard quoting, the same on DuckDB and PostgreSQL)."""
    return "'" + text.replace("'", "''") + "'"


def in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def col(series: str) -> str:
    """The cell column of a series (``e_hiv_tests``)."""
    return f"e_{series}"


def same(a: str, b: str, keys: Sequence[str]) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in keys)


def kcol(series: str) -> str:
    """The cell-key column of a series (``k_hiv_tests``): the sum of its rows' record keys."""
    return f"k_{series}"


#: the record-key expression beside each value expression (a unit's total and chosen sums)
_KEY_OF: Final = {"u.value": "u.rkey", "total - chosen": "ktotal - kchosen", "total": "ktotal"}
KSUM: Final = f"SUM(rkey) % {KEY_MODULUS}"
#: a row's key in the sums: 0 for a row whose value is 0 (it adds nobody), so that a count has
#: the same key whichever zero rows an output happens to include
_RKEY: Final = "CASE WHEN s.value = 0 THEN 0 ELSE s.record_key END AS rkey"


#: the key of a chosen row: its own, plus the unit's key difference on its first cell
#: (``choice.kfix``, :func:`choice_sql`)
KFIX: Final = "u.rkey + CASE WHEN u.first_cell = 1 THEN c.kfix ELSE 0 END"


def _first_cell(dims: Sequence[str]) -> str:
    """``first_cell``: 1 on the first cell (by ``dims``) of each unit's pattern, 2 on the
    others (a window over the rows of ``pu`` or the sums of ``pre``)."""
    order = ", ".join(dims) if dims else "pattern"
    return (
        f"CASE WHEN ROW_NUMBER() OVER (PARTITION BY {', '.join(UNIT_KEY)}, ptype, pattern "
        f"ORDER BY {order}) = 1 THEN 1 ELSE 2 END AS first_cell"
    )


def value_sums(series: Sequence[str], expr: str, alias: str = "", kexpr: str = "") -> str:
    """``SUM(CASE WHEN data_element = s THEN expr END) AS e_s`` for each series: the value
    columns of a cell (null where the series has no value in it), and beside them ``k_s``, the
    sum of the same rows' record keys mod 2^32 (the cell key of the cell-key method; ``kexpr``:
    another key expression than the one of ``expr``)."""
    a = f"{alias}." if alias else ""
    kexpr = kexpr or _KEY_OF[expr]
    vals = [
        f"SUM(CASE WHEN {a}data_element = {lit(s)} THEN {expr} END) AS {col(s)}" for s in series
    ]
    keys = [
        f"SUM(CASE WHEN {a}data_element = {lit(s)} THEN {kexpr} END) % {KEY_MODULUS} AS {kcol(s)}"
        for s in series
    ]
    return ", ".join(vals + keys)


@dataclass(frozen=True, slots=True)
class StockFeed:
    """A stock or lookback series fed by one reported period (``several``: more than one
    reported period of the series feeds the bucket, so the latest is chosen row by row)."""

    series: Series
    feed: Feed
    several: bool


def feeds_sql(plan: PeriodPlan) -> str:
    """Step ``feeds``: the reported periods that lie inside an output period (those that sum
    elements add), each with its bucket, rank, period type and slot.

    Only those rows, so that the join needs no condition on the list: a planner estimates a
    filtered VALUES list at about one row (PostgreSQL then sorted a million rows for GROUP BY
    where a hash table is cheaper). Without any, one row that no period matches."""
    rows = ", ".join(
        f"({lit(f.period)}, {lit(f.bucket)}, {int(f.inside)}, {f.rank}, {lit(f.period_type)}, "
        f"{lit(f.slot or f.period)})"
        for f in plan.feeds
        if f.inside
    )
    return f"feeds (period, bucket, inside, rnk, ptype, slot) AS (VALUES {rows or _NO_FEED})"


def stock_feeds(
    plan: PeriodPlan, reported: Iterable[tuple[str, str]], series: Sequence[Series]
) -> list[StockFeed]:
    """The feeds of the periods each stock or lookback series is reported for, from ``plan``
    (for a lagged series, its lagged plan). Lookback series take periods inside the bucket
    only; stocks also the shortest longer period that contains it."""
    periods: dict[str, set[str]] = {s.element: set() for s in series}
    for element, period in reported:
        if element in periods:
            periods[element].add(period)
    out: list[StockFeed] = []
    for s in series:
        by_bucket: dict[str, list[Feed]] = {}
        for f in plan.feeds:
            if f.period in periods[s.element] and (f.inside or s.kind == "stock"):
                by_bucket.setdefault(f.bucket, []).append(f)
        for feeds in by_bucket.values():
            out += [StockFeed(s, f, len(feeds) > 1) for f in feeds]
    return out


def _pattern_expr(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return " + ".join(
        f"CASE WHEN {a}{d} <> 'total' THEN {bit} ELSE 0 END" for d, bit in _BIT.items()
    )


def allowed_patterns(dims: Sequence[str]) -> list[int]:
    """Patterns (bit sets of given dimensions) that give every dimension of ``dims``."""
    need = sum(_BIT[d] for d in dims)
    return [p for p in range(8) if p & need == need]


def _pattern_rank(allowed: Sequence[int]) -> str:
    # of two patterns with the same sum, the one with fewer dimensions (the more complete one)
    whens = " ".join(f"WHEN {p} THEN {bin(p).count('1') * 8 + p}" for p in allowed)
    return f"CASE pattern {whens} ELSE 99 END"


def latest_sql(source: str, ranks: Sequence[int], dialect: Dialect) -> str:
    """Step ``stock_ranked``: of the rows of ``source`` (a unit's candidate values, ``rnk``
    0 the first choice), the value and record key of the row with the lowest ``rnk`` of each
    unit, in column ``rn`` 1.

    A unit never has two rows of one rank (one row per place, element, period and
    disaggregation; a rank is a period). Where the dialect's windows sort every row, the choice
    is a hash aggregation: with few ranks, each rank's value summed apart (one row) and the
    lowest rank present taken; with more, the least of the arrays ``[rank, value, record key]``
    (the lowest rank's row, as in :mod:`corridor.indicators.foldcells`). Else ``ROW_NUMBER``
    over the unit by rank. (PostgreSQL planned the window over a year's 17 ranks as a nested
    loop over the feeds for each row of an index scan in place order: the cascade by place for
    2024 on 2M rows took 8-9.5 s, against 0.16 s on DuckDB.)"""
    dims = "sex, age_band, population_group"
    unit = f"place_code, data_element, bucket, {dims}"
    if dialect.sorting_windows and len(ranks) <= MAX_RANK_COLUMNS:

        def pick(column: str) -> str:
            whens = " ".join(f"WHEN {r} THEN SUM({column}) FILTER (WHERE rnk = {r})" for r in ranks)
            return f"CASE MIN(rnk) {whens} END AS {column}"

        return (
            f"stock_ranked AS (SELECT {unit}, {pick('value')}, {pick('rkey')}, 1 AS rn "
            f"FROM ({source}) r GROUP BY {unit})"
        )
    if dialect.sorting_windows:
        least = "MIN(ARRAY[CAST(rnk AS DOUBLE PRECISION), value, CAST(rkey AS DOUBLE PRECISION)])"
        return (
            f"stock_ranked AS (SELECT {unit}, ({least})[2] AS value, "
            f"CAST(({least})[3] AS BIGINT) AS rkey, 1 AS rn FROM ({source}) r GROUP BY {unit})"
        )
    return (
        f"stock_ranked AS (SELECT {unit}, value, rkey, "
        f"ROW_NUMBER() OVER (PARTITION BY {unit} ORDER BY rnk) AS rn FROM ({source}) r)"
    )


def units_sql(
    sum_elements: Sequence[str],
    stock_feed_rows: Sequence[StockFeed],
    offered: Sequence[str],
    dialect: Dialect = DUCKDB,
) -> list[str]:
    """Steps ``sum_units`` (sum elements), ``stock_units`` (stock and lookback series) and
    ``units`` (both): one row per reported value and output period (for stocks, per latest
    value, :func:`latest_sql`). A unit's ``data_element`` is the series key; ``slot`` is the
    reported quarter of a sum element, the output period of a stock. ``offered``: the age
    bands offered testing (rows of an age-limited series outside them are left out)."""
    dims = "sex, age_band, population_group"
    sdims = "s.sex, s.age_band, s.population_group"
    steps: list[str] = []
    kinds: list[str] = []
    if sum_elements:
        steps.append(
            "sum_units AS (SELECT s.place_code, s.data_element, f.bucket, f.slot, "
            f"s.period AS unit, f.ptype, {sdims}, s.value, {_RKEY} FROM services s "
            "JOIN feeds f ON f.period = s.period "
            f"WHERE s.data_element IN {in_list(sum_elements)})"
        )
        kinds.append("sum_units")
    parts: list[str] = []
    unit = (
        "place_code, data_element, bucket, bucket AS slot, bucket AS unit, 'stock' AS ptype, "
        f"{dims}, value, rkey"
    )
    ages = f"s.age_band IN {in_list(offered)}" if offered else "1 = 0"
    for several in (False, True):
        feeds = [sf for sf in stock_feed_rows if sf.several == several]
        if not feeds:
            continue
        name = "smany" if several else "sone"
        rows = ", ".join(
            f"({lit(sf.series.key)}, {lit(sf.series.element)}, {int(sf.series.offered_ages)}, "
            f"{lit(sf.feed.period)}, {lit(sf.feed.bucket)}, {sf.feed.rank})"
            for sf in feeds
        )
        steps.append(
            f"{name} (series, data_element, offered, period, bucket, rnk) AS (VALUES {rows})"
        )
        source = (
            f"SELECT s.place_code, f.series AS data_element, f.bucket, {sdims}, s.value, "
            f"{_RKEY}, f.rnk "
            f"FROM services s JOIN {name} f "
            "ON f.data_element = s.data_element AND f.period = s.period "
            f"WHERE s.data_element IN {in_list(sorted({sf.series.element for sf in feeds}))} "
            f"AND (f.offered = 0 OR {ages})"
        )
        if not several:
            parts.append(f"SELECT {unit} FROM ({source}) r")
            continue
        steps.append(latest_sql(source, sorted({sf.feed.rank for sf in feeds}), dialect))
        parts.append(f"SELECT {unit} FROM stock_ranked WHERE rn = 1")
    if parts:
        steps.append(f"stock_units AS ({' UNION ALL '.join(parts)})")
        kinds.append("stock_units")
    if not kinds:  # nothing reported for a period that feeds the output
        steps.append(
            "units AS (SELECT s.place_code, s.data_element, s.period AS bucket, "
            "s.period AS slot, s.period AS unit, 'stock' AS ptype, "
            f"{sdims}, s.value, {_RKEY} FROM services s WHERE 1 = 0)"
        )
        return steps
    steps.append(f"units AS ({' UNION ALL '.join(f'SELECT * FROM {k}' for k in kinds)})")
    return steps


def choice_sql(dims: Sequence[str], select_period_type: bool, source: str = "pu") -> list[str]:
    """Steps ``pat``, ``ranked`` and ``choice``: the total and chosen pattern of each unit.

    ``source``: the rows whose pattern sums are taken (``pu``, or ``pre`` where the rows are
    already added up per unit, pattern and output cell).
    """
    allowed = allowed_patterns(dims)
    ok = f"pattern IN ({', '.join(map(str, allowed))})"
    key = ", ".join(UNIT_KEY)
    steps = [
        f"pat AS (SELECT {key}, ptype, pattern, SUM(value) AS psum, {KSUM} AS ksum "
        f"FROM {source} GROUP BY {key}, ptype, pattern)",
        f"ranked AS (SELECT {key}, ptype, pattern, psum, ksum, "
        f"MAX(psum) OVER (PARTITION BY {key}) AS total, "
        # the key of the unit's total: that of the pattern with the largest sum (of two with
        # the same sum, the lower pattern: the same whatever the output asks for)
        f"FIRST_VALUE(ksum) OVER (PARTITION BY {key} ORDER BY psum DESC, pattern) AS ktotal, "
        f"ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY CASE WHEN {ok} THEN 0 ELSE 1 END, "
        f"psum DESC, {_pattern_rank(allowed)}) AS rn FROM pat)",
    ]
    chosen = (
        f"SELECT {key}, ptype, total, ktotal, "
        f"CASE WHEN {ok} THEN pattern ELSE -1 END AS pattern, "
        f"CASE WHEN {ok} THEN psum ELSE 0 END AS chosen, "
        f"CASE WHEN {ok} THEN ksum ELSE 0 END AS kchosen, "
        # a chosen pattern that adds up to the total leaves no remainder row to carry the key
        # difference: its first cell carries it (KFIX), so that the unit's cells always add up
        # to the key of its total, whichever pattern an output chooses
        f"CASE WHEN {ok} AND total - psum <= 1e-9 THEN ktotal - ksum ELSE 0 END AS kfix "
        "FROM ranked WHERE rn = 1"
    )
    if not select_period_type:
        steps.append(f"choice AS ({chosen})")
        return steps
    # a place that reports the same element both monthly and quarterly (say) would count twice:
    # per place x element x output period, keep the period type with the largest total
    order = " ".join(f"WHEN {lit(t)} THEN {i}" for i, t in enumerate(_PTYPE_ORDER))
    steps += [
        f"choice_all AS ({chosen})",
        "typed AS (SELECT place_code, data_element, bucket, ptype, SUM(total) AS ttotal, "
        f"ROW_NUMBER() OVER (PARTITION BY place_code, data_element, bucket "
        f"ORDER BY SUM(total) DESC, CASE ptype {order} ELSE 9 END) AS rn "
        "FROM choice_all GROUP BY place_code, data_element, bucket, ptype)",
        "best AS (SELECT place_code, data_element, bucket, ptype FROM typed WHERE rn = 1)",
        f"choice AS (SELECT c.* FROM choice_all c JOIN best t ON {same('t', 'c', _TYPE_KEY)})",
    ]
    return steps


def cells_sql(
    dims: Sequence[str], series: Sequence[str], mixed: bool, uniform: bool = False
) -> list[str]:
    """Steps ``pat`` ... ``choice`` (:func:`choice_sql`), ``chosen``, ``rest`` and ``cells``: one
    row per place x output period x slot x ``dims`` with one column per series (``e_hiv_tests``
    ...; null where the series has no value).

    ``chosen`` adds the rows of each unit's chosen pattern; ``rest`` is the ``unallocated``
    remainder of each unit (its total minus the chosen pattern's sum). The rows are read once:

    * no dimension: each unit counts its total (the pattern sums are taken from the rows);
    * some dimensions: the rows are first added up per unit, pattern and output cell (``pre``);
      the pattern sums and the chosen cells both come from ``pre``;
    * all three dimensions: one pattern gives them all, so it is the choice wherever it is
      reported and its rows are added up without the choices.

    ``uniform``: every row that feeds the output gives all three dimensions (no ``total`` in
    sex, age band or population group). Then each unit has one pattern, its total is the sum of
    its rows and that pattern is chosen for any ``dims``: the cells are the rows added up, with
    no remainder, and no pattern sums are needed (unless the period types are mixed).
    """
    allowed = allowed_patterns(dims)
    cols = [f"u.{d}" if d in dims else f"'{TOTAL}'" for d in DISAGGREGATIONS]
    rest = [f"'{UNALLOCATED}'" if d in dims else f"'{TOTAL}'" for d in DISAGGREGATIONS]
    select = ", ".join(f"{c} AS {d}" for c, d in zip(cols, DISAGGREGATIONS, strict=True))
    select_rest = ", ".join(f"{c} AS {d}" for c, d in zip(rest, DISAGGREGATIONS, strict=True))
    group = ", ".join(["u.place_code", "u.bucket", "u.slot", *(f"u.{d}" for d in dims)])
    if uniform and not mixed:
        return [
            f"cells AS (SELECT u.place_code, u.bucket, u.slot, {select}, "
            f"{value_sums(series, 'u.value', 'u')} FROM units u GROUP BY {group})"
        ]
    pu = f"pu AS (SELECT u.*, {_pattern_expr('u')} AS pattern FROM units u)"
    rest_step = (
        f"rest AS (SELECT place_code, bucket, slot, {select_rest}, "
        f"{value_sums(series, 'total - chosen')} FROM choice "
        "WHERE total - chosen > 1e-9 OR pattern < 0 GROUP BY place_code, bucket, slot)"
    )
    if not dims:
        return [
            pu,
            *choice_sql(dims, mixed),
            f"cells AS (SELECT place_code, bucket, slot, {select_rest}, "
            f"{value_sums(series, 'total')} FROM choice GROUP BY place_code, bucket, slot)",
        ]
    if len(allowed) == 1:
        join = f" JOIN best t ON {same('t', 'u', _TYPE_KEY)}" if mixed else ""
        chosen = (
            f"chosen AS (SELECT u.place_code, u.bucket, u.slot, {select}, "
            f"{value_sums(series, 'u.value', 'u', KFIX)} "
            f"FROM (SELECT pu.*, {_first_cell(dims)} FROM pu WHERE pattern = {allowed[0]}) u "
            f"JOIN choice c ON {same('c', 'u', (*UNIT_KEY, 'pattern'))}{join} GROUP BY {group})"
        )
        return [
            pu,
            *choice_sql(dims, mixed),
            chosen,
            rest_step,
            "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)",
        ]
    # first add up the rows within each unit, pattern and output cell, then join the choices
    pre_keys = [*UNIT_KEY, "ptype", "pattern", *dims]
    return [
        pu,
        f"pre AS (SELECT {', '.join(pre_keys)}, SUM(value) AS value, {KSUM} AS rkey, "
        f"{_first_cell(dims)} FROM pu GROUP BY {', '.join(pre_keys)})",
        *choice_sql(dims, mixed, "pre"),
        f"chosen AS (SELECT u.place_code, u.bucket, u.slot, {select}, "
        f"{value_sums(series, 'u.value', 'u', KFIX)} "
        f"FROM pre u JOIN choice c ON {same('c', 'u', (*UNIT_KEY, 'pattern'))} "
        f"GROUP BY {group})",
        rest_step,
        "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)",
    ]
