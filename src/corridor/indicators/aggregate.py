"""Aggregation of service values into indicator numerators and denominators (docs/indicators.md).

The work is one SQL statement, written once in portable SQL (DuckDB and PostgreSQL), built from
named steps:

1. **units** - each reported value joins the output period it feeds. Sum elements keep each
   reported period as its own unit; stock elements keep, per place x element x sex x age band x
   population group, only the latest value feeding the output period, and that snapshot is the unit.
2. **choice** - within a unit (place x element x reported period), rows may repeat the same count
   at several levels of disaggregation: a total row, rows by sex, rows by sex x age band x
   population group... Each level is a *pattern* (which of sex / age band / population group are
   given). The unit's total is the largest pattern sum (the total row when it is complete). The
   output by dimensions D uses the one pattern that gives every dimension of D with the largest
   sum; what it leaves of the total is an ``unallocated`` remainder. Nothing is counted twice and
   the cells of a unit always add up to its total.
3. **cells** - the chosen rows summed per place x output period x D, one column per element,
   plus the remainders.
4. **grouped** - cells summed over the places of each place group (and, with totals, the margins).
5. **pivot** - numerator, denominator, value, target and gap of each indicator, in reading order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import combinations
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from corridor.contract.dimensions import DATA_ELEMENTS, TOTAL
from corridor.errors import QueryError
from corridor.indicators.buckets import PeriodPlan, parse_request, plan_periods
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

UNALLOCATED: Final = "unallocated"
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


def units_sql(sum_elements: Sequence[str], stock_elements: Sequence[str]) -> list[str]:
    """Steps ``units`` (one row per reported value and output period) with its ``pattern``."""
    parts: list[str] = []
    dims = "s.sex, s.age_band, s.population_group"
    if sum_elements:
        parts.append(
            f"SELECT s.place_code, s.data_element, f.bucket, s.period AS unit, f.ptype, {dims}, "
            f"s.value FROM services s JOIN feeds f ON f.period = s.period AND f.inside = 1 "
            f"WHERE s.data_element IN {_in_list(sum_elements)}"
        )
    steps: list[str] = []
    if stock_elements:
        steps.append(
            "stock_ranked AS (SELECT s.place_code, s.data_element, f.bucket, "
            f"{dims}, s.value, ROW_NUMBER() OVER (PARTITION BY s.place_code, s.data_element, "
            f"f.bucket, {dims} ORDER BY f.rnk) AS rn "
            "FROM services s JOIN feeds f ON f.period = s.period "
            f"WHERE s.data_element IN {_in_list(stock_elements)})"
        )
        parts.append(
            "SELECT place_code, data_element, bucket, bucket AS unit, 'stock' AS ptype, "
            "sex, age_band, population_group, value FROM stock_ranked WHERE rn = 1"
        )
    steps.append(f"units AS ({' UNION ALL '.join(parts)})")
    steps.append(f"pu AS (SELECT u.*, {_pattern_expr('u')} AS pattern FROM units u)")
    return steps


def choice_sql(dims: Sequence[str], select_period_type: bool) -> list[str]:
    """Steps ``pat``, ``ranked`` and ``choice``: the total and chosen pattern of each unit."""
    allowed = allowed_patterns(dims)
    ok = f"pattern IN ({', '.join(map(str, allowed))})"
    key = ", ".join(_UNIT_KEY)
    steps = [
        f"pat AS (SELECT {key}, ptype, pattern, SUM(value) AS psum FROM pu "
        f"GROUP BY {key}, ptype, pattern)",
        f"ranked AS (SELECT {key}, ptype, pattern, psum, "
        f"MAX(psum) OVER (PARTITION BY {key}) AS total, "
        f"ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY CASE WHEN {ok} THEN 0 ELSE 1 END, "
        f"psum DESC, {_pattern_rank(allowed)}) AS rn FROM pat)",
    ]
    chosen = (
        f"SELECT {key}, ptype, total, CASE WHEN {ok} THEN pattern ELSE -1 END AS pattern, "
        f"CASE WHEN {ok} THEN psum ELSE 0 END AS chosen FROM ranked WHERE rn = 1"
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


def cells_sql(dims: Sequence[str], elements: Sequence[str], mixed: bool) -> list[str]:
    """Steps ``chosen``, ``rest`` and ``cells``: one row per place x output period x ``dims``
    with one column per element (``e_hiv_tests`` ...; null where the element has no value).

    ``chosen`` adds the rows of each unit's chosen pattern; ``rest`` is the ``unallocated``
    remainder of each unit (its total minus the chosen pattern's sum). Two common cases need no
    join of the rows with the choices: no dimension (each unit counts its total) and all three
    dimensions (one pattern gives them all: it is the choice wherever it is reported).
    """
    allowed = allowed_patterns(dims)
    cols = [f"u.{d}" if d in dims else f"'{TOTAL}'" for d in DISAGGREGATIONS]
    rest = [f"'{UNALLOCATED}'" if d in dims else f"'{TOTAL}'" for d in DISAGGREGATIONS]
    select = ", ".join(f"{c} AS {d}" for c, d in zip(cols, DISAGGREGATIONS, strict=True))
    select_rest = ", ".join(f"{c} AS {d}" for c, d in zip(rest, DISAGGREGATIONS, strict=True))
    group = ", ".join(["u.place_code", "u.bucket", *(f"u.{d}" for d in dims)])

    def sums(expr: str, alias: str = "") -> str:
        a = f"{alias}." if alias else ""
        return ", ".join(
            f"SUM(CASE WHEN {a}data_element = {lit(e)} THEN {expr} END) AS {_col(e)}"
            for e in elements
        )

    rest_step = (
        f"rest AS (SELECT place_code, bucket, {select_rest}, {sums('total - chosen')} "
        "FROM choice WHERE total - chosen > 1e-9 OR pattern < 0 GROUP BY place_code, bucket)"
    )
    if not dims:
        return [
            f"cells AS (SELECT place_code, bucket, {select_rest}, {sums('total')} "
            "FROM choice GROUP BY place_code, bucket)"
        ]
    if len(allowed) == 1:
        join = f" JOIN best t ON {_same('t', 'u', _TYPE_KEY)}" if mixed else ""
        chosen = (
            f"chosen AS (SELECT u.place_code, u.bucket, {select}, {sums('u.value', 'u')} "
            f"FROM pu u{join} WHERE u.pattern = {allowed[0]} GROUP BY {group})"
        )
        return [chosen, rest_step, "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)"]
    # first add up the rows within each unit, pattern and output cell, then join the choices
    pre_keys = [*_UNIT_KEY, "pattern", *dims]
    ok = ", ".join(map(str, allowed))
    return [
        f"pre AS (SELECT {', '.join(pre_keys)}, SUM(value) AS value FROM pu "
        f"WHERE pattern IN ({ok}) GROUP BY {', '.join(pre_keys)})",
        f"chosen AS (SELECT u.place_code, u.bucket, {select}, {sums('u.value', 'u')} "
        f"FROM pre u JOIN choice c ON {_same('c', 'u', (*_UNIT_KEY, 'pattern'))} "
        f"GROUP BY {group})",
        rest_step,
        "cells AS (SELECT * FROM chosen UNION ALL SELECT * FROM rest)",
    ]


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
    values = ", ".join(_col(e) for e in elements)
    if map_table is None:
        code = "c.place_code" if by_place else f"'{ALL}'"
        source = (
            f"SELECT c.bucket, {code} AS place_code, c.sex, c.age_band, c.population_group, "
            f"{', '.join(f'c.{_col(e)}' for e in elements)} FROM cells c"
        )
    else:
        extra = "".join(f"COALESCE(g.{c}, 'unknown') AS {c}, " for c in place_cols)
        source = (
            f"SELECT c.bucket, COALESCE(g.g_code, 'unknown') AS place_code, {extra}"
            f"c.sex, c.age_band, c.population_group, "
            f"{', '.join(f'c.{_col(e)}' for e in elements)} "
            f"FROM cells c LEFT JOIN {map_table} g ON g.place_code = c.place_code"
        )
    fixed = ["bucket"]
    if "corridor" in place_cols:
        fixed.append("corridor")
    place_set = ["place_code", *(c for c in place_cols if c != "corridor")]
    additive_places = by_place or any(c != "corridor" for c in place_cols)
    every = [*fixed, *place_set, *DISAGGREGATIONS]
    sums = ", ".join(f"SUM({_col(e)}) AS {_col(e)}" for e in elements)
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


def _num(v: float | None) -> str:
    return (
        "CAST(NULL AS DOUBLE PRECISION)" if v is None else f"CAST({float(v)!r} AS DOUBLE PRECISION)"
    )


def pivot_sql(
    indicators: Sequence[Indicator],
    place_cols: Sequence[str],
    targets: Mapping[str, float | None],
    buckets: Sequence[str],
    dialect: str,
    ordered: bool = True,
) -> str:
    """The final SELECT: numerator, denominator, value, target and gap of each indicator, in
    reading order (registry order, period, places with ``all`` last, code-list order)."""
    keys = ["place_code", *place_cols]
    select = ", ".join(
        [f"COALESCE({c}, '{ALL}') AS {c}" for c in keys]
        + [f"COALESCE({d}, '{TOTAL}') AS {d}" for d in DISAGGREGATIONS]
    )
    parts = []
    for rank, i in enumerate(indicators):
        n, d = _col(i.numerator), _col(i.denominator)
        value = f"CASE WHEN {n} IS NOT NULL AND {d} > 0 THEN {i.scale!r} * {n} / {d} END"
        target = targets.get(i.id, i.target)
        gap = f"{_num(target)} - ({value})" if target is not None else _num(None)
        parts.append(
            f"SELECT {rank} AS ind_rank, {lit(i.id)} AS indicator, bucket AS period, {select}, "
            f"{n} AS numerator, {d} AS denominator, {value} AS value, {lit(i.unit)} AS unit, "
            f"{_num(target)} AS target, {gap} AS gap, {lit(i.numerator)} AS numerator_element, "
            f"{lit(i.denominator)} AS denominator_element FROM grouped "
            f"WHERE {n} IS NOT NULL OR {d} IS NOT NULL"
        )
    out = [
        "indicator",
        "period",
        *keys,
        *DISAGGREGATIONS,
        "numerator",
        "denominator",
        "value",
        "unit",
        "target",
        "gap",
        "numerator_element",
        "denominator_element",
    ]
    period_rank = " ".join(f"WHEN {lit(b)} THEN {k}" for k, b in enumerate(buckets))
    order = ["r.ind_rank", f"CASE r.period {period_rank} ELSE {len(buckets)} END"]
    for c in ("corridor", "country", "admin1", "place_type", "place_code"):
        if c in keys:
            order += [f"CASE WHEN r.{c} = '{ALL}' THEN 1 ELSE 0 END", text_order(f"r.{c}", dialect)]
    for d in DISAGGREGATIONS:
        order.append(code_rank(f"r.{d}", d))
        if d == "age_band":  # a workspace may declare more bands; sex and groups are closed
            order.append(text_order(f"r.{d}", dialect))
    union = "\nUNION ALL ".join(parts)
    return f"SELECT {', '.join(f'r.{c}' for c in out)} FROM ({union}) r ORDER BY {', '.join(order)}"


def mixed_period_types(plan: PeriodPlan, sum_periods: set[str]) -> bool:
    """Whether some output period is fed by sum-element periods of more than one type."""
    types: dict[str, set[str]] = {}
    for f in plan.feeds:
        if f.inside and f.period in sum_periods:
            types.setdefault(f.bucket, set()).add(f.period_type)
    return any(len(t) > 1 for t in types.values())


def indicators_sql(
    indicators: Sequence[Indicator],
    plan: PeriodPlan,
    dims: Sequence[str],
    place_cols: Sequence[str],
    by_place: bool,
    map_table: str | None,
    totals: bool,
    mixed: bool = True,
    targets: Mapping[str, float | None] | None = None,
    dialect: str = "duckdb",
    ordered: bool = True,
) -> str:
    """The whole computation as one statement (see the module docstring).

    ``mixed``: some place may report a sum element for periods of two types (months and
    quarters) feeding one output period; then only the type with the largest total counts.
    """
    elements = sorted({e for i in indicators for e in i.elements})
    sums = [e for e in elements if DATA_ELEMENTS[e] == "sum"]
    stocks = [e for e in elements if DATA_ELEMENTS[e] == "stock"]
    mixed = mixed and bool(sums)
    steps = [
        feeds_sql(plan),
        *units_sql(sums, stocks),
        *choice_sql(dims, mixed),
        *cells_sql(dims, elements, mixed),
        *grouped_sql(place_cols, by_place, dims, elements, map_table, totals),
    ]
    final = pivot_sql(
        indicators, place_cols, targets or {}, [b.label for b in plan.buckets], dialect, ordered
    )
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
    reported = engine.query_rows(
        "SELECT DISTINCT data_element, period FROM services "
        f"WHERE data_element IN {_in_list(elements)}",
        step="reported periods",
    )
    plan = plan_periods({r[1] for r in reported}, request, trend)
    sum_periods = {r[1] for r in reported if DATA_ELEMENTS[r[0]] == "sum"}
    mixed = mixed_period_types(plan, sum_periods)
    schema = output_schema(place_cols)
    if not plan.feeds:
        return _finish(schema.empty_table(), schema, dims_all, totals, {})
    code_dim = place_code_dim(place_dims)
    by_place = code_dim is not None

    def run(map_table: str | None, cols: list[str]) -> pa.Table:
        sql = indicators_sql(
            indicators,
            plan,
            dims,
            cols,
            by_place,
            map_table,
            totals,
            mixed,
            overrides,
            engine.name,
            ordered,
        )
        return engine.query(sql, step="compute indicators")

    if any(d != "place" for d in place_dims):
        with _temp_table(engine, place_map(engine, place_dims)) as name:
            raw = run(name, place_cols)
    else:
        raw = run(None, [])
    names = place_names(engine) if by_place else {}
    return _finish(raw, schema, dims_all, totals, names)


def _finish(
    raw: pa.Table,
    schema: pa.Schema,
    by: Sequence[str],
    totals: bool,
    names: Mapping[str, str],
) -> pa.Table:
    """Add place names, fix the column types and attach the metadata."""
    cols: dict[str, Any] = {}
    for f in schema:
        if f.name == "place_name":
            cols[f.name] = lookup(raw.column("place_code"), names, pa.string())
        else:
            cols[f.name] = pc.cast(raw.column(f.name), f.type)
    table = pa.Table.from_pydict(cols, schema=schema)
    meta = {
        "corridor.by": json.dumps(list(by)),
        "corridor.totals": json.dumps(totals),
        "corridor.suppressed": "false",
    }
    return table.replace_schema_metadata(meta)
