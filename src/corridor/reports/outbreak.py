"""The report's outbreak section: the epidemic curve by country and week, and the order in which
sites were reached.

Counts of cases are counts of people: each weekly count passes through the report's disclosure
control before it is drawn: the cell-key method by default, through ``publish`` with each
count's cell key (the sum of its cases' record keys). Under ``disclosure_method = suppression``
a count shown as ``<10`` in tables is drawn as
what is published about it: a pale, dashed box spanning 1 to threshold - 1 (its value stays
hidden); a count withheld outright is marked under the axis. The
order of arrival gives the ISO week of a site's first case (not the date: a single case's date
could point at a person) and the site's number of cases, also through disclosure control.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

from corridor.indicators.cellkey import KEY_MODULUS
from corridor.reports.charts import fmt_tick, nice_max
from corridor.reports.protect import (
    MISSING,
    WITHHELD,
    Cell,
    disclosure_method,
    fmt_count,
    suppress_table,
    threshold_of,
)
from corridor.storage.engine import Engine

if TYPE_CHECKING:
    from corridor.config import Settings

#: the classifications drawn, bottom to top, and their colours (Okabe-Ito)
CLASSES: tuple[tuple[str, str, str], ...] = (
    ("confirmed", "Confirmed", "#b2182b"),
    ("suspected", "Suspected or probable", "#f4a582"),
)
WIDTH = 360.0
HEIGHT = 130.0
LEFT, RIGHT, TOP, BOTTOM = 34.0, 6.0, 8.0, 22.0
#: sites listed in the order of arrival (the rest are counted)
ARRIVAL_ROWS = 15
#: the sites reached last, kept beside the first (the dashboard's overview shows them)
LATEST_ROWS = 5


def counts(
    values: Sequence[int | None], threshold: int | Settings, keys: Sequence[int] | None = None
) -> list[Cell]:
    """Case counts (counts of people), published through the one disclosure function.

    With the cell-key method (the default) each count goes through ``publish`` with its cell key
    (the sum of its cases' record keys): the same cell publishes the same value wherever it
    appears, and a total is perturbed as a cell of its own, so "total minus the shown weeks"
    recovers nothing. With ``disclosure_method = suppression`` (or without keys) counts from 1 to
    threshold - 1 show as ``<threshold``; the caller withholds a margin whose parts are small."""
    if keys is not None and disclosure_method(threshold) == "cellkey":
        return _published(values, keys, threshold)
    t = threshold_of(threshold)
    out: list[Cell] = []
    for v in values:
        if v is None:
            out.append(Cell(MISSING, None, "missing"))
        elif 0 < v < t:
            out.append(Cell(f"<{t}", None, "small"))
        else:
            out.append(Cell(fmt_count(float(v)), float(v), "shown"))
    return out


def reached_counts(
    values: Sequence[int], threshold: int | Settings, keys: Sequence[int]
) -> list[Cell]:
    """The case counts of sites an outbreak has reached (:func:`counts`). Every such site has a
    case, so a count published as 0 (the cell-key method turns 1 to threshold - 1 into 0 or at
    least the threshold) can only stand for a few: it is shown as ``<threshold``, never as
    "reached, 0 cases"."""
    few = Cell(f"<{threshold_of(threshold)}", None, "small")
    return [few if c.value == 0 else c for c in counts(values, threshold, keys)]


def _published(
    values: Sequence[int | None], keys: Sequence[int], threshold: int | Settings
) -> list[Cell]:
    n = len(values)
    table = pa.table(
        {
            "numerator": pa.array([None if v is None else float(v) for v in values], pa.float64()),
            "denominator": pa.nulls(n, pa.float64()),
            "numerator_key": pa.array([int(k) % KEY_MODULUS for k in keys], pa.int64()),
            "denominator_key": pa.nulls(n, pa.int64()),
        }
    )
    published = suppress_table(table, threshold).column("numerator").to_pylist()
    return [
        Cell(MISSING, None, "missing")
        if v is None or (isinstance(v, float) and math.isnan(v))
        else Cell(fmt_count(float(v)), float(v), "shown")
        for v in published
    ]


@dataclass(slots=True)
class Bar:
    x: float
    width: float
    #: drawn segments (y, height, colour, tooltip, small), bottom first; ``small``: a count
    #: from 1 to threshold - 1, drawn as the range it may take
    segments: list[tuple[float, float, str, str, bool]]
    #: a week with a withheld count: a mark on the axis instead of (part of) its bar
    withheld: bool = False


@dataclass(slots=True)
class CountryCurve:
    name: str
    bars: list[Bar]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    total: Cell


@dataclass(slots=True)
class Arrival:
    order: int
    site: str
    country: str
    week: str
    weeks_after: int
    cases: Cell


@dataclass(slots=True)
class Outbreak:
    disease: str
    curves: list[CountryCurve]
    arrivals: list[Arrival]
    more_sites: int
    #: the last sites reached, latest first (up to LATEST_ROWS; also among ``arrivals`` when few)
    latest: list[Arrival] = field(default_factory=list)
    width: float = WIDTH
    height: float = HEIGHT
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    classes: Sequence[tuple[str, str, str]] = field(default_factory=lambda: CLASSES)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}W{week:02d}"


def _weeks(start: date, end: date) -> list[date]:
    first, last = week_start(start), week_start(end)
    return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]


def _curve(
    name: str,
    weeks: Sequence[date],
    found: Mapping[tuple[date, str], int],
    threshold: int | Settings,
    key_sums: Mapping[tuple[date, str], int],
) -> CountryCurve:
    keys = [(w, c) for w in weeks for c, _label, _colour in CLASSES]
    values = [found.get(k, 0) for k in keys]
    record_keys = [key_sums.get(k, 0) for k in keys]
    cells = dict(zip(keys, counts(values, threshold, record_keys), strict=True))
    total = counts([sum(found.values())], threshold, [sum(key_sums.values())])[0]
    if any(c.state == "small" for c in cells.values()):  # suppression: the margin would tell
        total = Cell(WITHHELD, None, "withheld")

    def height(cell: Cell) -> float:
        return (
            float(threshold_of(threshold) - 1)
            if cell.state == "small"
            else float(cell.value or 0.0)
        )

    top = nice_max(
        max((sum(height(cells[(w, c)]) for c, _l, _k in CLASSES) for w in weeks), default=0.0)
    )
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    step = (x1 - x0) / max(len(weeks), 1)
    bars: list[Bar] = []
    for i, w in enumerate(weeks):
        base = y1
        segments: list[tuple[float, float, str, str, bool]] = []
        withheld = False
        for c, label, colour in CLASSES:
            cell = cells[(w, c)]
            if cell.state == "withheld":
                withheld = True
                continue
            if cell.state not in ("shown", "small") or not height(cell):
                continue
            h = (y1 - y0) * height(cell) / top
            base -= h
            tip = f"{name}, week of {w.isoformat()} ({iso_week(w)}): {cell.text} {label.lower()}"
            segments.append((round(base, 1), round(h, 1), colour, tip, cell.state == "small"))
        bars.append(
            Bar(round(x0 + i * step, 1), round(max(step - 0.6, 0.6), 1), segments, withheld)
        )
    y_ticks = [(round(y1 - (y1 - y0) * f, 1), fmt_tick(top * f)) for f in (0.0, 0.5, 1.0)]
    x_ticks = [
        (round(x0 + (i + 0.5) * step, 1), w.strftime("%b %Y" if w.month == 1 else "%b"))
        for i, w in enumerate(weeks)
        if w.day <= 7 and (w.month - 1) % 3 == 0
    ]
    return CountryCurve(name, bars, y_ticks, x_ticks, total)


def outbreaks(
    engine: Engine,
    start: date,
    end: date,
    threshold: int | Settings,
    country_names: Mapping[str, str],
) -> list[Outbreak]:
    """One outbreak view per disease with cases in ``start``..``end`` (the report's window)."""
    day = "COALESCE(c.onset_date, c.report_date)"
    rows = engine.query_rows(
        f"SELECT c.disease, COALESCE(p.country_code, ''), {day}, c.classification, "
        "COALESCE(c.record_key, 0) "
        f"FROM cases c LEFT JOIN places p ON p.place_code = c.place_code "
        f"WHERE {day} >= ? AND {day} <= ?",
        (start, end),
        step="report: cases by country and week",
    )
    by_disease: dict[str, dict[str, dict[tuple[date, str], int]]] = {}
    key_sums: dict[str, dict[str, dict[tuple[date, str], int]]] = {}
    for disease, country, when, classification, record_key in rows:
        when = when if isinstance(when, date) else date.fromisoformat(str(when)[:10])
        cls = "confirmed" if classification == "confirmed" else "suspected"
        curve = by_disease.setdefault(str(disease), {}).setdefault(str(country), {})
        ks = key_sums.setdefault(str(disease), {}).setdefault(str(country), {})
        key = (week_start(when), cls)
        curve[key] = curve.get(key, 0) + 1
        ks[key] = (ks.get(key, 0) + int(record_key)) % KEY_MODULUS
    weeks = _weeks(start, end)
    out: list[Outbreak] = []
    for disease in sorted(by_disease):
        countries = by_disease[disease]
        order = sorted(countries, key=lambda c: -sum(countries[c].values()))
        curves = [
            _curve(
                country_names.get(c, c.upper() or "no country"),
                weeks,
                countries[c],
                threshold,
                key_sums[disease][c],
            )
            for c in order
        ]
        arrivals, more, latest = _arrivals(engine, disease, end, threshold, country_names)
        out.append(Outbreak(disease, curves, arrivals, more, latest))
    return out


def _arrivals(
    engine: Engine,
    disease: str,
    end: date,
    threshold: int | Settings,
    country_names: Mapping[str, str],
) -> tuple[list[Arrival], int, list[Arrival]]:
    """Sites by the week of their first case, up to the end of the window: the first
    :data:`ARRIVAL_ROWS`, how many more, and the last :data:`LATEST_ROWS` (latest first)."""
    day = "COALESCE(c.onset_date, c.report_date)"
    rows = engine.query_rows(
        f"SELECT c.place_code, COALESCE(p.name, c.place_code), COALESCE(p.country_code, ''), "
        f"MIN({day}) AS first_day, COUNT(*), SUM(COALESCE(c.record_key, 0)) FROM cases c "
        "LEFT JOIN places p ON p.place_code = c.place_code "
        f"WHERE c.disease = ? AND {day} <= ? GROUP BY 1, 2, 3 ORDER BY first_day, 1",
        (disease, end),
        step="report: order of arrival",
    )
    if not rows:
        return [], 0, []
    firsts = [r[3] if isinstance(r[3], date) else date.fromisoformat(str(r[3])[:10]) for r in rows]
    picked = sorted({*range(min(ARRIVAL_ROWS, len(rows))), *range(len(rows))[-LATEST_ROWS:]})
    cells = dict(
        zip(
            picked,
            reached_counts(
                [int(rows[i][4]) for i in picked], threshold, [int(rows[i][5] or 0) for i in picked]
            ),
            strict=True,
        )
    )
    origin = week_start(firsts[0])

    def arrival(i: int) -> Arrival:
        r = rows[i]
        return Arrival(
            i + 1,
            str(r[1]),
            country_names.get(str(r[2]), str(r[2]).upper()),
            iso_week(firsts[i]),
            (week_start(firsts[i]) - origin).days // 7,
            cells[i],
        )

    shown = [arrival(i) for i in range(min(ARRIVAL_ROWS, len(rows)))]
    latest = [arrival(i) for i in reversed(range(len(rows))[-LATEST_ROWS:])]
    return shown, len(rows) - len(shown), latest
