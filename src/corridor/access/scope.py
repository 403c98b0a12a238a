"""Country scopes, turned into a filter that the database applies in the query.

``scoped(engine, scope)`` shadows the warehouse tables ``places``, ``services``, ``flows`` and
``cases`` with temporary views of the same names restricted to the scope's countries (and to a
place and its descendants, when asked). Temporary objects come first in name resolution on both
DuckDB and PostgreSQL, so every domain function (indicators, ranking) runs unchanged and never
sees a row outside the scope: the filter is part of the query, not applied to its answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from corridor.access.countries import (
    ISO3,
    check_asked_countries,
    check_countries,
    countries_refused,
)
from corridor.errors import QueryError
from corridor.storage.engine import Engine

ALL = "*"
_CODE = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")
SCOPED_TABLES = ("places", "services", "flows", "cases")


def _items(text: str | None) -> list[str] | None:
    """The codes of ``KEN, uga`` (lower-case), None for ``*``; QueryError when none is named."""
    raw = (text or "").strip()
    if raw == ALL:
        return None
    items = [c.strip().lower() for c in raw.split(",") if c.strip()]
    if not items:
        raise QueryError("name the countries as ISO3 codes (KEN,UGA) or * for all")
    return items


def parse_countries(text: str | None) -> frozenset[str] | None:
    """``KEN,UGA`` -> {"ken", "uga"}; ``*`` -> None (every country). Raises QueryError.

    Checks the shape only (three letters): what is stored is read as it is. What an account or
    an agreement is given is checked by ``parse_granted_countries``, a query's country filter
    by ``parse_asked_countries``."""
    items = _items(text)
    if items is None:
        return None
    bad = [c for c in dict.fromkeys(items) if not ISO3.match(c)]
    if bad:
        raise QueryError(countries_refused(bad))
    return frozenset(items)


def parse_granted_countries(engine: Engine, text: str | None) -> frozenset[str] | None:
    """The countries given to an account or an agreement (``KEN,UGA``, or ``*``): each must be
    an ISO 3166-1 alpha-3 code, XKX (Kosovo) or a country code of the warehouse's places
    (``countries.check_countries``), else QueryError names every value refused and why."""
    items = _items(text)
    if items is None:
        return None
    check_countries(engine, items)
    return frozenset(items)


def parse_asked_countries(
    text: str | None, known: Callable[[], Collection[str]]
) -> frozenset[str] | None:
    """A query's country filter (``KEN,UGA``, or ``*``: no filter): each code must be an ISO
    3166-1 alpha-3 code, XKX (Kosovo) or one of ``known()`` (the codes the asking account may
    know of: ``corridor.access.reads.asked_countries``), else QueryError names every value
    refused and why. Whether a valid code is within the account's scope is ``Scope.narrow``'s
    question, asked after this one."""
    items = _items(text)
    if items is None:
        return None
    check_asked_countries(items, known)
    return frozenset(items)


def format_countries(countries: frozenset[str] | None) -> str:
    return ALL if countries is None else ",".join(sorted(countries))


@dataclass(frozen=True, slots=True)
class Scope:
    """What an account may read: countries (None: all) and optionally one place's subtree."""

    countries: frozenset[str] | None
    place: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.countries is None and self.place is None

    def narrow(self, countries: frozenset[str] | None = None, place: str | None = None) -> Scope:
        """This scope further limited to ``countries`` and ``place``; asking for a country
        outside the scope is refused (403), never answered with an empty result."""
        from corridor.access.errors import PermissionDenied

        mine = self.countries
        if countries is not None and mine is not None:
            outside = sorted(countries - mine)
            if outside:
                raise PermissionDenied(
                    f"country {', '.join(c.upper() for c in outside)} is outside your scope "
                    f"({format_countries(mine).upper()})"
                )
        chosen = countries if countries is not None else mine
        if place is not None:
            place = place.strip().lower()
            if not _CODE.match(place):
                raise QueryError(f"not a place code: {place!r}")
        return Scope(chosen, place if place is not None else self.place)

    def describe(self) -> str:
        text = format_countries(self.countries).upper()
        return text + (f", place {self.place}" if self.place else "")


def _literal_list(values: frozenset[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values)) + ")"


def scoped_view_sql(schema: str, scope: Scope) -> list[str]:
    """The statements that create the scope's temporary views (shadowing the tables)."""
    conds: list[str] = []
    if scope.countries is not None:
        conds.append(
            f"country_code IN {_literal_list(scope.countries)}" if scope.countries else "FALSE"
        )
    places = f"SELECT * FROM {schema}.places"
    if scope.place is not None:
        # the place and all its descendants (parent_code chains), in portable recursive SQL
        conds.append(
            "place_code IN (WITH RECURSIVE sub(code) AS ("
            f"SELECT place_code FROM {schema}.places WHERE place_code = "
            f"'{scope.place.replace(chr(39), '')}' "
            f"UNION SELECT p.place_code FROM {schema}.places p JOIN sub ON p.parent_code = sub.code"
            ") SELECT code FROM sub)"
        )
    if conds:
        places += " WHERE " + " AND ".join(conds)
    inside = "SELECT place_code FROM places"  # the temporary view created first
    return [
        f"CREATE TEMPORARY VIEW places AS {places}",
        f"CREATE TEMPORARY VIEW services AS SELECT * FROM {schema}.services "
        f"WHERE place_code IN ({inside})",
        f"CREATE TEMPORARY VIEW flows AS SELECT * FROM {schema}.flows "
        f"WHERE observation_code IN ({inside})",
        f"CREATE TEMPORARY VIEW cases AS SELECT * FROM {schema}.cases "
        f"WHERE place_code IN ({inside})",
    ]


@contextmanager
def scoped(engine: Engine, scope: Scope) -> Iterator[Engine]:
    """Run the block with the warehouse restricted to ``scope`` on this connection."""
    if scope.unrestricted:
        yield engine
        return
    # catalog-qualified: in DuckDB an unqualified main.places would name the temporary view
    [(catalog, schema_name)] = engine.query_rows(
        "SELECT current_database(), current_schema()", step="schema"
    )
    schema = f'"{catalog}"."{schema_name}"'
    drop = [f"DROP VIEW IF EXISTS {t}" for t in reversed(SCOPED_TABLES)]
    try:
        engine.execute_script(scoped_view_sql(schema, scope), step="scope views")
        yield engine
    finally:
        # temporary views are dropped whatever happened; the main tables are never named here
        _drop_temp_views(engine, drop)


def _drop_temp_views(engine: Engine, statements: list[str]) -> None:
    temp = "pg_temp" if engine.name == "postgres" else "temp"
    for sql in statements:
        engine.execute(sql.replace("VIEW IF EXISTS ", f"VIEW IF EXISTS {temp}."), step="unscope")
