"""What services hold, asked before the indicator statement is built: the (data element,
period) pairs reported, the age bands used and each place's first report of an element.

Each answer has two shapes of portable SQL, chosen by the engine's dialect
(:attr:`corridor.storage.dialect.Dialect.loose_scans`):

* a scan of services grouped by the columns asked for (DuckDB: a fraction of a second at
  millions of rows);
* a *loose index scan*: a recursive query that steps from one distinct value of an index's
  leading columns to the next (``MIN(x) WHERE x > previous``), one index probe per distinct
  value. PostgreSQL 15 has no skip scan of its own; with the indexes of migration 7 these
  answers take milliseconds instead of a scan of the table (2M rows: 1.2-1.9 s for the three).

Both shapes give the same rows (tests/indicators/test_reported.py runs both on both engines).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final

from corridor.contract.dimensions import DISAGGREGATIONS, TOTAL
from corridor.indicators.cells import in_list, lit
from corridor.storage.engine import Engine

#: a row that does not give all three dimensions (a ``total`` in one of them): the same
#: predicate as the partial index of migration 7, which PostgreSQL uses only for a query
#: whose condition implies it
PARTIAL_ROW: Final = " OR ".join(f"{d} = '{TOTAL}'" for d in DISAGGREGATIONS)


def _elements(elements: Sequence[str]) -> str:
    return f"e (data_element) AS (VALUES {', '.join(f'({lit(e)})' for e in elements)})"


def _walk(name: str, column: str, where: str = "", then: str = "") -> str:
    """Step ``name`` (data_element, ``column``): the distinct values of ``column`` within each
    element of step ``e``, in order, by one index probe per value: the least value of the
    element above the previous one, asked for in the order of one of migration 7's indexes,
    (element, ``column``, ``then``). ``then`` names that index's next column where another
    index could give ``column``'s order too: the natural key's, led by the place, gives the
    places of one element in order, and where rows lie a place at a time
    (``Dialect.services_by_place``) PostgreSQL took it for ``MIN(place_code)``, scanning a
    place's entries at each step (2M rows: 0.5-0.9 s for the places, against 26 ms)."""
    cond = f" AND ({where})" if where else ""
    order = f"ORDER BY s.data_element, s.{column}{f', s.{then}' if then else ''} LIMIT 1"
    return (
        f"{name} (data_element, {column}) AS ("
        f"SELECT e.data_element, (SELECT s.{column} FROM services s "
        f"WHERE s.data_element = e.data_element{cond} {order}) FROM e "
        f"UNION ALL SELECT w.data_element, (SELECT s.{column} FROM services s "
        f"WHERE s.data_element = w.data_element AND s.{column} > w.{column}{cond} {order}) "
        f"FROM {name} w WHERE w.{column} IS NOT NULL)"
    )


def reported_sql(elements: Sequence[str], loose: bool) -> str:
    """(data_element, period, 1 where some row of the pair has a ``total`` dimension else 0)
    for each pair reported of ``elements``."""
    if not loose:
        return (
            f"SELECT data_element, period, MAX(CASE WHEN {PARTIAL_ROW} THEN 1 ELSE 0 END) "
            f"FROM services WHERE data_element IN {in_list(elements)} "
            "GROUP BY data_element, period"
        )
    return (
        f"WITH RECURSIVE {_elements(elements)}, {_walk('a', 'period')}, "
        f"{_walk('p', 'period', PARTIAL_ROW)} "
        "SELECT a.data_element, a.period, CASE WHEN p.period IS NULL THEN 0 ELSE 1 END "
        "FROM a LEFT JOIN p ON p.data_element = a.data_element AND p.period = a.period "
        "WHERE a.period IS NOT NULL"
    )


def age_bands_sql(loose: bool) -> str:
    """The distinct age bands of services (every element)."""
    if not loose:
        return "SELECT DISTINCT age_band FROM services"
    return (
        "WITH RECURSIVE b (age_band) AS (SELECT MIN(age_band) FROM services "
        "UNION ALL SELECT (SELECT MIN(s.age_band) FROM services s WHERE s.age_band > b.age_band) "
        "FROM b WHERE b.age_band IS NOT NULL) SELECT age_band FROM b WHERE age_band IS NOT NULL"
    )


def first_reports_sql(elements: Sequence[str], loose: bool) -> str:
    """(data_element, place_code, the start of its earliest reported period)."""
    if not loose:
        return (
            "SELECT data_element, place_code, MIN(period_start) FROM services "
            f"WHERE data_element IN {in_list(elements)} GROUP BY data_element, place_code"
        )
    return (
        f"WITH RECURSIVE {_elements(elements)}, {_walk('w', 'place_code', then='period_start')} "
        "SELECT w.data_element, w.place_code, (SELECT MIN(s.period_start) FROM services s "
        "WHERE s.data_element = w.data_element AND s.place_code = w.place_code) "
        "FROM w WHERE w.place_code IS NOT NULL"
    )


def reported_periods(
    engine: Engine, elements: Sequence[str], loose: bool | None = None
) -> list[tuple[str, str, bool]]:
    """(data element, period, whether a row of it has a ``total`` dimension), sorted."""
    loose = engine.dialect.loose_scans if loose is None else loose
    rows = engine.query_rows(reported_sql(elements, loose), step="reported periods")
    return sorted((str(r[0]), str(r[1]), bool(r[2])) for r in rows)


def age_bands(engine: Engine, loose: bool | None = None) -> list[str]:
    """The age bands that services use, sorted."""
    loose = engine.dialect.loose_scans if loose is None else loose
    rows = engine.query_rows(age_bands_sql(loose), step="age bands reported")
    return sorted(str(r[0]) for r in rows)


def first_reports(
    engine: Engine, elements: Sequence[str], loose: bool | None = None
) -> dict[str, dict[str, date]]:
    """element -> place -> the start of its first reported period."""
    loose = engine.dialect.loose_scans if loose is None else loose
    rows = engine.query_rows(first_reports_sql(elements, loose), step="first reports")
    out: dict[str, dict[str, date]] = {}
    for element, place, start in rows:
        out.setdefault(element, {})[place] = start
    return out
