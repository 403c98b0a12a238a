"""Translation of source identifiers (DHIS2, ADX, DTM) to the contract's codes.

Every translation works on the *unique* values of a column (a few hundred at most), then applies
the result to the whole column with polars ``replace``: per-row Python work is avoided. A value that
cannot be translated keeps its text in the cell and becomes a :class:`Problem` naming the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import polars as pl

from corridor.contract import dimensions as d
from corridor.contract.periods import RANGE_REASON, parse_period
from corridor.errors import Problem
from corridor.intake.rawtable import ROW

#: the DHIS2 "default" category option combo: no disaggregation (a total)
DEFAULT_COC = "HllvX50cXC0"
DEFAULT_COC_NAMES = frozenset({DEFAULT_COC.casefold(), "default"})

Resolve = Callable[[str], str | None]


class Lookup:
    """A section of the mapping file, searched by exact key, then ignoring case and spaces."""

    def __init__(self, section: Mapping[str, Any] | None) -> None:
        self.exact: dict[str, Any] = dict(section or {})
        self.folded: dict[str, Any] = {str(k).strip().casefold(): v for k, v in self.exact.items()}

    def get(self, key: str) -> Any | None:
        found = self.exact.get(key)
        if found is None:
            found = self.folded.get(key.strip().casefold())
        return found

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


def section(mapping: Mapping[str, Any] | None, name: str) -> Lookup:
    return Lookup((mapping or {}).get(name))


# ---- vectorised translation ------------------------------------------------------------------


def translate(
    frame: pl.DataFrame,
    source: str,
    target: str,
    resolve: Resolve,
    *,
    file: str,
    label: str,
    reason: str | Callable[[str], str],
    keep: bool = True,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Translate column ``source`` into ``target`` with ``resolve`` (applied to unique values).

    Empty cells stay empty (validation applies defaults or reports missing values). A value that
    ``resolve`` cannot translate gives a problem on column ``label`` and keeps its text in
    ``target`` (``keep``), or leaves it empty: for columns with a default, so that validation does
    not report the same cell a second time.
    """
    found: dict[str, str] = {}
    missing: list[str] = []
    for value in frame.get_column(source).drop_nulls().unique().to_list():
        if not value.strip():
            found[value] = ""
            continue
        code = resolve(value.strip())
        if code is None:
            missing.append(value)
        else:
            found[value] = code
    expr = pl.col(source)
    if not keep:
        expr = expr.replace_strict(found, default=None, return_dtype=pl.Utf8)
    elif found:
        expr = expr.replace(found)
    problems = rows_with(frame, source, missing, file=file, label=label, reason=reason)
    return frame.with_columns(expr.alias(target)), problems


def rows_with(
    frame: pl.DataFrame,
    column: str,
    values: list[str],
    *,
    file: str,
    label: str,
    reason: str | Callable[[str], str],
) -> list[Problem]:
    """A problem for every row whose ``column`` holds one of ``values``."""
    if not values:
        return []
    bad = frame.filter(pl.col(column).is_in(values)).select(ROW, column)
    why = reason if callable(reason) else (lambda _v: reason)
    return [Problem(file, int(row), label, value, why(value)) for row, value in bad.iter_rows()]


# ---- identifiers -------------------------------------------------------------------------------


def data_element_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    """DHIS2/ADX data element (UID or code, via ``data_elements``) or a Corridor element name."""
    table = section(mapping, "data_elements")

    def resolve(value: str) -> str | None:
        found = table.get(value)
        if found is not None:
            return str(found).lower()
        name = value.lower()
        return name if name in d.DATA_ELEMENTS else None

    return resolve


def org_unit_resolver(mapping: Mapping[str, Any] | None, places: Mapping[str, str]) -> Resolve:
    """DHIS2 org unit (UID or code): the mapping's ``org_units``, then places.dhis2_uid."""
    table = section(mapping, "org_units")
    crosswalk = Lookup(places)

    def resolve(value: str) -> str | None:
        found = table.get(value)
        if found is None:
            found = crosswalk.get(value)
        return str(found).lower() if found is not None else None

    return resolve


def combo_dims(
    uid: str | None, combos: Lookup, field: str
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """A (category or attribute) option combo -> dimensions, or a (column, reason) problem."""
    if uid is None or not uid.strip():
        return {}, (field, f"missing {field} (use {DEFAULT_COC} for a total)")
    found = combos.get(uid)
    if found is not None:
        return {k: str(v).lower() for k, v in dict(found).items()}, None
    if uid.strip().casefold() in DEFAULT_COC_NAMES:
        return {}, None
    where = (
        "category_option_combos" if field == "categoryOptionCombo" else "attribute_option_combos"
    )
    return {}, (field, f"unknown {field}: add it to the mapping's {where}")


# ---- periods -----------------------------------------------------------------------------------

_DHIS2_WEEK = re.compile(r"^(\d{4})W(\d{1,2})$")
_ADX = re.compile(r"^(\d{4}-\d{2}-\d{2})/P(\d+)([YMWD])$")


def dhis2_period(value: str) -> str | None:
    """DHIS2 period ids (2024, 2024Q1, 202401, 2024W5) as contract periods; None if not one."""
    raw = value.strip().upper()
    if m := _DHIS2_WEEK.match(raw):
        raw = f"{m.group(1)}W{int(m.group(2)):02d}"
    try:
        return parse_period(raw).text
    except ValueError:
        return None


def adx_period(value: str) -> str | None:
    """An ADX period ``start/duration`` (P1Y, P3M, P1M, P7D, P1W) as a contract period."""
    raw = value.strip().upper()
    m = _ADX.match(raw)
    if m is None:
        return dhis2_period(raw) if "/" not in raw else None
    try:
        start = date.fromisoformat(m.group(1))
    except ValueError:
        return None
    n, unit = int(m.group(2)), m.group(3)
    if unit == "Y" and n == 1 and (start.month, start.day) == (1, 1):
        return f"{start.year}"
    if unit == "M" and n == 3 and start.day == 1 and start.month in (1, 4, 7, 10):
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    if unit == "M" and n == 1 and start.day == 1:
        return f"{start.year}-{start.month:02d}"
    if ((unit, n) in (("D", 7), ("W", 1))) and start.isoweekday() == 1:
        year, week, _ = (start + timedelta(days=3)).isocalendar()
        return f"{year}W{week:02d}"
    return None


#: why a DTM ``t`` value is not read (:func:`year_month_or_day`)
DTM_T_REASON = "not a year (YYYY), a month (YYYY-MM) or a date (YYYY-MM-DD)"


def year_month_or_day(value: str) -> tuple[str, str]:
    """A DTM period as its first and last day: ``YYYY`` -> 1 January to 31 December (a year,
    never its first day), ``YYYY-MM`` (or ``YYYYMM``) -> first to last day, ``YYYY-MM-DD`` ->
    that day. Raises ValueError with the reason otherwise (a year or month outside the
    accepted years says so)."""
    raw = value.strip()
    if re.fullmatch(r"\d{4}(-?\d{2})?", raw):
        try:
            p = parse_period(raw)
        except ValueError as exc:
            reason = str(exc)
            raise ValueError(reason if RANGE_REASON in reason else DTM_T_REASON) from None
        return p.start.isoformat(), p.end.isoformat()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(DTM_T_REASON) from None
        return day, day
    raise ValueError(DTM_T_REASON)


# ---- dimensions --------------------------------------------------------------------------------

_SEX = {
    "f": "f",
    "female": "f",
    "females": "f",
    "woman": "f",
    "women": "f",
    "femme": "f",
    "m": "m",
    "male": "m",
    "males": "m",
    "man": "m",
    "men": "m",
    "homme": "m",
    "x": "x",
    "other": "x",
}
_TOTALS = frozenset({"total", "t", "all", "both", "tot"})
_MOVEMENT = {
    "incoming": "incoming",
    "in": "incoming",
    "entry": "incoming",
    "inflow": "incoming",
    "arrival": "incoming",
    "outgoing": "outgoing",
    "out": "outgoing",
    "exit": "outgoing",
    "outflow": "outgoing",
    "departure": "outgoing",
    "transit": "transit",
}
_MODE = {
    "lorry": "truck",
    "minibus": "bus",
    "coach": "bus",
    "taxi": "car",
    "walking": "foot",
    "on foot": "foot",
    "pedestrian": "foot",
    "ferry": "boat",
    "ship": "boat",
    "canoe": "boat",
    "train": "rail",
    "plane": "air",
    "flight": "air",
}
_AGE_RANGE = re.compile(r"^(\d{1,3})\s*(?:-|–|to)\s*(\d{1,3})$")
_AGE_OPEN = re.compile(r"^(\d{1,3})\s*(?:\+|-|–|plus|andover|and over|ormore|or more)$")
_AGE_UNDER = re.compile(r"^(?:<|under|u)\s*(\d{1,3})$")


def _section_or(table: Lookup, value: str) -> str | None:
    found = table.get(value)
    return str(found).lower() if found is not None else None


def sex_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    table = section(mapping, "sex")

    def resolve(value: str) -> str | None:
        found = _section_or(table, value)
        if found is not None:
            return found
        v = value.strip().lower()
        return d.TOTAL if v in _TOTALS else _SEX.get(v)

    return resolve


def age_band(value: str) -> str | None:
    """An age group written in common ways -> a band: ``0-14`` -> ``<15``, ``50-`` -> ``50+``.

    A well-formed band that is not one of the contract's (``15-19``) is returned as ``lo-hi``:
    validation accepts it when the workspace declares it.
    """
    v = value.strip().lower().replace("years", "").replace("yrs", "").replace("ans", "")
    v = v.removeprefix("y").removesuffix("y").strip()
    if v in _TOTALS:
        return d.TOTAL
    if m := _AGE_RANGE.match(v):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            return None
        return "<15" if (lo, hi) == (0, 14) else f"{lo}-{hi}"
    if m := _AGE_OPEN.match(v):
        return f"{int(m.group(1))}+"
    if m := _AGE_UNDER.match(v):
        return f"<{int(m.group(1))}"
    return None


def age_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    table = section(mapping, "age")

    def resolve(value: str) -> str | None:
        return _section_or(table, value) or age_band(value)

    return resolve


def group_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    table = section(mapping, "population_group")

    def resolve(value: str) -> str | None:
        found = _section_or(table, value)
        if found is not None:
            return found
        v = re.sub(r"[\s-]+", "_", value.strip().lower())
        if v in _TOTALS:
            return d.TOTAL
        return v if v in d.POPULATION_GROUPS else None

    return resolve


def movement_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    table = section(mapping, "movement")

    def resolve(value: str) -> str | None:
        v = value.strip().lower()
        return _section_or(table, value) or _MOVEMENT.get(v) or _MOVEMENT.get(v.rstrip("s"))

    return resolve


def mode_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    table = section(mapping, "mode")

    def resolve(value: str) -> str | None:
        v = value.strip().lower()
        return _section_or(table, value) or (v if v in d.MODES else _MODE.get(v))

    return resolve


def location_resolver(mapping: Mapping[str, Any] | None) -> Resolve:
    """A place code or ISO3 country code, as is (lower-cased), or via the ``locations`` section."""
    table = section(mapping, "locations")

    def resolve(value: str) -> str | None:
        return _section_or(table, value) or value.strip().lower()

    return resolve


DIMENSION_REASONS = {
    "sex": "unknown sex: expected F, M, X or total (or add it to the mapping's sex section)",
    "age_band": "unknown age group: expected e.g. 0-14, 15-24, 50+ (or add it to the mapping's "
    "age section)",
    "population_group": "unknown population group: expected one of "
    + ", ".join(d.POPULATION_GROUPS)
    + " (or add it to the mapping's population_group section)",
}
