"""``corridor report``: one self-contained HTML file for people who decide.

::

    from corridor import open_workspace
    from corridor.reports.html import render_report, write_report

    ws = open_workspace("my-workspace")
    html = render_report(ws, period="2024")        # settings: the workspace's
    write_report(ws, Path("report.html"))

The file needs no network: styles, the map (inline SVG over packaged country outlines) and the
charts are written into it; there is no script. Every count and rate of people in it has passed
through ``corridor.indicators.publish`` with the workspace's settings (or
``HotspotResult.disclosed``); see docs/report.md and docs/disclosure.md. The cascade's
incomplete cells and testing coverage, and the ranking, follow the workspace's settings
``completeness_threshold`` and ``testing_min_age``, as ``corridor indicators`` and
``corridor hotspots`` do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from corridor import __version__
from corridor.contract.periods import parse_period_range
from corridor.errors import CorridorError, OutputError
from corridor.hotspots import COMPONENTS, HotspotResult, rank_sites
from corridor.indicators.buckets import four_quarters_to
from corridor.indicators.disclosure import publish_counts
from corridor.output import output_file
from corridor.reports import basemap
from corridor.reports.cascade import cascade, largest_gaps, trends
from corridor.reports.hotspot_view import COMPONENT_COLOURS, COMPONENT_LABELS, hotspot_rows
from corridor.reports.mapview import build_map
from corridor.reports.outbreak import outbreaks
from corridor.reports.protect import disclosure_method, report_settings, small_counts
from corridor.reports.quality import (
    completeness,
    imports_table,
    quarantine_table,
    ranking_flags,
)
from corridor.storage.engine import Engine
from corridor.storage.recordkeys import KEY_MODULUS
from corridor.workspace import Workspace, workspace_files

if TYPE_CHECKING:
    from corridor.config import Settings

DEFAULT_TITLE = "Corridor report: health of migrants and mobile populations"
REPORT_FILE = "report.html"
#: ranked sites shown in the body of the report; the appendix has them all
BODY_SITES = 20


class ReportError(CorridorError):
    """The report cannot be made from this workspace (empty warehouse, bad period)."""


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date
    text: str


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("corridor.reports", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _engine(source: Workspace | Engine) -> Engine:
    return source.engine if isinstance(source, Workspace) else source


def _last_day(engine: Engine) -> date | None:
    for sql in (
        "SELECT MAX(period_end) FROM services",
        "SELECT MAX(period_end) FROM flows",
        "SELECT MAX(COALESCE(onset_date, report_date)) FROM cases",
    ):
        value = engine.scalar(sql, step="report: latest date")
        if value is not None:
            return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return None


def report_window(engine: Engine, period: str | None) -> Window:
    """The report's period: ``period`` (checked), else the 12 months ending with the calendar
    quarter of the latest data (four whole quarters)."""
    if period is not None:
        try:
            rng = parse_period_range(period.strip())
        except ValueError as exc:
            raise ReportError(
                f"bad period {period!r}: {exc} (a range is written 2023Q1:2024Q4)"
            ) from None
        return Window(rng.start, rng.end, rng.text)
    end = _last_day(engine)
    if end is None:
        raise ReportError(
            "nothing to report: the warehouse holds no services, flows or cases; import data "
            "first (corridor ingest FILE --kind services|flows|cases)"
        )
    # 12 whole months ending with the calendar quarter of the last day covered: four whole
    # quarters, a window whose sums may be published
    first, last = four_quarters_to(end)
    text = f"{last.year}" if first.year == last.year else f"{first:%Y-%m}:{last:%Y-%m}"
    rng = parse_period_range(text)
    return Window(rng.start, rng.end, rng.text)


def _check_data(engine: Engine, window: Window) -> None:
    inside = 0
    for sql in (
        "SELECT COUNT(*) FROM services WHERE period_start <= ? AND period_end >= ?",
        "SELECT COUNT(*) FROM flows WHERE period_start <= ? AND period_end >= ?",
        "SELECT COUNT(*) FROM cases WHERE COALESCE(onset_date, report_date) <= ? "
        "AND COALESCE(onset_date, report_date) >= ?",
    ):
        inside += int(engine.scalar(sql, (window.end, window.start), step="report: window") or 0)
    if inside == 0:
        span = engine.query_rows(
            "SELECT MIN(period_start), MAX(period_end) FROM services", step="report: span"
        )
        have = (
            f"; services cover {span[0][0]} to {span[0][1]}"
            if span and span[0][0] is not None
            else ""
        )
        raise ReportError(
            f"nothing to report for period {window.text}: no services, flows or cases in "
            f"{window.start} to {window.end}{have}"
        )


def country_names(engine: Engine) -> dict[str, str]:
    """country_code -> name: the registry's country places, else the base map's names."""
    names = {
        str(f["properties"]["iso_a3"]).lower(): str(f["properties"]["name"])
        for f in basemap.load_boundaries()["features"]
    }
    for code, name in engine.query_rows(
        "SELECT country_code, name FROM places WHERE place_type = 'country'",
        step="report: countries",
    ):
        names[str(code)] = str(name)
    return names


def _map_inputs(
    engine: Engine, window: Window
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    places = engine.query(
        "SELECT place_code, name, place_type, lat, lon, corridor FROM places",
        step="report: places for the map",
    ).to_pylist()
    flows = engine.query(
        "SELECT origin_code, observation_code, destination_code, SUM(count) AS count, "
        f"SUM(CASE WHEN count = 0 THEN 0 ELSE COALESCE(record_key, 0) END) % {KEY_MODULUS} "
        "AS cell_key FROM flows WHERE period_start <= ? AND period_end >= ? "
        "GROUP BY origin_code, observation_code, destination_code",
        (window.end, window.start),
        step="report: flows for the map",
    ).to_pylist()
    return places, flows


def build_context(
    engine: Engine,
    *,
    threshold: int | Settings,
    period: str | None,
    title: str,
    draws: int,
    seed: int,
) -> dict[str, Any]:
    """Everything the template shows, each number already through disclosure control.

    ``threshold``: the workspace's settings (disclosure control, ``completeness_threshold``,
    ``testing_min_age``), or a bare threshold over the defaults and the environment."""
    settings = report_settings(threshold)
    threshold = settings.suppression_threshold
    if threshold < 1:
        raise ReportError(f"the suppression threshold must be at least 1, got {threshold}")
    if int(engine.scalar("SELECT COUNT(*) FROM places", step="report: places") or 0) == 0:
        raise ReportError(
            "nothing to report: the warehouse is empty (no places); import the place registry "
            "and data first (corridor ingest places.csv --kind places, then services, flows)"
        )
    window = report_window(engine, period)
    _check_data(engine, window)
    names = country_names(engine)

    result: HotspotResult | None = None
    ranking_note = ""
    try:
        result = rank_sites(
            engine,
            period=window.text,
            draws=draws,
            seed=seed,
            testing_min_age=settings.testing_min_age,
        )
    except CorridorError as exc:  # no sites, or no component with data: say so in the report
        ranking_note = str(exc)
    hotspots = hotspot_rows(result, settings) if result is not None else []
    disclosed = result.disclosed(settings).to_pylist() if result is not None else []
    places, flows = _map_inputs(engine, window)
    level = result.level if result is not None else 0.95
    map_view = build_map(
        disclosed,
        places,
        flows,
        threshold=threshold,
        level=level,
        disclose=lambda v, k: publish_counts(v, k, settings, "travellers"),
    )

    quarters, complete, missing, missing_more = completeness(
        engine, window.start, window.end, names, threshold
    )
    chart_list, granularity = trends(engine, settings)
    cascade_view = cascade(engine, window.text, settings, names)
    return {
        "title": title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "period": window.text,
        "period_start": window.start.isoformat(),
        "period_end": window.end.isoformat(),
        "threshold": threshold,
        # "from 1 to 9", "of 1", or "" when the threshold (1) withholds no count for its size
        "small_counts": small_counts(threshold),
        "disclosure_method": disclosure_method(settings),
        # the setting completeness_threshold as the cascade's lead says it: "80", "92.5"
        "completeness_threshold": f"{settings.completeness_threshold:g}",
        "testing_min_age": settings.testing_min_age,
        "database": engine.name,
        "result": result,
        "ranking_note": ranking_note,
        "weights": [
            (COMPONENT_LABELS[c], COMPONENT_COLOURS[c], round(100 * result.weights.get(c, 0.0)))
            for c in COMPONENTS
        ]
        if result is not None
        else [],
        "hotspots": hotspots,
        "body_sites": BODY_SITES,
        "top": result.top if result is not None else 10,
        "level": round(100 * level),
        # without uncertainty draws: no interval, rank interval or P(top) anywhere in the report
        "intervals": result is not None and result.has_intervals,
        "map": map_view,
        "cascade": cascade_view,
        "gaps": largest_gaps(cascade_view),
        "trends": chart_list,
        "granularity": granularity,
        "outbreaks": outbreaks(engine, window.start, window.end, settings, names),
        "imports": imports_table(engine, threshold),
        "quarantine": quarantine_table(engine, threshold),
        "quarters": quarters,
        "completeness": complete,
        "missing_sites": missing,
        "missing_more": missing_more,
        "notes": list(result.notes) if result is not None else [],
        "flags": ranking_flags(disclosed),
    }


def _with_threshold(settings: Settings, threshold: int) -> Settings:
    if threshold < 1:
        raise ReportError(f"the suppression threshold must be at least 1, got {threshold}")
    values = {**settings.values, "suppression_threshold": threshold}
    return dataclasses.replace(settings, values=values)


def render_report(
    source: Workspace | Engine,
    *,
    threshold: int | None = None,
    settings: Settings | None = None,
    period: str | None = None,
    title: str = DEFAULT_TITLE,
    draws: int = 500,
    seed: int = 1,
) -> str:
    """The report as one self-contained HTML document.

    ``source``: an open workspace or an engine. ``settings``: disclosure control, the
    completeness threshold and the youngest age offered testing (default: the workspace's
    settings, so that the report publishes what the CLI and the API publish; for an engine, the
    defaults and the environment). ``threshold``: replaces the settings'
    ``suppression_threshold`` (counts from 1 to threshold - 1 are never shown). ``period``: a period
    or range (``2024``, ``2023Q3:2024Q2``); default the 12 months ending with the latest data.
    ``draws``/``seed``: the ranking's uncertainty draws. Raises ``ReportError`` (a
    ``CorridorError``) for an empty warehouse, a bad period or a period without data.
    """
    engine = _engine(source)
    if settings is None:
        settings = source.settings if isinstance(source, Workspace) else report_settings(10)
    if threshold is not None and threshold != settings.suppression_threshold:
        settings = _with_threshold(settings, threshold)
    context = build_context(
        engine, threshold=settings, period=period, title=title, draws=draws, seed=seed
    )
    return _environment().get_template("report.html.j2").render(**context)


def write_report(
    ws: Workspace,
    out: Path | None = None,
    *,
    threshold: int | None = None,
    period: str | None = None,
    title: str = DEFAULT_TITLE,
    draws: int = 500,
    seed: int = 1,
) -> Path:
    """Render the report and write it to ``out`` (default ``<workspace>/report.html``).

    Disclosure control with the workspace's settings; ``threshold`` replaces its
    ``suppression_threshold``.
    """
    target = Path(out) if out is not None else ws.path / REPORT_FILE
    html = render_report(
        ws,
        threshold=threshold,
        period=period,
        title=title,
        draws=draws,
        seed=seed,
    )
    if target.is_dir():
        raise ReportError(f"{target} is a folder; name a file for the report")
    # whole or not at all (a temporary file renamed into place), and never over the workspace's
    # own settings or warehouse (an OutputError, exit 2), as every other --out
    protected = workspace_files(ws.path, ws.engine.url)
    try:
        with output_file(target, protected) as stream:
            stream.write(html.encode("utf-8"))
    except OutputError as exc:
        raise ReportError(str(exc)) from None
    return target
