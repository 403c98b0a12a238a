"""The report's data-quality section: imports, quarantined rows, missing reports, ranking notes.

Only summaries leave: quarantined rows are counted by file x column x reason, never shown with
their values or raw records (they can hold sensitive data). The counts here are of files,
reports and rows, not of people: disclosure control applies to counts of people, so they are
shown as they are (``protect.counts``, ``protect.rates``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from corridor.contract.dimensions import DATA_ELEMENTS, SITE_TYPES
from corridor.contract.periods import parse_period, quarter_of
from corridor.reports.protect import Cell, counts, rates
from corridor.storage.engine import Engine

MAX_MISSING_SITES = 60
#: flags of the ranking and what they mean for a reader
FLAG_TEXT: dict[str, str] = {
    "no_flow_data": "no flow-monitoring data: mobility and bridging imputed from similar sites",
    "no_group_data": "no data by population group: mobile share and testing coverage imputed",
    "no_testing_data": "no HIV testing data: positivity imputed",
    "no_prevalence_estimate": "no HIV prevalence estimate: prevalence imputed",
    "no_population": "no population: per-head measures imputed",
    "no_linkage_data": "no ART initiation or positive results: linkage imputed",
    "no_vl_data": "no viral-load results: suppression imputed",
    "no_art_data": "no ART or PLHIV data: ART coverage imputed",
    "suppressed": "some raw measures withheld by disclosure control (the score still uses them)",
}


@dataclass(slots=True)
class ImportRow:
    file_name: str
    kind: str
    format: str
    imported_at: str
    status: str
    rows_imported: Cell
    rows_quarantined: Cell


@dataclass(slots=True)
class QuarantineRow:
    file_name: str
    column: str
    reason: str
    rows: Cell


@dataclass(slots=True)
class CompletenessRow:
    country: str
    expected: Cell
    received: Cell
    completeness: Cell
    silent_sites: list[str]


@dataclass(slots=True)
class MissingSite:
    name: str
    country: str
    quarters: list[str]


@dataclass(slots=True)
class Quality:
    imports: list[ImportRow]
    quarantine: list[QuarantineRow]
    quarters: list[str]
    completeness: list[CompletenessRow]
    missing_sites: list[MissingSite]
    missing_more: int
    notes: list[str]
    flags: list[tuple[str, str, list[str]]] = field(default_factory=list)


def generic_reason(reason: str, value: str | None = None) -> str:
    """A reason without the rejected value, any quoted text or row number (``row N``)."""
    text = reason
    if value and len(value.strip()) >= 2:
        text = re.sub(rf"(?<!\w){re.escape(value.strip())}(?!\w)", "…", text)
    text = re.sub(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)", "'…'", text)
    return re.sub(r"\brows? \d+\b", "row N", text)


def imports_table(engine: Engine, threshold: int) -> list[ImportRow]:
    rows = engine.query(
        "SELECT file_name, kind, format, status, imported_at, rows_imported, rows_quarantined "
        "FROM imports ORDER BY imported_at, import_id",
        step="report: imports",
    ).to_pylist()
    imported = counts([r["rows_imported"] for r in rows], threshold)
    quarantined = counts([r["rows_quarantined"] for r in rows], threshold)
    return [
        ImportRow(
            r["file_name"],
            r["kind"],
            r["format"],
            r["imported_at"].isoformat(sep=" ", timespec="minutes"),
            r["status"],
            imported[i],
            quarantined[i],
        )
        for i, r in enumerate(rows)
    ]


def quarantine_table(engine: Engine, threshold: int) -> list[QuarantineRow]:
    """Rows kept in quarantine, counted by file x column x (generic) reason."""
    rows = engine.query(
        "SELECT i.file_name, q.column_name, q.value, q.reason, q.row_number, q.import_id "
        "FROM quarantine q JOIN imports i ON i.import_id = q.import_id",
        step="report: quarantine summary",
    ).to_pylist()
    groups: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
    for r in rows:
        reason = generic_reason(r["reason"], r["value"])
        key = (r["file_name"], r["column_name"] or "(whole file)", reason)
        groups.setdefault(key, set()).add((int(r["import_id"]), int(r["row_number"] or 0)))
    keys = sorted(groups, key=lambda k: (k[0], -len(groups[k]), k[1], k[2]))
    cells = counts([len(groups[k]) for k in keys], threshold)
    return [QuarantineRow(*k, cells[i]) for i, k in enumerate(keys)]


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


def quarters_between(start: date, end: date) -> list[str]:
    out: list[str] = []
    q = parse_period(quarter_of(start))
    while q.start <= end:
        out.append(q.text)
        q = parse_period(quarter_of(date.fromordinal(q.end.toordinal() + 1)))
    return out


def completeness(
    engine: Engine,
    start: date,
    end: date,
    country_names: Mapping[str, str],
    threshold: int,
) -> tuple[list[str], list[CompletenessRow], list[MissingSite], int]:
    """Expected site x quarter service reports in the window versus those received.

    A site is a place of a site type; a report is received for a quarter when the site has a
    value of a routine (sum) element - tests, results, initiations... - for a period overlapping
    that quarter (a yearly report covers its quarters). Stocks such as population estimates,
    often entered once a year, do not count as reports.
    """
    quarters = quarters_between(start, end)
    sites = engine.query(
        "SELECT place_code, name, country_code FROM places "
        f"WHERE place_type IN ({_marks(SITE_TYPES)}) ORDER BY country_code, name",
        tuple(SITE_TYPES),
        step="report: sites",
    ).to_pylist()
    sums = [e for e, kind in DATA_ELEMENTS.items() if kind == "sum"]
    reported = engine.query_rows(
        "SELECT DISTINCT place_code, period_start, period_end FROM services "
        f"WHERE period_end >= ? AND period_start <= ? AND data_element IN ({_marks(sums)})",
        (start, end, *sums),
        step="report: reported periods",
    )
    got: dict[str, set[str]] = {}
    q_ranges = [(q, parse_period(q)) for q in quarters]
    for code, p_start, p_end in reported:
        for q, qp in q_ranges:
            if p_start <= qp.end and p_end >= qp.start:
                got.setdefault(code, set()).add(q)
    by_country: dict[str, list[dict[str, Any]]] = {}
    for s in sites:
        by_country.setdefault(str(s["country_code"]), []).append(s)
    order = sorted(by_country, key=lambda c: country_names.get(c, c.upper()))
    expected_n = [len(by_country[c]) * len(quarters) for c in order]
    received_n = [sum(len(got.get(s["place_code"], ())) for s in by_country[c]) for c in order]
    cells = rates(received_n, expected_n, threshold)
    rows: list[CompletenessRow] = []
    missing: list[MissingSite] = []
    for i, c in enumerate(order):
        silent = [s["name"] for s in by_country[c] if not got.get(s["place_code"])]
        received, expected, share = cells[i]
        name = country_names.get(c, c.upper())
        rows.append(CompletenessRow(name, expected, received, share, silent))
        for s in by_country[c]:
            have = got.get(s["place_code"], set())
            gaps = [q for q in quarters if q not in have]
            if have and gaps:
                missing.append(MissingSite(s["name"], country_names.get(c, c.upper()), gaps))
    more = max(0, len(missing) - MAX_MISSING_SITES)
    return quarters, rows, missing[:MAX_MISSING_SITES], more


def ranking_flags(disclosed: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(flag, meaning, site names) for every flag of the disclosed ranking."""
    found: dict[str, list[str]] = {}
    for row in disclosed:
        for flag in str(row.get("flags") or "").split(";"):
            if flag:
                found.setdefault(flag, []).append(str(row["name"]))
    return [
        (flag, FLAG_TEXT.get(flag, flag.replace("_", " ")), sorted(names))
        for flag, names in sorted(found.items())
    ]
