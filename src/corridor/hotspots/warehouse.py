"""What the ranking reads from the warehouse: sites, service totals, flows and recent cases.

Places, flows and cases are plain reads through ``Engine.query`` with portable SQL; service values
come from the indicator layer (``element_totals``), so that the ranking counts what the
indicator outputs count. The rest of the package works on the pandas frames returned.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa

from corridor.contract.dimensions import SITE_TYPES
from corridor.contract.periods import parse_period_range
from corridor.errors import QueryError
from corridor.indicators import UNALLOCATED
from corridor.indicators.aggregate import element_totals
from corridor.indicators.buckets import four_quarters_to
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS

#: a row's record key in a sum: 0 for a row whose value is 0 (it adds nobody), so that a count
#: has the same cell key whichever zero rows it happens to include (as in the indicator cells)
_FLOW_KEY = "CASE WHEN count = 0 THEN 0 ELSE COALESCE(record_key, 0) END"


@dataclass(frozen=True, slots=True)
class Window:
    """The analysis window: services and flows inside it; cases in its last 12 months."""

    start: date
    end: date
    text: str

    @property
    def years(self) -> float:
        return ((self.end - self.start).days + 1) / 365.25

    @property
    def recent_start(self) -> date:
        """First day of the last 12 months of the window (the outbreak look-back)."""
        return max(self.start, _months_back(self.end, 12))


def _months_back(end: date, months: int) -> date:
    """The day after ``end`` moved back ``months`` months: [result, end] spans ``months``."""
    nxt = end + timedelta(days=1)
    y, m = divmod(nxt.year * 12 + nxt.month - 1 - months, 12)
    return date(y, m + 1, min(nxt.day, calendar.monthrange(y, m + 1)[1]))


def resolve_window(engine: Engine, period: str | None) -> Window:
    """The window named by ``period`` (``2024``, ``2023Q1:2024Q4``), else the latest 12 months.

    Without a period the window is the 12 calendar months ending with the calendar quarter of
    the last day any service report (else flow record, else case) covers, e.g.
    ``2024-01:2024-12`` (data to November 2024, or to December).
    """
    if period is not None:
        try:
            rng = parse_period_range(period)
        except ValueError as exc:
            raise QueryError(f"--period {period!r}: {exc}") from None
        return Window(rng.start, rng.end, rng.text)
    end: date | None = None
    for sql in (
        "SELECT MAX(period_end) FROM services",
        "SELECT MAX(period_end) FROM flows",
        "SELECT MAX(COALESCE(onset_date, report_date)) FROM cases",
    ):
        value = engine.scalar(sql, step="hotspots: latest date")
        if value is not None:
            end = value
            break
    if end is None:
        end = date.today()
    # the 12 months end with the quarter of the latest data: a window of four whole quarters
    # is one that may be published (indicators.buckets.published_window)
    first, last = four_quarters_to(end)
    text = f"{first:%Y-%m}:{last:%Y-%m}"
    rng = parse_period_range(text)
    return Window(rng.start, rng.end, rng.text)


def nothing_to_rank(engine: Engine, window: Window) -> QueryError:
    """The user error for a window in which the ranking reads no data at all: no service value
    of its elements, no flow record and no recent outbreak case. Ranking such a window would
    impute every input of every site (every site tied, a made-up estimate), so it is refused,
    as ``corridor report`` refuses a period without data."""
    elements = tuple(dict.fromkeys((*_TOTAL_ELEMENTS, *_GROUP_ELEMENTS)))
    span = _services_span(engine, elements)
    have = (
        f"its HIV services cover {span}" if span else "the warehouse holds none of its HIV services"
    )
    return QueryError(
        f"nothing to rank for period {window.text}: the ranking reads no HIV services, flows or "
        f"outbreak cases in {window.start} to {window.end} ({have}); choose a period with data"
    )


def _services_span(engine: Engine, elements: Sequence[str]) -> str | None:
    """``first to last`` day of the service values of ``elements``; None without any."""
    span = engine.query_rows(
        "SELECT MIN(period_start), MAX(period_end) FROM services "
        f"WHERE data_element IN ({', '.join('?' for _ in elements)})",
        tuple(elements),
        step="hotspots: data span",
    )
    return f"{span[0][0]} to {span[0][1]}" if span and span[0][0] is not None else None


def no_testing_data(engine: Engine, window: Window) -> QueryError:
    """The user error for a window in which no site reports HIV tests with their positive
    results. Positivity is the estimate's main input (the intercept is new infections at
    positivity 1): without it at any site the term would drop out as if every site had a
    positivity of 100%, and every estimate would be several times too high (all sites tied
    where flows are the only data). A value counts only in a window that holds its whole
    period, so a month or a week holds none of quarterly or yearly reports."""
    span = _services_span(engine, ("hiv_tests", "hiv_positive"))
    have = f"its HIV tests cover {span}" if span else "the warehouse holds no HIV tests"
    return QueryError(
        f"cannot estimate new infections for period {window.text}: no site reports HIV tests "
        f"and positive results in {window.start} to {window.end} ({have}), and the estimate "
        "rests on positivity; a service value counts only in a period that holds its whole "
        "reporting period (a quarter or a year is not inside a month or a week): choose a "
        "period with HIV testing data"
    )


def read_places(engine: Engine) -> pd.DataFrame:
    """Every place (sites and areas): code, name, type, parent, country, lat, lon, population."""
    table = engine.query(
        "SELECT place_code, name, place_type, parent_code, country_code, lat, lon, corridor, "
        "population FROM places ORDER BY place_code",
        step="hotspots: places",
    )
    df = table.to_pandas()
    df["population"] = pd.to_numeric(df["population"], errors="coerce").astype(float)
    df["is_site"] = df["place_type"].isin(SITE_TYPES)
    return df


#: the elements read by place
_TOTAL_ELEMENTS: tuple[str, ...] = (
    "hiv_positive",
    "hiv_tests",
    "art_initiated",
    "vl_suppressed",
    "vl_tested",
    "plhiv_diagnosed",
    "plhiv_estimated",
    "art_current",
    "pop_estimated",
)
#: the elements read by place and population group (tests and positives by group also give the
#: recency correction its group-specific testing rates, ``incidence.recency_estimate``)
_GROUP_ELEMENTS: tuple[str, ...] = ("hiv_tests", "hiv_positive", "plhiv_diagnosed", "pop_estimated")
#: the element read by place (and population group) and age band: where a site, or a group at a
#: site, reports its population estimate by age band, its adults are the bands of the ages
#: offered HIV testing (``inputs.adults_by_age``, ``incidence.caught_recent``)
_AGE_ELEMENTS: tuple[str, ...] = ("pop_estimated",)
TOTAL_ELEMENTS, GROUP_ELEMENTS = _TOTAL_ELEMENTS, _GROUP_ELEMENTS  # public names


def _element_values(table: pa.Table) -> pd.DataFrame:
    """Long (place_code, data_element, population_group, value, key) from an indicator table
    (``key``: the count's cell key, the sum of its rows' record keys mod 2^32)."""
    df = table.to_pandas()
    parts = []
    for role in ("numerator", "denominator"):
        part = df[["place_code", "population_group", role, f"{role}_element", f"{role}_key"]]
        names = {role: "value", f"{role}_element": "data_element", f"{role}_key": "key"}
        parts.append(part.rename(columns=names))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["value"].notna() & (out["population_group"] != UNALLOCATED)]
    return out.drop_duplicates(["place_code", "data_element", "population_group"])


def read_service_totals(engine: Engine, window: Window) -> pd.DataFrame:
    """One value and its cell key per (place_code, data_element, population_group) over the
    window.

    Read through the indicator layer (``corridor.indicators.aggregate.element_totals``), so
    that the ranking counts each element as the indicator outputs count it: sums added over the
    window, stocks and lookbacks the latest value, each count taken once whatever the levels of
    disaggregation reported.
    ``population_group`` is ``total`` for the place's total, else a group (the ``unallocated``
    remainder is left out).
    """
    totals = element_totals(engine, _TOTAL_ELEMENTS, by=["place"], period=window.text)
    groups = element_totals(
        engine, _GROUP_ELEMENTS, by=["place", "population_group"], period=window.text
    )
    out = pd.concat([_element_values(totals), _element_values(groups)], ignore_index=True)
    out = out.drop_duplicates(["place_code", "data_element", "population_group"])
    out["value"] = out["value"].astype(float)
    out["key"] = out["key"].astype(float)
    cols = ["place_code", "data_element", "population_group", "value", "key"]
    return out[cols].reset_index(drop=True)


def read_age_totals(engine: Engine, window: Window) -> pd.DataFrame:
    """The population estimate by age band: one value per (place_code, population_group,
    age_band) over the window, read through the indicator layer as ``read_service_totals``
    reads the totals (each estimate its latest value, counted once whatever else it is
    disaggregated by).

    ``population_group`` is ``total`` for the place's bands (all groups), else a group (the
    group's ``unallocated`` remainder is left out); ``age_band`` is a band, or ``unallocated``
    for the part of the estimate reported without one. Places that report no band have no row
    but their ``unallocated`` one.
    """
    parts = []
    for by in (["place", "age_band"], ["place", "population_group", "age_band"]):
        table = element_totals(engine, _AGE_ELEMENTS, by=by, period=window.text)
        part = table.to_pandas()[["place_code", "population_group", "age_band", "numerator"]]
        parts.append(part.rename(columns={"numerator": "value"}))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["value"].notna() & (out["population_group"] != UNALLOCATED)]
    out = out.drop_duplicates(["place_code", "population_group", "age_band"])
    out["value"] = out["value"].astype(float)
    return out.reset_index(drop=True)


def read_flows(engine: Engine, window: Window) -> pd.DataFrame:
    """Flow records overlapping the window, summed over sex, age, group and mode.

    Columns: observation_code, origin_code, destination_code, count (pro-rated by the part of
    the record's period inside the window, for records that straddle its edges) and key (the
    sum of the records' record keys mod 2^32, the cell key of the count).
    """
    table = engine.query(
        "SELECT observation_code, origin_code, destination_code, period_start, period_end, "
        f"SUM(count) AS count, SUM({_FLOW_KEY}) % {KEY_MODULUS} AS cell_key "
        "FROM flows WHERE period_start <= ? AND period_end >= ? "
        "GROUP BY observation_code, origin_code, destination_code, period_start, period_end",
        (window.end, window.start),
        step="hotspots: flows",
    )
    df = table.to_pandas()
    if df.empty:
        return pd.DataFrame(
            {
                "observation_code": pd.Series(dtype=object),
                "origin_code": pd.Series(dtype=object),
                "destination_code": pd.Series(dtype=object),
                "count": pd.Series(dtype=float),
                "key": pd.Series(dtype="int64"),
            }
        )
    start = pd.to_datetime(df["period_start"])
    end = pd.to_datetime(df["period_end"])
    w0, w1 = pd.Timestamp(window.start), pd.Timestamp(window.end)
    inside = (end.clip(upper=w1) - start.clip(lower=w0)).dt.days + 1
    share = inside / ((end - start).dt.days + 1)
    df["count"] = df["count"].astype(float) * share.clip(0, 1)
    df["key"] = df.pop("cell_key").astype("int64")
    out = df.groupby(["observation_code", "origin_code", "destination_code"], as_index=False)[
        ["count", "key"]
    ].sum()
    out["key"] = out["key"] % KEY_MODULUS
    return out.reset_index(drop=True)


def read_recent_cases(engine: Engine, window: Window) -> tuple[pd.DataFrame, bool]:
    """Confirmed and probable cases by place in the last 12 months of the window.

    Returns (frame with place_code, cases, key; whether the warehouse holds any case at all).
    ``key`` is the sum of the cases' record keys mod 2^32 (the cell key of the count).
    Dates are onset dates, else report dates.
    """
    any_cases = bool(engine.scalar("SELECT COUNT(*) FROM cases", step="hotspots: any cases"))
    table = engine.query(
        "SELECT place_code, COUNT(*) AS cases, "
        f"SUM(COALESCE(record_key, 0)) % {KEY_MODULUS} AS cell_key FROM cases "
        "WHERE classification IN ('confirmed', 'probable') "
        "AND COALESCE(onset_date, report_date) >= ? AND COALESCE(onset_date, report_date) <= ? "
        "GROUP BY place_code",
        (window.recent_start, window.end),
        step="hotspots: recent cases",
    )
    df = table.to_pandas()
    df["cases"] = df["cases"].astype(float)
    df["key"] = df.pop("cell_key").astype("int64")
    return df, any_cases
