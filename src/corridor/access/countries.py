"""The countries an account or a sharing agreement may be given: ISO 3166-1 alpha-3 codes.

A country that no place has sees nothing, so a typo (``KNE`` for Kenya) would make an account
that silently reads nothing, or an agreement that shares with nobody. Codes are therefore checked
against ISO 3166-1 alpha-3 (the copy that ``pycountry`` ships, offline), not only for their shape.
Also accepted:

- ``XKX``, Kosovo: a user-assigned code outside ISO 3166-1, but the one that the European
  Commission, the World Bank and many humanitarian data sets use for Kosovo;
- a code that places of the warehouse already have as their ``country_code``: intake checks only
  the shape of a place's country code, so a workspace can hold a withdrawn code (``SCG``) or a
  local one, and its accounts must be able to be given the countries its data uses.

A refusal names each value (the first five, then how many more) and the reason, with the nearest
valid codes when there are some
(``KNE is not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya, ...?)``).
Stored accounts and agreements are read as they are (``scope.parse_countries``): this check
guards what is written, so an account made before it still loads and can be disabled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Final

from corridor.errors import QueryError
from corridor.storage.engine import Engine

#: codes outside ISO 3166-1 alpha-3 that are accepted anyway (lower-case -> name)
USER_ASSIGNED: Final[Mapping[str, str]] = {"xkx": "Kosovo"}
ISO3: Final = re.compile(r"^[a-z]{3}$")
_REASON = "is not an ISO 3166-1 alpha-3 country code"
_SHOWN = 32  # the longest value repeated in a message
_LISTED = 5  # the most values named in one message
_SUGGESTED = 3  # the most suggestions for one value


@functools.cache
def country_names() -> Mapping[str, str]:
    """Every accepted code without the warehouse's own: ISO 3166-1 alpha-3 (lower-case) and
    ``USER_ASSIGNED`` -> a short name (ISO's common name where it gives one)."""
    import pycountry

    names = {
        c.alpha_3.lower(): str(getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    }
    return {**names, **USER_ASSIGNED}


def _shown(text: str) -> str:
    text = text.strip().upper()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _swaps(code: str) -> set[str]:
    """``code`` with two neighbouring letters swapped."""
    return {code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(len(code) - 1)}


def _near(code: str, valid: Iterable[str]) -> list[str]:
    """Valid codes one letter off ``code`` (a letter changed, or two neighbours swapped)."""
    swaps = _swaps(code)
    return [
        v
        for v in valid
        if v != code
        and (
            v in swaps
            or (len(v) == len(code) and sum(a != b for a, b in zip(v, code, strict=True)) == 1)
        )
    ]


def country_problem(code: str, used: Iterable[str] = ()) -> str:
    """Why ``code`` (as typed) is not accepted, with the nearest accepted codes: the codes
    ``used`` by the warehouse's places first, then swapped letters, then a changed letter (a
    later one first); for text of another shape, the country it names (``Kenya``, ``KE``)."""
    import pycountry

    names = country_names()
    used = set(used)
    value = code.strip().lower()
    message = f"{_shown(code)} {_REASON}"
    if ISO3.match(value):
        old = pycountry.historic_countries.get(alpha_3=value.upper())
        if old is not None:
            withdrawn = str(getattr(old, "withdrawal_date", ""))[:4]
            return f"{message} (withdrawn in {withdrawn}: {old.name})"
        swaps = _swaps(value)

        def rank(v: str) -> tuple[bool, bool, int, str]:
            # a first letter is seldom the one mistyped: the later the difference, the nearer
            first = next(i for i, (a, b) in enumerate(zip(v, value, strict=True)) if a != b)
            return (v not in used, v not in swaps, -first, v)

        near = sorted(_near(value, set(names) | used), key=rank)[:_SUGGESTED]
    else:  # a name, an alpha-2 or numeric code: the country it names, if it names one
        try:
            found = pycountry.countries.lookup(code.strip())
        except LookupError:
            return f"{message} (three letters, such as KEN)"
        near = [found.alpha_3.lower()]
    if not near:
        return message
    named = [f"{v.upper()} for {names[v]}" if v in names else v.upper() for v in near]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
    return f"{message} (did you mean {listed}?)"


def check_countries(engine: Engine, codes: Iterable[str]) -> None:
    """Refuse (QueryError) ``codes`` (lower-case, as typed) unless each is ISO 3166-1 alpha-3,
    ``USER_ASSIGNED``, or the country code of some place of the warehouse; the message names
    every refused value. Reads nothing when every code is ISO."""
    codes = list(dict.fromkeys(codes))
    names = country_names()
    other = [c for c in codes if c not in names]
    if not other:
        return
    used = {
        str(r[0])
        for r in engine.query_rows(
            "SELECT DISTINCT country_code FROM places", step="country codes of places"
        )
        if r[0]
    }
    bad = [c for c in other if c not in used]
    if not bad:
        return
    raise QueryError(countries_refused(bad, used))


def countries_refused(bad: list[str], used: Iterable[str] = ()) -> str:
    """The message refusing ``bad`` codes: each one's problem (the first few, then a count)."""
    used = set(used)
    said = [country_problem(c, used) for c in bad[:_LISTED]]
    if len(bad) > _LISTED:
        said.append(f"and {len(bad) - _LISTED} more")
    return "; ".join(said)
