"""The cascade for migrants and mobile groups versus host communities by country, and trends.

Numbers come from ``corridor.indicators.compute_indicators`` and pass through
``corridor.indicators.suppress`` (via ``protect``) before anything is formatted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from corridor.contract.dimensions import MOBILE_GROUPS, POPULATION_GROUPS, TOTAL
from corridor.indicators import UNALLOCATED, compute_indicators
from corridor.indicators.registry import get_indicator
from corridor.reports.charts import LineChart, line_chart
from corridor.reports.protect import (
    Cell,
    fmt_percent,
    indicator_cells,
    report_settings,
    suppress_table,
    threshold_of,
)
from corridor.storage.engine import Engine

if TYPE_CHECKING:
    from corridor.config import Settings

CASCADE_IDS: tuple[str, ...] = (
    "first_95",
    "second_95",
    "third_95",
    "positivity",
    "testing_coverage",
)
TREND_IDS: tuple[str, ...] = ("positivity", "testing_coverage", "linkage_proxy", "third_95")
#: the groups of the cascade table, in this order (``total``: all groups of the country)
#: ``unallocated``: the people of the country total that no group row holds, so that the groups
#: visibly do not add up to the total
GROUP_ORDER: tuple[str, ...] = (
    TOTAL,
    "host",
    *MOBILE_GROUPS,
    "sex_worker",
    "other",
    UNALLOCATED,
)
_CASCADE_COLUMNS = (
    *("indicator", "country", "population_group", "target"),
    *("incomplete", "places_reporting", "places_expected"),
)
#: the columns of completeness, taken from the published table (publish counts the places
#: whose own rows it lists: :func:`corridor.indicators.cellkey.count_listed_places`)
_REPORTING = ("places_reporting", "places_expected", "incomplete")
#: trends: at most this many quarters, else years
MAX_QUARTERS = 16


def group_label(group: str) -> str:
    if group == TOTAL:
        return "All groups"
    if group == "host":
        return "Host community"
    if group == UNALLOCATED:
        return "Not allocated to a group"
    return group.replace("_", " ").capitalize()


def is_mobile(group: str) -> bool:
    return group in MOBILE_GROUPS


def group_kind(group: str) -> str:
    """The marker a cascade row carries: total, host, mobile, other (a key population that is
    neither host nor mobile, e.g. sex workers) or unallocated."""
    if group in (TOTAL, "host", UNALLOCATED):
        return {TOTAL: "total", "host": "host", UNALLOCATED: "unallocated"}[group]
    return "mobile" if is_mobile(group) else "other"


def share_cell(part: Cell, whole: Cell) -> Cell:
    """``part`` as a share of ``whole``, from published counts only."""
    if part.state == "missing" or whole.state == "missing":
        return Cell("–", None, "missing")
    if not part.shown or not whole.shown or not whole.value:
        return Cell("x", None, "withheld")
    value = 100.0 * float(part.value or 0.0) / float(whole.value)
    return Cell(fmt_percent(value), value, "shown")


@dataclass(slots=True)
class CascadeCell:
    numerator: Cell
    denominator: Cell
    value: Cell
    target: float | None
    #: fewer places reported than the completeness threshold asks: "3 of 5 places reported"
    incomplete: str = ""
    #: unallocated rows: the share of the country's denominator that no group holds
    share: Cell | None = None


@dataclass(slots=True)
class CascadeRow:
    group: str
    label: str
    mobile: bool
    cells: dict[str, CascadeCell]
    kind: str = "other"


@dataclass(slots=True)
class CountryCascade:
    code: str
    name: str
    rows: list[CascadeRow]


@dataclass(slots=True)
class Cascade:
    indicators: list[tuple[str, str, float | None]]  # id, name, target
    countries: list[CountryCascade]
    period: str


#: the column that numbers the rows handed to ``publish`` (which may leave some out)
_ROW = "report_row"


def _protected(
    engine: Engine,
    ids: Sequence[str],
    by: Sequence[str],
    period: str | None,
    threshold: int | Settings,
) -> tuple[pa.Table, list[tuple[Cell, Cell, Cell]]]:
    # the workspace's settings (for a bare threshold, the defaults and the environment): its
    # completeness threshold and youngest age offered testing, as ``corridor indicators``
    settings = report_settings(threshold)
    raw = compute_indicators(
        engine,
        ids,
        by=by,
        period=period,
        totals=True,
        completeness=settings.completeness_threshold,
        testing_min_age=settings.testing_min_age,
    )
    if raw.num_rows == 0:
        return raw, []
    # publish leaves out the rows whose every published count is 0 (cell-key method): the
    # report lists the rows that are left, as every other output does
    numbered = raw.append_column(_ROW, pa.array(range(raw.num_rows), pa.int64()))
    published = suppress_table(numbered, settings)
    listed = raw.take(published.column(_ROW))
    # how many places reported, as publish counts them (the places whose own rows it lists)
    for name in _REPORTING:
        at = listed.schema.get_field_index(name)
        listed = listed.set_column(
            at, listed.field(at), published.column(name).cast(listed.field(at).type)
        )
    cells = indicator_cells(listed, published.drop_columns([_ROW]), threshold_of(settings))
    return listed, cells


def _leaves_people_out(c: CascadeCell) -> bool:
    """An unallocated cell worth a row: its share is withheld or above zero."""
    if c.share is None or c.share.state == "missing":
        return False
    return c.share.value is None or c.share.value > 0


def cascade(
    engine: Engine, period: str, threshold: int | Settings, country_names: Mapping[str, str]
) -> Cascade:
    """Cascade indicators by country x population group (with country totals) over ``period``.

    ``threshold``: the workspace's settings (disclosure control, ``completeness_threshold`` for
    the incomplete cells, ``testing_min_age`` for testing coverage), or a bare threshold over
    the defaults and the environment."""
    raw, cells = _protected(engine, CASCADE_IDS, ("country", "population_group"), period, threshold)
    found: dict[str, dict[str, dict[str, CascadeCell]]] = {}
    targets: dict[str, float | None] = {}
    for i, rec in enumerate(raw.select(_CASCADE_COLUMNS).to_pylist() if raw.num_rows else []):
        country, group = str(rec["country"]), str(rec["population_group"])
        if country in ("all", "none") or group not in GROUP_ORDER:
            continue  # the region-wide margin is not shown
        num, den, val = cells[i]
        targets[rec["indicator"]] = rec["target"]
        note = (
            f"{rec['places_reporting']} of {rec['places_expected']} places reported"
            if rec["incomplete"]
            else ""
        )
        found.setdefault(country, {}).setdefault(group, {})[rec["indicator"]] = CascadeCell(
            num, den, val, rec["target"], note
        )
    countries: list[CountryCascade] = []
    for code in sorted(found, key=lambda c: country_names.get(c, c.upper())):
        groups = found[code]
        for ind, cell in groups.get(UNALLOCATED, {}).items():
            total = groups.get(TOTAL, {}).get(ind)
            cell.share = share_cell(cell.denominator, total.denominator) if total else None
        rows = [
            CascadeRow(g, group_label(g), is_mobile(g), groups[g], group_kind(g))
            for g in GROUP_ORDER
            if g in groups
            and any(
                c.value.state != "missing" or c.numerator.state != "missing"
                for c in groups[g].values()
            )
            and (g != UNALLOCATED or any(_leaves_people_out(c) for c in groups[g].values()))
        ]
        if all(r.group in (TOTAL, UNALLOCATED) for r in rows):  # no group reported: total only
            rows = [r for r in rows if r.group == TOTAL]
        if len(rows) > 0:
            countries.append(CountryCascade(code, country_names.get(code, code.upper()), rows))
    indicators = [(i, get_indicator(i).name, get_indicator(i).target) for i in CASCADE_IDS]
    return Cascade(indicators, countries, period)


def trend_request(first: date, last: date) -> tuple[str, str]:
    """The trend's period range and granularity: quarters over at most 4 years, else years."""
    quarters = (last.year - first.year) * 4 + (last.month - 1) // 3 - (first.month - 1) // 3 + 1
    if quarters <= MAX_QUARTERS:
        q0 = f"{first.year}Q{(first.month - 1) // 3 + 1}"
        q1 = f"{last.year}Q{(last.month - 1) // 3 + 1}"
        return f"{q0}:{q1}", "quarter"
    return f"{first.year}:{last.year}", "year"


def trends(engine: Engine, threshold: int | Settings) -> tuple[list[LineChart], str]:
    """One chart per trend indicator: host, each mobile group, and all groups (dashed);
    ``threshold`` as :func:`cascade`'s."""
    span = engine.query_rows(
        "SELECT MIN(period_start), MAX(period_end) FROM services", step="report: service span"
    )
    if not span or span[0][0] is None:
        return [], ""
    request, granularity = trend_request(span[0][0], span[0][1])
    raw, cells = _protected(engine, TREND_IDS, ("period", "population_group"), request, threshold)
    if raw.num_rows == 0:
        return [], granularity
    periods = sorted({str(p) for p in raw.column("period").to_pylist()})
    series: dict[str, dict[str, dict[str, float | None]]] = {}
    for i, rec in enumerate(raw.select(["indicator", "period", "population_group"]).to_pylist()):
        group = str(rec["population_group"])
        if group not in POPULATION_GROUPS:
            continue
        value = cells[i][2]
        by_group = series.setdefault(rec["indicator"], {}).setdefault(group, {})
        by_group[str(rec["period"])] = value.value if value.shown else None
    charts: list[LineChart] = []
    for ind in TREND_IDS:
        groups = series.get(ind, {})
        ordered = [
            g
            for g in GROUP_ORDER
            if g != UNALLOCATED and g in groups and any(v is not None for v in groups[g].values())
        ]
        if not ordered:
            continue
        ordered = [g for g in ordered if g != TOTAL] + ([TOTAL] if TOTAL in ordered else [])
        data = {group_label(g): [groups[g].get(p) for p in periods] for g in ordered}
        charts.append(
            line_chart(
                get_indicator(ind).name,
                periods,
                data,
                unit="%",
                dashed=[group_label(TOTAL)],
                bold=[group_label("host")],
                colours={group_label(TOTAL): "#555555"},
            )
        )
    return charts, granularity


@dataclass(slots=True)
class Gap:
    country: str
    indicator: str
    group: str
    group_value: str
    host_value: str
    points: float


def largest_gaps(c: Cascade, *, limit: int = 6) -> list[Gap]:
    """Where a migrant or mobile group is furthest below the host community on the 95s.

    Only values shown after disclosure control are compared; the gap is in percentage points,
    the difference of the two values as the report prints them (one decimal).
    """
    names = {i: name for i, name, _t in c.indicators}
    found: list[Gap] = []
    for country in c.countries:
        host = next((r for r in country.rows if r.group == "host"), None)
        if host is None:
            continue
        for ind in ("first_95", "second_95", "third_95"):
            h = host.cells.get(ind)
            if h is None or not h.value.shown or h.value.value is None:
                continue
            worst: tuple[float, CascadeRow, Cell] | None = None
            for row in country.rows:
                cell = row.cells.get(ind)
                if not row.mobile or cell is None or cell.value.value is None:
                    continue
                # the difference of the values as shown (one decimal), so that the gap printed
                # is what a reader gets by subtracting the two values beside it
                diff = round(round(h.value.value, 1) - round(cell.value.value, 1), 1)
                if worst is None or diff > worst[0]:
                    worst = (diff, row, cell.value)
            if worst is not None and worst[0] >= 1.0:
                found.append(
                    Gap(
                        country.name,
                        names.get(ind, ind),
                        worst[1].label,
                        worst[2].text,
                        h.value.text,
                        round(worst[0], 1),
                    )
                )
    found.sort(key=lambda g: -g.points)
    return found[:limit]
