"""Aggregation of service values into indicator numerators and denominators (docs/indicators.md).

The work is one SQL statement, written once in portable SQL (DuckDB and PostgreSQL), built from
named steps, and one pass in Arrow:

1-3. **cells** (:mod:`corridor.indicators.cells`) - reported values -> one row per place x
     output period x slot x disaggregation, one column per series (an element as an indicator
     takes it: as reported, two quarters earlier, or of the ages offered testing).
4-6. **pairs and margins** (:mod:`corridor.indicators.margins`) - per place, each indicator's
     numerator and denominator where the place reports both; summed over place groups and the
     margins, with the number of places that reported.
7.   **pivot** (:mod:`corridor.indicators.pivot`, Arrow) - numerator, denominator, value,
     target, gap, places reporting and expected, and the completeness flag of each indicator
     (:mod:`corridor.indicators.completeness`), in registry order.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final

import pyarrow as pa

from corridor.contract.dimensions import DATA_ELEMENTS, DISAGGREGATIONS, PLACE_DIMS
from corridor.errors import QueryError
from corridor.indicators.buckets import (
    FREE_WINDOW_KEY,
    PeriodPlan,
    lag_plan,
    parse_request,
    plan_periods,
    published_window,
)
from corridor.indicators.cellkey import (
    EXPECTED_IS_REPORTING,
    EXPECTED_KEY,
    REPORTED_ROWS,
    ROWS_KEY,
    with_place_cells,
)
from corridor.indicators.cellpairs import pair_cells, plain_cells_sql
from corridor.indicators.cells import (
    StockFeed,
    cells_sql,
    feeds_sql,
    stock_feeds,
    units_sql,
)
from corridor.indicators.completeness import (
    DEFAULT_COMPLETENESS,
    expected_counts,
    group_keys,
    zero_places,
)
from corridor.indicators.foldcells import can_fold, folded_cells_sql
from corridor.indicators.margins import (
    cells_out_sql,
    grouped_sql,
    paired_sql,
    place_cells,
    sort_cells,
    split_sources,
    zeros_sql,
)
from corridor.indicators.order import UNALLOCATED
from corridor.indicators.pivot import output_schema, pivot
from corridor.indicators.places import PLACE_COLUMNS, place_code_dim, place_map, place_names
from corridor.indicators.registry import (
    DEFAULT_TESTING_MIN_AGE,
    DIMENSIONS,
    Indicator,
    Series,
    resolve_ids,
)
from corridor.indicators.reported import age_bands, first_reports, reported_periods
from corridor.storage.dialect import DUCKDB, Dialect
from corridor.storage.engine import Engine

__all__ = ("UNALLOCATED", "compute_indicators", "element_totals", "indicators_sql", "parse_by")

_AGE_FLOOR: Final = re.compile(r"^(\d+)")


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


def offered_bands(bands: Iterable[str], min_age: int) -> list[str]:
    """The age bands whose youngest age is ``min_age`` or more (``<15`` starts at 0, ``50+``
    at 50, ``15-24`` at 15); ``total`` and bands without a leading age are not offered."""
    out = []
    for b in bands:
        m = _AGE_FLOOR.match(b)
        if m and not b.startswith("<") and int(m.group(1)) >= min_age:
            out.append(b)
    return sorted(set(out))


def mixed_period_types(plan: PeriodPlan, sum_periods: set[str]) -> bool:
    """Whether some output period is fed by sum-element periods of more than one type."""
    types: dict[str, set[str]] = {}
    for f in plan.feeds:
        if f.inside and f.period in sum_periods:
            types.setdefault(f.bucket, set()).add(f.period_type)
    return any(len(t) > 1 for t in types.values())


def partial_feeds(plans: Iterable[PeriodPlan], partial: set[tuple[str, str]]) -> bool:
    """Whether some (element, period) pair with a row that does not give all three dimensions
    feeds an output period (then the pattern choices are needed)."""
    periods = {f.period for plan in plans for f in plan.feeds}
    return any(period in periods for _e, period in partial)


def series_of(indicators: Sequence[Indicator]) -> list[Series]:
    """The distinct series the indicators take, in key order."""
    found = {s.key: s for i in indicators for s in i.series}
    return [found[k] for k in sorted(found)]


def one_slot(
    indicators: Sequence[Indicator], plan: PeriodPlan, reported: Iterable[tuple[str, str]]
) -> bool:
    """Whether every summed value has one slot per output period (no slots to add up per
    cell: each cell is one row per place, output period and disaggregation)."""
    sums = {s.element for s in series_of(indicators) if s.kind == "sum"}
    reported = list(reported)
    sum_feeds = {e for e, _p in reported if DATA_ELEMENTS[e] == "sum"} & sums
    sum_periods = {p for e, p in reported if e in sum_feeds}
    return all(f.slot == f.bucket for f in plan.feeds if f.inside and f.period in sum_periods)


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
    dialect: Dialect = DUCKDB,
    ordered: bool = True,
    uniform: bool = False,
    offered: Sequence[str] = (),
    zeros: Mapping[str, set[str]] | None = None,
    plain: bool = False,
    sources: bool = False,
) -> str:
    """The whole computation as one statement (see the module docstring).

    ``reported``: the (data element, period) pairs present in services. ``mixed``: some place
    may report a sum element for periods of two types (months and quarters) feeding one output
    period; then only the type with the largest total counts. ``uniform``: no row that feeds
    the output has ``total`` in a disaggregation (see :func:`cells_sql`). ``offered``: the age
    bands offered HIV testing. ``zeros``: denominator element -> places whose source drops
    zeros. ``plain``: return the cells themselves, for :func:`corridor.indicators.cellpairs.
    pair_cells` (only where each cell is one output row: by place without place groups or
    margins, and :func:`one_slot`). ``sources``: where the rows sum places that have no row of
    their own (not by place), also each place's own cell of each row (:func:`corridor.
    indicators.margins.grouped_sql`).
    """
    reported = list(reported)
    series = series_of(indicators)
    sums = sorted({s.element for s in series if s.kind == "sum"})
    stock_rows: list[StockFeed] = []
    for s in series:
        if s.kind == "sum":
            continue
        own = plan
        if s.lag_quarters:
            periods = [p for e, p in reported if e == s.element]
            own = lag_plan(plan, periods, s.lag_quarters)
        stock_rows += stock_feeds(own, reported, [s])
    mixed = mixed and bool(sums)
    zeros = {e: p for e, p in (zeros or {}).items() if p}
    keys = [s.key for s in series]
    folded: list[str] = []
    if (
        dialect.folded_cells
        and uniform
        and not mixed
        and list(dims) == list(DISAGGREGATIONS)
        and can_fold(stock_rows)
    ):
        folded = folded_cells_sql(plan, sums, stock_rows, keys, offered, set(reported))
    steps = folded or [
        feeds_sql(plan),
        *units_sql(sums, stock_rows, offered, dialect),
        *cells_sql(dims, keys, mixed, uniform),
    ]
    if plain:
        return "WITH " + ",\n".join(steps) + "\n" + plain_cells_sql(keys)
    if zeros:
        steps.append(zeros_sql(zeros))
    # one slot per output period for every summed value: no slots to add up per cell
    unique = one_slot(indicators, plan, reported)
    steps += [
        *paired_sql(indicators, zeros, unique),
        *grouped_sql(place_cols, by_place, dims, len(indicators), map_table, totals, sources),
    ]
    final = cells_out_sql(
        place_cols,
        len(indicators),
        [b.label for b in plan.buckets],
        dialect,
        ordered,
        sources,
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


def compute_indicators(
    engine: Engine,
    ids: Sequence[str],
    by: Sequence[str] = (),
    period: str | None = None,
    *,
    totals: bool = False,
    targets: Mapping[str, float] | None = None,
    ordered: bool = True,
    completeness: float = DEFAULT_COMPLETENESS,
    testing_min_age: int = DEFAULT_TESTING_MIN_AGE,
) -> pa.Table:
    """Indicators by the ``by`` dimensions over ``period``: UNPROTECTED (pass it to publish()).

    ``ids``: indicator ids (or ``cascade`` / ``all``). ``by``: any of place, country, admin1,
    corridor, place_type, sex, age_band, population_group, period. ``period``: ``2024``,
    ``2024Q2``, ``2024-05`` or a range ``2023Q1:2024Q4`` (None: all data). With ``period`` in
    ``by``, one row per reporting period at the granularity of ``period`` (quarters by default).
    ``totals`` adds the margins: ``total`` rows over each grouped disaggregation and an ``all``
    row over places (not over corridors). ``targets`` overrides default targets by indicator id.
    ``ordered``: rows in reading order (registry order, period, place, code lists); False skips
    the sort, for large tables read by code. ``completeness``: the percentage of expected places
    below which a row is flagged ``incomplete`` (setting ``completeness_threshold``).
    ``testing_min_age``: the youngest age offered HIV testing (setting ``testing_min_age``).

    Columns: indicator, period, place_code, place_name, the grouped place columns (country,
    admin1, corridor, place_type), sex, age_band, population_group, numerator, denominator,
    value (percent), unit, target, gap (target - value, percentage points), places_reporting,
    places_expected, incomplete, numerator_element, denominator_element. Dimensions not grouped
    are ``total``; places not grouped ``all``.
    """
    indicators = resolve_ids(ids)
    overrides = {resolve_ids([k])[0].id: float(v) for k, v in (targets or {}).items()}
    return _compute(
        engine, indicators, by, period, totals, overrides, ordered, completeness, testing_min_age
    )


def element_totals(
    engine: Engine,
    elements: Sequence[str],
    by: Sequence[str] = (),
    period: str | None = None,
    *,
    totals: bool = False,
) -> pa.Table:
    """Each data element's value by the ``by`` dimensions over ``period``, by the same rules as
    the indicators (sums added over time, stocks and lookbacks the latest value, each count
    once whatever the levels of disaggregation) but not paired with another element: UNPROTECTED.

    The table has the columns of :func:`compute_indicators`; ``indicator``, ``numerator_element``
    and ``denominator_element`` are the element, ``numerator`` and ``denominator`` its value.
    """
    unknown = [e for e in elements if e not in DATA_ELEMENTS]
    if unknown:
        raise QueryError(f"unknown data element(s): {', '.join(unknown)}")
    own = [
        Indicator(e, e, e, e, "data dictionary", "the element's value", unit="count")
        for e in dict.fromkeys(elements)
    ]
    return _compute(engine, own, by, period, totals, {}, True, None, 0)


def _compute(
    engine: Engine,
    indicators: Sequence[Indicator],
    by: Sequence[str],
    period: str | None,
    totals: bool,
    overrides: Mapping[str, float | None],
    ordered: bool,
    completeness: float | None,
    testing_min_age: int,
) -> pa.Table:
    """``completeness`` None: element values, not ratios (no zeros to fill, nothing expected:
    ``places_expected`` is ``places_reporting``)."""
    dims_all = parse_by(by)
    for ind in indicators:
        bad = [d for d in dims_all if d not in ind.disaggregations]
        if bad:
            raise QueryError(f"indicator {ind.id} cannot be disaggregated by {', '.join(bad)}")
    request = parse_request(period)
    measured = completeness is not None
    dims = [d for d in DISAGGREGATIONS if d in dims_all]
    place_dims = [d for d in PLACE_DIMS if d in dims_all]
    place_cols = [PLACE_COLUMNS[d] for d in PLACE_DIMS if d in dims_all and d in PLACE_COLUMNS]
    trend = "period" in dims_all
    elements = sorted({e for i in indicators for e in i.elements})
    found = reported_periods(engine, elements)
    reported = [(r[0], r[1]) for r in found]
    partial_rows = {(r[0], r[1]) for r in found if r[2]}
    schema = output_schema(place_cols)
    # the plan is made from the periods of the elements taken as they are (not lagged)
    lagged = {s.element for i in indicators for s in i.series if s.lag_quarters}
    plain = {s.element for i in indicators for s in i.series if not s.lag_quarters}
    plan = plan_periods({p for e, p in reported if e in plain or e not in lagged}, request, trend)
    # one sum over a range that is not a calendar period: publish refuses it (buckets)
    free = request.text if request and not trend and not published_window(request) else None
    if not plan.feeds:
        return _finish(
            schema.empty_table(), dims_all, totals, completeness or 0.0, free, None, measured
        )
    plans = [plan]
    for e in sorted(lagged):
        quarters = max(s.lag_quarters for i in indicators for s in i.series if s.element == e)
        plans.append(lag_plan(plan, [p for el, p in reported if el == e], quarters))
    sum_periods = {r[1] for r in reported if DATA_ELEMENTS[r[0]] == "sum"}
    mixed = mixed_period_types(plan, sum_periods)
    offered: list[str] = []
    if any(s.offered_ages for i in indicators for s in i.series):
        offered = offered_bands(age_bands(engine), testing_min_age)
    zeros = zero_places(engine, sorted({i.denominator for i in indicators})) if measured else {}
    code_dim = place_code_dim(place_dims)
    by_place = code_dim is not None
    first = first_reports(engine, elements) if measured else {}

    buckets = [b.label for b in plan.buckets]
    # rows that sum places with no row of their own in the output: each place's own cell too,
    # so that publish counts only the places whose own rows are listed (cellkey)
    sources = "place" not in place_dims
    own: list[pa.Table] = []

    def run(map_table: str | None, cols: list[str]) -> pa.Table:
        plain = (
            engine.dialect.client_pairs
            and map_table is None
            and by_place
            and not totals
            and one_slot(indicators, plan, reported)
        )
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
            engine.dialect,
            ordered,
            not partial_feeds(plans, partial_rows),
            offered,
            zeros,
            plain,
            sources,
        )
        table = engine.query(sql, step="compute indicators", analytic=True)
        if sources:
            table, places = split_sources(table)
            own.append(places)
        # plain cells are sorted before they are paired: a third of the columns to move
        table = sort_cells(table, engine.dialect, ordered, buckets, plain)
        return pair_cells(table, indicators, zeros) if plain else table

    if any(d != "place" for d in place_dims):
        groups = place_map(engine, place_dims)
        with _temp_table(engine, groups) as name:
            cells = run(name, place_cols)
        keys = group_keys(groups, place_cols, by_place)
    else:
        cells = run(None, [])
        keys = {}
    expected = expected_counts(indicators, plan, first, keys, by_place, place_cols)
    names = place_names(engine) if by_place else {}
    threshold = completeness if completeness is not None else 0.0
    table = pivot(cells, indicators, overrides, schema, names, expected, threshold)
    # a margin over the place groups (not over corridors, which overlap)
    margin = totals and any(c != "corridor" for c in place_cols)
    sourced = place_cells(own[0], indicators, margin) if own else None
    return _finish(table, dims_all, totals, threshold, free, sourced, measured)


def _finish(
    table: pa.Table,
    by: Sequence[str],
    totals: bool,
    completeness: float,
    free: str | None,
    sources: pa.Table | None,
    measured: bool,
) -> pa.Table:
    """Attach the metadata. ``corridor.rows = reported``: a row only where data were reported
    (true zeros are not stored), which ``publish`` reads (:func:`corridor.indicators.cellkey.
    lists_reported_rows`). ``sources``: where the rows sum places that have no row of their
    own in the table, those places' own cells (:func:`corridor.indicators.margins.place_cells`,
    for ``publish``: :func:`corridor.indicators.cellkey.count_listed_places`). ``measured``:
    False for the values of data elements, whose ``places_expected`` is ``places_reporting``."""
    meta = {
        "corridor.by": json.dumps(list(by)),
        "corridor.totals": json.dumps(totals),
        "corridor.suppressed": "false",
        "corridor.completeness_threshold": json.dumps(completeness),
        ROWS_KEY: REPORTED_ROWS,
    }
    if free is not None:  # (``free``: the range of a sum that publish refuses)
        meta[FREE_WINDOW_KEY.decode()] = free
    if not measured:
        meta[EXPECTED_KEY] = EXPECTED_IS_REPORTING
    table = table.replace_schema_metadata(meta)
    return with_place_cells(table, sources) if sources is not None else table
