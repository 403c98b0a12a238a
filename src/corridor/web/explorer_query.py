"""The indicator explorer's answer: the API's own read (``corridor.access.reads.read_indicators``)
and the API's own serialisation (``corridor.indicators.export``), so the table the page shows,
its CSV and its XLSX are what ``GET /api/v1/indicators`` answers for the same query, disclosure
control included. No query code here: parse the form, call the domain, shape for the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from corridor.access.accounts import Account
from corridor.access.reads import Cache, IndicatorQuery, read_indicators
from corridor.config import Settings
from corridor.indicators.export import export
from corridor.indicators.registry import DIMENSION_HELP, DIMENSIONS, INDICATORS
from corridor.storage.engine import Engine

#: columns shown in the page's table (the export's columns, in its order, when present)
NUMBERS: Final = ("numerator", "denominator", "value", "target", "gap")
DEFAULT_INDICATORS: Final = ("first_95",)
DEFAULT_BY: Final = ("country",)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    help: str = ""


INDICATOR_CHOICES: Final = tuple(Choice(i.id, i.name, i.definition) for i in INDICATORS)
DIMENSION_CHOICES: Final = tuple(
    Choice(d, d.replace("_", " "), DIMENSION_HELP[d]) for d in DIMENSIONS
)


@dataclass(slots=True)
class Answer:
    """What the explorer shows: the query, its columns and rows (as the API writes them), and the
    disclosure note."""

    query: IndicatorQuery
    columns: list[str]
    rows: list[dict[str, Any]]
    disclosure: dict[str, Any] = field(default_factory=dict)

    @property
    def cells(self) -> list[list[str]]:
        """The rows as the page's table shows them: each JSON value as JSON writes it (``true``,
        ``28.4``, ``<10``), empty for null."""
        return [[cell_text(r.get(c)) for c in self.columns] for r in self.rows]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return str(value)


def _many(values: Sequence[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Defaults:
    """The explorer's starting query for an account: for a partner, what its first agreement in
    force grants (its indicators, disaggregations and the last full period of its type)."""

    indicators: tuple[str, ...] = DEFAULT_INDICATORS
    by: tuple[str, ...] = DEFAULT_BY
    period: str | None = None
    grants: tuple[str, ...] = ()  # one line per agreement in force (partners)


def defaults_for(engine: Engine, account: Account) -> Defaults:
    from corridor.access.accounts import now
    from corridor.access.agreements import list_agreements
    from corridor.access.roles import AGREEMENT_ROLES

    if account.role not in AGREEMENT_ROLES:
        return Defaults()
    today = now().date()
    active = [a for a in list_agreements(engine, account.username) if a.active(today)]
    if not active:
        return Defaults()
    first = active[0]
    year = today.year - 1
    quarter = (today.month - 1) // 3  # the last full quarter
    month = today.month - 1
    period = {
        "year": str(year),
        "quarter": f"{today.year}Q{quarter}" if quarter else f"{year}Q4",
        "month": f"{today.year}-{month:02d}" if month else f"{year}-12",
    }.get(first.period_type)
    grants = tuple(
        f"agreement {a.agreement_id}: {', '.join(a.indicators)} by {', '.join(a.disaggregations)}"
        f", {a.period_type}ly, {a.as_dict(today)['countries']}, until {a.valid_to.isoformat()}"
        for a in active
    )
    return Defaults(first.indicators, first.disaggregations, period, grants)


def query_from_form(form: Mapping[str, Any], defaults: Defaults | None = None) -> IndicatorQuery:
    """An IndicatorQuery from the explorer's form (repeated ``indicator``/``by`` fields or
    comma-separated text). Validation is the domain's: ``read_indicators`` raises the same
    QueryError / PermissionDenied as the API for a bad indicator, dimension or period."""

    def getlist(key: str) -> list[str]:
        if hasattr(form, "getlist"):
            return [str(v) for v in form.getlist(key)]
        value = form.get(key)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]

    d = defaults or Defaults()
    submitted = "submitted" in form
    indicators = _many(getlist("indicator")) or d.indicators
    by = _many(getlist("by"))
    if not by and not submitted:
        by = d.by
    period = (str(form.get("period") or "").strip()) or (None if submitted else d.period)
    country = (str(form.get("country") or "").strip()) or None
    place = (str(form.get("place") or "").strip()) or None
    # a checkbox sends nothing when unticked: in a submitted form, no ``totals`` means off
    raw_totals = form.get("totals", "false" if submitted else "true")
    totals = str(raw_totals).lower() not in ("false", "0", "off", "no")
    return IndicatorQuery(indicators, by, period, country, place, totals, False)


def api_query_string(q: IndicatorQuery) -> str:
    """The same query as parameters of ``GET /api/v1/indicators`` (shown on the page)."""
    from urllib.parse import urlencode

    params: dict[str, str] = {"indicator": ",".join(q.indicators)}
    if q.by:
        params["by"] = ",".join(q.by)
    for key in ("period", "country", "place"):
        value = getattr(q, key)
        if value:
            params[key] = value
    if not q.totals:
        params["totals"] = "false"
    return urlencode(params)


def explore(
    engine: Engine,
    account: Account,
    settings: Settings,
    q: IndicatorQuery,
    *,
    cache: Cache | None = None,
) -> Answer:
    """The answer to ``q`` for ``account``: read (scoped, published, audited as ``web``) and
    written as the API's JSON writes it."""
    table = read_indicators(engine, account, settings, q, channel="web", cache=cache)
    body = json.loads(export(table, "json", query=q.as_dict()))
    rows: list[dict[str, Any]] = body.get("rows", [])
    columns = list(rows[0]) if rows else []
    return Answer(q, columns, rows, body.get("disclosure_control", {}))


def csv_of(
    engine: Engine,
    account: Account,
    settings: Settings,
    q: IndicatorQuery,
    *,
    cache: Cache | None = None,
) -> str:
    """The CSV the API writes for ``q`` (``format=csv``)."""
    table = read_indicators(engine, account, settings, q, channel="web", cache=cache)
    return export(table, "csv", query=q.as_dict())
