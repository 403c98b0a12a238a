"""The countries an account or a sharing agreement may be given, and a query may filter on:
ISO 3166-1 alpha-3 codes (``corridor.contract.countries``), XKX, or the warehouse's own.

A country that no place has sees nothing, so a typo (``KNE`` for Kenya) would make an account
that silently reads nothing, an agreement that shares with nobody, or a query that answers
nothing. Codes are therefore checked against ISO 3166-1 alpha-3 (the copy that ``pycountry``
ships, offline), not only for their shape. Also accepted:

- ``XKX``, Kosovo: a user-assigned code outside ISO 3166-1, but the one that the European
  Commission, the World Bank and many humanitarian data sets use for Kosovo;
- a code that places of the warehouse already have as their ``country_code``: intake checks a
  place's country code against ISO 3166-1 too, but a warehouse imported before it did can hold
  a withdrawn code (``SCG``) or a local one, and its accounts must be able to be given the
  countries its data uses.

A query's country filter (``check_asked_countries``) accepts the warehouse's codes only for an
account that reads every country. An account that reads some countries only (a country scope;
a partner's agreements) is refused a code that is not ISO 3166-1 (nor XKX) unless it is one of
its own countries, whatever the warehouse holds: answering ``SCG`` (in the warehouse) otherwise
than ``QQQ`` (not) would tell it which other countries the warehouse has data for. A valid code
outside its countries goes on to the scope check (403), as before.

A refusal names each value (the first five, then how many more) and the reason, with the nearest
valid codes when there are some
(``KNE is not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya, ...?)``); the
codes suggested are among those the caller may know of (never another country of the warehouse
to an account that does not read it). Stored accounts and agreements are read as they are
(``scope.parse_countries``): this check guards what is written and what is asked, so an account
made before it still loads and can be disabled.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from corridor.contract.countries import (
    ISO3,
    USER_ASSIGNED,
    countries_refused,
    country_names,
    country_problem,
    country_reason,
    refused_countries,
)
from corridor.errors import QueryError
from corridor.storage.engine import Engine

__all__ = [
    "ISO3",
    "USER_ASSIGNED",
    "check_asked_countries",
    "check_countries",
    "countries_refused",
    "country_names",
    "country_problem",
    "country_reason",
    "warehouse_countries",
]


def warehouse_countries(engine: Engine) -> set[str]:
    """The country codes that places of the warehouse have (lower-case)."""
    return {
        str(r[0])
        for r in engine.query_rows(
            "SELECT DISTINCT country_code FROM places", step="country codes of places"
        )
        if r[0]
    }


def check_asked_countries(codes: Iterable[str], known: Callable[[], Collection[str]]) -> None:
    """Refuse (QueryError) ``codes`` (lower-case, as typed) unless each is ISO 3166-1 alpha-3,
    ``USER_ASSIGNED``, or one of ``known()`` (called only when some code is not ISO; its codes
    are also the first suggestions); the message names every refused value."""
    bad, used = refused_countries(codes, known)
    if bad:
        raise QueryError(countries_refused(bad, used))


def check_countries(engine: Engine, codes: Iterable[str]) -> None:
    """Refuse (QueryError) ``codes`` (lower-case, as typed) unless each is ISO 3166-1 alpha-3,
    ``USER_ASSIGNED``, or the country code of some place of the warehouse; the message names
    every refused value. Reads nothing when every code is ISO."""
    check_asked_countries(codes, lambda: warehouse_countries(engine))
