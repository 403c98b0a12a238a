"""Aggregation of service values into indicator numerators and denominators (docs/indicators.md).

The work is one SQL statement, written once in portable SQL (DuckDB and PostgreSQL), built from
named steps, and one pass in Arrow:

1. **units** - each reported value joins the output period it feeds. Sum elements keep each
   reported period as its own unit; stock elements keep, per place x element x sex x age band x
   population group, only the latest value feeding the output period, and that snapshot is the unit.
   Where an element has a single reported period feeding an output period, each of its rows is
   already the latest of its disaggregation and no ranking is needed.
2. **choice** - within a unit (place x element x reported period), rows may repeat the same count
   at several levels of disaggregation: a total row, rows by sex, rows by sex x age band x
   population group... Each level is a *pattern* (which of sex / age band / population group are
   given). The unit's total is the largest pattern sum (the total row when it is complete). The
   output by dimensions D uses the one pattern that gives every dimension of D with the largest
   sum; what it leaves of the total is an ``unallocated`` remainder. Nothing is counted twice and
   the cells of a unit always add up to its total. Where no row feeding the output has a
   ``total`` disaggregation (fully disaggregated data), every unit has one pattern and there is
   nothing to choose: this step is left out.
3. **cells** - the chosen rows summed per place x output period x D, one column per element,
   plus the remainders. The rows are read once.
4. **grouped** - cells summed over the places of each place group (and, with totals, the margins),
   returned in reading order (period, places, code lists).
5. **pivot** (Arrow) - numerator, denominator, value, target and gap of each indicator, laid out
   from the sorted cells in registry order, sharing the cells' columns rather than copying them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import combinations
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.errors import QueryError
from corridor.indicators.buckets import Feed, PeriodPlan, parse_request, plan_periods
from corridor.indicators.order import code_rank, lookup, text_order
from corridor.indicators.places import (
    ALL,
    PLACE_COLUMNS,
    place_code_dim,
    place_map,
    place_names,
)
from corridor.indicators.registry import (
    DIMENSIONS,
    DISAGGREGATIONS,
    PLACE_DIMS,
    Indicator,
    resolve_ids,
)
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS

UNALLOCATED: Final = "unallocated"
# record keys are whole numbers mod KEY_MODULUS; a cell's key is the sum of its rows' keys
# (corridor.storage.recordkeys); every SUM of keys is reduced mod it so that none overflows
_BIT: Final = {"sex": 1, "age_band": 2, "population_group": 4}
_PTYPE_ORDER: Final = ("week", "month", "quarter", "year")
_UNIT_KEY: Final = ("place_code", "data_element", "bucket", "unit")

OUTPUT_SCHEMA_TAIL: Final = (
    ("sex", pa.string()),
    ("age_band", pa.string()),
    ("population_group", pa.string()),
    ("numerator", pa.float64()),
    ("denominator", pa.float64()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    ("target", pa.float64()),
    ("gap", pa.float64()),
    ("numerator_element", pa.string()),
    ("denominator_element", pa.string()),
    # the cell keys of the counts (sum of their rows' record keys mod 2^32): read by publish()
    ("numerator_key", pa.int64()),
    ("denominator_key", pa.int64()),
)


def lit(text: str) -> str:
    """A SQL string literal (standard quoting, the same on DuckDB and PostgreSQL)."""
    return "'" + text.replace("'", "''") + "'"


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def parse_by(by: Sequence[str]) -> list[str]:
    """Validate and order ``by`` dimensions; QueryError names the unknown one."""
    out: list[str] = []
    for raw in by:
        d = raw.strip().lower()
        if not d:
            continue
        if d not in DIMENSIONS:
            raise QueryError(f"unknown dimension {raw!r}; expected one of {', '.join(DIMENSIONS)}")
        if d not in out:
            out.append(d)
    return [d for d in DIMENSIONS if d in out]


# ---- SQL builders ---------------------------------------------------------------------------
def feeds_sql(plan: PeriodPlan) -> str:
    rows = ", ".join(
        f"({lit(f.period)}, {lit(f.bucket)}, {int(f.inside)}, {f.rank}, {lit(f.period_type)})"
        for f in plan.feeds
    )
    return f"feeds (period, bucket, inside, rnk, ptype) AS (VALUES {rows})"


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


def stock_feeds(
    plan: PeriodPlan, reported: Iterable[tuple[str, str]], stock_elements: Sequence[str]
) -> list[tuple[str, Feed, bool]]:
    """(element, feed, several): the feeds of the periods each stock element is reported for.

    ``several`` says whether the element has more than one reported period feeding the bucket:
    only then can a place have two candidate values and the latest must be chosen row by row.
    Where one period feeds the bucket, each of its rows is the latest of its own disaggregation
    (services has one row per period, place, element, sex, age band and population group).
    """
    periods: dict[str, set[str]] = {e: set() for e in stock_elements}
    for element, period in reported:
        if element in periods:
            periods[element].add(period)
    out: list[tuple[str, Feed, bool]] = []
    for element in stock_elements:
        by_bucket: dict[str, list[Feed]] = {}
        for f in plan.feeds:
            if f.period in periods[element]:
                by_bucket.setdefault(f.bucket, []).append(f)
        for feeds in by_bucket.values():
            out += [(element, f, len(feeds) > 1) for f in feeds]
    return out


def units_sql(
    sum_elements: Sequence[str],
    stock_elements: Sequence[str],
    stock_feed_rows: Sequence[tuple[str, Feed, bool]],
) -> list[str]:
    """Steps ``sum_units`` (sum elements), ``stock_units`` (stock elements) and ``units`` (both):
    one row per reported value and output period (for stocks, per latest value)."""
    dims = "sex, age_band, population_group"
    sdims = "s.sex, s.age_band, s.population_group"
    steps: list[str] = []
    kinds: list[str] = []
    if sum_elements:
        steps.append(
            "sum_units AS (SELECT s.place_code, s.data_element, f.bucket, s.period AS unit, "
            f"f.ptype, {sdims}, s.value, s.record_key AS rkey FROM services s "
            "JOIN feeds f ON f.period = s.period AND f.inside = 1 "
            f"WHERE s.data_element IN {_in_list(sum_elements)})"
        )
        kinds.append("sum_units")
    parts: list[str] = []
    unit = (
        f"place_code, data_element, bucket, bucket AS unit, 'stock' AS ptype, {dims}, value, rkey"
    )
    for several in (False, True):
        feeds = [(e, f) for e, f, n in stock_feed_rows if n == several and e in stock_elements]
        if not feeds:
            continue
        name = "smany" if several else "sone"
        rows = ", ".join(
            f"({lit(e)}, {lit(f.period)}, {lit(f.bucket)}, {f.rank})" for e, f in feeds
        )
        steps.append(f"{name} (data_element, period, bucket, rnk) AS (VALUES {rows})")
        source = (
            f"SELECT s.place_code, s.data_element, f.bucket, {sdims}, s.value, "
            "s.record_key AS rkey, f.rnk "
            f"FROM services s JOIN {name} f "
            "ON f.data_element = s.data_element AND f.period = s.period "
            f"WHERE s.data_element IN {_in_list(sorted({e for e, _f in feeds}))}"
        )
        if not several:
            parts.append(f"SELECT {unit} FROM ({source}) r")
            continue
        steps.append(
            f"stock_ranked AS (SELECT place_code, data_element, bucket, {dims}, value, rkey, "
            f"ROW_NUMBER() OVER (PARTITION BY place_code, data_element, bucket, {dims} "
            f"ORDER BY rnk) AS rn FROM ({source}) r)"
        )
        parts.append(f"SELECT {unit} FROM stock_ranked WHERE rn = 1")
    if stock_elements and not parts:  # none reported for a period that feeds the output
        parts.append(
            "SELECT s.place_code, s.data_element, s.period AS bucket, s.period AS unit, "
            f"'stock' AS ptype, {sdims}, s.value, s.record_key AS rkey FROM services s WHERE 1 = 0"
        )
    if parts:
        steps.append(f"stock_units AS ({' UNION ALL '.join(parts)})")
        kinds.append("stock_units")
    steps.append(f"units AS ({' UNION ALL '.join(f'SELECT * FROM {k}' for k in kinds)})")
    return steps


def choice_sql(dims: Sequence[str], select_period_type: bool, source: str = "pu") -> list[str]:
    """Steps ``pat``, ``ranked`` and ``choice``: the total and chosen pattern of each unit.

    ``source``: the rows whose pattern sums are taken (``pu``, or ``pre`` where the rows are
    already added up per unit, pattern and output cell).
    """
    allowed = allowed_patterns(dims)
    ok = f"pattern IN ({', '.join(map(str, allowed))})"
    key = ", ".join(_UNIT_KEY)
    steps = [
        f"pat AS (SELECT {key}, ptype, pattern, SUM(value) AS psum, {_KSUM} AS ksum "
        f"FROM {source} GROUP BY {key}, ptype, pattern)",
        f"ranked AS (SELECT {key}, ptype, pattern, psum, ksum, "
        f"MAX(psum) OVER (PARTITION BY {key}) AS total, "
        # the key of the unit's total: that of the pattern with the largest sum (of two
        # with the same sum, the lower pattern: the same whatever the output asks for)
        f"FIRST_VALUE(ksum) OVER (PARTITION BY {key} ORDER BY psum DESC, pattern) AS ktotal, "
        f"ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY CASE WHEN {ok} THEN 0 ELSE 1 END, "
        f"psum DESC, {_pattern_rank(allowed)}) AS rn FROM pat)",
    ]
    chosen = (
        f"SELECT {key}, ptype, total, ktotal, "
        f"CASE WHEN {ok} THEN pattern ELSE -1 END AS pattern, "
        f"CASE WHEN {ok} THEN psum ELSE 0 END AS chosen, "
        f"CASE WHEN {ok} THEN ksum ELSE 0 END AS kchosen FROM ranked WHERE rn = 1"
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
        f"choice AS (SELECT c.* FROM choice_all c JOIN best t ON {_same('t', 'c', _TYPE_KEY)})",
    ]
    return steps


_TYPE_KEY: Final = ("place_code", "data_element", "bucket", "ptype")


def _same(a: str, b: str, keys: Sequence[str]) -> str:
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in keys)


def _col(element: str) -> str:
    return f"e_{element}"


def _kcol(element: str) -> str:
    """The column of an element's cell key (beside its value column)."""
    return f"k_{element}"


_KSUM: Final = f"SUM(rkey) % {KEY_MODULUS}"


def cells_sql(
    dims: Sequence[str], elements: Sequence[str], mixed: bool, uniform: bool = False
) -> list[str]:
    """Steps ``pat`` ... ``choice`` (:func:`choice_sql`), ``chosen``, ``rest`` and ``cells``: one
    row per place x output period x ``dims`` with one column per element (``e_hiv_tests`` ...;
    null where the element has no value).

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
    group = ", ".join(["u.place_code", "u.bucket", *(f"u.{d}" for d in dims)])

    def sums(expr: str, alias: str = "", kexpr: str = "") -> str:
        a = f"{alias}." if alias else ""
        vals = [
            f"SUM(CASE WHEN {a}data_element = {lit(e)} THEN {expr} END) AS {_col(e)}"
            for e in elements
        ]
        keys = [
            f"SUM(CASE WHEN {a}data_element = {lit(e)} THEN {kexpr} END) % {KEY_MODULUS} "
            f"AS {_kcol(e)}"
            for e in elements
        ]
        return ", ".join(vals + keys)

    if uniform and not mixed:
        return _uniform_cells_sql(dims, elements, select, group)
    pu = f"pu AS (SELECT u.*, {_pattern_expr('u')} AS pattern FROM units u)"
    rest_step = (
        f"rest AS (SELECT place_code, bucket, {select_rest}, "
        f"{sums('total - chosen', '', 'ktotal - kchosen')} "
        "FROM choice WHERE total - chosen > 1e-9 OR pattern < 0 GROUP BY place_code, bucket)"
    )
    if not dims:
        return [
            pu,
            *choice_sql(dims, mixed),
            f"cells AS (SELECT place_code, bucket, {select_rest}, {sums('total', '', 'ktotal')} "
            "FROM choice GROUP BY place_code, bucket)",
        ]
    if len(allowed) == 1:
        join = f" JOIN best t ON {_same('t', 'u', _TYPE_KEY)}" if mixed else ""
        chosen = (
            f"chosen AS (SELECT u.place_code, u.bucket, {select}, {sums('u.value', 'u', 'u.rkey')} "
            f"FROM pu u{join} WHERE u.pattern = {allowed[0]} GROUP BY {group})"
        )
        return [
            pu,
            *choice_sql(dims, mixed),
            chosen,
            rest_step,
            "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)",
        ]
    # first add up the rows within each unit, pattern and output cell, then join the choices
    pre_keys = [*_UNIT_KEY, "ptype", "pattern", *dims]
    return [
        pu,
        f"pre AS (SELECT {', '.join(pre_keys)}, SUM(value) AS value, {_KSUM} AS rkey FROM pu "
        f"GROUP BY {', '.join(pre_keys)})",
        *choice_sql(dims, mixed, "pre"),
        f"chosen AS (SELECT u.place_code, u.bucket, {select}, {sums('u.value', 'u', 'u.rkey')} "
        f"FROM pre u JOIN choice c ON {_same('c', 'u', (*_UNIT_KEY, 'pattern'))} "
        f"GROUP BY {group})",
        rest_step,
        "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)",
    ]


def _uniform_cells_sql(
    dims: Sequence[str], elements: Sequence[str], select: str, group: str
) -> list[str]:
    """``cells`` when every row gives all three dimensions: the rows added up. Sum and stock
    elements are added up apart (each row updates only the sums of its own kind) and the two
    are joined on the output cell."""
    kinds = [
        (k, [e for e in elements if DATA_ELEMENTS[e] == kind])
        for k, kind in (("sum_units", "sum"), ("stock_units", "stock"))
    ]
    kinds = [(k, els) for k, els in kinds if els]

    def sums(els: Sequence[str]) -> str:
        vals = [
            f"SUM(CASE WHEN u.data_element = {lit(e)} THEN u.value END) AS {_col(e)}" for e in els
        ]
        keys = [
            f"SUM(CASE WHEN u.data_element = {lit(e)} THEN u.rkey END) % {KEY_MODULUS} "
            f"AS {_kcol(e)}"
            for e in els
        ]
        return ", ".join(vals + keys)

    if len(kinds) < 2:
        return [
            f"cells AS (SELECT u.place_code, u.bucket, {select}, {sums(elements)} "
            f"FROM units u GROUP BY {group})"
        ]
    steps = [
        f"c_{k} AS (SELECT u.place_code, u.bucket, {select}, {sums(els)} "
        f"FROM {k} u GROUP BY {group})"
        for k, els in kinds
    ]
    keys = ["place_code", "bucket", *DISAGGREGATIONS]
    on = ["place_code", "bucket", *dims]
    own = {e: "a" if DATA_ELEMENTS[e] == "sum" else "b" for e in elements}
    cols = [f"COALESCE(a.{k}, b.{k}) AS {k}" for k in keys]
    cols += [f"{own[e]}.{_col(e)}" for e in elements]
    cols += [f"{own[e]}.{_kcol(e)}" for e in elements]
    steps.append(
        f"cells AS (SELECT {', '.join(cols)} FROM c_sum_units a FULL JOIN c_stock_units b "
        f"ON {_same('a', 'b', on)})"
    )
    return steps


def grouped_sql(
    place_cols: Sequence[str],
    by_place: bool,
    dims: Sequence[str],
    elements: Sequence[str],
    map_table: str | None,
    totals: bool,
) -> list[str]:
    """Step ``grouped``: cells summed per place group (and the margins, with ``totals``).

    ``place_cols`` are the output columns besides place_code (country, admin1, corridor,
    place_type); ``by_place`` says whether place_code names groups (else it is ``all``). Margins
    over places are taken over the additive groupings only: corridors overlap, so each corridor
    keeps its own rows and there is no margin across corridors.
    """
    values = ", ".join([*(_col(e) for e in elements), *(_kcol(e) for e in elements)])
    picked = ", ".join([*(f"c.{_col(e)}" for e in elements), *(f"c.{_kcol(e)}" for e in elements)])
    if map_table is None:
        code = "c.place_code" if by_place else f"'{ALL}'"
        source = (
            f"SELECT c.bucket, {code} AS place_code, c.sex, c.age_band, c.population_group, "
            f"{picked} FROM cells c"
        )
    else:
        extra = "".join(f"COALESCE(g.{c}, 'unknown') AS {c}, " for c in place_cols)
        source = (
            f"SELECT c.bucket, COALESCE(g.g_code, 'unknown') AS place_code, {extra}"
            f"c.sex, c.age_band, c.population_group, "
            f"{picked} "
            f"FROM cells c LEFT JOIN {map_table} g ON g.place_code = c.place_code"
        )
    fixed = ["bucket"]
    if "corridor" in place_cols:
        fixed.append("corridor")
    place_set = ["place_code", *(c for c in place_cols if c != "corridor")]
    additive_places = by_place or any(c != "corridor" for c in place_cols)
    every = [*fixed, *place_set, *DISAGGREGATIONS]
    sums = ", ".join(
        [
            *(f"SUM({_col(e)}) AS {_col(e)}" for e in elements),
            *(f"SUM({_kcol(e)}) % {KEY_MODULUS} AS {_kcol(e)}" for e in elements),
        ]
    )
    if not totals or (not additive_places and not dims):
        if map_table is None and by_place:  # cells are already one row per place
            return [
                f"grouped AS (SELECT bucket, place_code, {', '.join(DISAGGREGATIONS)}, "
                f"{values} FROM cells)"
            ]
        group = ", ".join(every)
        return [
            f"placed AS ({source})",
            f"grouped AS (SELECT {group}, {sums} FROM placed GROUP BY {group})",
        ]
    constant = [d for d in DISAGGREGATIONS if d not in dims]
    base = [*fixed, *constant] + ([] if additive_places else place_set)
    members: list[list[str]] = [[d] for d in dims]
    if additive_places:
        members.insert(0, place_set)
    sets: list[str] = []
    for k in range(len(members), -1, -1):
        for combo in combinations(members, k):
            cols = base + [c for m in combo for c in m]
            sets.append("(" + ", ".join(cols) + ")")
    return [
        f"placed AS ({source})",
        f"grouped AS (SELECT {', '.join(every)}, {sums} FROM placed "
        f"GROUP BY GROUPING SETS ({', '.join(sets)}))",
    ]


def cells_out_sql(
    place_cols: Sequence[str],
    elements: Sequence[str],
    buckets: Sequence[str],
    dialect: str,
    ordered: bool = True,
) -> str:
    """The final SELECT: one row per output cell (period x places x disaggregations) with one
    column per element, in reading order (period, places with ``all`` last, code-list order).

    The indicators are laid out from these rows in Arrow (:func:`pivot`): each indicator takes
    the cells where its numerator or denominator has a value, in this order, so sorting the cells
    once sorts every indicator.
    """
    keys = ["place_code", *place_cols]
    select = ", ".join(
        ["bucket AS period"]
        + [f"COALESCE({c}, '{ALL}') AS {c}" for c in keys]
        + [f"COALESCE({d}, '{TOTAL}') AS {d}" for d in DISAGGREGATIONS]
        + [_col(e) for e in elements]
        + [f"CAST({_kcol(e)} AS BIGINT) AS {_kcol(e)}" for e in elements]
    )
    sql = f"SELECT {select} FROM grouped"
    if not ordered:
        return sql
    period_rank = " ".join(f"WHEN {lit(b)} THEN {k}" for k, b in enumerate(buckets))
    order = [f"CASE r.period {period_rank} ELSE {len(buckets)} END"]
    for c in ("corridor", "country", "admin1", "place_type", "place_code"):
        if c in keys:
            order += [f"CASE WHEN r.{c} = '{ALL}' THEN 1 ELSE 0 END", text_order(f"r.{c}", dialect)]
    for d in DISAGGREGATIONS:
        order.append(code_rank(f"r.{d}", d))
        if d == "age_band":  # a workspace may declare more bands; sex and groups are closed
            order.append(text_order(f"r.{d}", dialect))
    return f"SELECT r.* FROM ({sql}) r ORDER BY {', '.join(order)}"


def _constant(text: str, n: int) -> pa.Array | pa.ChunkedArray:
    """A string array of ``n`` times ``text``, built from its buffers (pa.repeat is slow);
    chunked where it would pass the 2 GiB of one string array."""
    data = text.encode()
    per_chunk = (2**31 - 1) // max(1, len(data))
    if n > per_chunk:
        sizes = [min(per_chunk, n - i) for i in range(0, n, per_chunk)]
        return pa.chunked_array([_constant(text, k) for k in sizes], pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


_MAX_RUNS: Final = 64


def _runs(keep: Any, n: int) -> list[tuple[int, int]] | None:
    """(offset, length) of the runs of kept rows, when there are few (None: many)."""
    drop = pc.indices_nonzero(pc.invert(keep))
    if len(drop) >= _MAX_RUNS:
        return None
    runs, start = [], 0
    for d in drop.to_pylist():
        if d > start:
            runs.append((start, d - start))
        start = d + 1
    if start < n:
        runs.append((start, n - start))
    return runs


def pivot(
    cells: pa.Table,
    indicators: Sequence[Indicator],
    targets: Mapping[str, float | None],
    schema: pa.Schema,
    names: Mapping[str, str],
) -> pa.Table:
    """Numerator, denominator, value, target and gap of each indicator from the cells, in
    registry order: each indicator has the cells (in their order) where its numerator or
    denominator has a value. ``value = scale * numerator / denominator`` where the denominator is
    above zero; ``gap = target - value``; ``place_name`` from ``names``.

    The columns of the cells are shared, not copied, wherever an indicator keeps every cell or
    all but a few (then it takes slices of them)."""
    n = cells.num_rows
    cols: dict[str, list[Any]] = {f.name: [] for f in schema}
    made: dict[object, pa.Array | pa.ChunkedArray] = {}

    def constant(v: str | float | None) -> pa.Array | pa.ChunkedArray:
        """The same value for every cell (each array is made once and shared)."""
        if v not in made:
            if isinstance(v, str):
                made[v] = _constant(v, n)
            elif v is None:
                made[v] = pa.nulls(n, pa.float64())
            else:
                made[v] = pa.repeat(pa.scalar(float(v), pa.float64()), n)
        return made[v]

    shared = [f.name for f in schema if f.name in cells.column_names]
    base: dict[str, Any] = {c: pc.cast(cells.column(c), pa.string()) for c in shared}
    base["place_name"] = lookup(cells.column("place_code"), names, pa.string())
    for ind in indicators:
        num = pc.cast(cells.column(_col(ind.numerator)), pa.float64())
        den = pc.cast(cells.column(_col(ind.denominator)), pa.float64())
        value = pc.if_else(
            pc.greater(den, 0.0),
            pc.divide(pc.multiply(num, ind.scale), den),
            pa.scalar(None, pa.float64()),
        )
        target = targets.get(ind.id, ind.target)
        gap = (
            constant(None)
            if target is None
            else pc.subtract(pa.scalar(float(target), pa.float64()), value)
        )
        row = dict(base)
        row.update(
            indicator=constant(ind.id),
            numerator=num,
            denominator=den,
            value=value,
            unit=constant(ind.unit),
            target=constant(target),
            gap=gap,
            numerator_element=constant(ind.numerator),
            denominator_element=constant(ind.denominator),
            numerator_key=_keys(cells, ind.numerator),
            denominator_key=_keys(cells, ind.denominator),
        )
        keep = pc.or_(pc.is_valid(num), pc.is_valid(den))
        m = pc.sum(keep).as_py() or 0
        if m == 0:
            continue
        runs = [(0, n)] if m == n else _runs(keep, n)
        for c, v in row.items():
            if runs is None:
                cols[c].append(pc.filter(v, keep))
            else:
                cols[c] += [v.slice(offset, length) for offset, length in runs]
    arrays = []
    for f in schema:
        chunks = [c for v in cols[f.name] for c in _chunks(v)]
        arrays.append(pa.chunked_array(chunks, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _keys(cells: pa.Table, element: str) -> pa.Array:
    """An element's cell keys in [0, KEY_MODULUS) (the SQL leaves differences unreduced)."""
    name = _kcol(element)
    if name not in cells.column_names:
        return pa.nulls(cells.num_rows, pa.int64())
    col = cells.column(name)
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    raw = pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy(zero_copy_only=False)
    return pa.array(np.mod(raw, KEY_MODULUS), pa.int64(), mask=~valid)


def _chunks(v: Any) -> list[pa.Array]:
    return [c for c in v.chunks if len(c)] if isinstance(v, pa.ChunkedArray) else [v]


def mixed_period_types(plan: PeriodPlan, sum_periods: set[str]) -> bool:
    """Whether some output period is fed by sum-element periods of more than one type."""
    types: dict[str, set[str]] = {}
    for f in plan.feeds:
        if f.inside and f.period in sum_periods:
            types.setdefault(f.bucket, set()).add(f.period_type)
    return any(len(t) > 1 for t in types.values())


def partial_units(plan: PeriodPlan, partial: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (element, unit) pairs whose units may have a row that does not give all three
    dimensions, from the (element, period) pairs that have such rows: a sum element's unit is
    its reported period (when inside an output period), a stock element's unit is the output
    period its periods feed. Rows of periods that feed no output period do not count."""
    elements: dict[str, list[str]] = {}
    for element, period in partial:
        elements.setdefault(period, []).append(element)
    out: set[tuple[str, str]] = set()
    for f in plan.feeds:
        for element in elements.get(f.period, ()):
            if DATA_ELEMENTS[element] == "stock":
                out.add((element, f.bucket))
            elif f.inside:
                out.add((element, f.period))
    return sorted(out)


def indicators_sql(
    indicators: Sequence[Indicator],
    plan: PeriodPlan,
    reported: Iterable[tuple[str, str]],
    dims: Sequence[str],
    place_cols: Sequence[str],
    by_place: bool,
    map_table: str | None,
    totals: bool,
    mixed: bool = True,
    dialect: str = "duckdb",
    ordered: bool = True,
    uniform: bool = False,
) -> str:
    """The whole computation as one statement (see the module docstring).

    ``reported``: the (data element, period) pairs present in services. ``mixed``: some place
    may report a sum element for periods of two types (months and quarters) feeding one output
    period; then only the type with the largest total counts. ``uniform``: no row that feeds
    the output has ``total`` in a disaggregation (see :func:`cells_sql`).
    """
    elements = sorted({e for i in indicators for e in i.elements})
    sums = [e for e in elements if DATA_ELEMENTS[e] == "sum"]
    stocks = [e for e in elements if DATA_ELEMENTS[e] == "stock"]
    mixed = mixed and bool(sums)
    steps = [
        feeds_sql(plan),
        *units_sql(sums, stocks, stock_feeds(plan, reported, stocks)),
        *cells_sql(dims, elements, mixed, uniform),
        *grouped_sql(place_cols, by_place, dims, elements, map_table, totals),
    ]
    final = cells_out_sql(place_cols, elements, [b.label for b in plan.buckets], dialect, ordered)
    return "WITH " + ",\n".join(steps) + "\n" + final


# ---- the API --------------------------------------------------------------------------------
@contextmanager
def _temp_table(engine: Engine, data: pa.Table) -> Iterator[str]:
    name = f"corridor_tmp_{uuid.uuid4().hex[:12]}"
    cols = ", ".join(f"{c} TEXT" for c in data.column_names)
    engine.execute(f"CREATE TEMPORARY TABLE {name} ({cols})", step="create place groups")
    try:
        engine.insert_arrow(name, data, step="load place groups")
        yield name
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {name}", step="drop place groups")


def output_schema(place_cols: Sequence[str]) -> pa.Schema:
    fields = [("indicator", pa.string()), ("period", pa.string()), ("place_code", pa.string())]
    fields += [("place_name", pa.string())]
    fields += [(c, pa.string()) for c in place_cols]
    fields += list(OUTPUT_SCHEMA_TAIL)
    return pa.schema(fields)


def compute_indicators(
    engine: Engine,
    ids: Sequence[str],
    by: Sequence[str] = (),
    period: str | None = None,
    *,
    totals: bool = False,
    targets: Mapping[str, float] | None = None,
    ordered: bool = True,
) -> pa.Table:
    """Indicators by the ``by`` dimensions over ``period``: UNSUPPRESSED (pass it to suppress()).

    ``ids``: indicator ids (or ``cascade`` / ``all``). ``by``: any of place, country, admin1,
    corridor, place_type, sex, age_band, population_group, period. ``period``: ``2024``,
    ``2024Q2``, ``2024-05`` or a range ``2023Q1:2024Q4`` (None: all data). With ``period`` in
    ``by``, one row per reporting period at the granularity of ``period`` (quarters by default).
    ``totals`` adds the margins: ``total`` rows over each grouped disaggregation and an ``all``
    row over places (not over corridors). ``targets`` overrides default targets by indicator id.
    ``ordered``: rows in reading order (registry order, period, place, code lists); False skips
    the sort, for large tables read by code.

    Columns: indicator, period, place_code, place_name, the grouped place columns (country,
    admin1, corridor, place_type), sex, age_band, population_group, numerator, denominator,
    value (percent), unit, target, gap (target - value, percentage points), numerator_element,
    denominator_element. Dimensions not grouped are ``total``; places not grouped ``all``.
    """
    indicators = resolve_ids(ids)
    dims_all = parse_by(by)
    for ind in indicators:
        bad = [d for d in dims_all if d not in ind.disaggregations]
        if bad:
            raise QueryError(f"indicator {ind.id} cannot be disaggregated by {', '.join(bad)}")
    overrides = {resolve_ids([k])[0].id: float(v) for k, v in (targets or {}).items()}
    request = parse_request(period)
    dims = [d for d in DISAGGREGATIONS if d in dims_all]
    place_dims = [d for d in PLACE_DIMS if d in dims_all]
    place_cols = [PLACE_COLUMNS[d] for d in PLACE_DIMS if d in dims_all and d in PLACE_COLUMNS]
    trend = "period" in dims_all
    elements = sorted({e for i in indicators for e in i.elements})
    partial = " OR ".join(f"{d} = '{TOTAL}'" for d in DISAGGREGATIONS)
    found = engine.query_rows(
        f"SELECT data_element, period, MAX(CASE WHEN {partial} THEN 1 ELSE 0 END) "
        f"FROM services WHERE data_element IN {_in_list(elements)} GROUP BY data_element, period",
        step="reported periods",
    )
    reported = [(r[0], r[1]) for r in found]
    partial_rows = {(r[0], r[1]) for r in found if r[2]}
    plan = plan_periods({r[1] for r in reported}, request, trend)
    sum_periods = {r[1] for r in reported if DATA_ELEMENTS[r[0]] == "sum"}
    mixed = mixed_period_types(plan, sum_periods)
    schema = output_schema(place_cols)
    if not plan.feeds:
        return _finish(schema.empty_table(), dims_all, totals)
    code_dim = place_code_dim(place_dims)
    by_place = code_dim is not None

    def run(map_table: str | None, cols: list[str]) -> pa.Table:
        sql = indicators_sql(
            indicators,
            plan,
            reported,
            dims,
            cols,
            by_place,
            map_table,
            totals,
            mixed,
            engine.name,
            ordered,
            not partial_units(plan, partial_rows),
        )
        return engine.query(sql, step="compute indicators")

    if any(d != "place" for d in place_dims):
        with _temp_table(engine, place_map(engine, place_dims)) as name:
            cells = run(name, place_cols)
    else:
        cells = run(None, [])
    names = place_names(engine) if by_place else {}
    table = pivot(cells, indicators, overrides, schema, names)
    return _finish(table, dims_all, totals)


def _finish(table: pa.Table, by: Sequence[str], totals: bool) -> pa.Table:
    """Attach the metadata."""
    meta = {
        "corridor.by": json.dumps(list(by)),
        "corridor.totals": json.dumps(totals),
        "corridor.suppressed": "false",
    }
    return table.replace_schema_metadata(meta)
