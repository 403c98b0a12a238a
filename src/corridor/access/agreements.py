"""Sharing agreements: which indicators, at which disaggregation and period type, for which
countries a partner may read, valid from and to dates (inclusive). Expired or revoked
agreements grant nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from corridor.access.accounts import get_user, now
from corridor.access.errors import NotFound, PermissionDenied
from corridor.access.scope import (
    Scope,
    format_countries,
    parse_countries,
    parse_granted_countries,
)
from corridor.contract.periods import parse_period_range
from corridor.errors import QueryError
from corridor.indicators.aggregate import parse_by
from corridor.indicators.registry import resolve_ids
from corridor.storage.engine import Engine

PERIOD_TYPES = ("year", "quarter", "month")


@dataclass(frozen=True, slots=True)
class Agreement:
    agreement_id: int
    partner: str
    indicators: tuple[str, ...]
    disaggregations: tuple[str, ...]
    period_type: str
    countries: frozenset[str] | None
    valid_from: date
    valid_to: date
    revoked: bool

    def active(self, on: date) -> bool:
        return not self.revoked and self.valid_from <= on <= self.valid_to

    def as_dict(self, on: date | None = None) -> dict[str, Any]:
        return {
            "id": self.agreement_id,
            "partner": self.partner,
            "indicators": ",".join(self.indicators),
            "by": ",".join(self.disaggregations),
            "period_type": self.period_type,
            "countries": format_countries(self.countries).upper(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
            "status": "revoked"
            if self.revoked
            else ("active" if self.active(on or now().date()) else "not in force"),
        }


def parse_day(text: str, label: str) -> date:
    """An ISO date typed by a person (``label`` names the field in the message)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{label} {text!r}: expected an ISO date such as 2025-01-31") from None


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())


def in_force_note(a: Agreement, today: date) -> tuple[str, str] | None:
    """What to say of an agreement just recorded that is not in force today: ``("warning",
    ...)`` when it has already ended (it grants nothing), ``("note", ...)`` when it starts
    later; None when it is in force. Recording either can be meant (for the record, or ahead of
    time), so the CLI and the dashboard say it rather than refuse it."""
    if a.valid_to < today:
        return (
            "warning",
            f"agreement {a.agreement_id} is not in force: it ended on {a.valid_to} (today is "
            f"{today}), so it grants {a.partner} nothing",
        )
    if a.valid_from > today:
        return (
            "note",
            f"agreement {a.agreement_id} is not in force yet: it starts on {a.valid_from}",
        )
    return None


def add_agreement(
    engine: Engine,
    partner: str,
    *,
    indicators: str,
    by: str,
    period_type: str,
    countries: str,
    valid_from: date,
    valid_to: date,
    created_by: str,
) -> Agreement:
    acct = get_user(engine, partner)
    if acct.role != "partner":
        raise QueryError(f"account {acct.username!r} is a {acct.role}, not a partner")
    ids = tuple(i.id for i in resolve_ids(_split(indicators)))
    dims = tuple(parse_by(_split(by)))
    if period_type not in PERIOD_TYPES:
        raise QueryError(f"period type {period_type!r}: expected one of {', '.join(PERIOD_TYPES)}")
    scope = parse_granted_countries(engine, countries)
    if scope is None:
        raise QueryError("an agreement names its countries (ISO3 codes), not *")
    if valid_to < valid_from:
        raise QueryError(f"agreement ends ({valid_to}) before it starts ({valid_from})")
    with engine.transaction():
        new_id = int(engine.scalar("SELECT COALESCE(MAX(agreement_id), 0) + 1 FROM agreements"))
        engine.execute(
            "INSERT INTO agreements (agreement_id, partner, indicators, disaggregations, "
            "period_type, countries, valid_from, valid_to, revoked, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new_id,
                acct.username,
                ",".join(ids),
                ",".join(dims),
                period_type,
                format_countries(scope),
                valid_from,
                valid_to,
                False,
                created_by,
                now(),
            ),
            step="add agreement",
        )
    return Agreement(
        new_id, acct.username, ids, dims, period_type, scope, valid_from, valid_to, False
    )


def list_agreements(engine: Engine, partner: str | None = None) -> list[Agreement]:
    sql = (
        "SELECT agreement_id, partner, indicators, disaggregations, period_type, countries, "
        "valid_from, valid_to, revoked FROM agreements"
        + (" WHERE partner = ?" if partner else "")
        + " ORDER BY agreement_id"
    )
    rows = engine.query_rows(sql, (partner,) if partner else None, step="agreements")
    return [
        Agreement(
            int(r[0]),
            r[1],
            _split(r[2]),
            _split(r[3]),
            r[4],
            parse_countries(r[5]),
            r[6],
            r[7],
            bool(r[8]),
        )
        for r in rows
    ]


def revoke_agreement(engine: Engine, agreement_id: int) -> None:
    if not engine.scalar("SELECT COUNT(*) FROM agreements WHERE agreement_id = ?", (agreement_id,)):
        raise NotFound(f"no agreement with id {agreement_id} (see `corridor agreements list`)")
    engine.execute(
        "UPDATE agreements SET revoked = TRUE WHERE agreement_id = ?", (agreement_id,), step="rv"
    )


def period_types_of(period: str | None) -> tuple[str, ...]:
    """The period types a query's ``period`` involves: one for a single period, those of both
    ends for a range (``2024Q4:2024`` involves quarter and year: it covers only 2024Q4).
    Empty for no period."""
    if period is None:
        return ()
    try:
        rng = parse_period_range(period)
    except ValueError as exc:
        raise QueryError(f"bad period {period!r}: {exc}") from None
    return tuple(dict.fromkeys((rng.first.kind, rng.last.kind)))


#: the disaggregations that show a place of each type on a row of its own: a place filter may
#: name a country when an agreement grants one of these, an admin1 area likewise; any other
#: place (a site, an admin2 area) only when it grants disaggregation by place
SHOWN_BY: Final[dict[str, tuple[str, ...]]] = {
    "country": ("country", "admin1", "place"),
    "admin1": ("admin1", "place"),
}
SITE_LEVEL: Final = ("place",)


@dataclass(frozen=True, slots=True)
class Filters:
    """A query's place filters as an agreement judges them: the countries named (``country=``)
    and the place named (``place=``) with its type and country."""

    countries: frozenset[str] | None = None
    place: str | None = None
    place_type: str = ""
    place_country: str = ""

    def refused_by(self, a: Agreement) -> list[str]:
        """What of these filters ``a`` does not grant (empty: all of it)."""
        granted = a.countries or frozenset()
        reasons = []
        if self.countries is not None:
            outside = sorted(self.countries - granted)
            if outside:
                reasons.append(f"country {', '.join(c.upper() for c in outside)}")
            elif self.countries < granted and not set(SHOWN_BY["country"]) & set(a.disaggregations):
                reasons.append(
                    f"a country filter ({format_countries(self.countries).upper()}) "
                    "without disaggregation by country"
                )
        if self.place is not None:
            levels = SHOWN_BY.get(self.place_type, SITE_LEVEL)
            if self.place_country not in granted:
                reasons.append(f"place {self.place} (in {self.place_country.upper()})")
            elif not set(levels) & set(a.disaggregations):
                reasons.append(
                    f"a place filter on {self.place} (of type {self.place_type}; "
                    f"needs disaggregation by {' or '.join(levels)})"
                )
        return reasons


def place_filters(engine: Engine, countries: frozenset[str] | None, place: str | None) -> Filters:
    """``Filters`` for a query's country and (normalised) place filters; NotFound for a place
    that is not in the registry."""
    if place is None:
        return Filters(countries)
    rows = engine.query_rows(
        "SELECT place_type, country_code FROM places WHERE place_code = ?",
        (place,),
        step="agreement place",
    )
    if not rows:
        raise NotFound(f"no place with code {place!r} (see GET /places)")
    return Filters(countries, place, str(rows[0][0]), str(rows[0][1]))


def granted_scope(
    engine: Engine,
    partner: str,
    indicators: Sequence[str],
    by: Sequence[str],
    period: str | None,
    *,
    countries: frozenset[str] | None = None,
    place: str | None = None,
    on: date | None = None,
) -> Scope:
    """The countries an agreement in force lets ``partner`` read for this query, or
    PermissionDenied naming what no agreement grants. One agreement must grant all of it: the
    indicators, the disaggregations, every period type of ``period`` (both ends of a range),
    and the place filters (``countries``, and ``place``, a normalised place code), which may
    not be finer than the agreement's disaggregation nor outside its countries."""
    day = on or now().date()
    active = [a for a in list_agreements(engine, partner) if a.active(day)]
    if not active:
        raise PermissionDenied(f"partner {partner!r} has no sharing agreement in force on {day}")
    ptypes = period_types_of(period)
    if not ptypes:
        raise PermissionDenied(
            "a partner names a period (e.g. period=2024 or 2024Q1) of the type its agreement grants"
        )
    ids = [i.id for i in resolve_ids(indicators)]
    dims = parse_by(by)
    ranged = ":" in (period or "")
    filters = place_filters(engine, countries, place)
    missing: list[str] = []
    for a in active:
        reasons = []
        outside = [i for i in ids if i not in a.indicators]
        if outside:
            reasons.append(f"indicator(s) {', '.join(outside)}")
        extra = [d for d in dims if d not in a.disaggregations]
        if extra:
            reasons.append(f"disaggregation by {', '.join(extra)}")
        for ptype in ptypes:
            if ptype != a.period_type:
                reasons.append(
                    f"period type {ptype} (agreement {a.agreement_id} grants {a.period_type}"
                    + ("; both ends of a period range must be of it)" if ranged else ")")
                )
        reasons.extend(filters.refused_by(a))
        if not reasons:
            return Scope(a.countries)
        missing.append(f"agreement {a.agreement_id} does not grant " + "; ".join(reasons))
    raise PermissionDenied("no sharing agreement grants this query: " + " / ".join(missing))
